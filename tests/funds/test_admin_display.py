"""What a clerk sees of donations and funds in the Chinese admin: yuan, refund state, history, buttons."""

import datetime
import re

import pytest
import time_machine
from django.utils.html import strip_tags

from charity.models import AuditEvent
from charity.services import Actor
from funds import services

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    """The page as a reader sees it: tags dropped, whitespace runs folded."""
    return re.sub(r"\s+", " ", strip_tags(response.content.decode()))


@pytest.fixture
def donation(fund, give):
    return give(fund, 123456, donor_name="张建国", receipt_no="JQ-2026-0001")


def refund(donation, user, reason="捐赠人要求退回"):
    return services.refund_donation(
        donation=donation, reason=reason, actor=Actor(surface=AuditEvent.Surface.ADMIN, user=user)
    )


def test_donation_page_shows_the_amount_in_yuan_and_that_it_is_not_refunded(
    client, community_staff, donation
):
    client.force_login(community_staff)
    page = text_of(client.get(f"/admin/funds/donation/{donation.pk}/change/"))
    assert "金额： ¥1,234.56" in page or "金额 ¥1,234.56" in page or "¥1,234.56" in page
    assert "退款状态： 未退款" in page
    assert "Amount yuan" not in page and "None" not in page and "123456" not in page


def test_donation_page_shows_the_refund_its_reason_and_date(client, community_staff, donation):
    with time_machine.travel(datetime.datetime(2026, 4, 2, 9, 30, tzinfo=datetime.UTC)):
        refund(donation, community_staff)
    client.force_login(community_staff)
    page = text_of(client.get(f"/admin/funds/donation/{donation.pk}/change/"))
    assert "退款状态： 已退款" in page
    assert "退款原因： 捐赠人要求退回" in page
    assert "退款时间： 2026-04-02 17:30" in page  # Shanghai time


def test_donation_history_tells_what_the_services_did_in_sentences(client, community_staff, donation):
    refund(donation, community_staff)
    client.force_login(community_staff)
    page = text_of(client.get(f"/admin/funds/donation/{donation.pk}/history/"))
    assert "登记捐赠" in page and "¥1,234.56" in page
    assert "捐赠退款" in page and "捐赠人要求退回" in page
    assert "donation.posted" not in page and "fen" not in page and "123456" not in page
    assert "此对象没有修改历史" not in page  # Django's "no history": the services' events are its history


def test_viewer_sees_no_refund_button(client, community_viewer, community_staff, donation):
    client.force_login(community_viewer)
    page = client.get(f"/admin/funds/donation/{donation.pk}/change/").content.decode()
    assert f"/admin/funds/donation/{donation.pk}/refund/" not in page
    client.force_login(community_staff)
    page = client.get(f"/admin/funds/donation/{donation.pk}/change/").content.decode()
    assert f"/admin/funds/donation/{donation.pk}/refund/" in page


def test_viewer_sees_no_add_import_or_close_buttons(client, community_viewer, fund, donation):
    client.force_login(community_viewer)
    donations = client.get("/admin/funds/donation/").content.decode()
    assert "/admin/funds/donation/add/" not in donations
    assert "/admin/funds/donation/import-statement/" not in donations
    funds_page = client.get("/admin/funds/fund/").content.decode()
    assert "close_funds" not in funds_page and "/admin/funds/fund/add/" not in funds_page


def test_donation_list_puts_amount_donor_receipt_and_refund_first(client, community_staff, donation):
    client.force_login(community_staff)
    page = client.get("/admin/funds/donation/").content.decode()
    columns = re.findall(r'<th scope="col"\s+class="[^"]*column-([\w]+)', page)
    assert columns[:4] == ["amount_display", "donor_display", "receipt_display", "refund_status"], columns


def test_fund_list_puts_the_balance_right_after_the_name(client, community_staff, fund):
    client.force_login(community_staff)
    page = client.get("/admin/funds/fund/").content.decode()
    columns = re.findall(r'<th scope="col"\s+class="[^"]*column-([\w]+)', page)
    assert columns[:3] == ["name", "balance_display", "status"], columns


def test_ledger_pages_show_yuan_never_raw_fen(client, community_staff, donation):
    client.force_login(community_staff)
    entry = donation.transaction.entries.first()
    account = entry.account
    for url in [f"/admin/funds/entry/{entry.pk}/change/", f"/admin/funds/account/{account.pk}/change/"]:
        page = text_of(client.get(url))
        assert "¥1,234.56" in page, url
        assert "123456" not in page and "（分）" not in page, url


def test_donation_export_has_chinese_headers_and_values(client, community_manager, fund, give):
    give(
        fund,
        123456,
        donor_name="张建国",
        publish_name=True,
        channel="charity_market",
        restriction="purpose",
        purpose="助餐",
    )
    client.force_login(community_manager)
    response = client.post(
        "/admin/funds/donation/export/",
        {"format": "1", "resource": "0"}
        | {
            f"donationresource_{f}": "on"
            for f in ("received_on", "amount", "channel", "restriction", "anonymous", "publish_name")
        },
    )
    assert response.status_code == 200, text_of(response)[:2000]
    header, row = response.content.decode("utf-8-sig").splitlines()[:2]
    assert header.split(",") == [
        "收到日期",
        "金额（元）",
        "渠道",
        "定向方式",
        "匿名",
        "捐赠人同意公开姓名（名称）",
    ]
    assert row.split(",")[1:] == ["1234.56", "公益市集", "定向指定用途", "否", "是"]


def test_statement_import_report_shows_yuan(client, community_staff, fund):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(community_staff)
    csv = '票据号,日期,捐赠人,金额,渠道\nA-1,2026-03-01,张建国,"1,234.56",居民\n'.encode("gbk")
    response = client.post(
        "/admin/funds/donation/import-statement/",
        {"fund": fund.pk, "file": SimpleUploadedFile("s.csv", csv), "check": "1"},
        follow=True,
    )
    page = text_of(response)
    assert "¥1,234.56" in page and "123456" not in page and "（分）" not in page
    assert "receipt_no" not in page and "received_on" not in page  # the headers a clerk types, in Chinese
