"""The ledger's machinery: accounts, row locks, posting a balanced transaction, reversing one, checking it.

The ledger is double-entry and append-only: a movement is one Transaction with ≥2 Entry rows summing to zero;
a correction is a reversal. Held accounts (general, restricted, principal, income, in-kind) never go below
zero: the accounts a posting touches are row-locked in primary-key order, re-checked, then updated — and the
database CHECK on `funds_account` refuses an overdraft whatever happens above it.

Every other funds module posts through `post_lines` here: donations (funds/donations.py), transfers,
withdrawals and income (funds/movements.py), restriction changes and leftovers (funds/restrictions.py).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence

from django.db import IntegrityError, connection, transaction
from django.db.transaction import atomic  # reverse_transaction's `transaction` argument shadows the module
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from charity.db import insert_row, insert_rows, insert_values
from charity.errors import DomainError
from charity.models import AuditAction
from charity.services import Actor, record_audit
from charity.validators import clean_text, normalize_key

from .errors import (
    AlreadyRefunded,
    AlreadyReversed,
    FundClosed,
    InsufficientFunds,
    InvalidAmount,
    LedgerError,
)
from .models import MAX_AMOUNT_FEN, Account, Donation, Entry, Fund, Transaction
from .selectors import LedgerReport, verify_ledger

# Kinds every fund has from its first movement on; the others (restricted per purpose, principal, income,
# investment) are created on demand by get_or_create_account.
STANDARD_KINDS = (
    Account.Kind.GENERAL,
    Account.Kind.DONORS,
    Account.Kind.IN_KIND,
    Account.Kind.IN_KIND_DONORS,
    Account.Kind.DISBURSED,
)
HELD_KINDS = frozenset(Account.HELD)
MONEY_KINDS = frozenset(Account.MONEY)
# Checked on every posting; TextChoices.values builds a new list on each access.
TRANSACTION_KINDS = frozenset(Transaction.Kind.values)
PURPOSE_MAX_LENGTH = 200
MEMO_MAX_LENGTH = 300


# --- checks every service shares --------------------------------------------------------------------------


def check_amount(value, *, field: str = "amount_fen") -> int:
    """Return `value` if it is a whole number of fen from 1 to MAX_AMOUNT_FEN; else raise InvalidAmount."""
    # bool is an int subclass: True must not become 1 fen.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAmount(_("Give the amount as a whole number of fen (1 yuan = 100 fen)."), field=field)
    if value <= 0:
        raise InvalidAmount(_("The amount must be more than zero."), field=field)
    if value > MAX_AMOUNT_FEN:
        raise InvalidAmount(_("The amount may not exceed ¥10,000,000,000."), field=field)
    return value


def check_text(
    value,
    *,
    field: str,
    max_length: int,
    code: str = "invalid",
    required: bool = False,
    required_message=None,
    key: bool = False,
) -> str:
    """Return the text as it is stored: an identifier or key (`key`) through normalize_key, so that
    look-alikes are one; free text through clean_text (no NUL or other invisible characters)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise DomainError(_("Enter text here."), code=code, field=field)
    value = normalize_key(value) if key else clean_text(value)
    if required and not value:
        raise DomainError(required_message or _("This field is required."), code=code, field=field)
    if len(value) > max_length:
        raise DomainError(
            _("At most %(max)d characters are allowed here.") % {"max": max_length}, code=code, field=field
        )
    return value


def check_purpose(value, *, field: str = "purpose", code: str = "invalid_restriction") -> str:
    """A restricted purpose as it is stored: normalised like a key, so 助老 and 助\u200b老 are one purpose."""
    return check_text(value, field=field, max_length=PURPOSE_MAX_LENGTH, code=code, key=True)


def check_reason(reason, *, message=None) -> str:
    return check_text(
        reason,
        field="reason",
        max_length=MEMO_MAX_LENGTH,
        code="reason_required",
        required=True,
        required_message=message or _("Give the reason for this correction."),
    )


def check_date(value, *, field: str, code: str, message) -> datetime.date:
    """A date (not a datetime) that is not in the future."""
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise DomainError(message, code=code, field=field)
    if value > timezone.localdate():
        raise DomainError(_("This date is in the future."), code=code, field=field)
    return value


def check_open(fund: Fund, *, field: str = "fund") -> None:
    if fund.status != Fund.Status.OPEN:
        raise FundClosed(_("The fund “%(fund)s” is closed.") % {"fund": fund.name}, field=field)


