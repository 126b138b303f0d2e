"""A resident on a phone, in Chinese: sees the unread count in the header, reads the notices (which marks them
read), turns one kind of text message off, and deletes the account; every page fits 390 px."""

import re

import pytest

from charity import my_page
from charity.models import Notification, NotificationKind, NotificationPreference, Person
from charity.notifications import notify
from charity.services import Actor
from tests.e2e.conftest import USER_PASSWORD, log_in_resident
from tests.e2e.test_portal_browser import BROWSER_ARGS, assert_fits_a_phone  # noqa: F401 (the module's Chromium)

playwright_sync = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SYSTEM = Actor.system()


@pytest.fixture
def page(phone_page):
    return phone_page()  # the pages work without JavaScript


def _log_in(page, live_server):
    log_in_resident(page, live_server.url, "13900000001")


def test_a_resident_reads_notices_chooses_what_is_texted_and_deletes_the_account(
    page, live_server, resident, monkeypatch
):
    # charity's own parts of the page; each app's browser tests check the section it registers.
    monkeypatch.setattr(my_page, "_sections", {})
    expect = playwright_sync.expect
    for text in ("您发布的需求已公开。", "有人愿意帮助您的需求。"):
        notify(person=resident, kind=NotificationKind.NEED_STATUS, text=text, url="/me/", actor=SYSTEM)

    _log_in(page, live_server)
    expect(page.locator("header .unread-count")).to_have_text("2")
    page.locator("header a.me-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("我的")
    expect(page.locator("main")).to_contain_text("139****0001")
    assert_fits_a_phone(page, chinese=True)

    page.locator("main a[href='/me/notifications/']").click()
    expect(page.locator(".inbox-item.unread")).to_have_count(2)
    expect(page.locator(".inbox-item").first).to_contain_text("有人愿意帮助您的需求。")
    assert_fits_a_phone(page, chinese=True)
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    page.reload()
    expect(page.locator("header .unread-count")).to_have_count(0)

    page.locator("main a[href='/me/notifications/settings/']").click()
    assert_fits_a_phone(page, chinese=True)
    page.locator("label.check-row", has_text="工具已逾期").locator("input").uncheck()
    page.locator("form.form button[type=submit]").click()
    expect(page.locator("ul.messages")).to_contain_text("已保存")
    assert list(NotificationPreference.objects.values_list("kind", "enabled")) == [("loan.overdue", False)]

    page.goto(live_server.url + "/me/delete/")
    assert_fits_a_phone(page, chinese=True)
    page.locator("#id_confirm").check()
    page.locator("#id_password").fill(USER_PASSWORD)
    page.locator("form.form button[type=submit]").click()
    expect(page.locator("ul.messages")).to_contain_text("注销")
    expect(page.locator("header a[href='/accounts/login/']")).to_be_visible()
    assert Person.objects.get(pk=resident.pk).mobile is None

    _log_in(page, live_server)
    expect(page.locator("form.form .errors")).to_contain_text(re.compile("不对|不正确"))
