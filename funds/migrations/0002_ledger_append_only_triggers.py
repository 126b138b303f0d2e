"""Make the ledger append-only at the database level, below the ORM guard in funds.models.

PostgreSQL: row triggers refuse UPDATE and DELETE on funds_entry and funds_transaction (TRUNCATE, which the
test runner's flush uses, is not a row operation and still works). SQLite: only UPDATE is refused, because
the test runner flushes SQLite tables with DELETE.
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION funds_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'The ledger is append-only: % on % refused (correct it with a reversal)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER funds_entry_append_only BEFORE UPDATE OR DELETE ON funds_entry
    FOR EACH ROW EXECUTE FUNCTION funds_ledger_append_only();
CREATE TRIGGER funds_transaction_append_only BEFORE UPDATE OR DELETE ON funds_transaction
    FOR EACH ROW EXECUTE FUNCTION funds_ledger_append_only();
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS funds_entry_append_only ON funds_entry;
DROP TRIGGER IF EXISTS funds_transaction_append_only ON funds_transaction;
DROP FUNCTION IF EXISTS funds_ledger_append_only();
"""

SQLITE_FORWARD = [
    """
    CREATE TRIGGER IF NOT EXISTS funds_entry_no_update BEFORE UPDATE ON funds_entry
    BEGIN SELECT RAISE(ABORT, 'The ledger is append-only: UPDATE on funds_entry refused'); END;
    """,
    """
    CREATE TRIGGER IF NOT EXISTS funds_transaction_no_update BEFORE UPDATE ON funds_transaction
    BEGIN SELECT RAISE(ABORT, 'The ledger is append-only: UPDATE on funds_transaction refused'); END;
    """,
]

SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS funds_entry_no_update;",
    "DROP TRIGGER IF EXISTS funds_transaction_no_update;",
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement, params=None)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("funds", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