def area(fund: Fund):
    """The area a fund's audit events belong to."""
    return fund.community


def actor_fields(actor: Actor) -> dict:
    return {"actor_user_id": actor.user_id, "actor_organization": actor.organization}


# --- accounts -----------------------------------------------------------------------------------------------


def get_or_create_accounts(fund: Fund) -> dict[str, Account]:
    """Return the fund's standard accounts keyed by kind, creating any that are missing.

    Safe under concurrency: a racing creator's rows are picked up (ON CONFLICT DO NOTHING, then re-read).
    """
    accounts = _standard_accounts(fund.pk)
    if len(accounts) < len(STANDARD_KINDS):
        Account.objects.bulk_create(
            [Account(fund_id=fund.pk, kind=kind) for kind in STANDARD_KINDS if kind not in accounts],
            ignore_conflicts=True,
        )
        accounts = _standard_accounts(fund.pk)
    return accounts


def _standard_accounts(fund_id: int) -> dict[str, Account]:
    # Plain SQL: this runs on every posting, and the queryset machinery costs more CPU than the query.
    table = connection.ops.quote_name(Account._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, kind, balance_fen FROM {table} "
            f"WHERE fund_id = %s AND purpose = '' AND kind IN ({', '.join(['%s'] * len(STANDARD_KINDS))})",
            [fund_id, *STANDARD_KINDS],
        )
        rows = cursor.fetchall()
    names = ["id", "fund_id", "kind", "purpose", "balance_fen"]
    return {
        kind: Account.from_db(connection.alias, names, (pk, fund_id, kind, "", balance))
        for pk, kind, balance in rows
    }


def get_or_create_account(fund: Fund, kind: str, purpose: str = "") -> Account:
    """Return the fund's account of `kind` (for `restricted`: for `purpose`), creating it if needed."""
    account = Account.objects.filter(fund_id=fund.pk, kind=kind, purpose=purpose).first()
    if account is None:
        Account.objects.bulk_create(
            [Account(fund_id=fund.pk, kind=kind, purpose=purpose)], ignore_conflicts=True
        )
        account = Account.objects.get(fund_id=fund.pk, kind=kind, purpose=purpose)
    return account


def get_or_create_restricted_account(fund: Fund, purpose: str) -> Account:
    """Return the fund's account for money restricted to `purpose`, creating it if needed."""
    return get_or_create_account(fund, Account.Kind.RESTRICTED, purpose)


def receiving_account(fund: Fund, purpose: str = "") -> Account:
    """Where money a fund receives lands: its account for `purpose`, else its principal if it is an
    endowment (every gift to an endowment is principal), else its general account.

    Preconditions: the caller has refused a purpose for an endowment (it keeps no separate purposes).
    """
    if purpose:
        return get_or_create_account(fund, Account.Kind.RESTRICTED, purpose)
    if fund.policy == Fund.Policy.ENDOWMENT:
        return get_or_create_account(fund, Account.Kind.PRINCIPAL)
    return get_or_create_accounts(fund)[Account.Kind.GENERAL]


def draw(accounts: Sequence[Account | None], locked: dict[int, tuple[str, int]], amount_fen: int):
    """Lines taking `amount_fen` out of `accounts` in their order, each up to its locked balance.

    Returns (lines, shortfall): the shortfall is what the accounts could not give (0 when they could).
    """
    lines: list[tuple[Account, int]] = []
    left = amount_fen
    for account in accounts:
        if account is None or left == 0:
            continue
        take = min(locked[account.pk][1], left)
        if take > 0:
            lines.append((account, -take))
            left -= take
    return lines, left


# --- posting ------------------------------------------------------------------------------------------------


def lock_accounts(account_ids: Iterable[int]) -> dict[int, tuple[str, int]]:
    """Row-lock accounts in primary-key order (so two postings never deadlock); return {pk: (kind, balance)}.

    FOR NO KEY UPDATE: the balance is not a key, so inserting entries that reference the account (which take
    FOR KEY SHARE) does not wait on it. SQLite ignores the lock; its writers queue at BEGIN IMMEDIATE.
    """
    ids = sorted(set(account_ids))
    table = connection.ops.quote_name(Account._meta.db_table)
    lock = connection.ops.for_update_sql(no_key=True) if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, kind, balance_fen FROM {table} "
            f"WHERE id IN ({', '.join(['%s'] * len(ids))}) ORDER BY id {lock}",
            ids,
        )
        return {pk: (kind, balance) for pk, kind, balance in cursor.fetchall()}


