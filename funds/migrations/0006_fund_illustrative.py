from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("funds", "0005_fund_giving"),
    ]

    operations = [
        migrations.AddField(
            model_name="fund",
            name="is_illustrative",
            field=models.BooleanField(
                default=False,
                help_text="Set in demonstration data: the amounts (and a named fund's name) are invented, and "
                "the public page says so.",
                verbose_name="illustrative figures",
            ),
        ),
    ]
