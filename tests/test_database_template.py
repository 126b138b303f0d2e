"""The test database starts from a copy of a migrated one (tests/database_template.py): a copy that any change
to the migrations would make stale is never used, and the database a test gets is fully migrated."""

from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.database_template import fingerprint

pytestmark = pytest.mark.django_db


def test_the_test_database_has_every_migration_applied_and_the_append_only_triggers():
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%append-only%'"
            )
        else:
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%append_only%'")
        assert cursor.fetchone()[0] > 0


@pytest.mark.parametrize("changed", ["funds/migrations/0001_initial.py", "charity/migrations/0002"])
def test_a_changed_migration_changes_the_name_of_the_copy(monkeypatch, changed):
    before = fingerprint()
    read_bytes = Path.read_bytes

    def edited(path):
        data = read_bytes(path)
        return data + b"\n# edited" if changed in path.as_posix() else data

    monkeypatch.setattr(Path, "read_bytes", edited)
    assert fingerprint() != before
