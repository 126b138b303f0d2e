"""A resident on a phone: finds their community, signs up with a code, logs out, logs back in with the mobile
number; resets a forgotten password with a code. Every accounts page fits 390 px with 44 px tap targets."""

import os
import re
from pathlib import Path

import pytest

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


def shot(page, name):
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def assert_fits_a_phone(page):
    """No sideways scrolling at 390 px, and every link, button and field in the page body is ≥ 44 px tall."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"{page.url} scrolls sideways"
    small = page.evaluate(
        """() => [...document.querySelectorAll('main a, main button, main input, main select')]
            .filter(e => e.type !== 'hidden' && e.type !== 'checkbox' && e.offsetParent !== null)
            .filter(e => e.getBoundingClientRect().height < 44)
            .map(e => e.outerHTML.slice(0, 80))"""
    )
    assert not small, f"{page.url}: tap targets under 44 px: {small}"


def test_resident_signs_up_logs_out_and_logs_in_on_a_phone(page, live_server, phone, guanbeigou, hub):
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
    assert_fits_a_phone(page)
    page.locator("#id_mobile").fill("+86 138 1234 5678")
    shot(page, "03a-signup-number")
    page.locator("form.form button[type=submit]").click()

    expect(page.locator("#id_code")).to_be_visible()
    expect(page.locator("main")).to_contain_text("138****5678")
    expect(page.locator("label[for=id_code]")).to_have_text(re.compile("：$"))  # Chinese colon
    assert_fits_a_phone(page)
    page.locator("#id_code").fill(phone.last_code("13812345678"))
    page.locator("#id_name").fill("张小明")
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
    assert_fits_a_phone(page)
    page.locator("#id_mobile").fill("13812345678")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form.form button[type=submit]").click()
    expect(page.locator("header .who")).to_have_text("张小明")
    shot(page, "06-logged-in")


def test_resident_resets_a_forgotten_password_with_a_code_on_a_phone(page, live_server, phone, resident):
    expect = playwright_sync.expect
    page.goto(live_server.url + "/accounts/login/")
    page.locator("main a[href='/accounts/password/reset/']").click()
    assert_fits_a_phone(page)
    page.locator("#id_mobile").fill("139 0000 0001")
    page.locator("form.form button[type=submit]").click()

    expect(page.locator("#id_code")).to_be_visible()
    assert_fits_a_phone(page)
    page.locator("#id_code").fill(phone.last_code("13900000001"))
    page.locator("#id_new_password1").fill(PASSWORD)
    page.locator("#id_new_password2").fill(PASSWORD)
    shot(page, "07-reset-filled")
    page.locator("form.form button[type=submit]").click()

    expect(page.locator("#id_password")).to_be_visible()
    page.locator("#id_mobile").fill("13900000001")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form.form button[type=submit]").click()
    expect(page.locator("header .who")).to_have_text("王阿姨")

    page.goto(live_server.url + "/privacy/")
    assert_fits_a_phone(page)
    shot(page, "08-privacy")
