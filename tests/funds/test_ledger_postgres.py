"""Real concurrency on PostgreSQL: row locks keep a hot fund from being overdrawn."""

import datetime
import threading

import pytest
from django.db import connection

from charity.errors import DomainError
from charity.services import Actor
from funds import selectors, services
from funds.models import Transaction
from tests.factories import FundFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def funded_fund(amount_fen):
    """A fund holding `amount_fen` from one donation, and the actor that posted it."""
    fund = FundFactory(name="热点基金")
    actor = Actor.system()
    services.post_donation(
        fund=fund,
        amount_fen=amount_fen,
        channel="resident",
        actor=actor,
        received_on=datetime.date(2026, 1, 5),
        receipt_no="SEED",
    )
    return fund, actor


def at_once(callers, action):
    """Run `action` in `callers` threads released together; return the sorted outcomes ("ok" or a code)."""
    barrier = threading.Barrier(callers)
    outcomes = []
    lock = threading.Lock()

    def call():
        try:
            barrier.wait(timeout=30)
            try:
                action()
                outcome = "ok"
            except DomainError as error:
                outcome = error.code
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()  # each thread has its own connection; the test database must be droppable

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


def test_concurrent_withdrawals_never_overdraw_the_fund():
    fund, actor = funded_fund(100_000)

    outcomes = at_once(20, lambda: services.withdraw(fund=fund, amount_fen=10_000, actor=actor, memo="并发"))

    assert outcomes == ["insufficient_funds"] * 10 + ["ok"] * 10
    assert selectors.fund_balance(fund).balance_fen == 0
    assert Transaction.objects.filter(kind="disbursement").count() == 10
    assert selectors.verify_ledger().ok


def test_concurrent_refunds_of_one_donation_refund_it_once():
    fund = FundFactory(name="退款基金")
    actor = Actor.system()
    donation = services.post_donation(
        fund=fund,
        amount_fen=5_000,
        channel="online",
        actor=actor,
        received_on=datetime.date(2026, 1, 5),
        receipt_waived=True,
    )
    outcomes = at_once(8, lambda: services.refund_donation(donation=donation, reason="重复", actor=actor))

    assert outcomes == ["already_refunded"] * 7 + ["ok"]
    assert selectors.fund_balance(fund).balance_fen == 0
    assert selectors.verify_ledger().ok


def test_concurrent_donations_and_withdrawals_on_one_fund_never_deadlock():
    """Many writers on one hot fund, donations mixed with spending: every posting lands, none deadlocks.

    A posting that updated several account rows in one UPDATE without locking them in primary-key order
    first deadlocked here within a few hundred postings.
    """
    fund, actor = funded_fund(1_000_000)
    writers, per_writer = 8, 40
    barrier = threading.Barrier(writers)
    errors = []

    def work(w):
        try:
            barrier.wait(timeout=30)
            for i in range(per_writer):
                try:
                    if i % 4 == 3:
                        services.withdraw(fund=fund, amount_fen=100, actor=actor, memo="并发支出")
                    else:
                        services.post_donation(
                            fund=fund,
                            amount_fen=100,
                            channel="resident",
                            actor=actor,
                            received_on=datetime.date(2026, 1, 5),
                            receipt_no=f"D-{w}-{i}",
                        )
                except Exception as error:  # a deadlock surfaces as OperationalError
                    errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    donations, withdrawals = writers * per_writer * 3 // 4, writers * per_writer // 4
    assert selectors.fund_balance(fund).balance_fen == 1_000_000 + (donations - withdrawals) * 100
    assert selectors.verify_ledger().ok


def test_racing_donations_with_one_receipt_number_record_it_once():
    """Eight clients post the same receipt at once (a double-clicked form, a retried import): one donation."""
    fund, actor = funded_fund(1_000)

    outcomes = at_once(
        8,
        lambda: services.post_donation(
            fund=fund,
            amount_fen=500,
            channel="resident",
            actor=actor,
            received_on=datetime.date(2026, 1, 5),
            receipt_no="同一张票据",
        ),
    )

    assert outcomes == ["duplicate_receipt"] * 7 + ["ok"]
    assert Transaction.objects.count() == 2  # the seed and the one donation: a refused one leaves nothing
    assert selectors.fund_balance(fund).balance_fen == 1_500
    assert selectors.verify_ledger().ok
