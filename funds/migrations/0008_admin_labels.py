# Owned by one change; filled in by hand with that change's operations only.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("funds", "0007_money_restrictions"),
    ]

    operations = [
        # The glossary's terms (放弃接受捐赠票据, 捐赠人同意公开姓名（名称）): labels only.
        migrations.AlterField(
            model_name="donation",
            name="publish_name",
            field=models.BooleanField(
                default=False,
                help_text="Without this consent the public page shows “anonymous” (Charity Law art. 82).",
                verbose_name="donor agrees to publish their name (or organisation's name)",
            ),
        ),
        migrations.AlterField(
            model_name="donation",
            name="receipt_waived",
            field=models.BooleanField(default=False, verbose_name="donor waived the donation receipt"),
        ),
    ]
