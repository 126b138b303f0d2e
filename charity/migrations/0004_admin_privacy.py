# The admin's privacy rules: the organisation's consent to publish its contact person, an office number
# flag, and the two per-user permissions for personal data (export, full mobile numbers).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("charity", "0003_accounts"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="person",
            options={
                "ordering": ["name", "id"],
                "permissions": [
                    ("export_personal_data", "Can export personal data (names, mobile numbers, donors)"),
                    ("view_full_mobile", "Can see residents' full mobile numbers"),
                ],
                "verbose_name": "person",
                "verbose_name_plural": "people",
            },
        ),
        migrations.AddField(
            model_name="organization",
            name="contact_phone_is_office",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "An office line (not a person's own mobile) is shown on the public page without a name."
                ),
                verbose_name="the contact phone is an office number",
            ),
        ),
        migrations.AddField(
            model_name="organization",
            name="publish_contact",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Tick only when the contact person has agreed to have their name and number shown on the "
                    "public page."
                ),
                verbose_name="publish the contact person",
            ),
        ),
    ]
