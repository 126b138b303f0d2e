"""What a fund paid out, as its public page and "where did my gift go" show it: each payment with the
allocation proposal that decided it, when there is one (docs/allocation.md, "On the portal").

The proposal is reached through the ledger transaction's reverse relation (`disbursement`, defined by the
governance app): funds never imports governance (the apps depend one way), and a payment recorded without a
proposal is still listed, as such. Every function here runs a fixed number of queries however many rows.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, Subquery, Sum

from . import selectors
from .models import Account, Donation, Entry, Fund, Transaction

PAYMENTS_SHOWN = 50
RECEIPT_MAX = 64  # Donation.receipt_no


def list_payments(fund: Fund) -> list[Transaction]:
    """The fund's latest disbursements, newest first, each with `paid_fen`, `is_reversed` and `payment`
    (the governance Disbursement with its proposal, or None): two queries."""
    paid = (
        Entry.objects.filter(transaction=OuterRef("pk"), account__kind=Account.Kind.DISBURSED)
        .values("transaction")
        .annotate(total=Sum("amount_fen"))
        .values("total")
    )
    rows = list(
        Transaction.objects.filter(fund=fund, kind=Transaction.Kind.DISBURSEMENT)
        .annotate(
            paid_fen=Subquery(paid),
            is_reversed=Exists(Transaction.objects.filter(reverses=OuterRef("pk"))),
        )
        .select_related("disbursement__proposal")
        .order_by("-posted_at", "-id")[:PAYMENTS_SHOWN]
    )
    for row in rows:
        row.payment = getattr(row, "disbursement", None)
    return rows


def normalize_receipt(value: str) -> str:
    """A receipt number as typed on a phone: full-width letters and digits made plain, spaces trimmed."""
    return unicodedata.normalize("NFKC", value or "").strip()


def find_gift(fund: Fund, receipt_no: str) -> Donation | None:
    """The gift to `fund` (or, for a named fund, restricted to it) with this receipt number, or None."""
    return (
        selectors.list_fund_donations(fund)
        .filter(receipt_no__iexact=receipt_no)
        .select_related("fund", "restricted_fund")
        .first()
    )


@dataclass
class SpentOn:
    """One proposal (or payments recorded without one) and how much of the gift's kind of money it used."""

    proposal_id: int | None
    title: str
    status: str
    fen: int


@dataclass
class GiftPath:
    """Where a gift's kind of money went: the fund and accounts it sits in, what was paid from them, what
    is decided but not paid yet, and what is still held."""

    fund: Fund
    kind: str  # "purpose", "named_fund", "unrestricted"
    spent: list[SpentOn] = field(default_factory=list)
    coming: list = field(default_factory=list)  # governance Proposals approved and not paid yet
    held_fen: int = 0


def _accounts_q(donation: Donation) -> tuple[Fund, str, Q]:
    if donation.restriction == Donation.Restriction.PURPOSE:
        return (
            donation.fund,
            "purpose",
            Q(account__kind=Account.Kind.RESTRICTED, account__purpose=donation.purpose),
        )
    if donation.restriction == Donation.Restriction.NAMED_FUND and donation.restricted_fund_id:
        return donation.restricted_fund, "named_fund", Q(account__kind__in=Account.MONEY)
    return donation.fund, "unrestricted", Q(account__kind__in=(Account.Kind.GENERAL, Account.Kind.INCOME))


COMING = ("notice", "objection_review", "payable")


def gift_path(donation: Donation) -> GiftPath:
    """Which proposals spent the money this gift is part of (three queries). The ledger pools a purpose's
    money, so a gift is not traced fen by fen: what is shown is the spending of its pool."""
    fund, kind, accounts = _accounts_q(donation)
    rows = (
        Entry.objects.filter(
            accounts,
            account__fund=fund,
            transaction__kind=Transaction.Kind.DISBURSEMENT,
            transaction__reversed_by__isnull=True,  # a payment corrected by a reversal was not spent
            amount_fen__lt=0,
        )
        .values(
            "transaction__disbursement__proposal_id",
            "transaction__disbursement__proposal__title",
            "transaction__disbursement__proposal__status",
        )
        .annotate(fen=Sum("amount_fen"))
        .order_by("transaction__disbursement__proposal_id")
    )
    spent = [
        SpentOn(
            proposal_id=r["transaction__disbursement__proposal_id"],
            title=r["transaction__disbursement__proposal__title"] or "",
            status=r["transaction__disbursement__proposal__status"] or "",
            fen=-r["fen"],
        )
        for r in rows
    ]
    coming = fund.proposals.filter(status__in=COMING)  # the reverse relation: no import of governance
    if kind == "purpose":
        coming = coming.filter(purpose=donation.purpose)
    elif kind == "unrestricted":
        coming = coming.filter(purpose="")
    balance = selectors.fund_balance(fund)
    if kind == "purpose":
        held = balance.restricted_by_purpose.get(donation.purpose, 0)
    elif kind == "named_fund":
        held = balance.balance_fen
    else:
        held = balance.general_fen
    return GiftPath(
        fund=fund, kind=kind, spent=spent, coming=list(coming.order_by("-id")[:50]), held_fen=held
    )
