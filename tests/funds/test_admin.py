import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from django.utils.html import escape

from charity.models import AuditEvent
from funds.models import Donation, Entry, Transaction
from funds.services import DuplicateReceipt

pytestmark = pytest.mark.django_db


def donation_form(fund, **extra):
    return {
        "fund": fund.pk,
        "form": "money",
        "channel": "resident",
        "donor_name": "张建国",
        "amount_yuan": "88.80",
        "receipt_no": "JQ-9",
        "received_on": "2026-03-01",
        "restriction": "unrestricted",
        **extra,
    }


def test_staff_records_a_donation_through_the_service(client, community_staff, fund):
    client.force_login(community_staff)
    response = client.post("/admin/funds/donation/add/", donation_form(fund))
    assert response.status_code == 302, response.content.decode()[:3000]
    donation = Donation.objects.get()
    assert donation.amount_fen == 8880 and donation.handled_by == community_staff
    assert AuditEvent.objects.filter(action="donation.posted", surface="admin").count() == 1
    assert Transaction.objects.count() == 1


def test_a_refused_donation_shows_on_the_form_and_records_nothing(client, community_staff, fund, give):
    give(fund, 100, receipt_no="JQ-9")
    client.force_login(community_staff)
    response = client.post("/admin/funds/donation/add/", donation_form(fund))
    assert response.status_code == 200
    with translation.override("zh-hans"):  # the admin's language
        assert escape(str(DuplicateReceipt.default_message)) in response.content.decode()
    assert Donation.objects.count() == 1 and AuditEvent.objects.filter(surface="admin").count() == 0


def test_admin_refund_needs_a_reason_then_posts_a_reversal(client, community_staff, fund, give):
    donation = give(fund, 5000)
    client.force_login(community_staff)
    url = f"/admin/funds/donation/{donation.pk}/refund/"
    assert client.post(url, {"reason": ""}).status_code == 200
    assert Transaction.objects.count() == 1
    assert client.post(url, {"reason": "捐赠人要求退回"}).status_code == 302
    donation.refresh_from_db()
    assert donation.is_refunded and Transaction.objects.count() == 2


def test_outsider_cannot_open_or_refund_our_donation(client, outsider, fund, give):
    donation = give(fund, 5000)
    client.force_login(outsider)
    for page in ("change", "history", "delete"):  # a plain 404, not Django's redirect "may have been deleted"
        assert client.get(f"/admin/funds/donation/{donation.pk}/{page}/").status_code == 404
    assert client.post(f"/admin/funds/donation/{donation.pk}/refund/", {"reason": "x"}).status_code == 404
    assert not Donation.objects.get().is_refunded


def test_donation_export_is_scoped_to_the_users_areas(
    client, outsider, community_staff, fund, other_fund, give
):
    give(fund, 5000, donor_name="官北沟捐赠人", publish_name=True)
    give(other_fund, 7000, donor_name="大龙捐赠人", publish_name=True)
    for user, mine, theirs in [
        (community_staff, "官北沟捐赠人", "大龙捐赠人"),
        (outsider, "大龙捐赠人", "官北沟捐赠人"),
    ]:
        client.force_login(user)
        response = client.post(
            "/admin/funds/donation/export/",
            {
                "format": "1",
                "resource": "0",
                **{f"donationresource_{f}": "on" for f in ("id", "fund", "donor", "amount_fen")},
            },
        )
        assert response.status_code == 200, response.content.decode()[:2000]
        body = response.content.decode("utf-8-sig")
        assert mine in body and theirs not in body


def test_statement_import_dry_run_then_apply(client, community_staff, fund):
    client.force_login(community_staff)
    csv = "票据号,日期,捐赠人,金额,渠道\nA-1,2026-03-01,张建国,100,居民\n".encode("gbk")
    url = "/admin/funds/donation/import-statement/"
    # The upload is imported by a task (at once in the tests, eager), whose page shows the report.
    check = client.post(
        url, {"fund": fund.pk, "file": SimpleUploadedFile("s.csv", csv), "check": "1"}, follow=True
    )
    assert check.status_code == 200 and Donation.objects.count() == 0
    assert "张建国" in check.content.decode()
    client.post(url, {"fund": fund.pk, "file": SimpleUploadedFile("s.csv", csv), "apply": "1"})
    assert Donation.objects.count() == 1
    client.post(url, {"fund": fund.pk, "file": SimpleUploadedFile("s.csv", csv), "apply": "1"})
    assert Donation.objects.count() == 1


def test_viewer_cannot_import_statements(client, community_viewer, fund):
    client.force_login(community_viewer)
    assert client.get("/admin/funds/donation/import-statement/").status_code == 403


def test_ledger_is_read_only_in_the_admin(client, community_manager, fund, give):
    give(fund, 5000)
    client.force_login(community_manager)
    entry = Entry.objects.first()
    assert client.get("/admin/funds/entry/").status_code == 200
    assert client.get("/admin/funds/entry/add/").status_code == 403
    response = client.post(f"/admin/funds/entry/{entry.pk}/change/", {"amount_fen": 1})
    assert response.status_code == 403
    assert client.post(f"/admin/funds/entry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Entry.objects.get(pk=entry.pk).amount_fen == entry.amount_fen


def test_fund_change_page_shows_balance_restricted_and_entries(client, community_staff, fund, give):
    give(fund, 5000)
    give(fund, 2000, restriction="purpose", purpose="独居老人助餐")
    client.force_login(community_staff)
    page = client.get(f"/admin/funds/fund/{fund.pk}/change/").content.decode()
    assert "¥70.00" in page and "独居老人助餐" in page and "¥20.00" in page


@pytest.mark.parametrize("url", ["/admin/funds/donation/", "/admin/funds/fund/", "/admin/funds/transaction/"])
def test_admin_lists_run_as_many_queries_for_40_rows_as_for_one(
    client, community_staff, fund, give, url, count_queries
):
    def show():
        assert client.get(url).status_code == 200

    client.force_login(community_staff)
    give(fund, 100)
    show()  # warm up
    one = count_queries(show)
    for i in range(1, 40):
        give(fund, 100 + i)
    assert count_queries(show) == one <= 20


def test_named_fund_below_its_hosts_minimum_is_flagged(client, community_staff, named_fund, give, settings):
    settings.NAMED_FUND_MIN_FEN_BY_HOST = {named_fund.host.name: 500_000}
    give(named_fund.parent, 100_000, restriction="named_fund", restricted_fund=named_fund)
    client.force_login(community_staff)
    page = client.get(f"/admin/funds/fund/{named_fund.pk}/change/").content.decode()
    assert "¥5,000.00" in page and "¥4,000.00" in page
