"""The fund keeps its promises (CL arts. 39, 56, 58): restricted money stays restricted wherever it moves,
an endowment's principal is never spent, a named fund has its parent's host, leftovers are decided and
shown, and a venture philanthropy grant is a grant, not a gift. See docs/fund-rules.md."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from charity.errors import DomainError
from charity.models import AuditEvent, Organization
from charity.services import Actor
from funds import selectors, services
from funds.models import Account, Donation, Entry, Fund, LeftoverDecision, RestrictionChange, Transaction
from tests.factories import FundFactory, OrganizationFactory

TODAY = datetime.date(2026, 3, 1)
CONSENT = {
    "consent_by": "马文斌",
    "consent_on": datetime.date(2026, 2, 20),
    "consent_record": "捐赠人书面同意书，编号 JQ-TY-2026-003",
}


@pytest.fixture
def actor(django_user_model):
    user = django_user_model.objects.create(username="fund_clerk", is_staff=True)
    return Actor(surface=AuditEvent.Surface.ADMIN, user=user)


def donate(fund, amount_fen, actor, **kwargs):
    kwargs.setdefault("channel", Donation.Channel.RESIDENT)
    kwargs.setdefault("received_on", TODAY)
    if not kwargs.get("receipt_no") and kwargs["channel"] != Donation.Channel.VENTURE_GRANT:
        kwargs.setdefault("receipt_waived", True)
    return services.post_donation(fund=fund, amount_fen=amount_fen, actor=actor, **kwargs)


def state():
    """Everything a refused service must leave as it was."""
    return (
        [m.objects.count() for m in (Transaction, Entry, Donation, AuditEvent, RestrictionChange)],
        LeftoverDecision.objects.count(),
        list(Account.objects.order_by("pk").values_list("pk", "balance_fen")),
        list(Fund.objects.order_by("pk").values_list("pk", "status")),
    )


def assert_refused(code, func, /, **kwargs):
    before = state()
    with pytest.raises(DomainError) as info:
        func(**kwargs)
    assert info.value.code == code, (info.value.code, info.value.message)
    assert state() == before
    return info.value


def held(fund, kind, purpose=""):
    account = Account.objects.filter(fund=fund, kind=kind, purpose=purpose).first()
    return account.balance_fen if account else 0


def entries_of(txn):
    return sorted(
        (e.account.fund_id, e.account.kind, e.account.purpose, e.amount_fen)
        for e in txn.entries.select_related("account")
    )


@pytest.fixture
def endowment(fund):
    return FundFactory(
        name="马氏助学留本冠名基金",
        kind=Fund.Kind.NAMED,
        parent=fund,
        community=fund.community,
        host=fund.host,
        named_after="马文斌",
        policy=Fund.Policy.ENDOWMENT,
    )


@pytest.fixture
def sister_fund(fund):
    """Another community's fund held by the same host: leftovers may go there, money never leaves the host."""
    from tests.factories import community

    return FundFactory(
        name="酒泉示例社区基金",
        community=community("酒泉市", "肃州区", "另一街道", "另一社区"),
        host=fund.host,
    )


# --- 1. restricted money keeps its restriction -------------------------------------------------------------


def test_money_given_to_a_named_fund_cannot_be_transferred_back_into_the_community_funds_pool(
    fund, named_fund, actor
):
    donate(fund, 5_000, actor, restriction="named_fund", restricted_fund=named_fund)
    error = assert_refused(
        "restricted_transfer",
        services.transfer,
        from_fund=named_fund,
        to_fund=fund,
        amount_fen=1_000,
        actor=actor,
    )
    assert error.field == "from_fund"
    # …and so the community fund cannot spend it on anything else.
    assert_refused("insufficient_funds", services.withdraw, fund=fund, amount_fen=1, actor=actor)


def test_the_community_fund_may_still_commit_its_unrestricted_money_to_a_named_fund(fund, named_fund, actor):
    donate(fund, 10_000, actor)
    txn = services.transfer(from_fund=fund, to_fund=named_fund, amount_fen=6_000, actor=actor, memo="配捐")
    assert entries_of(txn) == sorted(
        [(fund.pk, "general", "", -6_000), (named_fund.pk, "general", "", 6_000)]
    )
    assert AuditEvent.objects.filter(action="funds.transferred").count() == 1


