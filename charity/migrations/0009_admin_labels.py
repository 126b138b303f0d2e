# Owned by one change; filled in by hand with that change's operations only.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("charity", "0007_illustrative"),
    ]

    operations = [
        # A person's name is headed 姓名 (an organisation's stays 名称), in the admin and in spreadsheets.
        migrations.AlterField(
            model_name="person",
            name="name",
            field=models.CharField(max_length=50, verbose_name="full name"),
        ),
        # The API key's fields, relabelled in our catalogue (the library's labels are English): labels only.
        migrations.AlterField(
            model_name="organizationapikey",
            name="created",
            field=models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="created"),
        ),
        migrations.AlterField(
            model_name="organizationapikey",
            name="expiry_date",
            field=models.DateTimeField(
                blank=True,
                help_text="After this time the key no longer works. Empty: it does not expire.",
                null=True,
                verbose_name="expires",
            ),
        ),
        migrations.AlterField(
            model_name="organizationapikey",
            name="name",
            field=models.CharField(
                default=None,
                help_text="What the key is for, e.g. “hub case system”; at most 50 characters.",
                max_length=50,
                verbose_name="name",
            ),
        ),
        migrations.AlterField(
            model_name="organizationapikey",
            name="prefix",
            field=models.CharField(editable=False, max_length=8, unique=True, verbose_name="prefix"),
        ),
        migrations.AlterField(
            model_name="organizationapikey",
            name="revoked",
            field=models.BooleanField(
                blank=True,
                default=False,
                help_text="A revoked key no longer works. This cannot be undone.",
                verbose_name="revoked",
            ),
        ),
    ]
