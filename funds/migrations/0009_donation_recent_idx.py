# Owned by one change; filled in by hand with that change's operations only.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("funds", "0008_admin_labels"),
    ]

    operations = [
        # The API's donation list, newest first across the funds in scope (docs/performance.md, "API").
        migrations.AddIndex(
            model_name="donation",
            index=models.Index(fields=["-received_on", "-id"], name="donation_recent_idx"),
        ),
    ]
