"""The demo data (`manage.py seed_demo`, a second or more each run), seeded once for a module or a class of
tests that read it or seed again on top of it, instead of once per test."""

from contextlib import contextmanager
from io import StringIO

from django.apps import apps
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings


@contextmanager
def seeded_once(django_db_blocker):
    """Seed in a transaction rolled back at the end, and give what the command wrote.

    For a module- or class-scoped fixture: each test then runs in a savepoint of its own (pytest-django's
    `db`), rolled back after it, so no test sees another's changes. Tests that need an empty database must
    not run while this is open (keep them out of the fixture's scope). DEBUG is on throughout, as under
    `make run`: seed_demo refuses to run without it."""
    with override_settings(DEBUG=True), django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            output = StringIO()
            call_command("seed_demo", stdout=output)
            with django_db_blocker.block():
                yield output.getvalue()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def table_counts():
    return {m._meta.label: m.objects.count() for m in apps.get_models() if m._meta.app_label != "sessions"}
