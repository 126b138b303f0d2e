"""A world of funds and a model of what their ledger must hold, for random sequences of every money service.

Driven by the stateful property test (tests/funds/test_ledger_properties.py, a few hundred steps) and by the
invariants benchmark (bench/ledger_invariants.py, 100,000 operations and more). Each operation predicts its
outcome from the model — the refusal code, or the exact lines it posts to what funds hold — runs the
service, and compares: a refusal must leave no trace, an accepted movement must post exactly the predicted
lines. `check_all` then checks the invariants over the whole ledger (docs/fund-rules.md):

- restricted money is never spent outside its restriction: a disbursement takes money only from its own
  fund, from the restricted account of the purpose it was asked for (or unrestricted money), never from
  principal; a named fund's money leaves it only by being spent by it, a reversal, a restriction change
  with consent or a leftover decision;
- principal is never spent: it leaves only by a reversal (a refund) or with its fund's leftover;
- every stored balance equals the sum of its entries, and `verify_ledger` finds nothing (which includes its
  own promise checks, and no closed fund holding money).
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db import connection

from charity.errors import DomainError
from charity.models import AuditEvent, Organization
from charity.services import Actor
from funds import selectors, services
from funds.models import (
    MAX_AMOUNT_FEN,
    Account,
    Donation,
    Entry,
    Fund,
    LeftoverDecision,
    RestrictionChange,
    Transaction,
)
from tests.factories import FundFactory, OrganizationFactory, community

PURPOSES = ("助老", "助学", "扶手")
BAD_AMOUNTS = (0, -500, MAX_AMOUNT_FEN + 1)
DAY = datetime.date(2026, 1, 5)
CONSENT = {"consent_by": "捐赠人", "consent_on": DAY, "consent_record": "书面同意书 TY-1"}
MONEY = frozenset(Account.MONEY)
HELD = frozenset(Account.HELD)
APPEND_ONLY = [
    m._meta.db_table for m in (Transaction, Entry, AuditEvent, RestrictionChange, LeftoverDecision)
]

Key = tuple[int, str, str]  # (fund id, account kind, purpose)


class Violation(AssertionError):
    """An invariant broken, or a service that did not do what the rules say."""


@dataclass
class Posted:
    txn_id: int
    deltas: dict[Key, int]  # what the movement did to held accounts
    kind: str
    donation_id: int | None = None
    reversed: bool = False


def _valid(amount) -> bool:
    return 0 < amount <= MAX_AMOUNT_FEN


class LedgerWorld:
    """Funds of two hosts: community fund A with a spend-down and an endowment named fund, community fund B
    at the same host (leftovers and consented changes may go there), and Z at another host (they may not)."""

    def __init__(self, *, max_funds: int = 40):
        self.max_funds = max_funds
        self.actor = Actor.system(AuditEvent.Surface.COMMAND)
        c1 = community("酒泉市", "肃州区", "东街道", "甲社区")
        c2 = community("酒泉市", "肃州区", "东街道", "乙社区")
        c3 = community("广州市", "番禺区", "石碁镇", "丙社区")
        host = OrganizationFactory(name="甲慈善会", type=Organization.Type.CHARITY_FEDERATION)
        other_host = OrganizationFactory(name="丙慈善会", type=Organization.Type.CHARITY_FEDERATION)
        a = FundFactory(name="甲社区基金", community=c1, host=host)
        self.funds: list[Fund] = [
            a,
            self._named(a, Fund.Policy.SPEND_DOWN),
            self._named(a, Fund.Policy.ENDOWMENT),
            FundFactory(name="乙社区基金", community=c2, host=host),
            FundFactory(name="丙社区基金", community=c3, host=other_host),
        ]
        self.held: defaultdict[Key, int] = defaultdict(int)
        self.posted: list[Posted] = []
        self.withdraw_purpose: dict[int, str] = {}
        self.done: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.receipts = 0

    def stock(self):
        """Money in every kind of account to start from: what random steps then move, spend and refuse."""
        self.donate(0, 50_000, "unrestricted")
        self.donate(0, 20_000, "purpose", p=0)
        self.donate(0, 20_000, "named", j=1)
        self.donate(0, 30_000, "named", j=2)  # the endowment's principal
        self.income(2, 3_000)
        self.donate(1, 8_000, "purpose", p=1)
        self.donate(3, 20_000, "unrestricted")
        self.donate(3, 9_000, "grant")
        self.donate(4, 20_000, "purpose", p=2)

    def _named(self, parent: Fund, policy: str) -> Fund:
        n = Fund.objects.filter(parent=parent).count() + 1
        fund = Fund(
            name=f"{parent.name}冠名{n}",
            kind=Fund.Kind.NAMED,
            parent=parent,
            community=parent.community,
            host=parent.host,
            named_after=f"捐赠人{n}",
            policy=policy,
            opened_on=datetime.date(2025, 1, 1),
        )
        fund.full_clean()
        fund.save()
        return fund

    # --- the model -----------------------------------------------------------------------------------------

    def fund(self, i: int) -> Fund:
        return self.funds[i % len(self.funds)]

    def receiving(self, fund: Fund, purpose: str = "") -> Key:
        if purpose:
            return (fund.pk, Account.Kind.RESTRICTED, purpose)
        if fund.policy == Fund.Policy.ENDOWMENT:
            return (fund.pk, Account.Kind.PRINCIPAL, "")
        return (fund.pk, Account.Kind.GENERAL, "")

    def draw(self, keys: list[Key], amount: int) -> tuple[dict[Key, int], int]:
        deltas: dict[Key, int] = {}
        left = amount
        for key in keys:
            take = min(self.held[key], left)
            if take > 0:
                deltas[key] = deltas.get(key, 0) - take
                left -= take
        return deltas, left

    def unrestricted(self, fund: Fund) -> list[Key]:
        return [(fund.pk, Account.Kind.GENERAL, ""), (fund.pk, Account.Kind.INCOME, "")]

    def shortfall_code(self, fund: Fund) -> str:
        return (
            "principal_not_spendable" if self.held[(fund.pk, "principal", "")] > 0 else "insufficient_funds"
        )

    def money_keys(self, fund: Fund) -> list[Key]:
        return [k for k, v in self.held.items() if k[0] == fund.pk and k[1] in MONEY and v]

    def open_named_children(self, fund: Fund) -> bool:
        return any(f.parent_id == fund.pk and f.is_open for f in self.funds)

    @staticmethod
    def add(deltas: dict[Key, int], key: Key, amount: int) -> dict[Key, int]:
        deltas[key] = deltas.get(key, 0) + amount
        return {k: v for k, v in deltas.items() if v}

    # --- running an operation ------------------------------------------------------------------------------

    def _marks(self):
        """The last row of every append-only table, and the funds' statuses: a refusal changes none."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(f"(SELECT max(id) FROM {t})" for t in APPEND_ONLY))
            marks = cursor.fetchone()
        return marks, list(Fund.objects.order_by("pk").values_list("status", flat=True))

    def run(self, op: str, expected: str | None, deltas: dict[Key, int], call, *, strict: bool = True):
        """Run `call`: it must be refused with `expected`, or (None) post exactly `deltas` to held money."""
        before = self._marks() if strict else None
        try:
            result = call()
        except DomainError as error:
            if error.code != expected:
                raise Violation(
                    f"{op}: refused with {error.code} ({error.message}); expected {expected or 'success'}"
                )
            if strict and self._marks() != before:
                raise Violation(f"{op}: refused with {error.code}, but left a trace")
            self.refused[error.code] += 1
            return None
        if expected is not None:
            raise Violation(f"{op}: accepted; expected the refusal {expected}")
        txn = result if isinstance(result, Transaction) else result.transaction
        actual: dict[Key, int] = defaultdict(int)
        rows = Entry.objects.filter(transaction_id=txn.pk).values_list(
            "account__fund_id", "account__kind", "account__purpose", "amount_fen"
        )
        for fund_id, kind, purpose, amount in rows:
            if kind in HELD:
                actual[(fund_id, kind, purpose)] += amount
        actual = {k: v for k, v in actual.items() if v}
        if actual != deltas:
            raise Violation(f"{op}: posted {actual}; the rules say {deltas}")
        for key, delta in deltas.items():
            self.held[key] += delta
        self.done[op] += 1
        return txn, result

    # --- operations ---------------------------------------------------------------------------------------

    def donate(self, i: int, amount: int, how: str, p: int = 0, j: int = 0):
        """how: unrestricted | purpose | named (to fund j) | goods | grant."""
        fund = self.fund(i)
        self.receipts += 1
        kwargs = {"fund": fund, "amount_fen": amount, "actor": self.actor, "received_on": DAY}
        kwargs |= (
            {"channel": "venture_grant"}
            if how == "grant"
            else {"channel": "resident", "receipt_waived": True}
        )
        purpose, target = "", fund
        if how == "purpose":
            purpose = PURPOSES[p % len(PURPOSES)]
            kwargs |= {"restriction": "purpose", "purpose": purpose}
        elif how == "named":
            target = self.fund(j)
            kwargs |= {"restriction": "named_fund", "restricted_fund": target}
        elif how == "goods":
            kwargs |= {"form": "in_kind", "item_description": "大米"}
        expected, deltas = None, {}
        if not _valid(amount):
            expected = "invalid_amount"
        elif not fund.is_open:
            expected = "fund_closed"
        elif (how == "named" and (target.parent_id != fund.pk or not target.is_open)) or (
            purpose and fund.policy == Fund.Policy.ENDOWMENT  # an endowment keeps no separate purposes
        ):
            expected = "invalid_restriction"
        elif how == "goods":
            deltas = {(fund.pk, Account.Kind.IN_KIND, ""): amount}
        else:
            deltas = {self.receiving(target, purpose): amount}
        done = self.run("donate", expected, deltas, lambda: services.post_donation(**kwargs))
        if done:
            txn, donation = done
            self.posted.append(Posted(txn.pk, deltas, txn.kind, donation.pk))

    def transfer(self, i: int, j: int, amount: int):
        source, target = self.fund(i), self.fund(j)
        expected, deltas = None, {}
        if not _valid(amount):
            expected = "invalid_amount"
        elif source.parent_id == target.pk:
            expected = "restricted_transfer"
        elif source.pk == target.pk or target.parent_id != source.pk:
            expected = "invalid_transfer"
        elif not target.is_open:
            expected = "fund_closed"
        else:
            deltas, short = self.draw(self.unrestricted(source), amount)
            deltas = self.add(deltas, self.receiving(target), amount)
            expected = "insufficient_funds" if short else None
        done = self.run(
            "transfer",
            expected,
            deltas,
            lambda: services.transfer(from_fund=source, to_fund=target, amount_fen=amount, actor=self.actor),
        )
        if done:
            self.posted.append(Posted(done[0].pk, deltas, Transaction.Kind.TRANSFER))

    def withdraw(self, i: int, amount: int, p: int | None):
        fund = self.fund(i)
        purpose = PURPOSES[p % len(PURPOSES)] if p is not None else ""
        expected, deltas = None, {}
        if not _valid(amount):
            expected = "invalid_amount"
        else:
            keys = ([(fund.pk, Account.Kind.RESTRICTED, purpose)] if purpose else []) + self.unrestricted(
                fund
            )
            deltas, short = self.draw(keys, amount)
            expected = self.shortfall_code(fund) if short else None
        done = self.run(
            "withdraw",
            expected,
            deltas,
            lambda: services.withdraw(fund=fund, amount_fen=amount, actor=self.actor, purpose=purpose),
        )
        if done:
            self.withdraw_purpose[done[0].pk] = purpose
            self.posted.append(Posted(done[0].pk, deltas, Transaction.Kind.DISBURSEMENT))

    def income(self, i: int, amount: int):
        fund = self.fund(i)
        expected, deltas = None, {}
        if not _valid(amount):
            expected = "invalid_amount"
        elif not fund.is_open:
            expected = "fund_closed"
        else:
            deltas = {(fund.pk, Account.Kind.INCOME, ""): amount}
        done = self.run(
            "income",
            expected,
            deltas,
            lambda: services.record_investment_income(fund=fund, amount_fen=amount, actor=self.actor),
        )
        if done:
            self.posted.append(Posted(done[0].pk, deltas, Transaction.Kind.INVESTMENT_INCOME))

    def change_restriction(
        self, i: int, p: int | None, j: int, q: int | None, amount: int, consent: bool = True
    ):
        fund, to_fund = self.fund(i), self.fund(j)
        from_purpose = PURPOSES[p % len(PURPOSES)] if p is not None else ""
        to_purpose = PURPOSES[q % len(PURPOSES)] if q is not None else ""
        expected, deltas = None, {}
        if not _valid(amount):
            expected = "invalid_amount"
        elif not consent:
            expected = "consent_required"
        elif not from_purpose and fund.kind != Fund.Kind.NAMED:
            expected = "not_restricted"
        elif fund.pk == to_fund.pk and from_purpose == to_purpose:
            expected = "invalid_restriction"
        elif fund.host_id != to_fund.host_id:
            expected = "host_mismatch"
        elif not to_fund.is_open:
            expected = "fund_closed"
        elif to_purpose and to_fund.policy == Fund.Policy.ENDOWMENT:
            expected = "invalid_restriction"
        else:
            keys = (
                [(fund.pk, Account.Kind.RESTRICTED, from_purpose)]
                if from_purpose
                else self.unrestricted(fund)
            )
            deltas, short = self.draw(keys, amount)
            deltas = self.add(deltas, self.receiving(to_fund, to_purpose), amount)
            if short:
                expected = "insufficient_funds" if from_purpose else self.shortfall_code(fund)
        consent_kwargs = CONSENT if consent else {**CONSENT, "consent_by": ""}
        done = self.run(
            "change_restriction",
            expected,
            deltas,
            lambda: services.change_restriction(
                fund=fund,
                from_purpose=from_purpose,
                to_fund=to_fund,
                to_purpose=to_purpose,
                amount_fen=amount,
                actor=self.actor,
                **consent_kwargs,
            ),
        )
        if done:
            self.posted.append(Posted(done[0].pk, deltas, Transaction.Kind.RESTRICTION_CHANGE))

    def decide_leftover(self, i: int, p: int | None, j: int, q: int | None, similar: bool):
        fund, to_fund = self.fund(i), self.fund(j)
        purpose = PURPOSES[p % len(PURPOSES)] if p is not None else ""
        to_purpose = PURPOSES[q % len(PURPOSES)] if q is not None else ""
        closes = not purpose
        expected, deltas = None, {}
        if not fund.is_open:
            expected = "fund_closed"
        elif (
            (closes and to_fund.pk == fund.pk)
            or (to_fund.pk == fund.pk and to_purpose == purpose)
            or (similar and not to_purpose and to_fund.kind != Fund.Kind.NAMED)  # a similar purpose is one
        ):
            expected = "invalid_leftover"
        elif fund.host_id != to_fund.host_id:
            expected = "host_mismatch"
        elif not to_fund.is_open:
            expected = "fund_closed"
        elif to_purpose and to_fund.policy == Fund.Policy.ENDOWMENT:
            expected = "invalid_restriction"
        elif closes and self.open_named_children(fund):
            expected = "named_funds_open"
        else:
            keys = self.money_keys(fund) if closes else [(fund.pk, Account.Kind.RESTRICTED, purpose)]
            amount = sum(self.held[k] for k in keys)
            if amount <= 0:
                expected = "nothing_left"
            else:
                deltas = {k: -self.held[k] for k in keys if self.held[k]}
                deltas = self.add(deltas, self.receiving(to_fund, to_purpose), amount)
        basis = LeftoverDecision.Basis.SIMILAR_PURPOSE if similar else LeftoverDecision.Basis.AS_AGREED
        done = self.run(
            "decide_leftover",
            expected,
            deltas,
            lambda: services.decide_leftover(
                fund=fund,
                purpose=purpose,
                basis=basis,
                to_fund=to_fund,
                to_purpose=to_purpose,
                reason="结余按约定处理",
                decided_on=DAY,
                actor=self.actor,
            ),
        )
        if done:
            self.posted.append(Posted(done[0].pk, deltas, Transaction.Kind.LEFTOVER))
            if closes and fund.is_open:
                raise Violation("decide_leftover: the fund did not close")

    def close(self, i: int):
        fund = self.fund(i)
        if self.open_named_children(fund):
            expected = "named_funds_open"
        elif self.money_keys(fund):
            expected = "leftover_undecided"
        elif not fund.is_open:
            expected = "fund_closed"
        else:
            expected = None
        try:
            before = self._marks()
            services.close_fund(fund=fund, actor=self.actor, closed_on=DAY)
        except DomainError as error:
            if error.code != expected or self._marks() != before:
                raise Violation(f"close: refused with {error.code}; expected {expected or 'success'}")
            self.refused[error.code] += 1
            return
        if expected is not None:
            raise Violation(f"close: accepted; expected {expected}")
        self.done["close"] += 1

    def reverse(self, n: int, *, refund: bool = False):
        candidates = [p for p in self.posted if p.donation_id is not None] if refund else self.posted
        if not candidates:
            return
        original = candidates[n % len(candidates)]
        negated = {k: -v for k, v in original.deltas.items()}
        closed = {f.pk for f in self.funds if not f.is_open}
        if not refund and original.kind == Transaction.Kind.REVERSAL:
            expected = "cannot_reverse_reversal"
        elif not refund and original.kind == Transaction.Kind.LEFTOVER:
            expected = "cannot_reverse_leftover"
        elif original.reversed:
            expected = "already_refunded" if refund else "already_reversed"
        elif any(v > 0 and k[1] in MONEY and k[0] in closed for k, v in negated.items()):
            expected = "fund_closed"
        elif any(self.held[k] + v < 0 for k, v in negated.items()):
            expected = "insufficient_funds"
        else:
            expected = None
        if refund:
            donation = Donation.objects.get(pk=original.donation_id)
            call = lambda: services.refund_donation(donation=donation, reason="退款", actor=self.actor)  # noqa: E731
        else:
            txn = Transaction.objects.get(pk=original.txn_id)
            call = lambda: services.reverse_transaction(transaction=txn, actor=self.actor, reason="更正")  # noqa: E731
        done = self.run(
            "refund" if refund else "reverse", expected, negated if expected is None else {}, call
        )
        if done:
            original.reversed = True
            self.posted.append(Posted(done[0].pk, negated, Transaction.Kind.REVERSAL))

    def open_named(self, i: int, endowment: bool):
        parent = self.fund(i)
        if parent.kind != Fund.Kind.COMMUNITY or not parent.is_open or len(self.funds) >= self.max_funds:
            return
        self.funds.append(self._named(parent, Fund.Policy.ENDOWMENT if endowment else Fund.Policy.SPEND_DOWN))
        self.done["open_named"] += 1

    def open_community(self, i: int):
        """A new community fund at fund i's host: a long run closes funds, new ones keep money moving."""
        if len(self.funds) >= self.max_funds:
            return
        n = len(self.funds)
        area = community("酒泉市", "肃州区", "东街道", f"新社区{n}")
        self.funds.append(FundFactory(name=f"新社区基金{n}", community=area, host=self.fund(i).host))
        self.done["open_community"] += 1

    # --- invariants ---------------------------------------------------------------------------------------

    def check_balances(self):
        """Every held account's stored balance is what the model says, and none is below zero."""
        stored = {
            (f, k, p): b
            for f, k, p, b in Account.objects.filter(kind__in=HELD).values_list(
                "fund_id", "kind", "purpose", "balance_fen"
            )
        }
        if any(b < 0 for b in stored.values()):
            raise Violation(f"a held account below zero: {stored}")
        expected = {k: v for k, v in self.held.items() if v}
        actual = {k: v for k, v in stored.items() if v}
        if actual != expected:
            diff = {
                k: (actual.get(k), expected.get(k))
                for k in set(actual) | set(expected)
                if actual.get(k) != expected.get(k)
            }
            raise Violation(f"stored balances differ from the model (stored, model): {diff}")
        statuses = dict(Fund.objects.values_list("pk", "status"))
        if any(statuses[f.pk] != f.status for f in self.funds):
            raise Violation("a fund's status differs from the one the services reported")

    def check_all(self):
        """Every invariant over the whole ledger (a handful of aggregate queries)."""
        self.check_balances()
        report = selectors.verify_ledger()
        if not report.ok:
            raise Violation("verify_ledger: " + "; ".join(str(d) for d in report.differences[:5]))
        spent = Entry.objects.filter(
            transaction__kind=Transaction.Kind.DISBURSEMENT, amount_fen__lt=0
        ).values_list(
            "transaction_id", "transaction__fund_id", "account__fund_id", "account__kind", "account__purpose"
        )
        for txn_id, txn_fund, account_fund, kind, purpose in spent:
            if account_fund != txn_fund:
                raise Violation(f"disbursement #{txn_id} spent another fund's money")
            if kind == Account.Kind.PRINCIPAL:
                raise Violation(f"disbursement #{txn_id} spent principal")
            if kind == Account.Kind.RESTRICTED and purpose != self.withdraw_purpose.get(txn_id):
                raise Violation(f"disbursement #{txn_id} spent money restricted to {purpose}")
        allowed = {Transaction.Kind.REVERSAL, Transaction.Kind.LEFTOVER}
        principal_out = Entry.objects.filter(account__kind=Account.Kind.PRINCIPAL, amount_fen__lt=0).exclude(
            transaction__kind__in=allowed
        )
        if principal_out.exists():
            raise Violation(
                f"principal left other than by a reversal or a leftover: {list(principal_out[:3])}"
            )
        allowed |= {Transaction.Kind.DISBURSEMENT, Transaction.Kind.RESTRICTION_CHANGE}
        restricted_out = (
            Entry.objects.filter(amount_fen__lt=0, account__kind__in=MONEY)
            .filter(account__fund__kind=Fund.Kind.NAMED)
            .exclude(transaction__kind__in=allowed)
        )
        if restricted_out.exists():
            raise Violation(f"a named fund's money left it by {list(restricted_out[:3])}")
        consented = set(
            RestrictionChange.objects.exclude(consent_by="").values_list("transaction_id", flat=True)
        )
        if (
            set(
                Transaction.objects.filter(kind=Transaction.Kind.RESTRICTION_CHANGE).values_list(
                    "pk", flat=True
                )
            )
            - consented
        ):
            raise Violation("a restriction change without its recorded consent")
