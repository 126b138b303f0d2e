# Owned by one change; filled in by hand with that change's operations only.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0002_membership_organization"),
    ]

    operations = [
        # The admin shows and takes the threshold in yuan; the field itself stays in fen: label only.
        migrations.AlterField(
            model_name="committee",
            name="high_amount_threshold_fen",
            field=models.BigIntegerField(
                default=5000000,
                help_text="In fen (1/100 yuan). Default 5,000,000 fen = ¥50,000.",
                verbose_name="amount threshold",
            ),
        ),
    ]