def test_a_restriction_change_moves_money_from_one_purpose_to_another_with_the_donors_consent(fund, actor):
    donate(fund, 8_000, actor, restriction="purpose", purpose="楼梯扶手")
    change = services.change_restriction(
        fund=fund,
        from_purpose="楼梯扶手",
        to_fund=fund,
        to_purpose="乒乓球场",
        amount_fen=3_000,
        actor=actor,
        **CONSENT,
    )
    assert isinstance(change, RestrictionChange)
    assert change.consent_by == "马文斌" and change.recorded_by == actor.user
    assert change.consent_record.startswith("捐赠人书面同意书")
    assert entries_of(change.transaction) == sorted(
        [(fund.pk, "restricted", "楼梯扶手", -3_000), (fund.pk, "restricted", "乒乓球场", 3_000)]
    )
    assert change.transaction.kind == Transaction.Kind.RESTRICTION_CHANGE
    assert selectors.fund_balance(fund).restricted_by_purpose == {"楼梯扶手": 5_000, "乒乓球场": 3_000}
    event = AuditEvent.objects.get(action="funds.restriction_changed")
    assert event.object_id == str(change.pk) and event.data["amount_fen"] == 3_000
    assert event.data["consent_by"] == "马文斌"
    assert selectors.verify_ledger().ok


def test_with_consent_a_named_funds_money_may_become_the_community_funds_unrestricted_money(
    fund, named_fund, actor
):
    donate(fund, 5_000, actor, restriction="named_fund", restricted_fund=named_fund)
    services.change_restriction(fund=named_fund, to_fund=fund, amount_fen=2_000, actor=actor, **CONSENT)
    assert held(named_fund, "general") == 3_000 and held(fund, "general") == 2_000
    services.withdraw(fund=fund, amount_fen=2_000, actor=actor, memo="社区议事厅")


@pytest.mark.parametrize("missing", ["consent_by", "consent_on", "consent_record"])
def test_a_restriction_change_without_the_donors_recorded_consent_is_refused(fund, actor, missing):
    donate(fund, 8_000, actor, restriction="purpose", purpose="楼梯扶手")
    consent = {**CONSENT, missing: "" if missing != "consent_on" else None}
    error = assert_refused(
        "consent_required",
        services.change_restriction,
        fund=fund,
        from_purpose="楼梯扶手",
        to_fund=fund,
        amount_fen=1_000,
        actor=actor,
        **consent,
    )
    assert error.field == missing


def test_consent_cannot_be_dated_in_the_future(fund, actor):
    donate(fund, 8_000, actor, restriction="purpose", purpose="楼梯扶手")
    assert_refused(
        "consent_required",
        services.change_restriction,
        fund=fund,
        from_purpose="楼梯扶手",
        to_fund=fund,
        amount_fen=1_000,
        actor=actor,
        **{**CONSENT, "consent_on": datetime.date.today() + datetime.timedelta(days=2)},
    )


def test_unrestricted_money_needs_no_restriction_change(fund, actor):
    donate(fund, 8_000, actor)
    assert_refused(
        "not_restricted",
        services.change_restriction,
        fund=fund,
        to_fund=fund,
        to_purpose="助老",
        amount_fen=1_000,
        actor=actor,
        **CONSENT,
    )


def test_a_restriction_change_moves_no_more_than_the_restriction_holds(fund, actor):
    donate(fund, 800, actor, restriction="purpose", purpose="楼梯扶手")
    donate(fund, 9_000, actor)
    assert_refused(
        "insufficient_funds",
        services.change_restriction,
        fund=fund,
        from_purpose="楼梯扶手",
        to_fund=fund,
        amount_fen=801,
        actor=actor,
        **CONSENT,
    )


def test_money_never_leaves_its_host_by_a_restriction_change(fund, other_fund, actor):
    donate(fund, 800, actor, restriction="purpose", purpose="楼梯扶手")
    assert fund.host_id != other_fund.host_id
    error = assert_refused(
        "host_mismatch",
        services.change_restriction,
        fund=fund,
        from_purpose="楼梯扶手",
        to_fund=other_fund,
        amount_fen=100,
        actor=actor,
        **CONSENT,
    )
    assert error.field == "to_fund"


