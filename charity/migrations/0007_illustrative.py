from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("charity", "0006_organization_types"),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="is_illustrative",
            field=models.BooleanField(
                default=False,
                help_text="Set for an invented organisation in demonstration data, so no one reads it as a fact.",
                verbose_name="illustrative",
            ),
        ),
        migrations.AddField(
            model_name="person",
            name="is_illustrative",
            field=models.BooleanField(
                default=False,
                help_text="Set for an invented person in demonstration data, so no one reads it as a fact.",
                verbose_name="illustrative",
            ),
        ),
    ]
