"""Each pytest process builds its SQLite test database by running every migration (68 of them, about 7 s on
our machines). The result depends on nothing but the migrations, the models of apps without migrations, and
the versions of Django and SQLite: so the first process to build it keeps a copy (a SQLite file under the
virtualenv, named by a hash of all of those), and every later process — the other xdist worker, the next run —
loads that copy into its own test database with SQLite's backup API instead of migrating again.

The copy is the database the migrations built, triggers and data included: nothing is created another way.
A changed, added or removed migration changes the hash, so a stale copy is never used; `TEST_DB_TEMPLATE=0`
turns this off. PostgreSQL databases are built as before (docs/performance.md, "Test suite").
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

import django
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db.backends.sqlite3.creation import DatabaseCreation

FOLDER = Path(sys.prefix) / "test-databases"


def _fingerprint(connection) -> str:
    """A hash of everything the migrated schema and data follow from."""
    from django.db.migrations.loader import MigrationLoader

    digest = hashlib.sha256()
    for part in (django.__version__, sqlite3.sqlite_version, *settings.INSTALLED_APPS):
        digest.update(part.encode() + b"\0")
    loader = MigrationLoader(connection, ignore_no_migrations=True, load=True)
    files = set()
    for (app_label, _name), migration in loader.disk_migrations.items():
        files.add((app_label, sys.modules[type(migration).__module__].__file__))
    for config in apps.get_app_configs():
        if config.label in loader.unmigrated_apps and config.models_module is not None:
            files.add((config.label, config.models_module.__file__))
    for label, path in sorted(files):
        digest.update(label.encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def install() -> None:
    if os.environ.get("TEST_DB_TEMPLATE", "1") == "0":
        return
    original = DatabaseCreation.create_test_db

    def create_test_db(self, verbosity=1, autoclobber=False, serialize=True, keepdb=False):
        name = self._get_test_db_name()
        if keepdb or self.connection.settings_dict["TEST"]["MIGRATE"] is False:
            return original(self, verbosity, autoclobber, serialize, keepdb)
        template = FOLDER / f"{_fingerprint(self.connection)}.sqlite3"
        if not template.exists():
            name = original(self, verbosity, autoclobber, serialize, keepdb)
            _keep(self.connection, template)
            return name
        self._create_test_db(verbosity, autoclobber, keepdb)
        self.connection.close()
        settings.DATABASES[self.connection.alias]["NAME"] = name
        self.connection.settings_dict["NAME"] = name
        self.connection.ensure_connection()
        source = sqlite3.connect(template)
        try:
            source.backup(self.connection.connection)
        finally:
            source.close()
        if serialize:
            self.connection._test_serialized_contents = self.serialize_db_to_string()
        call_command("createcachetable", database=self.connection.alias)
        return name

    DatabaseCreation.create_test_db = create_test_db


def _keep(connection, template: Path) -> None:
    """Write the migrated database beside the others, atomically: a reader sees a whole file or none."""
    try:
        template.parent.mkdir(parents=True, exist_ok=True)
        for stale in template.parent.glob("*.sqlite3"):
            stale.unlink(missing_ok=True)
        handle, partial = tempfile.mkstemp(dir=template.parent, suffix=".partial")
        os.close(handle)
        connection.ensure_connection()
        target = sqlite3.connect(partial)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
        os.replace(partial, template)
    except OSError:
        pass  # a read-only virtualenv: every process migrates, as before
