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


def test_concurrent_withdrawals_never_overdraw_the_fund():
    fund, actor = funded_fund(100_000)
    barrier = threading.Barrier(20)
    outcomes = []
    lock = threading.Lock()

    def spend():
        try:
            barrier.wait(timeout=30)
            try:
                services.withdraw(fund=fund, amount_fen=10_000, actor=actor, memo="并发")
                outcome = "ok"
            except DomainError as error:
                outcome = error.code
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=spend) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["insufficient_funds"] * 10 + ["ok"] * 10
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
    barrier = threading.Barrier(8)
    outcomes = []

    def refund():
        try:
            barrier.wait(timeout=30)
            try:
                services.refund_donation(donation=donation, reason="重复", actor=actor)
                outcomes.append("ok")
            except DomainError as error:
                outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=refund) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["already_refunded"] * 7 + ["ok"]
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
    barrier = threading.Barrier(8)
    outcomes = []

    def give():
        try:
            barrier.wait(timeout=30)
            try:
                services.post_donation(
                    fund=fund,
                    amount_fen=500,
                    channel="resident",
                    actor=actor,
                    received_on=datetime.date(2026, 1, 5),
                    receipt_no="同一张票据",
                )
                outcomes.append("ok")
            except DomainError as error:
                outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=give) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["duplicate_receipt"] * 7 + ["ok"]
    assert Transaction.objects.count() == 2  # the seed and the one donation: a refused one leaves nothing
    assert selectors.fund_balance(fund).balance_fen == 1_500
    assert selectors.verify_ledger().ok
