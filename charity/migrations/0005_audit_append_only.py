"""Make the audit log append-only at the database level, below the ORM guard of charity.models.AppendOnlyModel.

The same rule as the ledger (funds/migrations/0002 and 0003): UPDATE and DELETE of a row are refused on
PostgreSQL and SQLite alike. PostgreSQL's TRUNCATE (the test runner's flush) fires no row trigger; on SQLite
the test runner's flush is a DELETE, which tests/conftest.py lets through by dropping and re-creating the
triggers inside the flush's own transaction. See docs/append-only.md.
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION charity_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'The audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER charity_auditevent_append_only BEFORE UPDATE OR DELETE ON charity_auditevent
    FOR EACH ROW EXECUTE FUNCTION charity_audit_append_only();
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS charity_auditevent_append_only ON charity_auditevent;
DROP FUNCTION IF EXISTS charity_audit_append_only();
"""

SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER IF NOT EXISTS charity_auditevent_no_{op.lower()} BEFORE {op} ON charity_auditevent
    BEGIN SELECT RAISE(ABORT, 'The audit log is append-only: {op} on charity_auditevent refused'); END;
    """
    for op in ("UPDATE", "DELETE")
]

SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS charity_auditevent_no_update;",
    "DROP TRIGGER IF EXISTS charity_auditevent_no_delete;",
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
        ("charity", "0004_admin_privacy"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
