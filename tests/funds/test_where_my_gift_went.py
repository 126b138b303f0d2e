"""The fund page walks donation → decision → payment → result in links, and "where did my gift go" (Charity
Law art. 42) tells a donor, from a receipt number, which proposals spent the money their gift is part of —
and nothing about anyone else's gift."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from charity.models import AuditEvent
from charity.services import Actor
from funds import movements
from funds import services as fund_services
from funds.models import Donation
from governance import services
from tests.factories import FundFactory, PersonFactory
from tests.governance import test_proposal_portal as portal
from tests.governance.test_proposal_portal import EN, in_days, to_vote, vote_all

# The proposal fixtures of the portal tests: a committee of seven voters and a supervisor, staff, beneficiary.
beneficiary, committee, staff, voters = portal.beneficiary, portal.committee, portal.staff, portal.voters

SYSTEM = Actor.system(AuditEvent.Surface.COMMAND)


@pytest.fixture
def fund(dalong):
    fund = FundFactory(name="大龙社区慈善基金", community=dalong)
    gifts = [
        ("PYCS-0001", 6_000_000, {}),
        ("PYCS-0002", 400_000, {"restriction": "purpose", "purpose": "楼梯扶手安装"}),
        ("PYCS-0003", 300_000, {"restriction": "purpose", "purpose": "小区监控建设"}),
    ]
    for receipt, amount, extra in gifts:
        fund_services.post_donation(
            fund=fund,
            amount_fen=amount,
            actor=SYSTEM,
            receipt_no=receipt,
            channel="resident",
            received_on=datetime.date(2026, 3, 1),
            donor_person=PersonFactory(name=f"捐赠人{receipt[-1]}", community=dalong),
            publish_name=False,
            **extra,
        )
    return fund


def decide_and_pay(committee, staff, voters, beneficiary, *, title, amount_fen, purpose="", report=True):
    proposal = to_vote(committee, staff, beneficiary, title=title, amount_fen=amount_fen, purpose=purpose)
    vote_all(proposal, voters, ["yes"] * 7)
    with time_machine.travel(in_days(8)):
        services.end_due_notices()
        services.disburse(
            proposal=proposal, amount_fen=amount_fen, paid_on=timezone.localdate(), reference="P", actor=staff
        )
        if report:
            services.submit_report(proposal=proposal, outcomes="已完工。", actor=staff)
    proposal.refresh_from_db()
    return proposal


@pytest.fixture
def spent(committee, staff, voters, beneficiary):
    return {
        "handrails": decide_and_pay(
            committee,
            staff,
            voters,
            beneficiary,
            title="楼梯扶手",
            amount_fen=500_000,
            purpose="楼梯扶手安装",
        ),
        "pingpong": decide_and_pay(
            committee, staff, voters, beneficiary, title="乒乓球场翻新", amount_fen=1_000_000, report=False
        ),
    }


def where(client, fund, receipt=None):
    path = f"/funds/{fund.pk}/where/"
    return client.get(path, {"receipt": receipt} if receipt is not None else {}, **EN)


def test_a_restricted_gift_shows_the_proposals_that_spent_its_purpose_money(client, fund, spent):
    response = where(client, fund, "PYCS-0002")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Restricted by you to “楼梯扶手安装”" in html and "¥4,000.00" in html
    # The handrails used all ¥4,000 of the purpose's money (then ¥1,000 unrestricted): that is shown.
    assert "楼梯扶手" in html and f"/committees/proposals/{spent['handrails'].pk}/" in html
    assert "乒乓球场翻新" not in html  # unrestricted spending is not this gift's
    assert 'Still held for it: <span class="money">¥0.00</span>' in html
    # No one else's gift: not the other receipts, not the donors' names.
    for other in ("PYCS-0001", "PYCS-0003", "捐赠人1", "捐赠人2", "捐赠人3"):
        assert other not in html


def test_an_unrestricted_gift_shows_the_unrestricted_spending_and_what_is_decided_but_unpaid(
    client, fund, spent, committee, staff, voters, beneficiary
):
    coming = to_vote(committee, staff, beneficiary, title="小区监控", amount_fen=200_000)
    vote_all(coming, voters, ["yes"] * 7)
    html = where(client, fund, "PYCS-0001").content.decode()
    assert "Not restricted" in html
    assert "乒乓球场翻新" in html and "¥10,000.00" in html  # paid from unrestricted money
    assert "¥1,000.00" in html  # the handrails' part that was not purpose money
    assert "Decided, to be paid" in html and "小区监控" in html


def test_a_purpose_nothing_was_spent_on_yet_says_so(client, fund, spent):
    html = where(client, fund, "PYCS-0003").content.decode()
    assert "Nothing has been paid from this money yet." in html
    assert 'Still held for it: <span class="money">¥3,000.00</span>' in html


def test_the_receipt_is_read_as_typed_on_a_phone(client, fund, spent):
    for typed in ("  pycs-0002 ", "ＰＹＣＳ－０００２"):
        response = where(client, fund, typed)
        assert response.status_code == 200 and "楼梯扶手安装" in response.content.decode()


@pytest.mark.parametrize(
    ("receipt", "status", "message"),
    [
        ("", 400, "Enter the receipt number printed on your donation receipt."),
        ("   ", 400, "Enter the receipt number printed on your donation receipt."),
        ("X" * 65, 400, "A receipt number has at most 64 characters."),
        ("PYCS-9999", 404, "No gift to 大龙社区慈善基金 has this receipt number."),
        ("' OR 1=1 --", 404, "No gift to"),
    ],
)
def test_a_bad_or_unknown_receipt_gets_a_clear_message(client, fund, receipt, status, message):
    response = where(client, fund, receipt)
    assert response.status_code == status and message in response.content.decode()
    assert "Your gift" not in response.content.decode()


def test_a_receipt_of_another_fund_is_not_found_here(client, fund, dalong):
    other = FundFactory(name="别的基金", community=dalong)
    fund_services.post_donation(
        fund=other,
        amount_fen=100,
        actor=SYSTEM,
        receipt_no="OTHER-1",
        channel="resident",
        received_on=datetime.date(2026, 3, 1),
    )
    assert where(client, fund, "OTHER-1").status_code == 404
    assert where(client, other, "OTHER-1").status_code == 200


def test_a_refunded_gift_says_none_of_it_was_spent(client, fund):
    gift = Donation.objects.get(receipt_no="PYCS-0002")
    fund_services.refund_donation(donation=gift, reason="重复转账", actor=SYSTEM)
    html = where(client, fund, "PYCS-0002").content.decode()
    assert "This gift was refunded: none of it was spent." in html and "Spent on" not in html


def test_the_cached_empty_form_is_never_served_for_a_receipt(client, fund, spent, settings):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 300
    assert "Your gift" not in where(client, fund).content.decode()
    assert "Your gift" in where(client, fund, "PYCS-0002").content.decode()
    assert "Your gift" in where(client, fund, "PYCS-0002").content.decode()


# --- the fund page: every payment linked to its decision and its report ------------------------------------


def test_the_fund_page_links_every_payment_to_its_proposal_and_report(client, fund, spent, dalong):
    movements.withdraw(fund=fund, amount_fen=1_000, actor=SYSTEM, memo="手续费")
    html = client.get(f"/funds/{fund.pk}/", **EN).content.decode()
    section = html[html.index('id="spending"') :]
    handrails, pingpong = spent["handrails"], spent["pingpong"]
    assert f'href="/committees/proposals/{handrails.pk}/#decision"' in section
    assert f'href="/committees/proposals/{handrails.pk}/#report"' in section  # reported
    assert f'href="/committees/proposals/{pingpong.pk}/#decision"' in section
    assert (
        f'href="/committees/proposals/{pingpong.pk}/#report"' not in section and "Report to come" in section
    )
    assert "Recorded in the ledger without a proposal on this platform." in section
    assert f'href="/funds/{fund.pk}/where/"' in html
    assert f'href="/committees/community/{dalong.pk}/proposals/"' in html
    # …and the proposal page links back to the fund, with its payments and its report.
    page = client.get(f"/committees/proposals/{handrails.pk}/", **EN).content.decode()
    assert f'href="/funds/{fund.pk}/#spending"' in page and 'id="payments"' in page and 'id="report"' in page


def test_the_fund_page_runs_as_many_queries_for_many_payments_as_for_one(
    client, fund, committee, staff, voters, beneficiary, count_queries, settings
):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0
    decide_and_pay(committee, staff, voters, beneficiary, title="一", amount_fen=10_000)

    def show():
        assert client.get(f"/funds/{fund.pk}/").status_code == 200

    show()
    one = count_queries(show)
    for n in range(3):
        decide_and_pay(committee, staff, voters, beneficiary, title=f"项{n}", amount_fen=10_000, report=n % 2)
    movements.withdraw(fund=fund, amount_fen=1_000, actor=SYSTEM)
    assert count_queries(show) == one


def test_where_runs_a_fixed_number_of_queries(
    client, fund, committee, staff, voters, beneficiary, count_queries
):
    decide_and_pay(committee, staff, voters, beneficiary, title="一", amount_fen=10_000)
    one = count_queries(lambda: where(client, fund, "PYCS-0001"))
    for n in range(3):
        decide_and_pay(committee, staff, voters, beneficiary, title=f"项{n}", amount_fen=10_000)
    assert count_queries(lambda: where(client, fund, "PYCS-0001")) == one


def test_a_gift_to_a_named_fund_shows_that_funds_payments(client, fund):
    from funds.models import Fund

    named = FundFactory(
        name="示例冠名基金",
        kind=Fund.Kind.NAMED,
        parent=fund,
        community=fund.community,
        host=fund.host,
        named_after="某人",
    )
    fund_services.post_donation(
        fund=fund,
        amount_fen=200_000,
        actor=SYSTEM,
        receipt_no="NAMED-1",
        channel="resident",
        received_on=datetime.date(2026, 3, 1),
        restriction="named_fund",
        restricted_fund=named,
    )
    movements.withdraw(fund=named, amount_fen=50_000, actor=SYSTEM, memo="助学")
    for page in (fund, named):  # found from the community fund's page and from the named fund's
        html = where(client, page, "NAMED-1").content.decode()
        assert "Given to the named fund 示例冠名基金." in html and "Payments from 示例冠名基金:" in html
        assert "¥500.00" in html and "Recorded in the ledger without a proposal on this platform." in html
        assert 'Still held for it: <span class="money">¥1,500.00</span>' in html
