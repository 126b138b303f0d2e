"""The ledger services: every movement balanced, every refusal specific and without a trace."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from charity.errors import DomainError
from charity.models import AuditEvent, Organization
from charity.services import Actor
from funds import selectors, services
from funds.models import MAX_AMOUNT_FEN, Account, Donation, Entry, Fund, Transaction
from funds.tasks import verify_ledger_nightly
from tests.factories import FundFactory, OrganizationFactory

TODAY = datetime.date(2026, 3, 1)


@pytest.fixture
def actor(django_user_model):
    # A staff login without a password: hashing one per test would dominate the run time.
    user = django_user_model.objects.create(username="ledger_clerk", is_staff=True)
    return Actor(surface=AuditEvent.Surface.ADMIN, user=user)


# `fund`, `named_fund` and `other_fund` come from tests/funds/conftest.py.
@pytest.fixture
def named(named_fund):
    return named_fund


def donate(fund, amount_fen, actor, **kwargs):
    kwargs.setdefault("channel", Donation.Channel.RESIDENT)
    kwargs.setdefault("received_on", TODAY)
    if not kwargs.get("receipt_no"):
        kwargs.setdefault("receipt_waived", True)
    return services.post_donation(fund=fund, amount_fen=amount_fen, actor=actor, **kwargs)


def counts():
    return (
        Transaction.objects.count(),
        Entry.objects.count(),
        Donation.objects.count(),
        AuditEvent.objects.count(),
    )


def assert_refused(code, func, /, **kwargs):
    """Call a service that must be refused with `code`, and prove it recorded nothing."""
    before = counts()
    balances = list(Account.objects.order_by("pk").values_list("pk", "balance_fen"))
    with pytest.raises(DomainError) as info:
        func(**kwargs)
    assert info.value.code == code, info.value.message
    assert counts() == before
    assert list(Account.objects.order_by("pk").values_list("pk", "balance_fen")) == balances
    return info.value


def entries_of(txn):
    return sorted(
        (e.account.kind, e.account.fund_id, e.amount_fen) for e in txn.entries.select_related("account")
    )


# --- donations ------------------------------------------------------------------------------------


def test_donation_is_recorded_with_a_balanced_transaction_and_an_audit_event(fund, community_staff):
    actor = Actor(surface=AuditEvent.Surface.ADMIN, user=community_staff)
    donation = donate(fund, 50_000, actor, receipt_no=" JQ-2026-0001 ", handled_by=community_staff)

    assert donation.host == fund.host
    assert donation.receipt_no == "JQ-2026-0001"
    assert entries_of(donation.transaction) == [("donors", fund.pk, -50_000), ("general", fund.pk, 50_000)]
    assert donation.transaction.kind == Transaction.Kind.DONATION
    assert donation.transaction.actor_user == community_staff
    assert selectors.fund_balance(fund).balance_fen == 50_000
    event = AuditEvent.objects.get(action="donation.posted")
    assert event.object_id == str(donation.pk)
    assert event.actor_user == community_staff
    assert event.area == fund.community
    assert event.data["amount_fen"] == 50_000


@pytest.mark.parametrize(
    "amount",
    [0, -100, 1.5, "100", True, Decimal("100"), None, MAX_AMOUNT_FEN + 1],
    ids=["zero", "negative", "float", "string", "bool", "decimal", "none", "above-10-billion"],
)
def test_donation_with_a_bad_amount_is_refused(fund, actor, amount):
    error = assert_refused("invalid_amount", donate, fund=fund, amount_fen=amount, actor=actor)
    assert error.field == "amount_fen"
    assert error.status == 400


def test_donation_of_the_maximum_amount_is_accepted(fund, actor):
    donate(fund, MAX_AMOUNT_FEN, actor)
    assert selectors.fund_balance(fund).balance_fen == MAX_AMOUNT_FEN


def test_donation_to_closed_fund_is_refused(fund, actor):
    services.close_fund(fund=fund, actor=actor, closed_on=TODAY)
    error = assert_refused("fund_closed", donate, fund=fund, amount_fen=100, actor=actor)
    assert error.status == 409


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("channel", "wechat", "invalid_channel"),
        ("channel", ["resident"], "invalid_channel"),  # unhashable: refused, not a TypeError
        ("channel", None, "invalid_channel"),
        ("channel", 3, "invalid_channel"),
        ("restriction", ["purpose"], "invalid_restriction"),
        ("form", {"money": 1}, "invalid_form"),
    ],
)
def test_donation_with_an_unknown_choice_is_refused_with_its_field(fund, actor, field, value, code):
    error = assert_refused(code, donate, fund=fund, amount_fen=100, actor=actor, **{field: value})
    assert error.field == field


def test_donation_without_receipt_or_waiver_is_refused(fund, actor):
    error = assert_refused(
        "receipt_required",
        services.post_donation,
        fund=fund,
        amount_fen=100,
        actor=actor,
        channel="resident",
        received_on=TODAY,
        receipt_no="   ",
    )
    assert error.field == "receipt_no"


def test_donation_with_receipt_number_and_waiver_is_refused(fund, actor):
    assert_refused(
        "invalid_receipt",
        donate,
        fund=fund,
        amount_fen=100,
        actor=actor,
        receipt_no="A1",
        receipt_waived=True,
    )


def test_donation_received_in_the_future_is_refused(fund, actor):
    error = assert_refused(
        "invalid_date",
        donate,
        fund=fund,
        amount_fen=100,
        actor=actor,
        received_on=datetime.date.today() + datetime.timedelta(days=3),
    )
    assert error.field == "received_on"


def test_duplicate_receipt_for_the_same_host_is_refused(fund, named, actor):
    # Nothing is checked before the insert (a check could race): the database's unique constraint on
    # (host, receipt_no) refuses the row, and the service reports that refusal as the duplicate it is.
    donate(fund, 100, actor, receipt_no="JQ-1")
    error = assert_refused(
        "duplicate_receipt", donate, fund=named, amount_fen=200, actor=actor, receipt_no=" JQ-1"
    )
    assert error.field == "receipt_no"
    assert error.status == 409


def test_same_receipt_number_at_another_host_is_accepted(fund, other_fund, actor):
    donate(fund, 100, actor, receipt_no="0001")
    donate(other_fund, 100, actor, receipt_no="0001")
    assert Donation.objects.filter(receipt_no="0001").count() == 2


def test_donation_to_own_named_fund_goes_into_the_named_funds_general_account(fund, named, actor):
    donation = donate(fund, 30_000, actor, restriction="named_fund", restricted_fund=named)

    assert donation.fund == fund
    assert donation.restricted_fund == named
    assert entries_of(donation.transaction) == [("donors", named.pk, -30_000), ("general", named.pk, 30_000)]
    balances = selectors.get_fund_balances([fund, named])
    assert balances[named.pk].balance_fen == 30_000
    assert balances[fund.pk].balance_fen == 0


def test_donation_to_another_funds_named_fund_is_refused(fund, other_fund, actor):
    strangers = FundFactory(
        name="别人的冠名基金",
        kind=Fund.Kind.NAMED,
        parent=other_fund,
        community=other_fund.community,
        host=other_fund.host,
        named_after="李",
    )
    error = assert_refused(
        "invalid_restriction",
        donate,
        fund=fund,
        amount_fen=100,
        actor=actor,
        restriction="named_fund",
        restricted_fund=strangers,
    )
    assert error.field == "restricted_fund"


def test_donation_to_a_closed_named_fund_is_refused(fund, named, actor):
    services.close_fund(fund=named, actor=actor, closed_on=TODAY)
    error = assert_refused(
        "invalid_restriction",
        donate,
        fund=fund,
        amount_fen=100,
        actor=actor,
        restriction="named_fund",
        restricted_fund=named,
    )
    assert error.field == "restricted_fund"


def test_donation_restricted_to_a_named_fund_without_naming_it_is_refused(fund, actor):
    error = assert_refused(
        "invalid_restriction", donate, fund=fund, amount_fen=100, actor=actor, restriction="named_fund"
    )
    assert error.field == "restricted_fund"


def test_restricted_donation_goes_to_the_purposes_account(fund, actor):
    donate(fund, 8_000, actor, restriction="purpose", purpose=" 楼梯扶手 ")
    donate(fund, 2_000, actor)

    balance = selectors.fund_balance(fund)
    assert balance.balance_fen == 10_000
    assert balance.restricted_fen == 8_000
    assert balance.restricted_by_purpose == {"楼梯扶手": 8_000}
    assert balance.general_fen == 2_000
    assert selectors.spendable_on(fund, "楼梯扶手") == 10_000
    assert selectors.spendable_on(fund, "乒乓球场") == 2_000
    assert selectors.spendable_on(fund) == 2_000


def test_restricted_donation_without_purpose_is_refused(fund, actor):
    error = assert_refused(
        "invalid_restriction",
        donate,
        fund=fund,
        amount_fen=100,
        actor=actor,
        restriction="purpose",
        purpose="  ",
    )
    assert error.field == "purpose"


def test_restricted_donation_with_too_long_a_purpose_is_refused(fund, actor):
    error = assert_refused(
        "invalid_restriction",
        donate,
        fund=fund,
        amount_fen=100,
        actor=actor,
        restriction="purpose",
        purpose="长" * 201,
    )
    assert error.field == "purpose"


def test_in_kind_donation_is_valued_into_the_in_kind_account(fund, actor):
    donation = donate(
        fund,
        12_000,
        actor,
        form="in_kind",
        item_description="大米",
        item_quantity=Decimal("20"),
        item_unit="袋",
        channel="merchant",
    )

    assert donation.transaction.kind == Transaction.Kind.IN_KIND_DONATION
    assert entries_of(donation.transaction) == [
        ("in_kind", fund.pk, 12_000),
        ("in_kind_donors", fund.pk, -12_000),
    ]
    balance = selectors.fund_balance(fund)
    assert balance.in_kind_fen == 12_000
    assert balance.balance_fen == 0


def test_in_kind_donation_without_description_is_refused(fund, actor):
    error = assert_refused("item_required", donate, fund=fund, amount_fen=100, actor=actor, form="in_kind")
    assert error.field == "item_description"


def test_donation_with_two_donors_is_refused(fund, actor, resident):
    org = OrganizationFactory(type=Organization.Type.MERCHANT)
    error = assert_refused(
        "invalid_donor",
        donate,
        fund=fund,
        amount_fen=100,
        actor=actor,
        donor_person=resident,
        donor_organization=org,
    )
    assert error.field == "donor_organization"


# --- refunds and reversals ------------------------------------------------------------------------


def test_refund_reverses_the_donation(fund, actor):
    donation = donate(fund, 5_000, actor)
    refund = services.refund_donation(donation=donation, reason="捐赠人要求退回", actor=actor)

    donation.refresh_from_db()
    assert donation.refund_transaction == refund
    assert donation.refund_reason == "捐赠人要求退回"
    assert refund.reverses == donation.transaction
    assert entries_of(refund) == [("donors", fund.pk, 5_000), ("general", fund.pk, -5_000)]
    assert selectors.fund_balance(fund).balance_fen == 0
    assert AuditEvent.objects.filter(action="donation.refunded", object_id=str(donation.pk)).exists()


def test_refund_without_reason_is_refused(fund, actor):
    donation = donate(fund, 5_000, actor)
    error = assert_refused(
        "reason_required", services.refund_donation, donation=donation, reason=" ", actor=actor
    )
    assert error.field == "reason"


def test_refund_of_a_refunded_donation_is_refused(fund, actor):
    donation = donate(fund, 5_000, actor)
    services.refund_donation(donation=donation, reason="错录", actor=actor)
    error = assert_refused(
        "already_refunded", services.refund_donation, donation=donation, reason="再退", actor=actor
    )
    assert error.status == 409
    # A stale copy of the donation, loaded before the refund, is refused just the same.
    stale = Donation.objects.get(pk=donation.pk)
    stale.refund_transaction_id = None
    assert_refused("already_refunded", services.refund_donation, donation=stale, reason="再退", actor=actor)


def test_refund_of_spent_money_is_refused(fund, actor):
    donation = donate(fund, 5_000, actor)
    services.withdraw(fund=fund, amount_fen=4_000, actor=actor, memo="扶手")
    error = assert_refused(
        "insufficient_funds", services.refund_donation, donation=donation, reason="退", actor=actor
    )
    assert error.status == 409
    assert not Donation.objects.get(pk=donation.pk).is_refunded


def test_reversal_posts_the_negated_entries(fund, actor):
    donate(fund, 10_000, actor)
    withdrawal = services.withdraw(fund=fund, amount_fen=3_000, actor=actor)
    reversal = services.reverse_transaction(transaction=withdrawal, actor=actor, reason="重复录入")

    assert reversal.kind == Transaction.Kind.REVERSAL
    assert reversal.reverses == withdrawal
    assert reversal.memo == "重复录入"
    assert entries_of(reversal) == [("disbursed", fund.pk, -3_000), ("general", fund.pk, 3_000)]
    assert selectors.fund_balance(fund).balance_fen == 10_000


def test_reversing_a_donations_transaction_marks_it_refunded(fund, actor):
    donation = donate(fund, 10_000, actor)
    reversal = services.reverse_transaction(transaction=donation.transaction, actor=actor, reason="错录")
    donation.refresh_from_db()
    assert donation.refund_transaction == reversal
    assert_refused(
        "already_refunded", services.refund_donation, donation=donation, reason="再退", actor=actor
    )


def test_transaction_can_be_reversed_only_once(fund, actor):
    donate(fund, 10_000, actor)
    withdrawal = services.withdraw(fund=fund, amount_fen=3_000, actor=actor)
    services.reverse_transaction(transaction=withdrawal, actor=actor, reason="错")
    error = assert_refused(
        "already_reversed", services.reverse_transaction, transaction=withdrawal, actor=actor, reason="又错"
    )
    assert error.status == 409


def test_reversal_of_a_reversal_is_refused(fund, actor):
    donate(fund, 10_000, actor)
    withdrawal = services.withdraw(fund=fund, amount_fen=3_000, actor=actor)
    reversal = services.reverse_transaction(transaction=withdrawal, actor=actor, reason="错")
    assert_refused(
        "cannot_reverse_reversal",
        services.reverse_transaction,
        transaction=reversal,
        actor=actor,
        reason="撤销撤销",
    )


def test_reversal_without_reason_is_refused(fund, actor):
    donation = donate(fund, 10_000, actor)
    assert_refused(
        "reason_required",
        services.reverse_transaction,
        transaction=donation.transaction,
        actor=actor,
        reason="",
    )


# --- transfers and withdrawals --------------------------------------------------------------------


def test_transfer_commits_community_money_to_its_named_fund_and_never_back(fund, named, actor):
    donate(fund, 10_000, actor)
    there = services.transfer(from_fund=fund, to_fund=named, amount_fen=6_000, actor=actor, memo="注资")

    assert there.fund == fund
    assert entries_of(there) == sorted([("general", fund.pk, -6_000), ("general", named.pk, 6_000)])
    balances = selectors.get_fund_balances([fund, named])
    assert balances[fund.pk].balance_fen == 4_000
    assert balances[named.pk].balance_fen == 6_000
    assert AuditEvent.objects.filter(action="funds.transferred").count() == 1
    # The named fund's money is restricted to it (docs/fund-rules.md): see tests/funds/test_promises.py.
    assert_refused(
        "restricted_transfer", services.transfer, from_fund=named, to_fund=fund, amount_fen=1_000, actor=actor
    )


def test_transfer_to_an_unrelated_fund_is_refused(fund, other_fund, actor):
    donate(fund, 10_000, actor)
    error = assert_refused(
        "invalid_transfer", services.transfer, from_fund=fund, to_fund=other_fund, amount_fen=100, actor=actor
    )
    assert error.field == "to_fund"


def test_transfer_between_sibling_named_funds_is_refused(fund, named, actor):
    sibling = FundFactory(
        name="李氏冠名基金",
        kind=Fund.Kind.NAMED,
        parent=fund,
        community=fund.community,
        host=fund.host,
        named_after="李",
    )
    donate(fund, 1_000, actor, restriction="named_fund", restricted_fund=named)
    assert_refused(
        "invalid_transfer", services.transfer, from_fund=named, to_fund=sibling, amount_fen=100, actor=actor
    )


def test_transfer_of_more_than_the_fund_holds_is_refused(fund, named, actor):
    donate(fund, 1_000, actor)
    assert_refused(
        "insufficient_funds", services.transfer, from_fund=fund, to_fund=named, amount_fen=1_001, actor=actor
    )


def test_transfer_cannot_use_restricted_money(fund, named, actor):
    donate(fund, 1_000, actor, restriction="purpose", purpose="助老")
    assert_refused(
        "insufficient_funds", services.transfer, from_fund=fund, to_fund=named, amount_fen=1, actor=actor
    )


def test_withdrawal_with_a_purpose_spends_restricted_money_first(fund, actor):
    donate(fund, 3_000, actor, restriction="purpose", purpose="助老")
    donate(fund, 5_000, actor)
    txn = services.withdraw(fund=fund, amount_fen=4_000, actor=actor, purpose="助老")

    assert txn.kind == Transaction.Kind.DISBURSEMENT
    assert entries_of(txn) == [
        ("disbursed", fund.pk, 4_000),
        ("general", fund.pk, -1_000),
        ("restricted", fund.pk, -3_000),
    ]
    balance = selectors.fund_balance(fund)
    assert balance.balance_fen == 4_000
    assert balance.restricted_by_purpose == {"助老": 0}


def test_withdrawal_without_a_purpose_leaves_restricted_money_alone(fund, actor):
    donate(fund, 3_000, actor, restriction="purpose", purpose="助老")
    donate(fund, 1_000, actor)
    assert_refused("insufficient_funds", services.withdraw, fund=fund, amount_fen=1_001, actor=actor)
    services.withdraw(fund=fund, amount_fen=1_000, actor=actor)
    assert selectors.fund_balance(fund).restricted_fen == 3_000


def test_overdraw_is_refused(fund, actor):
    donate(fund, 1_000, actor)
    error = assert_refused(
        "insufficient_funds", services.withdraw, fund=fund, amount_fen=1_001, actor=actor, purpose="助学"
    )
    assert error.field == "amount_fen"


@pytest.mark.parametrize("amount", [0, -1, 2.5, "10", True])
def test_withdrawal_with_a_bad_amount_is_refused(fund, actor, amount):
    donate(fund, 1_000, actor)
    assert_refused("invalid_amount", services.withdraw, fund=fund, amount_fen=amount, actor=actor)


# --- the posting function -------------------------------------------------------------------------


def test_post_transaction_refuses_unbalanced_lines(fund, actor):
    accounts = services.get_or_create_accounts(fund)
    assert_refused(
        "unbalanced",
        services.post_transaction,
        fund=fund,
        kind="donation",
        actor=actor,
        lines=[(accounts["general"], 100), (accounts["donors"], -99)],
    )


def test_post_transaction_refuses_a_zero_line(fund, actor):
    accounts = services.get_or_create_accounts(fund)
    assert_refused(
        "invalid_amount",
        services.post_transaction,
        fund=fund,
        kind="donation",
        actor=actor,
        lines=[(accounts["general"], 100), (accounts["donors"], -100), (accounts["in_kind"], 0)],
    )


def test_post_transaction_refuses_a_single_line(fund, actor):
    accounts = services.get_or_create_accounts(fund)
    assert_refused(
        "invalid_ledger_posting",
        services.post_transaction,
        fund=fund,
        kind="donation",
        actor=actor,
        lines=[(accounts["general"], 100)],
    )


def test_post_transaction_updates_stored_balances(fund, actor):
    accounts = services.get_or_create_accounts(fund)
    assert set(accounts) == {"general", "donors", "in_kind", "in_kind_donors", "disbursed"}
    txn = services.post_transaction(
        fund=fund,
        kind="donation",
        actor=actor,
        memo="手工",
        lines=[(accounts["general"], 700), (accounts["donors"], -700)],
    )
    assert Account.objects.get(pk=accounts["general"].pk).balance_fen == 700
    assert Account.objects.get(pk=accounts["donors"].pk).balance_fen == -700
    assert AuditEvent.objects.filter(action="ledger.posted", object_id=str(txn.pk)).exists()
    assert services.get_or_create_accounts(fund) == accounts  # created once


# --- append-only ----------------------------------------------------------------------------------


def test_entry_cannot_be_changed_or_deleted(fund, actor):
    donation = donate(fund, 1_000, actor)
    entry = donation.transaction.entries.first()
    entry.amount_fen = 1
    with pytest.raises(ValidationError):
        entry.save()
    with pytest.raises(ValidationError):
        Entry.objects.filter(pk=entry.pk).update(amount_fen=1)
    with pytest.raises(ValidationError):
        Entry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(ValidationError):
        entry.delete()
    with pytest.raises(ValidationError):
        donation.transaction.delete()
    assert Entry.objects.get(pk=entry.pk).amount_fen == 1_000


def test_database_refuses_an_update_of_the_ledger(fund, actor):
    donation = donate(fund, 1_000, actor)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE funds_entry SET amount_fen = 1 WHERE transaction_id = %s", [donation.transaction_id]
        )
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE funds_transaction SET memo = 'x' WHERE id = %s", [donation.transaction_id])
    assert sorted(donation.transaction.entries.values_list("amount_fen", flat=True)) == [-1_000, 1_000]


def test_database_refuses_a_delete_of_the_ledger(fund, actor):
    donation = donate(fund, 1_000, actor)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM funds_entry WHERE transaction_id = %s", [donation.transaction_id])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM funds_transaction WHERE id = %s", [donation.transaction_id])
    assert donation.transaction.entries.count() == 2
    assert Transaction.objects.filter(pk=donation.transaction_id).exists()


# --- closing --------------------------------------------------------------------------------------


def test_close_fund_is_compare_and_set(fund, actor):
    services.close_fund(fund=fund, actor=actor, closed_on=TODAY)
    fund.refresh_from_db()
    assert fund.status == Fund.Status.CLOSED and fund.closed_on == TODAY
    stale = Fund.objects.get(pk=fund.pk)
    stale.status = Fund.Status.OPEN
    with pytest.raises(DomainError) as info:
        services.close_fund(fund=stale, actor=actor, closed_on=TODAY)
    assert info.value.code == "fund_closed"
    assert AuditEvent.objects.filter(action="fund.closed").count() == 1


def test_closing_a_fund_with_open_named_funds_is_refused(fund, named, actor):
    error = assert_refused("named_funds_open", services.close_fund, fund=fund, actor=actor, closed_on=TODAY)
    assert error.field == "fund"


def test_closing_before_opening_is_refused(fund, actor):
    error = assert_refused(
        "invalid_date", services.close_fund, fund=fund, actor=actor, closed_on=datetime.date(2024, 12, 31)
    )
    assert error.field == "closed_on"


# --- selectors ------------------------------------------------------------------------------------


def test_balances_of_many_funds_take_one_query(fund, named, other_fund, actor, django_assert_num_queries):
    donate(fund, 100, actor)
    donate(fund, 200, actor, restriction="named_fund", restricted_fund=named)
    donate(other_fund, 300, actor, restriction="purpose", purpose="助残")
    empty = FundFactory(name="空基金", community=fund.community)
    with django_assert_num_queries(1):
        balances = selectors.get_fund_balances([fund, named, other_fund, empty])
    assert balances[fund.pk].balance_fen == 100
    assert balances[named.pk].balance_fen == 200
    assert balances[other_fund.pk].restricted_by_purpose == {"助残": 300}
    assert balances[empty.pk] == selectors.FundBalance()


def test_list_entries_shows_the_funds_entries_in_a_fixed_number_of_queries(
    fund, other_fund, actor, django_assert_num_queries
):
    for amount in (100, 200, 300):
        donate(fund, amount, actor)
    donate(other_fund, 999, actor)
    with django_assert_num_queries(1):
        rows = [(e.account.kind, e.amount_fen, e.transaction.kind) for e in selectors.list_entries(fund)]
    assert len(rows) == 6
    assert ("general", 300, "donation") in rows
    assert all(amount != 999 for _kind, amount, _txn in rows)


def test_income_by_channel_leaves_out_refunded_donations(fund, actor):
    donate(fund, 1_000, actor, channel="resident")
    donate(fund, 2_000, actor, channel="charity_market")
    donate(fund, 500, actor, channel="charity_market")
    refunded = donate(fund, 9_000, actor, channel="online")
    donate(fund, 7_000, actor, channel="resident", received_on=datetime.date(2025, 12, 31))
    donate(fund, 4_000, actor, channel="merchant", form="in_kind", item_description="桌椅")
    services.refund_donation(donation=refunded, reason="退", actor=actor)

    assert selectors.income_by_channel(fund, 2026) == {"resident": 1_000, "charity_market": 2_500}
    assert selectors.income_by_channel(fund, 2026, include_in_kind=True)["merchant"] == 4_000
    assert selectors.income_by_channel(fund, 2025) == {"resident": 7_000}


# --- verification ---------------------------------------------------------------------------------


def test_verify_ledger_command_passes_on_a_clean_ledger(fund, named, actor, capsys):
    donate(fund, 1_000, actor)
    services.transfer(from_fund=fund, to_fund=named, amount_fen=400, actor=actor)
    call_command("verify_ledger")
    out = capsys.readouterr().out
    assert "Accounts checked: 10" in out
    assert "Transactions checked: 2" in out
    assert "Ledger OK" in out


def test_verify_ledger_command_fails_on_a_corrupted_balance(fund, actor, capsys):
    donation = donate(fund, 1_000, actor)
    general = Account.objects.get(fund=fund, kind="general")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE funds_account SET balance_fen = 999 WHERE id = %s", [general.pk])

    report = selectors.verify_ledger()
    assert not report.ok
    assert report.account_differences == [
        selectors.AccountDifference(general.pk, fund.pk, "general", "", 999, 1_000)
    ]
    with pytest.raises(CommandError):
        call_command("verify_ledger")
    out = capsys.readouterr().out
    assert f"account #{general.pk}" in out
    assert "stored 999 fen, entries add up to 1000 fen" in out
    assert report.transaction_differences == []  # the transactions themselves still balance
    assert report.donation_differences == [] and donation.amount_fen == 1_000


def test_verify_ledger_reports_an_unbalanced_transaction(fund, actor):
    donation = donate(fund, 1_000, actor)
    general = Account.objects.get(fund=fund, kind="general")
    # Bypass the service (and the ORM guard) to plant a one-sided entry, as a buggy import might.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO funds_entry (transaction_id, account_id, amount_fen) VALUES (%s, %s, 5)",
            [donation.transaction_id, general.pk],
        )
    report = selectors.verify_ledger()
    assert report.transaction_differences == [selectors.TransactionDifference(donation.transaction_id, 5, 3)]
    assert [d.account_id for d in report.account_differences] == [general.pk]


def test_verify_ledger_reports_a_donation_whose_amount_differs_from_its_ledger_lines(fund, actor, capsys):
    kept = donate(fund, 1_000, actor)
    changed = donate(fund, 2_000, actor)
    refunded = donate(fund, 3_000, actor)
    services.refund_donation(donation=refunded, reason="捐赠人要求退回", actor=actor)
    refunded.refresh_from_db()
    assert selectors.verify_ledger().ok
    # The donation table is not append-only (a refund marks it): someone edits two amounts by hand.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE funds_donation SET amount_fen = 9999 WHERE id IN (%s, %s)", [changed.pk, refunded.pk]
        )

    report = selectors.verify_ledger()
    assert not report.ok and report.donations_checked == 3
    assert report.account_differences == [] and report.transaction_differences == []
    assert report.donation_differences == [
        selectors.DonationDifference(changed.pk, changed.transaction_id, 9999, 2_000),
        selectors.DonationDifference(refunded.pk, refunded.transaction_id, 9999, 3_000),
        selectors.DonationDifference(refunded.pk, refunded.refund_transaction_id, -9999, -3_000),
    ]
    assert kept.pk not in {d.donation_id for d in report.donation_differences}
    with pytest.raises(CommandError):
        call_command("verify_ledger")
    out = capsys.readouterr().out
    assert "Donations checked: 3" in out
    assert (
        f"donation #{changed.pk}: amount 9999 fen, but transaction #{changed.transaction_id} "
        "credits the fund 2000 fen"
    ) in out


def test_nightly_task_records_the_check_in_the_audit_log(fund, actor):
    donate(fund, 1_000, actor)
    result = verify_ledger_nightly.apply().get()
    verify_ledger_nightly.apply().get()

    assert result["ok"] is True
    events = AuditEvent.objects.filter(action="ledger.verified")
    assert events.count() == 2
    event = events.first()
    assert event.surface == AuditEvent.Surface.TASK
    assert event.data["transactions_checked"] == 1
    assert event.data["ok"] is True
