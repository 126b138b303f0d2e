"""Stateful property test of the ledger's promises (docs/fund-rules.md): random sequences of donations
(unrestricted, restricted to a purpose or a named fund, goods, venture grants), transfers, withdrawals,
investment income, restriction changes with and without consent, leftover decisions and closings, reversals
and refunds, over community funds with named funds, one of them an endowment, at two hosts — many of them
refused. After every step: restricted money never spent outside its restriction, principal never spent,
balances equal to the sum of their entries and to the model's, verify_ledger clean, refusals without a trace.

The same world runs 100,000 operations and more in bench/ledger_invariants.py.
"""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.funds.ledger_world import BAD_AMOUNTS, LedgerWorld

# The five funds the world starts with, mostly; the named funds opened on the way, sometimes.
funds = st.one_of(st.integers(0, 4), st.integers(0, 4), st.integers(0, 11))
purposes = st.integers(0, 2)
maybe_purpose = st.one_of(st.none(), purposes)
# Mostly good amounts, one in ten bad: enough refusals to test, enough movements for them to meet.
gifts = st.one_of(st.integers(1_000, 20_000), st.integers(1_000, 20_000), st.sampled_from(BAD_AMOUNTS))
spends = st.one_of(st.integers(1, 4_000), st.integers(1, 4_000), st.sampled_from(BAD_AMOUNTS))


class LedgerPromises(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Each run in a transaction rolled back at its end: the next starts from an empty ledger.
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.world = LedgerWorld()
        self.world.stock()

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    @rule(
        i=funds,
        amount=gifts,
        how=st.sampled_from(["unrestricted", "purpose", "named", "goods", "grant"]),
        p=purposes,
        j=funds,
    )
    def donate(self, i, amount, how, p, j):
        self.world.donate(i, amount, how, p, j)

    @rule(i=funds, j=funds, amount=spends)
    def transfer(self, i, j, amount):
        self.world.transfer(i, j, amount)

    @rule(i=funds, amount=spends, p=maybe_purpose)
    def withdraw(self, i, amount, p):
        self.world.withdraw(i, amount, p)

    @rule(i=funds, amount=spends)
    def income(self, i, amount):
        self.world.income(i, amount)

    @rule(i=funds, p=maybe_purpose, j=funds, q=maybe_purpose, amount=spends, consent=st.booleans())
    def change_restriction(self, i, p, j, q, amount, consent):
        self.world.change_restriction(i, p, j, q, amount, consent or amount % 5 != 0)

    @rule(i=funds, p=maybe_purpose, j=funds, q=maybe_purpose, similar=st.booleans())
    def decide_leftover(self, i, p, j, q, similar):
        self.world.decide_leftover(i, p, j, q, similar)

    @rule(k=st.integers(0, 3), extra=st.integers(1, 5_000), p=maybe_purpose)
    def spend_an_endowment(self, k, extra, p):
        """Ask an endowment for more than its income (and a purpose's money): its principal is kept."""
        endowments = [i for i, f in enumerate(self.world.funds) if f.policy == "endowment"]
        i = endowments[k % len(endowments)]
        fund = self.world.funds[i]
        spendable = sum(self.world.held[key] for key in self.world.unrestricted(fund))
        self.world.withdraw(i, spendable + extra, p)

    @rule(k=st.integers(0, 20), similar=st.booleans(), q=maybe_purpose)
    def close_a_named_fund(self, k, similar, q):
        """Spend a little of an open named fund, then close it, its leftover going to its community fund."""
        world = self.world
        named = [i for i, f in enumerate(world.funds) if f.is_open and f.parent_id is not None]
        if named:
            i = named[k % len(named)]
            spendable = sum(world.held[key] for key in world.unrestricted(world.funds[i]))
            if spendable:
                world.withdraw(i, min(spendable, 500), None)
            parent = next(j for j, f in enumerate(world.funds) if f.pk == world.funds[i].parent_id)
            world.decide_leftover(i, None, parent, q, similar)

    @rule(i=funds)
    def close(self, i):
        self.world.close(i)

    @precondition(lambda self: self.world.posted)
    @rule(n=st.integers(0, 50))
    def reverse(self, n):
        self.world.reverse(n)

    @precondition(lambda self: self.world.posted)
    @rule(back=st.integers(1, 4))
    def reverse_recent(self, back):
        """Undo one of the last movements: after a closing, a spending or a change of restriction."""
        self.world.reverse(len(self.world.posted) - back)

    @rule(n=st.integers(0, 50))
    def reverse_into_a_closed_fund(self, n):
        """Undo a movement out of a fund that has closed since: its money may not come back to it."""
        closed = {f.pk for f in self.world.funds if not f.is_open}
        candidates = [
            i
            for i, posted in enumerate(self.world.posted)
            if not posted.reversed and any(key[0] in closed and v < 0 for key, v in posted.deltas.items())
        ]
        if candidates:
            self.world.reverse(candidates[n % len(candidates)])

    @precondition(lambda self: self.world.posted)
    @rule(n=st.integers(0, 50))
    def refund(self, n):
        self.world.reverse(n, refund=True)

    @rule(i=funds, endowment=st.booleans())
    def open_named(self, i, endowment):
        self.world.open_named(i, endowment)

    @invariant()
    def promises_hold(self):
        self.world.check_all()


@pytest.mark.django_db
def test_the_ledger_keeps_its_promises_in_any_sequence_of_operations():
    run_state_machine_as_test(
        LedgerPromises,
        settings=settings(
            max_examples=15,
            stateful_step_count=40,
            deadline=None,
            # No shrinking: a machine of this size takes minutes to shrink. A failure prints its steps as run.
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
