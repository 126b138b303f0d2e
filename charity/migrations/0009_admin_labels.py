# Owned by one change; filled in by hand with that change's operations only.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("charity", "0008_audit_actions"),
    ]

    operations = []