def _check_balances(deltas: dict[int, int], locked: dict[int, tuple[str, int]]) -> None:
    if set(deltas) - set(locked):
        raise LedgerError(_("A ledger account in this transaction does not exist."), field="lines")
    for pk, delta in deltas.items():
        account_kind, balance = locked[pk]
        if account_kind in HELD_KINDS and balance + delta < 0:
            raise InsufficientFunds(field="amount_fen")


def post_lines(
    *,
    fund: Fund,
    kind: str,
    lines: Sequence[tuple[Account, int]],
    actor: Actor,
    memo: str = "",
    reverses: Transaction | None = None,
    locked: dict[int, tuple[str, int]] | None = None,
    before_balances: Callable[[Transaction], object] | None = None,
) -> Transaction:
    """Write one balanced transaction. Precondition: inside transaction.atomic() (a refusal rolls it back).

    `locked`: balances the caller already locked with lock_accounts. `before_balances(txn)`: more writes of
    the same change that need no lock (the donation row, the audit event), done before locking the accounts.
    """
    deltas = _line_deltas(kind, lines)
    if locked is not None and set(deltas) <= set(locked):
        # The caller locked first (it needed the balances to decide the lines): check before writing.
        _check_balances(deltas, locked)
    txn = Transaction(
        kind=kind, fund_id=fund.pk, memo=memo[:MEMO_MAX_LENGTH], reverses=reverses, **actor_fields(actor)
    )
    insert_row(txn)
    insert_rows(
        [Entry(transaction_id=txn.pk, account_id=account.pk, amount_fen=amount) for account, amount in lines]
    )
    if before_balances is not None:
        before_balances(txn)
    if locked is None or not set(deltas) <= set(locked):
        # Lock as late as possible: on a hot fund every posting queues on these rows, so the lock is held
        # only for the check, one UPDATE and the commit. Inserting entries above takes FOR KEY SHARE on
        # them, which FOR NO KEY UPDATE does not wait for: this cannot deadlock with lock-first callers.
        # Always lock in primary-key order first, even for credits: a bare UPDATE of several rows locks
        # them in whatever order its scan meets them, and two postings then deadlock (seen in bench/).
        locked = lock_accounts(deltas)
        _check_balances(deltas, locked)
    # The row locks make the re-check hold until commit; the database CHECK refuses a negative held
    # balance whatever happens above it.
    new_balances = _apply_deltas(deltas)
    for account, _amount in lines:
        account.balance_fen = new_balances[account.pk]
    return txn


def _line_deltas(kind: str, lines: Sequence[tuple[Account, int]]) -> dict[int, int]:
    """What a transaction's lines move, per account; raise if they are not a valid balanced transaction."""
    if len(lines) < 2:
        raise LedgerError(_("A ledger transaction needs at least two lines."), field="lines")
    deltas: dict[int, int] = {}
    for account, amount in lines:
        if account is None or account.pk is None:
            raise LedgerError(_("Every line needs a saved ledger account."), field="lines")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
            raise InvalidAmount(_("Every line needs a whole, non-zero number of fen."), field="lines")
        if abs(amount) > MAX_AMOUNT_FEN:
            raise InvalidAmount(_("The amount may not exceed ¥10,000,000,000."), field="lines")
        deltas[account.pk] = deltas.get(account.pk, 0) + amount
    if sum(deltas.values()) != 0:
        raise LedgerError(
            _("The lines of a ledger transaction must add up to zero."), code="unbalanced", field="lines"
        )
    if not isinstance(kind, str) or kind not in TRANSACTION_KINDS:
        raise LedgerError(_("Unknown kind of ledger transaction."), field="kind")
    return deltas


