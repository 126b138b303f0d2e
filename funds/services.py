"""Every write to funds and the ledger. Each service is one DB transaction and writes its audit row.

The ledger is double-entry and append-only: a movement is one Transaction with ≥2 Entry rows summing to zero;
a correction is a reversal. Held accounts (general, restricted, in-kind) never go below zero: the accounts a
posting touches are row-locked in primary-key order, re-checked, then updated — and the database CHECK on
`funds_account` refuses an overdraft whatever happens above it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.transaction import atomic  # reverse_transaction's `transaction` argument shadows the module
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from charity.db import insert_row, insert_rows
from charity.errors import ConflictError, DomainError
from charity.models import AuditAction
from charity.services import Actor, audit_event, record_audit
from charity.validators import clean_text, normalize_key

from .models import MAX_AMOUNT_FEN, Account, Donation, Entry, Fund, Transaction
from .postgres import post_donation_in_one_statement
from .selectors import LedgerReport, verify_ledger


class LedgerError(DomainError):
    code = "invalid_ledger_posting"


class InvalidAmount(DomainError):
    code = "invalid_amount"


class InsufficientFunds(ConflictError):
    code = "insufficient_funds"
    default_message = _("The fund does not hold enough money for this.")


class FundClosed(ConflictError):
    code = "fund_closed"
    default_message = _("This fund is closed.")


class DonationError(DomainError):
    code = "invalid_donation"


class DuplicateReceipt(ConflictError):
    code = "duplicate_receipt"
    default_message = _("This receipt number has already been recorded for this host organisation.")


class AlreadyRefunded(ConflictError):
    code = "already_refunded"
    default_message = _("This donation has already been refunded.")


class AlreadyReversed(ConflictError):
    code = "already_reversed"
    default_message = _("This transaction has already been reversed.")


class NotRecordedByYou(DomainError):
    code = "not_recorded_by_you"
    status = 403
    default_message = _(
        "An organisation may refund only the donations it recorded. Ask the community's staff to refund "
        "this one."
    )


# Kinds every fund has from its first movement on; restricted accounts are created per purpose on demand.
STANDARD_KINDS = (
    Account.Kind.GENERAL,
    Account.Kind.DONORS,
    Account.Kind.IN_KIND,
    Account.Kind.IN_KIND_DONORS,
    Account.Kind.DISBURSED,
)
HELD_KINDS = frozenset(Account.HELD)
# Checked on every donation; TextChoices.values builds a new list on each access.
TRANSACTION_KINDS = frozenset(Transaction.Kind.values)
CHANNELS = frozenset(Donation.Channel.values)
RESTRICTIONS = frozenset(Donation.Restriction.values)
FORMS = frozenset(Donation.Form.values)
PURPOSE_MAX_LENGTH = 200
MEMO_MAX_LENGTH = 300


# --- helpers ----------------------------------------------------------------------------------------------


def _check_amount(value, *, field: str = "amount_fen") -> int:
    # bool is an int subclass: True must not become 1 fen.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAmount(_("Give the amount as a whole number of fen (1 yuan = 100 fen)."), field=field)
    if value <= 0:
        raise InvalidAmount(_("The amount must be more than zero."), field=field)
    if value > MAX_AMOUNT_FEN:
        raise InvalidAmount(_("The amount may not exceed ¥10,000,000,000."), field=field)
    return value


def _check_text(
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


def _check_open(fund: Fund, *, field: str = "fund") -> None:
    if fund.status != Fund.Status.OPEN:
        raise FundClosed(_("The fund “%(fund)s” is closed.") % {"fund": fund.name}, field=field)


def _area(fund: Fund):
    return fund.community


def _actor_fields(actor: Actor) -> dict:
    return {"actor_user_id": actor.user_id, "actor_organization": actor.organization}


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


def get_or_create_restricted_account(fund: Fund, purpose: str) -> Account:
    """Return the fund's account for money restricted to `purpose`, creating it if needed."""
    account = Account.objects.filter(fund_id=fund.pk, kind=Account.Kind.RESTRICTED, purpose=purpose).first()
    if account is None:
        Account.objects.bulk_create(
            [Account(fund_id=fund.pk, kind=Account.Kind.RESTRICTED, purpose=purpose)], ignore_conflicts=True
        )
        account = Account.objects.get(fund_id=fund.pk, kind=Account.Kind.RESTRICTED, purpose=purpose)
    return account


