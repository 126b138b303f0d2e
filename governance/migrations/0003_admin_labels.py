# Owned by one change; filled in by hand with that change's operations only.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0002_membership_organization"),
    ]

    operations = []
