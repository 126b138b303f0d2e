"""The Chinese admin in a real browser, as staff use it: on a phone (390 px) the donation list shows the
amount, the donor, the receipt and the refund status without scrolling sideways; Django's two-box selector
speaks Chinese; a viewer is shown no refund button; no page breaks the Content-Security-Policy."""

import datetime

import pytest

from charity.models import AuditEvent, Organization, StaffAssignment
from charity.services import Actor
from funds import services
from tests.e2e.conftest import log_in_staff
from tests.factories import FundFactory, OrganizationFactory, StaffUserFactory, assign

playwright_sync = pytest.importorskip("playwright.sync_api")

PASSWORD = "Lv-shui-qing-shan-2025"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def open_page(browser):
    """`open_page(width)`: a Chinese page of that width, in a context of its own (the module's Chromium:
    tests/e2e/conftest.py); CSP violations collect on `page.violations`."""
    pages = []

    def open_page(width):
        page = browser.new_page(
            locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": width, "height": 844}
        )
        pages.append(page)
        page.set_default_timeout(15_000)
        page.violations = []
        page.on(
            "console",
            lambda m: "Content Security Policy" in m.text and page.violations.append(m.text),
        )
        return page

    yield open_page
    for page in pages:
        page.context.close()  # a page of its own context: closing the context closes both


@pytest.fixture
def world(guanbeigou):
    host = OrganizationFactory(
        name="酒泉市慈善联合总会", type=Organization.Type.CHARITY_FEDERATION, area=guanbeigou
    )
    fund = FundFactory(name="官北沟社区慈善基金", community=guanbeigou, host=host)
    staff = assign(
        StaffUserFactory(username="clerk", password=PASSWORD), guanbeigou, StaffAssignment.Role.STAFF
    )
    viewer = assign(
        StaffUserFactory(username="look", password=PASSWORD), guanbeigou, StaffAssignment.Role.VIEWER
    )
    for i, donor in enumerate(["官北沟爱心超市", "老马牛肉面馆", "公益市集义卖收入"]):
        donation = services.post_donation(
            fund=fund,
            amount_fen=250_000 + i,
            channel="merchant",
            donor_name=donor,
            receipt_no=f"JQCS-2026-{i:04d}",
            received_on=datetime.date(2026, 3, 1),
            actor=Actor(surface=AuditEvent.Surface.ADMIN, user=staff),
        )
    org = OrganizationFactory(name="官北沟读书会", area=guanbeigou)
    return {"staff": staff, "viewer": viewer, "donation": donation, "org": org}


def log_in(page, base, username):
    log_in_staff(page, base, username, PASSWORD)


def test_on_a_phone_the_donation_list_shows_what_matters_without_scrolling(open_page, live_server, world):
    page = open_page(390)
    log_in(page, live_server.url, "clerk")
    page.goto(live_server.url + "/admin/funds/donation/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page itself scrolls sideways"
    for column in ["amount_display", "donor_display", "receipt_display", "refund_status"]:
        box = page.locator(f"#result_list thead th.column-{column}").bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390, f"{column} is off the screen: {box}"
    first_row = page.locator("#result_list tbody tr").first
    assert "¥2,500.02" in first_row.inner_text()
    # A donor's name is not broken into one character per line.
    donor = first_row.locator("td.field-donor_display").bounding_box()
    assert donor["width"] >= 80, donor
    assert page.violations == []


def test_the_two_box_selector_is_in_chinese(open_page, live_server, world):
    page = open_page(1280)
    log_in(page, live_server.url, "clerk")
    page.goto(f"{live_server.url}/admin/charity/organization/{world['org'].pk}/change/")
    selector = page.locator(".selector")
    selector.wait_for()
    text = selector.inner_text()
    assert "全部选择" in text and "全部移除" in text, text
    assert "Choose" not in text and "Remove" not in text
    assert "Control" not in page.locator("#content").inner_text()
    assert page.violations == []


def test_a_viewer_is_offered_no_refund_nor_recording(open_page, live_server, world):
    page = open_page(390)
    log_in(page, live_server.url, "look")
    page.goto(f"{live_server.url}/admin/funds/donation/{world['donation'].pk}/change/")
    assert "¥2,500.02" in page.locator("#content").inner_text()
    assert page.locator("a", has_text="退款").count() == 0
    page.goto(live_server.url + "/admin/funds/donation/")
    assert page.locator(".object-tools a[href$='/add/']").count() == 0
    assert page.locator(".object-tools a[href*='import']").count() == 0
    page.goto(live_server.url + "/admin/funds/fund/")
    assert page.locator("select[name=action]").count() == 0
    assert page.violations == []
