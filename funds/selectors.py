"""Reads of funds and the ledger. No writes here.

A balance is read from the stored `Account.balance_fen` (one indexed row per account, whatever the number of
entries); `verify_ledger` recomputes those stored figures from the entries and lists every difference.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from .models import Account, Donation, Entry, Fund, LeftoverDecision, RestrictionChange, Transaction


@dataclass(frozen=True)
class FundBalance:
    """What a fund holds, in fen. `balance_fen` is all its money: unrestricted (general and investment
    income), restricted to purposes, and an endowment's principal. Goods are counted apart."""

    balance_fen: int = 0
    restricted_fen: int = 0
    restricted_by_purpose: dict[str, int] = field(default_factory=dict)
    in_kind_fen: int = 0
    principal_fen: int = 0
    income_fen: int = 0

    @property
    def general_fen(self) -> int:
        """Unrestricted money: what may be spent on anything the committee decides (investment income too)."""
        return self.balance_fen - self.restricted_fen - self.principal_fen


def _fund_id(fund) -> int:
    return fund if isinstance(fund, int) else fund.pk


def get_fund_balances(funds: Iterable[Fund | int]) -> dict[int, FundBalance]:
    """Return {fund id: FundBalance} for any number of funds, in one query on the account rows."""
    ids = {_fund_id(f) for f in funds}
    if not ids:
        return {}
    acc: dict[int, dict] = {
        pk: {
            "balance_fen": 0,
            "restricted_fen": 0,
            "restricted_by_purpose": {},
            "in_kind_fen": 0,
            "principal_fen": 0,
            "income_fen": 0,
        }
        for pk in ids
    }
    rows = Account.objects.filter(fund_id__in=ids, kind__in=Account.HELD).values_list(
        "fund_id", "kind", "purpose", "balance_fen"
    )
    for fund_id, kind, purpose, balance in rows:
        item = acc[fund_id]
        if kind == Account.Kind.IN_KIND:
            item["in_kind_fen"] += balance
            continue
        item["balance_fen"] += balance
        if kind == Account.Kind.RESTRICTED:
            item["restricted_fen"] += balance
            item["restricted_by_purpose"][purpose] = balance
        elif kind == Account.Kind.PRINCIPAL:
            item["principal_fen"] += balance
        elif kind == Account.Kind.INCOME:
            item["income_fen"] += balance
    return {pk: FundBalance(**values) for pk, values in acc.items()}


def fund_balance(fund: Fund | int) -> FundBalance:
    """Return one fund's balance (one query)."""
    return get_fund_balances([fund])[_fund_id(fund)]


def spendable_on(fund: Fund | int, purpose: str = "") -> int:
    """How much may be spent on `purpose`: unrestricted money (general and investment income) plus the
    money restricted to that purpose. Never an endowment's principal."""
    purpose = (purpose or "").strip()
    condition = Q(kind__in=[Account.Kind.GENERAL, Account.Kind.INCOME])
    if purpose:
        condition |= Q(kind=Account.Kind.RESTRICTED, purpose=purpose)
    total = Account.objects.filter(condition, fund_id=_fund_id(fund)).aggregate(
        total=Coalesce(Sum("balance_fen"), Value(0))
    )["total"]
    return int(total)


def named_fund_minimum_fen(host) -> int:
    """The least a named fund at `host` should hold (a per-host setting, else the platform default)."""
    by_host = settings.NAMED_FUND_MIN_FEN_BY_HOST
    for key in (host.credit_code, host.name):
        if key and key in by_host:
            return by_host[key]
    return settings.NAMED_FUND_MIN_FEN


def named_fund_shortfall_fen(fund: Fund, balance: FundBalance | None = None) -> int:
    """How far a named fund's money is below its host's minimum (0 if not a named fund or above it)."""
    if fund.kind != Fund.Kind.NAMED:
        return 0
    balance = balance or fund_balance(fund)
    return max(0, named_fund_minimum_fen(fund.host) - balance.balance_fen)


def list_entries(fund: Fund | int) -> QuerySet[Entry]:
    """Entries on the fund's accounts, newest first, with what a ledger page shows alongside each."""
    return (
        Entry.objects.filter(account__fund_id=_fund_id(fund))
        .select_related(
            "account", "transaction", "transaction__actor_user", "transaction__actor_organization"
        )
        .order_by("-transaction__posted_at", "-id")
    )


