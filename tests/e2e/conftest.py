"""Browser tests share one Chromium per module, and one clean-up of the live server's database sessions."""

import os

import pytest
from django.db import connection

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser(request):
    """One headless Chromium for the tests of a module, launched with the module's `BROWSER_ARGS`.

    Launching one took a second per test. Each test still opens its own browser contexts and closes them
    at its end, so no cookie, storage or cache passes from one test to the next. Playwright's sync API runs
    an event loop in this thread while the browser is open, and Django's ORM would refuse to run beside it:
    DJANGO_ALLOW_ASYNC_UNSAFE is set for as long as the browser lives and no longer. pytest tears a module's
    fixtures down before it runs a test of another module, so it never reaches a test that is not in a
    browser module, nor that test's subprocesses.
    """
    playwright_sync = pytest.importorskip("playwright.sync_api")
    args = getattr(request.module, "BROWSER_ARGS", ["--no-sandbox"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with playwright_sync.sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
            yield chromium
            chromium.close()


@pytest.fixture(scope="session", autouse=True)
def _end_live_server_sessions(django_db_setup, django_db_blocker):
    """At the end of the run, end the database sessions the live server's request threads left behind.

    A request thread that ends when the browser drops its keep-alive socket can leave its connection open;
    PostgreSQL then refuses to drop the test database at the end of the run. Ended once, after the last test:
    ended after each test, they took the next test's own connection with them (it may be another wrapper
    than the one this code sees), and every browser test after the first failed on PostgreSQL. Under
    pytest-xdist each worker has its own test database and ends only the sessions on it.
    """
    yield
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
