"""Browser tests share one Chromium per module, and one clean-up of the live server's database sessions."""

import os

import pytest
from django.db import connection

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
USER_PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


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


@pytest.fixture
def phone_page(browser):
    """`phone_page(width=390, javascript=False)`: a page in Chinese (zh-CN, Asia/Shanghai) in a browser
    context of its own, a phone's below 600 px. The portal works without JavaScript; the admin uses it. The
    contexts close at the end of the test."""
    contexts = []

    def open_page(width=390, javascript=False):
        context = browser.new_context(
            viewport={"width": width, "height": 844},
            device_scale_factor=2 if width < 600 else 1,
            is_mobile=width < 600,
            has_touch=width < 600,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            java_script_enabled=javascript,
            extra_http_headers={"Accept-Language": "zh-hans"},
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def log_in_resident(page, base, mobile, password=USER_PASSWORD):
    """Log in on the portal with a mobile number and password."""
    page.goto(base + "/accounts/login/")
    page.locator("#id_mobile").fill(mobile)
    page.locator("#id_password").fill(password)
    page.locator("form.form button[type=submit]").click()
    page.wait_for_load_state("load")


def log_in_staff(page, base, username, password=USER_PASSWORD):
    """Log in to the admin."""
    page.goto(base + "/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_load_state("load")


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