def _received_by(fund: Fund | int) -> Q:
    """The donations a fund received: recorded to it, or to its parent and restricted to it (a named fund)."""
    if isinstance(fund, Fund) and fund.kind == Fund.Kind.COMMUNITY:
        # Only a named fund is ever a gift's restricted_fund (check_donation), so a community fund's gifts are
        # the ones recorded to it; one condition lets PostgreSQL read them newest first from the
        # (fund, received_on) index instead of sorting every gift of the fund (bench/http_load.py).
        return Q(fund_id=fund.pk)
    fund_id = _fund_id(fund)
    return Q(fund_id=fund_id) | Q(restricted_fund_id=fund_id)


_GRANT = Q(channel=Donation.Channel.VENTURE_GRANT)


def list_fund_donations(fund: Fund | int, *, grants: bool = False) -> QuerySet[Donation]:
    """The gifts a fund's public page lists (with `grants`: its venture philanthropy grants instead), newest
    first, with what the page shows of each."""
    return (
        Donation.objects.filter(_received_by(fund))
        .filter(_GRANT if grants else ~_GRANT)
        .select_related("donor_person", "donor_organization", "restricted_fund")
        .order_by("-received_on", "-id")
    )


def _received_in(fund: Fund | int, year: int) -> QuerySet[Donation]:
    return Donation.objects.filter(
        _received_by(fund),
        received_on__gte=datetime.date(year, 1, 1),
        received_on__lt=datetime.date(year + 1, 1, 1),
        refund_transaction__isnull=True,
    )


def income_by_channel(fund: Fund | int, year: int, *, include_in_kind: bool = False) -> dict[str, int]:
    """Gifts received by the fund in a calendar year, by channel, in fen; refunded ones left out, and
    venture philanthropy grants too (a grant is not a gift: grants_received_fen counts them).

    Goods (valued in fen) count only with include_in_kind=True.
    """
    qs = _received_in(fund, year).exclude(_GRANT)
    if not include_in_kind:
        qs = qs.filter(form=Donation.Form.MONEY)
    rows = qs.order_by().values("channel").annotate(total=Sum("amount_fen")).values_list("channel", "total")
    return {channel: int(total) for channel, total in rows}


def grants_received_fen(fund: Fund | int, year: int) -> int:
    """Venture philanthropy grants the fund received in a calendar year, in fen (refunded ones left out)."""
    total = _received_in(fund, year).filter(_GRANT).aggregate(total=Sum("amount_fen"))["total"]
    return int(total or 0)


def list_leftover_decisions(fund: Fund | int) -> QuerySet[LeftoverDecision]:
    """Leftover decisions about the fund's money, and those that sent a leftover to it (CL art. 58)."""
    fund_id = _fund_id(fund)
    return (
        LeftoverDecision.objects.filter(Q(fund_id=fund_id) | Q(to_fund_id=fund_id))
        .select_related("fund", "to_fund")
        .order_by("-decided_on", "-id")
    )


def list_restriction_changes(fund: Fund | int) -> QuerySet[RestrictionChange]:
    """Restriction changes out of or into the fund, with whether each was reversed (a correction)."""
    fund_id = _fund_id(fund)
    return (
        RestrictionChange.objects.filter(Q(fund_id=fund_id) | Q(to_fund_id=fund_id))
        .select_related("fund", "to_fund", "transaction__reversed_by")
        .order_by("-consent_on", "-id")
    )


# --- ledger verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountDifference:
    account_id: int
    fund_id: int
    kind: str
    purpose: str
    stored_fen: int
    computed_fen: int

    def __str__(self) -> str:
        label = f"{self.kind}:{self.purpose}" if self.purpose else self.kind
        return (
            f"account #{self.account_id} (fund #{self.fund_id}, {label}): stored {self.stored_fen} fen, "
            f"entries add up to {self.computed_fen} fen"
            + (" (a held account below zero)" if self.stored_fen < 0 and self.kind in Account.HELD else "")
        )