def post_lines_in_bulk(
    *,
    postings: Sequence[tuple[Fund, str, Sequence[tuple[Account, int]], str]],
    actor: Actor,
    deltas: dict[int, int],
) -> list[int]:
    """Write many balanced transactions at once — each (fund, kind, lines, memo) exactly as post_lines writes
    it: the transaction, then its lines in their order — and add what they move to `deltas` instead of
    moving the stored balances. Returns the new transactions' ids, in the order of `postings`.

    Set-based (charity.db.insert_values: COPY on PostgreSQL), no lock. Preconditions: inside
    transaction.atomic(), and the caller calls settle_balances(deltas) in the same transaction before it
    commits (until then the stored balances lag behind the entries). Raises what post_lines raises for bad
    lines, before writing anything.
    """
    moved = [_line_deltas(kind, lines) for _fund, kind, lines, _memo in postings]
    now = timezone.now()  # posted_at, as auto_now_add sets it
    by = actor_fields(actor)
    who = {
        "actor_user_id": by["actor_user_id"],
        "actor_organization_id": getattr(by["actor_organization"], "pk", None),
    }
    txn_ids = insert_values(
        Transaction,
        [
            {
                "kind": kind,
                "fund_id": fund.pk,
                "memo": memo[:MEMO_MAX_LENGTH],
                "posted_at": now,
                "reverses_id": None,
            }
            | who
            for fund, kind, _lines, memo in postings
        ],
    )
    insert_values(
        Entry,
        returning=False,
        rows=[
            {"transaction_id": txn_id, "account_id": account.pk, "amount_fen": amount}
            for txn_id, (_fund, _kind, lines, _memo) in zip(txn_ids, postings, strict=True)
            for account, amount in lines
        ],
    )
    for one in moved:
        for pk, amount in one.items():
            deltas[pk] = deltas.get(pk, 0) + amount
    return txn_ids


def settle_balances(deltas: dict[int, int]) -> dict[int, int]:
    """Move the stored balances by `deltas` (from post_lines_in_bulk): lock the accounts in primary-key order,
    refuse a held account going below zero, update them in one statement. Returns the new balances.

    The lock is taken here, at the end, so that it is held for the update and the commit only: donations to
    the same fund keep being posted while a long import writes its rows. Precondition: inside
    transaction.atomic(). Raises InsufficientFunds, LedgerError (an account that does not exist).
    """
    deltas = {pk: amount for pk, amount in deltas.items() if amount}
    if not deltas:
        return {}
    locked = lock_accounts(deltas)
    _check_balances(deltas, locked)
    return _apply_deltas(deltas)


def _apply_deltas(deltas: dict[int, int]) -> dict[int, int]:
    """Add each delta to its account's stored balance in one UPDATE; return the new balances.

    Raw SQL: the ORM's update() cannot return the rows it changed (RETURNING: PostgreSQL, SQLite ≥ 3.35).
    """
    table = connection.ops.quote_name(Account._meta.db_table)
    ids = sorted(deltas)
    cases = " ".join("WHEN %s THEN %s" for _ in ids)
    params: list[int] = [x for pk in ids for x in (pk, deltas[pk])] + ids
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET balance_fen = balance_fen + CASE id {cases} ELSE 0 END "
            f"WHERE id IN ({', '.join(['%s'] * len(ids))}) RETURNING id, balance_fen",
            params,
        )
        return dict(cursor.fetchall())


def post_transaction(
    *,
    fund: Fund,
    kind: str,
    lines: list[tuple[Account, int]],
    actor: Actor,
    memo: str = "",
    reverses: Transaction | None = None,
) -> Transaction:
    """Post one balanced ledger transaction: lines of (account, signed amount in fen) summing to zero.

    A plain movement only: it takes no restricted money, principal or named fund's money, and posts no
    restriction change or leftover — their services record why they move (docs/fund-rules.md).

    Raises LedgerError (unbalanced / bad lines; code restricted_money), InvalidAmount, InsufficientFunds (a
    held account would go below zero), AlreadyReversed.
    """
    _refuse_promised_money(kind, lines)
    try:
        with transaction.atomic():
            txn = post_lines(fund=fund, kind=kind, lines=lines, actor=actor, memo=memo, reverses=reverses)
            record_audit(
                actor=actor,
                action=AuditAction.LEDGER_POSTED,
                obj=txn,
                area=area(fund),
                summary=memo,
                data={"kind": kind, "lines": [[a.pk, amount] for a, amount in lines]},
            )
    except IntegrityError:
        if reverses is not None and Transaction.objects.filter(reverses=reverses).exists():
            raise AlreadyReversed(field="transaction")
        raise
    return txn


def _refuse_promised_money(kind: str, lines: Sequence[tuple[Account, int]]) -> None:
    debited = [a for a, amount in lines if a is not None and isinstance(amount, int) and amount < 0]
    named = set(
        Fund.objects.filter(pk__in={a.fund_id for a in debited}, kind=Fund.Kind.NAMED).values_list(
            "pk", flat=True
        )
    )
    promised = [
        a
        for a in debited
        if a.kind in (Account.Kind.RESTRICTED, Account.Kind.PRINCIPAL)
        or (a.kind in MONEY_KINDS and a.fund_id in named)
    ]
    if promised or kind in (Transaction.Kind.RESTRICTION_CHANGE, Transaction.Kind.LEFTOVER):
        raise LedgerError(
            _(
                "Restricted money, principal and a named fund's money move only through the service that "
                "records why: a withdrawal for its purpose, a restriction change with consent, a leftover "
                "decision."
            ),
            code="restricted_money",
            field="lines",
        )


