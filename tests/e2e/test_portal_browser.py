"""A resident on a phone: finds their community, signs up, logs out, logs back in with the mobile number."""

import os
import re
from pathlib import Path

import pytest
from django.db import connection

from charity.models import Organization, Person
from tests.factories import OrganizationFactory

playwright_sync = pytest.importorskip("playwright.sync_api")

SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "Lv-shui-qing-shan-2025"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; Django's ORM would otherwise refuse to run
    # here. Set for this test only, so it never leaks into another test's subprocess environment.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="zh-CN",
            extra_http_headers={"Accept-Language": "zh-hans"},
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()
    _drop_live_server_connections()


def _drop_live_server_connections():
    """End the database sessions the live server's request threads leave behind.

    A request thread that ends when the browser drops its keep-alive socket can leave its connection open;
    PostgreSQL then refuses to drop the test database at the end of the run. Only test sessions are ended.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def shot(page, name):
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_resident_signs_up_logs_out_and_logs_in_on_a_phone(page, live_server, guanbeigou, hub):
    OrganizationFactory(name="官北沟舞蹈队", area=guanbeigou, hub=hub, type=Organization.Type.COMMUNITY_GROUP)
    expect = playwright_sync.expect

    page.goto(live_server.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    shot(page, "01-home")
    page.get_by_role("link", name=re.compile("官北沟社区")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("官北沟社区")
    expect(page.get_by_text("祯祥社")).to_be_visible()
    expect(page.get_by_text("官北沟舞蹈队")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, (
        "the page scrolls sideways on a phone"
    )
    shot(page, "02-community")

    page.locator("header a[href='/accounts/signup/']").click()
    page.locator("#id_name").fill("张小明")
    page.locator("#id_mobile").fill("+86 138 1234 5678")
    page.locator("#id_community").select_option(str(guanbeigou.pk))
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.locator("#id_consent").check()
    shot(page, "03-signup-filled")
    page.locator("form.form button[type=submit]").click()

    expect(page.locator("ul.messages")).to_contain_text("张小明")
    expect(page.locator("header .who")).to_have_text("张小明")
    assert Person.objects.get().mobile == "13812345678"
    shot(page, "04-welcome")

    page.locator("header form button[type=submit]").click()
    expect(page.locator("header .who")).to_have_count(0)
    shot(page, "05-logged-out")

    page.locator("header a[href='/accounts/login/']").click()
    page.locator("#id_mobile").fill("13812345678")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form.form button[type=submit]").click()
    expect(page.locator("header .who")).to_have_text("张小明")
    shot(page, "06-logged-in")
