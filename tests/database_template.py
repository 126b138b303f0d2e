"""Each pytest process used to build its test database by running every migration (68 of them: about 7 s on
SQLite, 8 s on PostgreSQL, on our machines). What they build depends on nothing but the migrations, the models
of apps without migrations, and the versions of Django and SQLite; so the first process to build it keeps a
copy, named by a hash of all of those, and every later process — the other xdist worker, the next run —
starts from that copy instead of migrating again:

- SQLite: a file under the virtualenv (`.venv/test-databases/<hash>.sqlite3`), loaded into the process's
  test database with SQLite's backup API;
- PostgreSQL: a database `test_template_<hash>` beside the test databases, copied with
  `CREATE DATABASE … TEMPLATE`.

The copy is the database the migrations built, triggers and data included: nothing is created another way.
A changed, added or removed migration changes the hash, so a stale copy is never used; `TEST_DB_TEMPLATE=0`
turns all of this off (docs/performance.md, "Test suite").
"""

from __future__ import annotations

import contextlib
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
from django.db import DatabaseError
from django.db.backends.postgresql.creation import DatabaseCreation as PostgresCreation
from django.db.backends.sqlite3.creation import DatabaseCreation as SQLiteCreation

SQLITE_FOLDER = Path(sys.prefix) / "test-databases"
POSTGRES_PREFIX = "test_template_"


def fingerprint() -> str:
    """A hash of everything the migrated schema and data follow from (the migrations as read from disk,
    never from a database)."""
    from django.db.migrations.loader import MigrationLoader

    digest = hashlib.sha256()
    for part in (django.__version__, sqlite3.sqlite_version, *settings.INSTALLED_APPS):
        digest.update(part.encode() + b"\0")
    loader = MigrationLoader(None, ignore_no_migrations=True, load=True)
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
    for creation, *copy in (
        (SQLiteCreation, _sqlite_start, _sqlite_keep, _sqlite_load),
        (PostgresCreation, _postgres_start, _postgres_keep),
    ):
        creation.create_test_db = _wrap(creation.create_test_db, *copy)


def _wrap(original, start_from_copy, keep, load=None):
    """`start_from_copy(creation, key, …)` creates the empty test database from the copy named `key` and
    gives its name, or None when there is no copy; `keep(creation, key, name)` keeps a copy of a database the
    migrations just built; `load(connection, key)`, if any, fills the new database once connected."""

    def create_test_db(self, verbosity=1, autoclobber=False, serialize=True, keepdb=False):
        if keepdb or self.connection.settings_dict["TEST"]["MIGRATE"] is False:
            return original(self, verbosity, autoclobber, serialize, keepdb)
        key = fingerprint()
        name = start_from_copy(self, key, verbosity, autoclobber)
        if name is None:  # no copy yet: migrate, then keep one
            name = original(self, verbosity, autoclobber, serialize, keepdb)
            keep(self, key, name)
            return name
        self.connection.close()
        settings.DATABASES[self.connection.alias]["NAME"] = name
        self.connection.settings_dict["NAME"] = name
        self.connection.ensure_connection()
        if load is not None:
            load(self.connection, key)
        if serialize:
            self.connection._test_serialized_contents = self.serialize_db_to_string()
        call_command("createcachetable", database=self.connection.alias)
        return name

    return create_test_db


# --- SQLite ---------------------------------------------------------------------------------------------


def _sqlite_copy(key: str) -> Path:
    return SQLITE_FOLDER / f"{key}.sqlite3"


def _sqlite_start(creation, key, verbosity, autoclobber):
    if not _sqlite_copy(key).exists():
        return None
    return creation._create_test_db(verbosity, autoclobber, False)


def _sqlite_load(connection, key: str) -> None:
    source = sqlite3.connect(_sqlite_copy(key))
    try:
        source.backup(connection.connection)
    finally:
        source.close()


def _sqlite_keep(creation, key: str, name: str) -> None:
    """Write the migrated database beside the others, atomically: a reader sees a whole file or none."""
    connection, template = creation.connection, _sqlite_copy(key)
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


# --- PostgreSQL -----------------------------------------------------------------------------------------


def _postgres_start(creation, key, verbosity, autoclobber):
    with creation._nodb_cursor() as cursor:
        if not creation._database_exists(cursor, POSTGRES_PREFIX + key):
            return None
    test = creation.connection.settings_dict["TEST"]
    saved = test.get("TEMPLATE")
    test["TEMPLATE"] = POSTGRES_PREFIX + key  # Django's own CREATE DATABASE … WITH TEMPLATE
    try:
        return creation._create_test_db(verbosity, autoclobber, False)
    finally:
        test["TEMPLATE"] = saved


def _postgres_keep(creation, key: str, name: str) -> None:
    """Copy the migrated test database `name` to its template under a name of its own, then rename it:
    another process sees the whole copy or none. Copies kept for other migrations are dropped."""
    quote, template = creation.connection.ops.quote_name, POSTGRES_PREFIX + key
    partial = f"{template}_{os.getpid()}"
    creation.connection.close()  # a database being copied must have no session
    with creation._nodb_cursor() as cursor:
        try:
            cursor.execute(f"CREATE DATABASE {quote(partial)} WITH TEMPLATE {quote(name)}")
            cursor.execute(f"ALTER DATABASE {quote(partial)} RENAME TO {quote(template)}")
        except DatabaseError:  # another process kept its copy first
            with contextlib.suppress(DatabaseError):
                cursor.execute(f"DROP DATABASE IF EXISTS {quote(partial)}")
        cursor.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
            [POSTGRES_PREFIX + "%", template],
        )
        for (stale,) in cursor.fetchall():
            if len(stale) == len(template):  # another hash's copy, not a copy being made
                with contextlib.suppress(DatabaseError):
                    cursor.execute(f"DROP DATABASE {quote(stale)}")
    creation.connection.ensure_connection()