@dataclass(frozen=True)
class TransactionDifference:
    transaction_id: int
    sum_fen: int
    entry_count: int

    def __str__(self) -> str:
        return (
            f"transaction #{self.transaction_id}: {self.entry_count} entries adding up to {self.sum_fen} fen "
            "(must be at least 2 entries adding up to 0)"
        )


@dataclass(frozen=True)
class DonationDifference:
    """A donation (or its refund, with negative amounts) whose transaction credits the fund another sum."""

    donation_id: int
    transaction_id: int
    amount_fen: int
    credited_fen: int

    def __str__(self) -> str:
        return (
            f"donation #{self.donation_id}: amount {self.amount_fen} fen, but transaction "
            f"#{self.transaction_id} credits the fund {self.credited_fen} fen"
        )


@dataclass(frozen=True)
class PromiseBreach:
    """A movement the fund's rules do not allow (docs/fund-rules.md), found in the entries themselves."""

    rule: str
    transaction_id: int | None
    account_id: int | None
    amount_fen: int

    RULES = {
        "principal_spent": "an endowment's principal left it other than by a reversal or a leftover decision",
        "restriction_broken": "restricted money (a purpose's, or a named fund's) left it other than by being "
        "spent by its fund, a reversal, a restriction change with consent or a leftover decision",
        "spent_by_another_fund": "a disbursement took money from another fund's account",
        "consent_missing": "a restriction change without its recorded consent, or moving another amount",
        "leftover_unrecorded": "a leftover movement without its decision, or moving another amount",
        "closed_fund_holds_money": "a closed fund holds money",
    }

    def __str__(self) -> str:
        where = [f"transaction #{self.transaction_id}"] if self.transaction_id else []
        where += [f"account #{self.account_id}"] if self.account_id else []
        return f"{', '.join(where)}: {self.RULES[self.rule]} ({self.amount_fen} fen)"


@dataclass(frozen=True)
class LedgerReport:
    accounts_checked: int
    transactions_checked: int
    entries_checked: int
    account_differences: list[AccountDifference]
    transaction_differences: list[TransactionDifference]
    donations_checked: int = 0
    donation_differences: list[DonationDifference] = field(default_factory=list)
    promise_breaches: list[PromiseBreach] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            not self.account_differences
            and not self.transaction_differences
            and not self.donation_differences
            and not self.promise_breaches
        )

    @property
    def differences(
        self,
    ) -> list[AccountDifference | TransactionDifference | DonationDifference | PromiseBreach]:
        return [
            *self.account_differences,
            *self.transaction_differences,
            *self.donation_differences,
            *self.promise_breaches,
        ]

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "accounts_checked": self.accounts_checked,
            "transactions_checked": self.transactions_checked,
            "entries_checked": self.entries_checked,
            "donations_checked": self.donations_checked,
            "account_differences": [vars(d) for d in self.account_differences],
            "transaction_differences": [vars(d) for d in self.transaction_differences],
            "donation_differences": [vars(d) for d in self.donation_differences],
            "promise_breaches": [vars(d) for d in self.promise_breaches],
        }


def _held_credit(transaction_field: str):
    """What the transaction named by `transaction_field` puts into held accounts (what a fund holds)."""
    credit = (
        Entry.objects.filter(transaction_id=OuterRef(transaction_field), account__kind__in=Account.HELD)
        .order_by()
        .values("transaction_id")
        .annotate(total=Sum("amount_fen"))
        .values("total")
    )
    return Coalesce(Subquery(credit), Value(0))


def _donation_differences() -> list[DonationDifference]:
    rows = (
        Donation.objects.order_by()
        .annotate(credited=_held_credit("transaction_id"), refunded=_held_credit("refund_transaction_id"))
        .filter(
            ~Q(credited=F("amount_fen")) | Q(refund_transaction__isnull=False) & ~Q(refunded=-F("amount_fen"))
        )
        .order_by("pk")
        .values_list("pk", "amount_fen", "transaction_id", "credited", "refund_transaction_id", "refunded")
    )
    differences = []
    for pk, amount, txn, credited, refund_txn, refunded in rows:
        if credited != amount:
            differences.append(DonationDifference(pk, txn, amount, credited))
        if refund_txn is not None and refunded != -amount:
            differences.append(DonationDifference(pk, refund_txn, -amount, refunded))
    return differences