def test_reversing_a_restriction_change_restores_the_original_restriction(fund, actor):
    donate(fund, 8_000, actor, restriction="purpose", purpose="楼梯扶手")
    change = services.change_restriction(
        fund=fund,
        from_purpose="楼梯扶手",
        to_fund=fund,
        to_purpose="乒乓球场",
        amount_fen=3_000,
        actor=actor,
        **CONSENT,
    )
    services.reverse_transaction(transaction=change.transaction, actor=actor, reason="金额录错")
    assert selectors.fund_balance(fund).restricted_by_purpose == {"楼梯扶手": 8_000, "乒乓球场": 0}


# --- 2. an endowment spends only its income ----------------------------------------------------------------


def test_gifts_to_an_endowment_are_its_principal(fund, endowment, actor):
    direct = donate(endowment, 40_000, actor)
    through_parent = donate(fund, 10_000, actor, restriction="named_fund", restricted_fund=endowment)
    assert entries_of(direct.transaction) == sorted(
        [(endowment.pk, "principal", "", 40_000), (endowment.pk, "donors", "", -40_000)]
    )
    assert held(endowment, "principal") == 50_000 and held(endowment, "general") == 0
    balance = selectors.fund_balance(endowment)
    assert (balance.balance_fen, balance.principal_fen, balance.income_fen) == (50_000, 50_000, 0)
    assert through_parent.restricted_fund == endowment


def test_withdraw_refuses_an_endowments_principal_with_a_clear_message(endowment, actor):
    donate(endowment, 40_000, actor)
    with translation.override("en"):
        error = assert_refused(
            "principal_not_spendable", services.withdraw, fund=endowment, amount_fen=100, actor=actor
        )
        message = str(error.message)
    assert error.status == 409 and error.field == "amount_fen"
    assert "¥400.00" in message and "principal" in message and "income" in message


def test_investment_income_is_recorded_against_its_own_counterpart_and_may_be_spent(endowment, actor):
    donate(endowment, 40_000, actor)
    income = services.record_investment_income(
        fund=endowment, amount_fen=1_200, actor=actor, memo="2026年一季度利息"
    )
    assert income.kind == Transaction.Kind.INVESTMENT_INCOME
    assert entries_of(income) == sorted(
        [(endowment.pk, "income", "", 1_200), (endowment.pk, "investment", "", -1_200)]
    )
    assert AuditEvent.objects.filter(action="funds.income_recorded", object_id=str(income.pk)).exists()
    services.withdraw(fund=endowment, amount_fen=1_200, actor=actor, memo="助学金")
    assert held(endowment, "principal") == 40_000 and held(endowment, "income") == 0
    assert_refused("principal_not_spendable", services.withdraw, fund=endowment, amount_fen=1, actor=actor)
    assert selectors.verify_ledger().ok


def test_investment_income_to_a_closed_fund_is_refused(fund, actor):
    services.close_fund(fund=fund, actor=actor, closed_on=TODAY)
    assert_refused("fund_closed", services.record_investment_income, fund=fund, amount_fen=5, actor=actor)


def test_money_the_community_fund_commits_to_an_endowment_becomes_principal(fund, endowment, actor):
    donate(fund, 10_000, actor)
    services.transfer(from_fund=fund, to_fund=endowment, amount_fen=10_000, actor=actor)
    assert held(endowment, "principal") == 10_000
    assert_refused("principal_not_spendable", services.withdraw, fund=endowment, amount_fen=1, actor=actor)


def test_a_gift_to_an_endowment_for_a_separate_purpose_is_refused(endowment, actor):
    error = assert_refused(
        "invalid_restriction",
        donate,
        fund=endowment,
        amount_fen=100,
        actor=actor,
        restriction="purpose",
        purpose="助学",
    )
    assert error.field == "purpose"


def test_an_endowments_principal_is_not_repurposed_by_a_restriction_change(fund, endowment, actor):
    donate(endowment, 40_000, actor)
    assert_refused(
        "principal_not_spendable",
        services.change_restriction,
        fund=endowment,
        to_fund=fund,
        amount_fen=100,
        actor=actor,
        **CONSENT,
    )


