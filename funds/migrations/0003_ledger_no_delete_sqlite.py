"""SQLite refuses DELETE on the ledger too, as PostgreSQL has since 0002.

0002 refused only UPDATE on SQLite, because the test runner empties SQLite tables with DELETE; the test
runner's flush now drops and re-creates the append-only triggers inside its own transaction
(tests/conftest.py), so the embedded default keeps the same rule as production. See docs/append-only.md.
"""

from django.db import migrations

SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
    BEGIN SELECT RAISE(ABORT, 'The ledger is append-only: DELETE on {table} refused'); END;
    """
    for table in ("funds_entry", "funds_transaction")
]

SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS funds_entry_no_delete;",
    "DROP TRIGGER IF EXISTS funds_transaction_no_delete;",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("funds", "0002_ledger_append_only_triggers"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
