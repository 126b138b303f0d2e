# The kinds of help a skill or someone's time gives (issue 14, nightly matching: the skill fit).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('resources', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='resource',
            name='help_kinds',
            field=models.JSONField(blank=True, default=list, verbose_name='kinds of help it gives'),
        ),
    ]