def _promise_breaches() -> list[PromiseBreach]:
    """Every entry, transaction and account that breaks a promise to donors (a handful of queries)."""
    kind, txn = Account.Kind, Transaction.Kind
    debits = (
        Entry.objects.filter(amount_fen__lt=0, account__kind__in=Account.MONEY)
        .filter(
            Q(account__kind=kind.PRINCIPAL) & ~Q(transaction__kind__in=[txn.REVERSAL, txn.LEFTOVER])
            | (Q(account__kind=kind.RESTRICTED) | Q(account__fund__kind=Fund.Kind.NAMED))
            & ~Q(account__kind=kind.PRINCIPAL)
            & ~Q(transaction__kind__in=[txn.DISBURSEMENT, txn.REVERSAL, txn.RESTRICTION_CHANGE, txn.LEFTOVER])
            | Q(transaction__kind=txn.DISBURSEMENT) & ~Q(account__fund_id=F("transaction__fund_id"))
        )
        .order_by("pk")
        .values_list("transaction_id", "account_id", "amount_fen", "account__kind", "transaction__kind")
    )
    breaches = []
    for txn_id, account_id, amount, account_kind, txn_kind in debits:
        if txn_kind == txn.DISBURSEMENT and account_kind != kind.PRINCIPAL:
            rule = "spent_by_another_fund"
        else:
            rule = "principal_spent" if account_kind == kind.PRINCIPAL else "restriction_broken"
        breaches.append(PromiseBreach(rule, txn_id, account_id, -amount))
    moved = Sum("entries__amount_fen", filter=Q(entries__amount_fen__gt=0))
    for rule, txn_kind, record in (
        ("consent_missing", txn.RESTRICTION_CHANGE, "restriction_change"),
        ("leftover_unrecorded", txn.LEFTOVER, "leftover_decision"),
    ):
        rows = (
            Transaction.objects.filter(kind=txn_kind)
            .order_by()
            .values("pk", f"{record}__amount_fen")
            .annotate(moved=moved)
            .order_by("pk")
            .values_list("pk", f"{record}__amount_fen", "moved")
        )
        breaches += [
            PromiseBreach(rule, pk, None, moved_fen or 0)
            for pk, recorded, moved_fen in rows
            if recorded != moved_fen
        ]
    closed = Account.objects.filter(
        fund__status=Fund.Status.CLOSED, kind__in=Account.MONEY, balance_fen__gt=0
    ).values_list("pk", "balance_fen")
    breaches += [PromiseBreach("closed_fund_holds_money", None, pk, balance) for pk, balance in closed]
    return breaches


def verify_ledger() -> LedgerReport:
    """Recompute every account balance and every transaction's sum from the entries (aggregate queries only).

    Reports accounts whose stored balance differs from their entries (or a held account below zero),
    transactions with fewer than two entries or entries not adding up to zero, donations whose amount is
    not what their transaction (and their refund's) puts into the fund's held accounts, and every broken
    promise to donors (PromiseBreach: restricted money or principal moved without the record that allows
    it, money spent by another fund, a closed fund holding money).
    """
    accounts_checked = Account.objects.count()
    transactions_checked = Transaction.objects.count()
    entries_checked = Entry.objects.count()

    account_rows = (
        Account.objects.order_by()
        .annotate(computed=Coalesce(Sum("entries__amount_fen"), Value(0)))
        .filter(~Q(balance_fen=F("computed")) | Q(balance_fen__lt=0, kind__in=Account.HELD))
        .order_by("pk")
        .values_list("pk", "fund_id", "kind", "purpose", "balance_fen", "computed")
    )
    transaction_rows = (
        Transaction.objects.order_by()
        .annotate(total=Coalesce(Sum("entries__amount_fen"), Value(0)), n=Count("entries"))
        .filter(~Q(total=0) | Q(n__lt=2))
        .order_by("pk")
        .values_list("pk", "total", "n")
    )
    return LedgerReport(
        accounts_checked=accounts_checked,
        transactions_checked=transactions_checked,
        entries_checked=entries_checked,
        account_differences=[AccountDifference(*row) for row in account_rows],
        transaction_differences=[TransactionDifference(*row) for row in transaction_rows],
        donations_checked=Donation.objects.count(),
        donation_differences=_donation_differences(),
        promise_breaches=_promise_breaches(),
    )