def _lock_accounts(account_ids: Iterable[int]) -> dict[int, tuple[str, int]]:
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


def _post(
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

    `locked`: balances the caller already locked with _lock_accounts. `before_balances(txn)`: more writes of
    the same change that need no lock (the donation row, the audit event), done before locking the accounts.
    """
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

    if locked is not None and set(deltas) <= set(locked):
        # The caller locked first (it needed the balances to decide the lines): check before writing.
        _check_balances(deltas, locked)
    txn = Transaction(
        kind=kind, fund_id=fund.pk, memo=memo[:MEMO_MAX_LENGTH], reverses=reverses, **_actor_fields(actor)
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
        locked = _lock_accounts(deltas)
        _check_balances(deltas, locked)
    # The row locks make the re-check hold until commit; the database CHECK refuses a negative held
    # balance whatever happens above it.
    new_balances = _apply_deltas(deltas)
    for account, _amount in lines:
        account.balance_fen = new_balances[account.pk]
    return txn


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


# --- the posting function -----------------------------------------------------------------------------------


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

    Raises LedgerError (unbalanced / bad lines), InvalidAmount, InsufficientFunds (a held account would go
    below zero), AlreadyReversed.
    """
    try:
        with transaction.atomic():
            txn = _post(fund=fund, kind=kind, lines=lines, actor=actor, memo=memo, reverses=reverses)
            record_audit(
                actor=actor,
                action=AuditAction.LEDGER_POSTED,
                obj=txn,
                area=_area(fund),
                summary=memo,
                data={"kind": kind, "lines": [[a.pk, amount] for a, amount in lines]},
            )
    except IntegrityError:
        if reverses is not None and Transaction.objects.filter(reverses=reverses).exists():
            raise AlreadyReversed(field="transaction")
        raise
    return txn


# --- donations ---------------------------------------------------------------------------------------------


def post_donation(
    *,
    fund: Fund,
    amount_fen: int,
    channel: str,
    actor: Actor,
    received_on: datetime.date,
    donor_person=None,
    donor_organization=None,
    donor_name: str = "",
    anonymous: bool = False,
    publish_name: bool = False,
    receipt_no: str = "",
    receipt_waived: bool = False,
    restriction: str = Donation.Restriction.UNRESTRICTED,
    restricted_fund: Fund | None = None,
    purpose: str = "",
    form: str = Donation.Form.MONEY,
    item_description: str = "",
    item_quantity: Decimal | int | None = None,
    item_unit: str = "",
    handled_by=None,
) -> Donation:
    """Record a donation received by the fund's host, and post it to the ledger in the same transaction.

    Money goes to the fund's general account; restricted to a named fund, to that fund's general account;
    restricted to a purpose, to the fund's restricted account for it; goods, to the in-kind account at their
    valuation. Raises InvalidAmount, FundClosed, DonationError (codes: invalid_channel, receipt_required,
    invalid_receipt, invalid_restriction, invalid_form, item_required, invalid_donor, invalid_date),
    DuplicateReceipt.
    """
    amount_fen = _check_amount(amount_fen)
    if not isinstance(channel, str) or channel not in CHANNELS:
        raise DonationError(
            _("Choose a donation channel from the list."), code="invalid_channel", field="channel"
        )
    _check_open(fund)
    if not isinstance(received_on, datetime.date) or isinstance(received_on, datetime.datetime):
        raise DonationError(
            _("Give the date the donation was received."), code="invalid_date", field="received_on"
        )
    if received_on > timezone.localdate():
        raise DonationError(
            _("A donation cannot be received in the future."), code="invalid_date", field="received_on"
        )

    receipt_no = _check_text(receipt_no, field="receipt_no", max_length=64, code="invalid_receipt", key=True)
    if not isinstance(receipt_waived, bool):
        raise DonationError(
            _("Say whether the receipt was waived."), code="invalid_receipt", field="receipt_waived"
        )
    if not receipt_no and not receipt_waived:
        raise DonationError(
            _("Enter the host's receipt number, or record that the donor waived the receipt."),
            code="receipt_required",
            field="receipt_no",
        )
    if receipt_no and receipt_waived:
        raise DonationError(
            _("A waived receipt has no number: clear one of the two."),
            code="invalid_receipt",
            field="receipt_waived",
        )

    if donor_person is not None and donor_organization is not None:
        raise DonationError(
            _("A donation has one donor: a resident or an organisation, not both."),
            code="invalid_donor",
            field="donor_organization",
        )
    donor_name = _check_text(donor_name, field="donor_name", max_length=200, code="invalid_donor")
    if not isinstance(anonymous, bool) or not isinstance(publish_name, bool):
        raise DonationError(
            _("Say yes or no."),
            code="invalid_donor",
            field="anonymous" if not isinstance(anonymous, bool) else "publish_name",
        )
    if anonymous and publish_name:
        raise DonationError(
            _("An anonymous donor's name cannot be published."), code="invalid_donor", field="publish_name"
        )

    if not isinstance(restriction, str) or restriction not in RESTRICTIONS:
        raise DonationError(
            _("Choose how the donation is restricted."), code="invalid_restriction", field="restriction"
        )
    purpose = _check_text(
        purpose, field="purpose", max_length=PURPOSE_MAX_LENGTH, code="invalid_restriction", key=True
    )
    target = fund
    if restriction == Donation.Restriction.NAMED_FUND:
        if restricted_fund is None:
            raise DonationError(
                _("Choose the named fund the donation is restricted to."),
                code="invalid_restriction",
                field="restricted_fund",
            )
        if restricted_fund.kind != Fund.Kind.NAMED or restricted_fund.parent_id != fund.pk:
            raise DonationError(
                _("Choose one of this fund's own named funds."),
                code="invalid_restriction",
                field="restricted_fund",
            )
        if restricted_fund.status != Fund.Status.OPEN:
            raise DonationError(
                _("The named fund “%(fund)s” is closed.") % {"fund": restricted_fund.name},
                code="invalid_restriction",
                field="restricted_fund",
            )
        if purpose:
            raise DonationError(
                _("A donation to a named fund takes no separate purpose."),
                code="invalid_restriction",
                field="purpose",
            )
        target = restricted_fund
    elif restricted_fund is not None:
        raise DonationError(
            _("Only a donation restricted to a named fund names one."),
            code="invalid_restriction",
            field="restricted_fund",
        )
    if restriction == Donation.Restriction.PURPOSE and not purpose:
        raise DonationError(
            _("State the purpose the donation is restricted to."), code="invalid_restriction", field="purpose"
        )
    if restriction == Donation.Restriction.UNRESTRICTED and purpose:
        raise DonationError(
            _("An unrestricted donation has no purpose: choose “restricted to a purpose”."),
            code="invalid_restriction",
            field="purpose",
        )

    if not isinstance(form, str) or form not in FORMS:
        raise DonationError(_("Choose money or goods."), code="invalid_form", field="form")
    item_description = _check_text(
        item_description, field="item_description", max_length=200, code="item_required"
    )
    item_unit = _check_text(item_unit, field="item_unit", max_length=20, code="invalid_form")
    if item_quantity is not None:
        if isinstance(item_quantity, bool) or not isinstance(item_quantity, int | Decimal):
            raise DonationError(
                _("Give the quantity as a number."), code="invalid_form", field="item_quantity"
            )
        if not item_quantity > 0 or Decimal(item_quantity) >= Decimal("1e10"):
            raise DonationError(
                _("The quantity must be more than zero."), code="invalid_form", field="item_quantity"
            )
    if form == Donation.Form.IN_KIND:
        if not item_description:
            raise DonationError(
                _("Describe the goods donated."), code="item_required", field="item_description"
            )
    elif item_description or item_quantity is not None or item_unit:
        raise DonationError(
            _("Goods are described only for a donation in kind."),
            code="invalid_form",
            field="item_description",
        )

    if form == Donation.Form.IN_KIND:
        kind, held_kind, counter_kind = (
            Transaction.Kind.IN_KIND_DONATION,
            Account.Kind.IN_KIND,
            Account.Kind.IN_KIND_DONORS,
        )
    elif restriction == Donation.Restriction.PURPOSE:
        kind, held_kind, counter_kind = (
            Transaction.Kind.DONATION,
            Account.Kind.RESTRICTED,
            Account.Kind.DONORS,
        )
    else:
        kind, held_kind, counter_kind = Transaction.Kind.DONATION, Account.Kind.GENERAL, Account.Kind.DONORS
    memo = str(item_description or purpose or "")
    donation = Donation(
        fund=fund,
        host_id=fund.host_id,
        form=form,
        amount_fen=amount_fen,
        channel=channel,
        donor_person=donor_person,
        donor_organization=donor_organization,
        donor_name=donor_name,
        anonymous=anonymous,
        publish_name=publish_name,
        receipt_no=receipt_no,
        receipt_waived=receipt_waived,
        received_on=received_on,
        handled_by=handled_by,
        recorded_by_organization=actor.organization,
        restriction=restriction,
        restricted_fund=restricted_fund if target is not fund else None,
        purpose=purpose,
        item_description=item_description,
        item_quantity=item_quantity,
        item_unit=item_unit,
    )
    audit = {
        "actor": actor,
        "action": AuditAction.DONATION_POSTED,
        "area": _area(fund),
        "summary": f"{fund.name}: {amount_fen} fen ({channel})",
        "data": {
            "amount_fen": amount_fen,
            "fund_id": fund.pk,
            "form": form,
            "restriction": restriction,
            "receipt_no": receipt_no,
        },
    }

    # A duplicate receipt number is refused by the unique constraint (host, receipt_no), caught below: one
    # query fewer on every donation than checking first, and no window between a check and the insert.
    try:
        if connection.vendor == "postgresql":
            # One statement, the same rows (funds/postgres.py); None: the accounts are not there yet.
            posted = post_donation_in_one_statement(
                donation=donation,
                txn=Transaction(
                    kind=kind, fund_id=fund.pk, memo=memo[:MEMO_MAX_LENGTH], **_actor_fields(actor)
                ),
                held=(target.pk, held_kind, purpose if held_kind == Account.Kind.RESTRICTED else ""),
                counterpart=(target.pk, counter_kind),
                audit=audit_event(obj=donation, **audit),
            )
            if posted is not None:
                return posted
        with transaction.atomic():
            accounts = get_or_create_accounts(target)
            if held_kind == Account.Kind.RESTRICTED:  # restricted to a purpose: the target is the fund itself
                held = get_or_create_restricted_account(target, purpose)
            else:
                held = accounts[held_kind]
            counterpart = accounts[counter_kind]

            def record(txn: Transaction) -> None:
                donation.transaction = txn
                insert_row(donation)
                audit["data"]["transaction_id"] = txn.pk
                record_audit(obj=donation, **audit)

            _post(
                fund=fund,
                kind=kind,
                lines=[(held, amount_fen), (counterpart, -amount_fen)],
                actor=actor,
                memo=memo,
                before_balances=record,
            )
    except IntegrityError as exc:
        # A racing insert of the same receipt number: the unique constraint decides.
        if receipt_no and (
            "receipt" in str(exc)
            or Donation.objects.filter(host_id=fund.host_id, receipt_no=receipt_no).exists()
        ):
            raise DuplicateReceipt(field="receipt_no")
        raise
    return donation


def _check_reason(reason) -> str:
    return _check_text(
        reason,
        field="reason",
        max_length=MEMO_MAX_LENGTH,
        code="reason_required",
        required=True,
        required_message=_("Give the reason for this correction."),
    )


def _reverse(*, original: Transaction, actor: Actor, reason: str) -> Transaction:
    """Post the negation of `original`. Precondition: inside transaction.atomic()."""
    if original.kind == Transaction.Kind.REVERSAL or original.reverses_id is not None:
        raise DomainError(
            _("A reversal cannot itself be reversed: post a new transaction instead."),
            code="cannot_reverse_reversal",
            field="transaction",
        )
    entries = list(Entry.objects.filter(transaction_id=original.pk).select_related("account").order_by("pk"))
    lines = [(e.account, -e.amount_fen) for e in entries]
    # Lock first, then look: a racing reversal that committed while we waited is seen here (READ COMMITTED),
    # so the loser hears "already reversed", not "insufficient funds".
    locked = _lock_accounts(account.pk for account, _amount in lines)
    if Transaction.objects.filter(reverses_id=original.pk).exists():
        raise AlreadyReversed(field="transaction")
    return _post(
        fund=original.fund,
        kind=Transaction.Kind.REVERSAL,
        lines=lines,
        actor=actor,
        memo=reason,
        reverses=original,
        locked=locked,
    )


def _mark_refunded(*, donation_id: int, refund: Transaction, reason: str) -> None:
    # Compare-and-set: a racing refund that got here first leaves 0 rows to update.
    updated = Donation.objects.filter(pk=donation_id, refund_transaction__isnull=True).update(
        refund_transaction=refund, refund_reason=reason
    )
    if not updated:
        raise AlreadyRefunded(field="donation")


def refund_donation(*, donation: Donation, reason: str, actor: Actor) -> Transaction:
    """Refund a donation: reverse its ledger transaction and mark it refunded, with the reason.

    An organisation (an API key) refunds only what it recorded; staff refund any donation in their area
    (the caller checks the area). Raises NotRecordedByYou, DomainError reason_required, AlreadyRefunded,
    InsufficientFunds (the money has been spent).
    """
    if actor.organization is not None and donation.recorded_by_organization_id != actor.organization.pk:
        raise NotRecordedByYou(field="donation")
    reason = _check_reason(reason)
    if donation.refund_transaction_id is not None:
        raise AlreadyRefunded(field="donation")
    try:
        with transaction.atomic():
            refund = _reverse(original=donation.transaction, actor=actor, reason=reason)
            _mark_refunded(donation_id=donation.pk, refund=refund, reason=reason)
            record_audit(
                actor=actor,
                action=AuditAction.DONATION_REFUNDED,
                obj=donation,
                area=_area(donation.fund),
                summary=reason,
                data={"amount_fen": donation.amount_fen, "transaction_id": refund.pk},
            )
    except AlreadyReversed:
        raise AlreadyRefunded(field="donation")
    except IntegrityError:
        # A racing refund or reversal inserted its reversal first (the OneToOne on `reverses` decides).
        if Transaction.objects.filter(reverses_id=donation.transaction_id).exists():
            raise AlreadyRefunded(field="donation")
        raise
    donation.refund_transaction = refund
    donation.refund_reason = reason
    return refund


def reverse_transaction(*, transaction: Transaction, actor: Actor, reason: str) -> Transaction:
    """Correct a transaction by posting its negation. A donation's transaction is marked refunded too.

    Raises DomainError reason_required / cannot_reverse_reversal, AlreadyReversed, InsufficientFunds.
    """
    txn = transaction
    reason = _check_reason(reason)
    try:
        with atomic():
            reversal = _reverse(original=txn, actor=actor, reason=reason)
            donation = Donation.objects.filter(transaction_id=txn.pk).first()
            if donation is not None:
                _mark_refunded(donation_id=donation.pk, refund=reversal, reason=reason)
            record_audit(
                actor=actor,
                action=AuditAction.LEDGER_REVERSED,
                obj=txn,
                area=_area(txn.fund),
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


# --- moving money -------------------------------------------------------------------------------------------


def transfer(*, from_fund: Fund, to_fund: Fund, amount_fen: int, actor: Actor, memo: str = "") -> Transaction:
    """Move unrestricted money between a community fund and one of its own named funds (either direction).

    Raises InvalidAmount, DomainError invalid_transfer, FundClosed (receiving fund), InsufficientFunds.
    """
    amount_fen = _check_amount(amount_fen)
    memo = _check_text(memo, field="memo", max_length=MEMO_MAX_LENGTH)
    related = (to_fund.parent_id is not None and to_fund.parent_id == from_fund.pk) or (
        from_fund.parent_id is not None and from_fund.parent_id == to_fund.pk
    )
    if from_fund.pk == to_fund.pk or not related:
        raise DomainError(
            _("Money moves only between a community fund and its own named funds."),
            code="invalid_transfer",
            field="to_fund",
        )
    # Leftover money of a closed named fund may still go back to its community fund (CL art. 58).
    _check_open(to_fund, field="to_fund")
    community_fund = from_fund if from_fund.parent_id is None else to_fund
    with transaction.atomic():
        source = get_or_create_accounts(from_fund)[Account.Kind.GENERAL]
        target = get_or_create_accounts(to_fund)[Account.Kind.GENERAL]
        txn = _post(
            fund=community_fund,
            kind=Transaction.Kind.TRANSFER,
            lines=[(source, -amount_fen), (target, amount_fen)],
            actor=actor,
            memo=memo,
        )
        record_audit(
            actor=actor,
            action=AuditAction.FUNDS_TRANSFERRED,
            obj=txn,
            area=_area(community_fund),
            summary=f"{from_fund.name} → {to_fund.name}: {amount_fen} fen",
            data={"amount_fen": amount_fen, "from_fund_id": from_fund.pk, "to_fund_id": to_fund.pk},
        )
    return txn


def withdraw(*, fund: Fund, amount_fen: int, actor: Actor, memo: str = "", purpose: str = "") -> Transaction:
    """Record a disbursement out of the fund. For a purpose, its restricted money is used first, then general.

    Without a purpose only unrestricted money may be spent (CL art. 39). Raises InvalidAmount,
    InsufficientFunds.
    """
    amount_fen = _check_amount(amount_fen)
    memo = _check_text(memo, field="memo", max_length=MEMO_MAX_LENGTH)
    purpose = _check_text(
        purpose, field="purpose", max_length=PURPOSE_MAX_LENGTH, code="invalid_restriction", key=True
    )
    with transaction.atomic():
        accounts = get_or_create_accounts(fund)
        general, disbursed = accounts[Account.Kind.GENERAL], accounts[Account.Kind.DISBURSED]
        restricted = None
        if purpose:
            restricted = Account.objects.filter(
                fund_id=fund.pk, kind=Account.Kind.RESTRICTED, purpose=purpose
            ).first()
        ids = [general.pk, disbursed.pk] + ([restricted.pk] if restricted else [])
        # Lock everything first, then decide the split on the locked balances.
        locked = _lock_accounts(ids)
        from_restricted = min(locked[restricted.pk][1], amount_fen) if restricted else 0
        lines = [(disbursed, amount_fen)]
        if from_restricted:
            lines.append((restricted, -from_restricted))
        if amount_fen - from_restricted:
            lines.append((general, -(amount_fen - from_restricted)))
        txn = _post(
            fund=fund,
            kind=Transaction.Kind.DISBURSEMENT,
            lines=lines,
            actor=actor,
            memo=memo or purpose,
            locked=locked,
        )
        record_audit(
            actor=actor,
            action=AuditAction.FUNDS_WITHDRAWN,
            obj=txn,
            area=_area(fund),
            summary=f"{fund.name}: {amount_fen} fen" + (f" ({purpose})" if purpose else ""),
            data={"amount_fen": amount_fen, "purpose": purpose, "from_restricted_fen": from_restricted},
        )
    return txn


def close_fund(*, fund: Fund, actor: Actor, closed_on: datetime.date) -> Fund:
    """Close an open fund (compare-and-set). Raises FundClosed, DomainError invalid_date/named_funds_open."""
    if not isinstance(closed_on, datetime.date) or isinstance(closed_on, datetime.datetime):
        raise DomainError(_("Give the date the fund closes."), code="invalid_date", field="closed_on")
    if closed_on < fund.opened_on:
        raise DomainError(_("A fund cannot close before it opened."), code="invalid_date", field="closed_on")
    with transaction.atomic():
        if Fund.objects.filter(parent_id=fund.pk, status=Fund.Status.OPEN).exists():
            raise DomainError(
                _("Close this fund's named funds first."), code="named_funds_open", field="fund"
            )
        updated = Fund.objects.filter(pk=fund.pk, status=Fund.Status.OPEN).update(
            status=Fund.Status.CLOSED, closed_on=closed_on
        )
        if not updated:
            raise FundClosed(field="fund")
        record_audit(
            actor=actor,
            action=AuditAction.FUND_CLOSED,
            obj=fund,
            area=_area(fund),
            summary=fund.name,
            data={"closed_on": closed_on.isoformat()},
        )
    fund.status, fund.closed_on = Fund.Status.CLOSED, closed_on
    return fund


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
