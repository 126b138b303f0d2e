"""Property test of the ledger: random donations, transfers, withdrawals, refunds and reversals — many of
them refused — checked against a simple model after every step."""

import datetime
from collections import defaultdict

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charity.errors import DomainError
from charity.models import AuditEvent
from charity.services import Actor
from funds import selectors, services
from funds.models import MAX_AMOUNT_FEN, Account, Donation, Entry, Fund, Transaction
from tests.factories import FundFactory

PURPOSES = ["助老", "助学"]
BAD_AMOUNTS = [0, -500, MAX_AMOUNT_FEN + 1]


def amounts(low, high):
    """Mostly good amounts, one in ten bad: enough refusals to test, enough movements for them to meet."""
    return st.tuples(st.integers(0, 9), st.integers(low, high), st.sampled_from(BAD_AMOUNTS)).map(
        lambda t: t[2] if t[0] == 9 else t[1]
    )


gifts = amounts(1_000, 20_000)
spends = amounts(1, 2_500)
# 0: community fund A (most of the traffic, so that movements meet), 1: A's named fund, 2: unrelated fund B
fund_index = st.sampled_from([0, 0, 0, 1, 2])
operations = st.one_of(
    st.tuples(
        st.just("donate"),
        fund_index,
        gifts,
        st.sampled_from(["none", "named", "purpose", "purpose", "goods"]),
        st.sampled_from([0, 0, 1]),
    ),
    st.tuples(st.just("transfer"), fund_index, fund_index, spends),
    st.tuples(
        st.just("withdraw"),
        fund_index,
        spends,
        st.sampled_from([None, PURPOSES[0], PURPOSES[0], PURPOSES[1]]),
    ),
    st.tuples(st.just("reverse"), st.integers(0, 30)),
    st.tuples(st.just("refund"), st.integers(0, 30)),
)


def counts():
    return tuple(m.objects.count() for m in (Transaction, Entry, Donation, AuditEvent, Account))


class Model:
    """What the ledger must hold: held balances keyed (fund pk, kind, purpose), and every posted movement."""

    def __init__(self):
        self.held = defaultdict(int)
        self.posted = []  # [transaction pk, held deltas, is reversal, reversed?, donation pk or None]

    def can_apply(self, deltas):
        return all(self.held[key] + delta >= 0 for key, delta in deltas.items())

    def apply(self, deltas):
        for key, delta in deltas.items():
            self.held[key] += delta


def predict(op, funds, model):
    """Return (expected error code or None, held deltas, posting index for reverse/refund)."""
    a, named, b = funds
    kind = op[0]
    if kind == "donate":
        _, i, amount, restriction, p = op
        fund = funds[i]
        if not (isinstance(amount, int) and 0 < amount <= MAX_AMOUNT_FEN):
            return "invalid_amount", {}, None
        if restriction == "named":
            if fund != a:
                return "invalid_restriction", {}, None
            return None, {(named.pk, "general", ""): amount}, None
        if restriction == "purpose":
            return None, {(fund.pk, "restricted", PURPOSES[p]): amount}, None
        if restriction == "goods":
            return None, {(fund.pk, "in_kind", ""): amount}, None
        return None, {(fund.pk, "general", ""): amount}, None
    if kind == "transfer":
        _, i, j, amount = op
        if not (0 < amount <= MAX_AMOUNT_FEN):
            return "invalid_amount", {}, None
        if {i, j} != {0, 1}:
            return "invalid_transfer", {}, None
        deltas = {(funds[i].pk, "general", ""): -amount, (funds[j].pk, "general", ""): amount}
        return (None if model.can_apply(deltas) else "insufficient_funds"), deltas, None
    if kind == "withdraw":
        _, i, amount, purpose = op
        if not (0 < amount <= MAX_AMOUNT_FEN):
            return "invalid_amount", {}, None
        fund = funds[i]
        restricted = model.held[(fund.pk, "restricted", purpose)] if purpose else 0
        take = min(restricted, amount)
        deltas = {(fund.pk, "general", ""): -(amount - take)}
        if take:
            deltas[(fund.pk, "restricted", purpose)] = -take
        return (None if model.can_apply(deltas) else "insufficient_funds"), deltas, None
    _, n = op
    candidates = model.posted if kind == "reverse" else [p for p in model.posted if p[4] is not None]
    if not candidates:
        return "skip", {}, None
    index = model.posted.index(candidates[n % len(candidates)])
    _pk, deltas, is_reversal, reversed_, _donation = model.posted[index]
    negated = {key: -delta for key, delta in deltas.items()}
    if kind == "refund":
        if reversed_:
            return "already_refunded", negated, index
    elif is_reversal:
        return "cannot_reverse_reversal", negated, index
    elif reversed_:
        return "already_reversed", negated, index
    return (None if model.can_apply(negated) else "insufficient_funds"), negated, index


