# Owned by one change; filled in by hand with that change's operations only.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("funds", "0002_ledger_append_only_triggers"),
    ]

    operations = []
