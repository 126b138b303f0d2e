from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("funds", "0004_donation_recorded_by"),
    ]

    operations = [
        migrations.AddField(
            model_name="fund",
            name="giving_instructions",
            field=models.TextField(
                blank=True,
                help_text="As the host gives it: the host's bank account and the note to write on a transfer, "
                "where to hand in goods. A named fund without its own uses its parent's.",
                verbose_name="how to give",
            ),
        ),
        migrations.AddField(
            model_name="fund",
            name="giving_url",
            field=models.URLField(
                blank=True,
                help_text="The host's online page for giving to this fund.",
                verbose_name="online donation page",
            ),
        ),
    ]