def run(op, funds, model, actor, index):
    a, named, b = funds
    if op[0] == "donate":
        _, i, amount, restriction, p = op
        kwargs = {
            "fund": funds[i],
            "amount_fen": amount,
            "channel": "resident",
            "actor": actor,
            "received_on": datetime.date(2026, 1, 5),
            "receipt_waived": True,
        }
        if restriction == "named":
            kwargs.update(restriction="named_fund", restricted_fund=named)
        elif restriction == "purpose":
            kwargs.update(restriction="purpose", purpose=PURPOSES[p])
        elif restriction == "goods":
            kwargs.update(form="in_kind", item_description="大米")
        donation = services.post_donation(**kwargs)
        return donation.transaction, donation.pk
    if op[0] == "transfer":
        _, i, j, amount = op
        return services.transfer(from_fund=funds[i], to_fund=funds[j], amount_fen=amount, actor=actor), None
    if op[0] == "withdraw":
        _, i, amount, purpose = op
        return services.withdraw(fund=funds[i], amount_fen=amount, actor=actor, purpose=purpose or ""), None
    target_pk = model.posted[index][0]
    if op[0] == "reverse":
        txn = Transaction.objects.get(pk=target_pk)
        return services.reverse_transaction(transaction=txn, actor=actor, reason="更正"), None
    donation = Donation.objects.get(pk=model.posted[index][4])
    return services.refund_donation(donation=donation, reason="退款", actor=actor), None


def check_ledger(funds, model):
    report = selectors.verify_ledger()
    assert report.ok, [str(d) for d in report.differences]  # balances == entries, transactions sum to zero
    held = Account.objects.filter(kind__in=Account.HELD).values_list(
        "fund_id", "kind", "purpose", "balance_fen"
    )
    actual = {(f, k, p): bal for f, k, p, bal in held}
    assert all(balance >= 0 for balance in actual.values())
    expected = {key: value for key, value in model.held.items() if value or key in actual}
    assert {key: actual.get(key, 0) for key in expected} == expected
    assert all(value == 0 for key, value in actual.items() if key not in expected)


@pytest.fixture
def ledger_funds(db):
    a = FundFactory(name="社区基金A")
    named = FundFactory(
        name="冠名基金", kind=Fund.Kind.NAMED, parent=a, community=a.community, host=a.host, named_after="王"
    )
    b = FundFactory(name="社区基金B")
    return a, named, b


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operations, min_size=8, max_size=30))
def test_ledger_invariants_hold_for_any_sequence_of_operations(ledger_funds, ops):
    actor = Actor.system()
    with transaction.atomic():
        model = Model()
        for op in ops:
            expected_error, deltas, index = predict(op, ledger_funds, model)
            if expected_error == "skip":
                continue
            before = counts()
            try:
                txn, donation_pk = run(op, ledger_funds, model, actor, index)
            except DomainError as error:
                assert error.code == expected_error, (op, error.code, error.message)
                assert counts() == before, f"refused {op} left a trace"
            else:
                assert expected_error is None, (op, "was accepted, expected", expected_error)
                model.apply(deltas)
                if index is not None:
                    model.posted[index][3] = True
                    if model.posted[index][4] is not None:
                        assert Donation.objects.get(pk=model.posted[index][4]).refund_transaction_id == txn.pk
                model.posted.append([txn.pk, deltas, index is not None, False, donation_pk])
            check_ledger(ledger_funds, model)
        transaction.set_rollback(True)