# --- reversals ----------------------------------------------------------------------------------------------


def reverse_lines(*, original: Transaction, actor: Actor, reason: str) -> Transaction:
    """Post the negation of `original`. Precondition: inside transaction.atomic().

    A reversal puts money back where it came from: under the restriction it had (a restriction change
    reversed), with the donor (a refund). A leftover decision is published and is not reversed.
    """
    if original.kind == Transaction.Kind.REVERSAL or original.reverses_id is not None:
        raise DomainError(
            _("A reversal cannot itself be reversed: post a new transaction instead."),
            code="cannot_reverse_reversal",
            field="transaction",
        )
    if original.kind == Transaction.Kind.LEFTOVER:
        raise DomainError(
            _(
                "A leftover decision is published and stands: the fund that received the money may move it "
                "on only with its donors' consent."
            ),
            code="cannot_reverse_leftover",
            field="transaction",
        )
    entries = list(
        Entry.objects.filter(transaction_id=original.pk).select_related("account__fund").order_by("pk")
    )
    lines = [(e.account, -e.amount_fen) for e in entries]
    # Lock first, then look: a racing reversal that committed while we waited is seen here (READ COMMITTED),
    # so the loser hears "already reversed", not "insufficient funds".
    locked = lock_accounts(account.pk for account, _amount in lines)
    if Transaction.objects.filter(reverses_id=original.pk).exists():
        raise AlreadyReversed(field="transaction")
    for account, amount in lines:
        # A closed fund holds no money: its leftover was decided. Money does not flow back into it.
        if amount > 0 and account.kind in MONEY_KINDS and account.fund.status != Fund.Status.OPEN:
            raise FundClosed(
                _("The fund “%(fund)s” is closed: its money cannot come back to it.")
                % {"fund": account.fund.name},
                field="transaction",
            )
    return post_lines(
        fund=original.fund,
        kind=Transaction.Kind.REVERSAL,
        lines=lines,
        actor=actor,
        memo=reason,
        reverses=original,
        locked=locked,
    )


def mark_refunded(*, donation_id: int, refund: Transaction, reason: str) -> None:
    # Compare-and-set: a racing refund that got here first leaves 0 rows to update.
    updated = Donation.objects.filter(pk=donation_id, refund_transaction__isnull=True).update(
        refund_transaction=refund, refund_reason=reason
    )
    if not updated:
        raise AlreadyRefunded(field="donation")


def reverse_transaction(*, transaction: Transaction, actor: Actor, reason: str) -> Transaction:
    """Correct a transaction by posting its negation. A donation's transaction is marked refunded too.

    Raises DomainError reason_required / cannot_reverse_reversal / cannot_reverse_leftover, AlreadyReversed,
    InsufficientFunds.
    """
    txn = transaction
    reason = check_reason(reason)
    try:
        with atomic():
            reversal = reverse_lines(original=txn, actor=actor, reason=reason)
            donation = Donation.objects.filter(transaction_id=txn.pk).first()
            if donation is not None:
                mark_refunded(donation_id=donation.pk, refund=reversal, reason=reason)
            record_audit(
                actor=actor,
                action=AuditAction.LEDGER_REVERSED,
                obj=txn,
                area=area(txn.fund),
                summary=reason,
                data={"reversal_id": reversal.pk},
            )
    except AlreadyRefunded:
        raise AlreadyReversed(field="transaction")
    except IntegrityError:
        if Transaction.objects.filter(reverses_id=txn.pk).exists():
            raise AlreadyReversed(field="transaction")
        raise
    return reversal


# --- verification -------------------------------------------------------------------------------------------


def record_ledger_check(*, actor: Actor) -> LedgerReport:
    """Recompute the whole ledger and record the result in the audit log (action "ledger.verified")."""
    report = verify_ledger()
    with transaction.atomic():
        record_audit(
            actor=actor,
            action=AuditAction.LEDGER_VERIFIED,
            summary="ok" if report.ok else f"{len(report.differences)} differences",
            data=report.as_dict(),
        )
    return report
