"""Under the Content-Security-Policy, in a real browser: the API docs, the admin and the portal still work,
and the browser reports no violation on any of their pages."""

import pytest

from charity.models import Organization
from charity.services import Actor
from funds import services
from tests.factories import FundFactory, OrganizationFactory

playwright_sync = pytest.importorskip("playwright.sync_api")

PASSWORD = "Lv-shui-qing-shan-2025"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page(browser):
    """A Chinese page in a context of its own (the module's Chromium: tests/e2e/conftest.py)."""
    page = browser.new_page(locale="zh-CN")
    page.set_default_timeout(15_000)
    page.violations = []
    page.on(
        "console",
        lambda m: "Content Security Policy" in m.text and page.violations.append(f"{page.url}: {m.text}"),
    )
    yield page
    page.context.close()
    # The live server's sessions are ended once, after the last browser test (tests/e2e/conftest.py).


def visit(page, url):
    page.goto(url)
    page.wait_for_load_state("networkidle")


def test_api_docs_admin_and_portal_run_without_a_policy_violation(
    browser_page, live_server, guanbeigou, django_user_model
):
    page, expect = browser_page, playwright_sync.expect
    django_user_model.objects.create_superuser("boss", "boss@example.org", PASSWORD)
    host = OrganizationFactory(
        name="酒泉市慈善总会", type=Organization.Type.CHARITY_FEDERATION, area=guanbeigou
    )
    fund = FundFactory(name="官北沟社区慈善基金", community=guanbeigou, host=host)
    services.post_donation(
        fund=fund,
        amount_fen=5_000,
        channel="resident",
        actor=Actor.system(),
        receipt_waived=True,
        received_on=fund.opened_on,
    )

    visit(page, live_server.url + "/api/docs/")  # Swagger UI starts from its own script file
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Community Charity API")
    page.locator(".opblock-summary").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()

    visit(page, live_server.url + "/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_load_state("networkidle")
    for path in [
        "/admin/",
        "/admin/charity/area/",
        "/admin/charity/area/add/",
        "/admin/charity/organization/",
        "/admin/charity/organization/import/",
        "/admin/funds/donation/",
        "/admin/funds/donation/add/",
        f"/admin/funds/fund/{fund.pk}/change/",
        "/admin/funds/donation/import-statement/",
        "/admin/charity/auditevent/",
    ]:
        visit(page, live_server.url + path)
        expect(page.locator("#content")).to_be_visible()

    # The export page's "select all" box: the one inline handler the policy allows, by its hash.
    visit(page, live_server.url + "/admin/charity/organization/export/")
    boxes = page.locator(".selectable-field-export-row input[type=checkbox]")
    page.locator("input.select-toggle").uncheck()
    assert all(not boxes.nth(i).is_checked() for i in range(boxes.count()))

    for path in ["/", f"/funds/{fund.pk}/", "/accounts/login/", "/no-such-page/"]:
        visit(page, live_server.url + path)
    assert page.violations == []