def test_an_endowment_holding_principal_cannot_become_spend_down(endowment, actor):
    donate(endowment, 40_000, actor)
    endowment.policy = Fund.Policy.SPEND_DOWN
    with pytest.raises(ValidationError) as info:
        endowment.full_clean()
    assert "policy" in info.value.message_dict


def test_the_api_shows_principal_and_income(hub_api, fund, endowment, actor):
    donate(endowment, 40_000, actor)
    services.record_investment_income(fund=endowment, amount_fen=1_200, actor=actor)
    body = hub_api.get(f"/api/v1/funds/{endowment.pk}/").json()
    assert (body["principal_fen"], body["income_fen"], body["balance_fen"]) == (40_000, 1_200, 41_200)
    listed = {r["id"]: r for r in hub_api.get("/api/v1/funds/").json()["results"]}
    assert listed[endowment.pk]["principal_fen"] == 40_000 and listed[fund.pk]["principal_fen"] == 0


def test_the_fund_page_shows_principal_and_income(client, endowment, actor):
    donate(endowment, 40_000, actor)
    services.record_investment_income(fund=endowment, amount_fen=1_200, actor=actor)
    with translation.override("en"):
        page = client.get(f"/funds/{endowment.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Principal (kept)" in page and "¥400.00" in page
    assert "Income to spend" in page and "¥12.00" in page


# --- 3. a named fund has its parent's host -----------------------------------------------------------------


def test_a_named_fund_with_another_host_is_refused(fund):
    stranger = OrganizationFactory(
        name="另一个基金会", type=Organization.Type.FOUNDATION, area=fund.host.area
    )
    named = Fund(
        name="异地冠名基金",
        kind=Fund.Kind.NAMED,
        parent=fund,
        community=fund.community,
        host=stranger,
        named_after="某人",
        opened_on=TODAY,
    )
    with pytest.raises(ValidationError) as info:
        named.full_clean()
    assert "host" in info.value.message_dict


def test_a_community_fund_cannot_change_host_and_leave_its_named_funds_behind(fund, named_fund):
    fund.host = OrganizationFactory(
        name="另一个基金会", type=Organization.Type.FOUNDATION, area=fund.host.area
    )
    with pytest.raises(ValidationError) as info:
        fund.full_clean()
    assert "host" in info.value.message_dict


def test_the_admin_refuses_a_named_fund_with_another_host(client, community_staff, fund):
    stranger = OrganizationFactory(
        name="另一个基金会", type=Organization.Type.FOUNDATION, area=fund.host.area
    )
    client.force_login(community_staff)
    response = client.post(
        "/admin/funds/fund/add/",
        {
            "name": "异地冠名基金",
            "kind": "named",
            "parent": fund.pk,
            "named_after": "某人",
            "community": fund.community_id,
            "host": stranger.pk,
            "policy": "spend_down",
            "opened_on": "2026-01-01",
            "named_funds-TOTAL_FORMS": "0",
            "named_funds-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors.get("host")
    assert not Fund.objects.filter(name="异地冠名基金").exists()


def test_the_services_refuse_a_named_fund_held_elsewhere(fund, named_fund, actor):
    # A row written past Fund.clean (a script, a bad import): the services still refuse to move money.
    stranger = OrganizationFactory(
        name="另一个基金会", type=Organization.Type.FOUNDATION, area=fund.host.area
    )
    Fund.objects.filter(pk=named_fund.pk).update(host=stranger)
    named_fund.refresh_from_db()
    donate(fund, 1_000, actor)
    assert_refused(
        "host_mismatch",
        donate,
        fund=fund,
        amount_fen=100,
        actor=actor,
        restriction="named_fund",
        restricted_fund=named_fund,
    )
    assert_refused(
        "host_mismatch", services.transfer, from_fund=fund, to_fund=named_fund, amount_fen=100, actor=actor
    )


# --- 4. leftovers are decided, moved, and shown (CL art. 58) -----------------------------------------------


def test_closing_a_fund_that_still_holds_money_needs_a_leftover_decision(fund, named_fund, actor):
    donate(fund, 5_000, actor, restriction="named_fund", restricted_fund=named_fund)
    error = assert_refused(
        "leftover_undecided", services.close_fund, fund=named_fund, actor=actor, closed_on=TODAY
    )
    assert "¥50.00" in str(error.message)


def test_a_leftover_decision_moves_what_is_left_closes_the_fund_and_is_audited(fund, named_fund, actor):
    donate(fund, 5_000, actor, restriction="named_fund", restricted_fund=named_fund)
    donate(named_fund, 700, actor, restriction="purpose", purpose="助学文具")
    decision = services.decide_leftover(
        fund=named_fund,
        basis=LeftoverDecision.Basis.SIMILAR_PURPOSE,
        to_fund=fund,
        to_purpose="助学",
        reason="冠名人已迁居，按同类用途（助学）转入社区基金。",
        decided_on=TODAY,
        actor=actor,
    )
    named_fund.refresh_from_db()
    assert named_fund.status == Fund.Status.CLOSED and named_fund.closed_on == TODAY
    assert decision.amount_fen == 5_700 and decision.recorded_by == actor.user
    assert held(named_fund, "general") == 0 and held(named_fund, "restricted", "助学文具") == 0
    assert held(fund, "restricted", "助学") == 5_700
    assert decision.transaction.kind == Transaction.Kind.LEFTOVER
    event = AuditEvent.objects.get(action="funds.leftover_decided")
    assert event.object_id == str(decision.pk) and event.data["amount_fen"] == 5_700
    assert AuditEvent.objects.filter(action="fund.closed", object_id=str(named_fund.pk)).exists()
    assert selectors.verify_ledger().ok


def test_a_leftover_as_the_donor_agreed_may_go_to_unrestricted_money(fund, named_fund, actor):
    donate(fund, 5_000, actor, restriction="named_fund", restricted_fund=named_fund)
    services.decide_leftover(
        fund=named_fund,
        basis=LeftoverDecision.Basis.AS_AGREED,
        to_fund=fund,
        reason="冠名协议第六条：结余转入社区基金统筹使用。",
        decided_on=TODAY,
        actor=actor,
    )
    assert held(fund, "general") == 5_000


def test_a_similar_purpose_is_a_purpose(fund, named_fund, actor):
    donate(fund, 5_000, actor, restriction="named_fund", restricted_fund=named_fund)
    error = assert_refused(
        "invalid_leftover",
        services.decide_leftover,
        fund=named_fund,
        basis=LeftoverDecision.Basis.SIMILAR_PURPOSE,
        to_fund=fund,
        reason="同类用途",
        decided_on=TODAY,
        actor=actor,
    )
    assert error.field == "to_purpose"


def test_a_leftover_decision_needs_its_reason(fund, named_fund, actor):
    donate(fund, 5_000, actor, restriction="named_fund", restricted_fund=named_fund)
    error = assert_refused(
        "reason_required",
        services.decide_leftover,
        fund=named_fund,
        basis=LeftoverDecision.Basis.AS_AGREED,
        to_fund=fund,
        reason="  ",
        decided_on=TODAY,
        actor=actor,
    )
    assert error.field == "reason"


def test_a_leftover_never_leaves_the_host(fund, other_fund, actor):
    donate(fund, 5_000, actor, restriction="purpose", purpose="楼梯扶手")
    assert_refused(
        "host_mismatch",
        services.decide_leftover,
        fund=fund,
        purpose="楼梯扶手",
        basis=LeftoverDecision.Basis.SIMILAR_PURPOSE,
        to_fund=other_fund,
        to_purpose="扶手",
        reason="工程结束",
        decided_on=TODAY,
        actor=actor,
    )


def test_closing_a_purpose_moves_its_leftover_and_keeps_the_fund_open(fund, sister_fund, actor):
    donate(fund, 5_000, actor, restriction="purpose", purpose="楼梯扶手")
    donate(fund, 1_000, actor)
    services.withdraw(fund=fund, amount_fen=4_600, actor=actor, purpose="楼梯扶手")
    decision = services.decide_leftover(
        fund=fund,
        purpose="楼梯扶手",
        basis=LeftoverDecision.Basis.SIMILAR_PURPOSE,
        to_fund=sister_fund,
        to_purpose="适老化改造",
        reason="扶手工程已完工，结余用于邻近社区的同类适老化改造。",
        decided_on=TODAY,
        actor=actor,
    )
    assert decision.amount_fen == 400
    assert held(fund, "restricted", "楼梯扶手") == 0 and held(fund, "general") == 1_000
    assert held(sister_fund, "restricted", "适老化改造") == 400
    fund.refresh_from_db()
    assert fund.is_open


def test_a_leftover_decision_is_not_reversed(fund, named_fund, actor):
    donate(fund, 5_000, actor, restriction="named_fund", restricted_fund=named_fund)
    decision = services.decide_leftover(
        fund=named_fund,
        basis=LeftoverDecision.Basis.AS_AGREED,
        to_fund=fund,
        reason="协议约定",
        decided_on=TODAY,
        actor=actor,
    )
    assert_refused(
        "cannot_reverse_leftover",
        services.reverse_transaction,
        transaction=decision.transaction,
        actor=actor,
        reason="改主意",
    )


def test_an_endowments_leftover_goes_with_its_principal(fund, endowment, actor):
    donate(endowment, 40_000, actor)
    services.record_investment_income(fund=endowment, amount_fen=500, actor=actor)
    decision = services.decide_leftover(
        fund=endowment,
        basis=LeftoverDecision.Basis.SIMILAR_PURPOSE,
        to_fund=fund,
        to_purpose="助学",
        reason="留本基金到期，按协议同类用途使用。",
        decided_on=TODAY,
        actor=actor,
    )
    assert decision.amount_fen == 40_500 and held(fund, "restricted", "助学") == 40_500
    assert selectors.verify_ledger().ok


def test_the_fund_page_shows_leftover_decisions(client, fund, named_fund, actor):
    donate(fund, 5_000, actor, restriction="named_fund", restricted_fund=named_fund)
    services.decide_leftover(
        fund=named_fund,
        basis=LeftoverDecision.Basis.SIMILAR_PURPOSE,
        to_fund=fund,
        to_purpose="助学",
        reason="冠名人已迁居，按同类用途（助学）转入社区基金。",
        decided_on=TODAY,
        actor=actor,
    )
    for page in (f"/funds/{named_fund.pk}/", f"/funds/{fund.pk}/"):
        with translation.override("en"):
            html = client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "What was left over" in html, page
        assert "冠名人已迁居" in html and "¥50.00" in html and "助学" in html


# --- 5. a venture philanthropy grant is a grant -------------------------------------------------------------


def test_a_venture_grant_is_recorded_without_a_receipt_or_a_waiver(fund, actor):
    grant = donate(
        fund, 300_000, actor, channel="venture_grant", restriction="purpose", purpose="邻里互助项目"
    )
    assert grant.receipt_no == "" and not grant.receipt_waived
    assert held(fund, "restricted", "邻里互助项目") == 300_000


@pytest.mark.parametrize("receipt", [{"receipt_no": "JQ-1"}, {"receipt_waived": True}])
def test_a_venture_grant_takes_no_donation_receipt(fund, actor, receipt):
    error = assert_refused(
        "invalid_receipt",
        services.post_donation,
        fund=fund,
        amount_fen=300_000,
        actor=actor,
        channel="venture_grant",
        received_on=TODAY,
        **receipt,
    )
    assert error.field in receipt


def test_a_venture_grant_is_money(fund, actor):
    assert_refused(
        "invalid_form",
        donate,
        fund=fund,
        amount_fen=300_000,
        actor=actor,
        channel="venture_grant",
        form="in_kind",
        item_description="桌椅",
    )


def test_grants_are_not_counted_as_gifts_by_channel(fund, actor):
    donate(fund, 1_000, actor)
    donate(fund, 300_000, actor, channel="venture_grant")
    assert selectors.income_by_channel(fund, 2026) == {"resident": 1_000}
    assert selectors.grants_received_fen(fund, 2026) == 300_000


def test_the_fund_page_shows_grants_apart_from_donations(client, fund, actor):
    donate(fund, 1_000, actor, donor_name="张建国", publish_name=True)
    donate(fund, 300_000, actor, channel="venture_grant", donor_name="肃州区民政局", publish_name=True)
    with translation.override("en"):
        html = client.get(f"/funds/{fund.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    donations = html.split("<h2>Donations</h2>")[1].split("<h2>")[0]
    assert "张建国" in donations and "肃州区民政局" not in donations
    grants = html.split("<h2>Grants received</h2>")[1]
    assert "肃州区民政局" in grants and "¥3,000.00" in grants
    assert 'Total this year: <span class="money">¥10.00</span>' in html  # the gift, not the grant


def test_the_api_records_a_grant_without_a_receipt(hub_api, fund):
    body = {"fund": fund.pk, "amount_fen": 300_000, "channel": "venture_grant", "received_on": "2026-03-01"}
    response = hub_api.post("/api/v1/donations/", body, format="json")
    assert response.status_code == 201, response.content
    refused = hub_api.post("/api/v1/donations/", {**body, "receipt_no": "X-1"}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_receipt"


# --- 6. one check for a donation, reused by the admin and the statement import ------------------------------


def test_check_donation_validates_without_writing(fund, named_fund, actor, django_assert_num_queries):
    plan = services.check_donation(
        fund=fund,
        amount_fen=5_000,
        channel="resident",
        received_on=TODAY,
        receipt_no=" JQ-7 ",
        restriction="named_fund",
        restricted_fund=named_fund,
    )
    assert plan.receipt_no == "JQ-7" and plan.target == named_fund
    assert Donation.objects.count() == 0 and Transaction.objects.count() == 0
    with pytest.raises(DomainError) as info:
        services.check_donation(fund=fund, amount_fen=0, channel="resident", received_on=TODAY)
    assert info.value.code == "invalid_amount"


def test_check_donation_asks_for_a_taken_receipt_only_when_told(fund, actor, django_assert_num_queries):
    donate(fund, 100, actor, receipt_no="JQ-9")
    kwargs = {
        "fund": fund,
        "amount_fen": 5_000,
        "channel": "resident",
        "received_on": TODAY,
        "receipt_no": "JQ-9",
    }
    with django_assert_num_queries(0):
        services.check_donation(**kwargs)
    with pytest.raises(services.DuplicateReceipt):
        services.check_donation(**kwargs, check_receipt=True)


def test_the_admin_form_checks_without_posting(client, community_staff, fund, monkeypatch):

    posted = []
    real = services.post_donation
    monkeypatch.setattr(services, "post_donation", lambda **kw: posted.append(kw) or real(**kw))
    client.force_login(community_staff)
    form = {
        "fund": fund.pk,
        "form": "money",
        "channel": "resident",
        "amount_yuan": "88.80",
        "received_on": "2026-03-01",
        "restriction": "purpose",
        "purpose": "",
        "receipt_no": "JQ-1",
    }
    response = client.post("/admin/funds/donation/add/", form)
    assert response.status_code == 200 and response.context["adminform"].form.errors.get("purpose")
    assert posted == []
    response = client.post("/admin/funds/donation/add/", {**form, "purpose": "助老"})
    assert response.status_code == 302 and len(posted) == 1


def test_the_statement_dry_run_checks_without_posting(fund, named_fund, actor, monkeypatch):
    from funds import importing

    checked = []
    real = services.check_donation
    monkeypatch.setattr(services, "check_donation", lambda **kw: checked.append(kw) or real(**kw))
    text = "票据号,日期,捐赠人,金额,渠道\nA-1,2026-03-01,张建国,100,居民\nA-2,2099-03-01,李,5,居民\n"
    report = importing.import_statement(
        fund=fund, filename="s.csv", raw=text.encode(), actor=actor, dry_run=True
    )
    assert [r.status for r in report.rows] == ["ok", "error"] and len(checked) == 2
    assert Donation.objects.count() == 0 and Transaction.objects.count() == 0
    text = text.replace("2099", "2026")
    report = importing.import_statement(
        fund=fund, filename="s.csv", raw=text.encode(), actor=actor, dry_run=False
    )
    # The import writes in batches (tests/test_import_speed.py shows it writes what post_donation writes).
    assert report.applied and len(checked) == 4 and Donation.objects.count() == 2


def test_the_fund_page_lists_restriction_changes_without_the_donors_name(client, fund, actor):
    donate(fund, 8_000, actor, restriction="purpose", purpose="楼梯扶手")
    change = services.change_restriction(
        fund=fund,
        from_purpose="楼梯扶手",
        to_fund=fund,
        to_purpose="乒乓球场",
        amount_fen=3_000,
        actor=actor,
        **CONSENT,
    )
    with translation.override("en"):
        html = client.get(f"/funds/{fund.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Restrictions changed with the donors&#x27; consent" in html or "donors' consent" in html
    assert "乒乓球场" in html and "¥30.00" in html and "马文斌" not in html
    services.reverse_transaction(transaction=change.transaction, actor=actor, reason="金额录错")
    with translation.override("en"):
        html = client.get(f"/funds/{fund.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<s>¥30.00</s>" in html and "corrected: reversed" in html


def test_the_fund_page_takes_as_many_queries_with_many_promises_as_with_one(
    client, fund, named_fund, actor, count_queries, settings
):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0  # the render is measured, not the cache

    def show():
        assert client.get(f"/funds/{fund.pk}/").status_code == 200

    def add(n):
        for i in range(n):
            donate(fund, 1_000, actor, restriction="purpose", purpose=f"用途{i}")
            services.change_restriction(
                fund=fund,
                from_purpose=f"用途{i}",
                to_fund=fund,
                to_purpose="助学",
                amount_fen=100,
                actor=actor,
                **CONSENT,
            )
            services.decide_leftover(
                fund=fund,
                purpose=f"用途{i}",
                basis="as_agreed",
                to_fund=fund,
                reason="协议约定",
                decided_on=TODAY,
                actor=actor,
            )
            donate(fund, 5_000, actor, channel="venture_grant")

    add(1)
    show()
    one = count_queries(show)
    add(5)
    assert count_queries(show) == one


# --- 7. the ledger check finds a broken promise, whatever wrote it -----------------------------------------


def test_verify_ledger_reports_principal_spent_past_the_services(endowment, actor, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.db import transaction

    from funds import ledger

    donate(endowment, 40_000, actor)
    principal = Account.objects.get(fund=endowment, kind="principal")
    disbursed = services.get_or_create_accounts(endowment)["disbursed"]
    # A buggy code path that posts past every service's rules: a disbursement straight out of the principal.
    with transaction.atomic():
        txn = ledger.post_lines(
            fund=endowment, kind="disbursement", lines=[(principal, -100), (disbursed, 100)], actor=actor
        )
    report = selectors.verify_ledger()
    assert [(b.rule, b.transaction_id, b.amount_fen) for b in report.promise_breaches] == [
        ("principal_spent", txn.pk, 100)
    ]
    assert not report.ok and report.account_differences == []  # the balances themselves add up
    with pytest.raises(CommandError):
        call_command("verify_ledger")
    assert "principal left it other than by a reversal or a leftover decision" in capsys.readouterr().out


def test_verify_ledger_reports_a_closed_fund_holding_money(fund, named_fund, actor):
    from django.db import transaction

    from funds import ledger

    services.close_fund(fund=named_fund, actor=actor, closed_on=TODAY)
    donate(fund, 1_000, actor)
    general = services.get_or_create_accounts(fund)["general"]
    with transaction.atomic():  # past the services, which refuse it
        ledger.post_lines(
            fund=fund,
            kind="transfer",
            lines=[(general, -1_000), (services.get_or_create_accounts(named_fund)["general"], 1_000)],
            actor=actor,
        )
    assert [b.rule for b in selectors.verify_ledger().promise_breaches] == ["closed_fund_holds_money"]


@pytest.mark.parametrize("kind", ["restricted", "named"])
def test_a_plain_posting_cannot_move_promised_money(fund, named_fund, actor, kind):
    if kind == "restricted":
        donate(fund, 1_000, actor, restriction="purpose", purpose="助老")
        source = Account.objects.get(fund=fund, kind="restricted")
    else:
        donate(fund, 1_000, actor, restriction="named_fund", restricted_fund=named_fund)
        source = services.get_or_create_accounts(named_fund)["general"]
    disbursed = services.get_or_create_accounts(source.fund)["disbursed"]
    error = assert_refused(
        "restricted_money",
        services.post_transaction,
        fund=source.fund,
        kind="disbursement",
        lines=[(source, -500), (disbursed, 500)],
        actor=actor,
    )
    assert error.field == "lines"
