"""Donations: one check (`check_donation`), one write (`post_donation`), and refunds.

`check_donation` validates a donation and decides where it lands in the ledger, writing nothing; the admin's
form and the statement import's dry run call it to show a refusal before anything is written, and
`post_donation` calls it before it writes. Only the unique receipt number is left to the database at the
write (no window between a check and the insert); the form and the dry run ask for it with `check_receipt`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from charity import public_pages
from charity.db import insert_row
from charity.models import AuditAction
from charity.services import Actor, audit_event, record_audit

from .errors import (
    AlreadyRefunded,
    AlreadyReversed,
    DonationError,
    DuplicateReceipt,
    HostMismatch,
    NotRecordedByYou,
)
from .ledger import (
    MEMO_MAX_LENGTH,
    actor_fields,
    area,
    check_amount,
    check_open,
    check_purpose,
    check_reason,
    check_text,
    get_or_create_account,
    get_or_create_accounts,
    mark_refunded,
    post_lines,
    reverse_lines,
)
from .models import Account, Donation, Fund, Transaction
from .postgres import post_donation_in_one_statement

# Checked on every donation; TextChoices.values builds a new list on each access.
CHANNELS = frozenset(Donation.Channel.values)
RESTRICTIONS = frozenset(Donation.Restriction.values)
FORMS = frozenset(Donation.Form.values)


@dataclass(frozen=True)
class DonationPlan:
    """A donation that passed every check, as it will be stored, and where it lands in the ledger."""

    fund: Fund
    amount_fen: int
    channel: str
    received_on: datetime.date
    donor_person: object
    donor_organization: object
    donor_name: str
    anonymous: bool
    publish_name: bool
    receipt_no: str
    receipt_waived: bool
    restriction: str
    restricted_fund: Fund | None
    purpose: str
    form: str
    item_description: str
    item_quantity: Decimal | int | None
    item_unit: str
    handled_by: object
    # The ledger: the fund whose accounts receive it, the kind of transaction, the held account credited
    # (in-kind, restricted, principal or general) and the outside-world account debited.
    target: Fund
    transaction_kind: str
    held_kind: str
    counter_kind: str

    @property
    def memo(self) -> str:
        return str(self.item_description or self.purpose or "")[:MEMO_MAX_LENGTH]

    def donation(self, actor: Actor) -> Donation:
        """The unsaved donation row."""
        return Donation(
            fund=self.fund,
            host_id=self.fund.host_id,
            form=self.form,
            amount_fen=self.amount_fen,
            channel=self.channel,
            donor_person=self.donor_person,
            donor_organization=self.donor_organization,
            donor_name=self.donor_name,
            anonymous=self.anonymous,
            publish_name=self.publish_name,
            receipt_no=self.receipt_no,
            receipt_waived=self.receipt_waived,
            received_on=self.received_on,
            handled_by=self.handled_by,
            recorded_by_organization=actor.organization,
            restriction=self.restriction,
            restricted_fund=self.restricted_fund,
            purpose=self.purpose,
            item_description=self.item_description,
            item_quantity=self.item_quantity,
            item_unit=self.item_unit,
        )


def _check_receipt(channel: str, receipt_no, receipt_waived) -> tuple[str, bool]:
    receipt_no = check_text(receipt_no, field="receipt_no", max_length=64, code="invalid_receipt", key=True)
    if not isinstance(receipt_waived, bool):
        raise DonationError(
            _("Say whether the receipt was waived."), code="invalid_receipt", field="receipt_waived"
        )
    if channel == Donation.Channel.VENTURE_GRANT:
        # A grant, not a gift: the host issues no donation receipt for it, so there is none to waive either.
        if receipt_no or receipt_waived:
            raise DonationError(
                _(
                    "A venture philanthropy grant is a grant, not a gift: the host issues no donation "
                    "receipt for it. Leave the receipt number and the waiver empty."
                ),
                code="invalid_receipt",
                field="receipt_no" if receipt_no else "receipt_waived",
            )
        return receipt_no, receipt_waived
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
    return receipt_no, receipt_waived


def _check_restriction(fund: Fund, restriction, restricted_fund: Fund | None, purpose) -> tuple[str, Fund]:
    """Return (purpose, the fund whose accounts receive the money)."""
    if not isinstance(restriction, str) or restriction not in RESTRICTIONS:
        raise DonationError(
            _("Choose how the donation is restricted."), code="invalid_restriction", field="restriction"
        )
    purpose = check_purpose(purpose)
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
        if restricted_fund.host_id != fund.host_id:
            raise HostMismatch(
                _("“%(fund)s” is held by another host: a named fund is held by its parent's host.")
                % {"fund": restricted_fund.name},
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
    if purpose and fund.policy == Fund.Policy.ENDOWMENT:
        raise DonationError(
            _(
                "An endowment keeps every gift as its principal, for the fund's own purpose: it takes no "
                "gift restricted to a separate purpose. Give it unrestricted, or to a spend-down fund."
            ),
            code="invalid_restriction",
            field="purpose",
        )
    return purpose, target


def _check_goods(form, item_description, item_quantity, item_unit) -> tuple[str, str]:
    if not isinstance(form, str) or form not in FORMS:
        raise DonationError(_("Choose money or goods."), code="invalid_form", field="form")
    item_description = check_text(
        item_description, field="item_description", max_length=200, code="item_required"
    )
    item_unit = check_text(item_unit, field="item_unit", max_length=20, code="invalid_form")
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
    return item_description, item_unit


def check_donation(
    *,
    fund: Fund,
    amount_fen: int,
    channel: str,
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
    check_receipt: bool = False,
) -> DonationPlan:
    """Check a donation as `post_donation` would record it, write nothing, and return its plan.

    Runs no query, except with `check_receipt`: then a receipt number the host already recorded is refused
    too (post_donation leaves that to the unique constraint). Raises InvalidAmount, FundClosed, HostMismatch,
    DonationError (codes: invalid_channel, receipt_required, invalid_receipt, invalid_restriction,
    invalid_form, item_required, invalid_donor, invalid_date), DuplicateReceipt (with check_receipt).
    """
    amount_fen = check_amount(amount_fen)
    if not isinstance(channel, str) or channel not in CHANNELS:
        raise DonationError(
            _("Choose a donation channel from the list."), code="invalid_channel", field="channel"
        )
    check_open(fund)
    if not isinstance(received_on, datetime.date) or isinstance(received_on, datetime.datetime):
        raise DonationError(
            _("Give the date the donation was received."), code="invalid_date", field="received_on"
        )
    if received_on > timezone.localdate():
        raise DonationError(
            _("A donation cannot be received in the future."), code="invalid_date", field="received_on"
        )
    receipt_no, receipt_waived = _check_receipt(channel, receipt_no, receipt_waived)

    if donor_person is not None and donor_organization is not None:
        raise DonationError(
            _("A donation has one donor: a resident or an organisation, not both."),
            code="invalid_donor",
            field="donor_organization",
        )
    donor_name = check_text(donor_name, field="donor_name", max_length=200, code="invalid_donor")
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

    purpose, target = _check_restriction(fund, restriction, restricted_fund, purpose)
    item_description, item_unit = _check_goods(form, item_description, item_quantity, item_unit)
    if channel == Donation.Channel.VENTURE_GRANT and form != Donation.Form.MONEY:
        raise DonationError(
            _("A venture philanthropy grant is money: record goods under another channel."),
            code="invalid_form",
            field="form",
        )
    if (
        check_receipt
        and receipt_no
        and Donation.objects.filter(host_id=fund.host_id, receipt_no=receipt_no).exists()
    ):
        raise DuplicateReceipt(field="receipt_no")

    if form == Donation.Form.IN_KIND:
        kind, held_kind, counter_kind = (
            Transaction.Kind.IN_KIND_DONATION,
            Account.Kind.IN_KIND,
            Account.Kind.IN_KIND_DONORS,
        )
    elif purpose:
        kind, held_kind, counter_kind = (
            Transaction.Kind.DONATION,
            Account.Kind.RESTRICTED,
            Account.Kind.DONORS,
        )
    elif target.policy == Fund.Policy.ENDOWMENT:
        # Every gift to an endowment is its principal: kept, and only its income spent.
        kind, held_kind, counter_kind = Transaction.Kind.DONATION, Account.Kind.PRINCIPAL, Account.Kind.DONORS
    else:
        kind, held_kind, counter_kind = Transaction.Kind.DONATION, Account.Kind.GENERAL, Account.Kind.DONORS
    return DonationPlan(
        fund=fund,
        amount_fen=amount_fen,
        channel=channel,
        received_on=received_on,
        donor_person=donor_person,
        donor_organization=donor_organization,
        donor_name=donor_name,
        anonymous=anonymous,
        publish_name=publish_name,
        receipt_no=receipt_no,
        receipt_waived=receipt_waived,
        restriction=restriction,
        restricted_fund=restricted_fund if target is not fund else None,
        purpose=purpose,
        form=form,
        item_description=item_description,
        item_quantity=item_quantity,
        item_unit=item_unit,
        handled_by=handled_by,
        target=target,
        transaction_kind=kind,
        held_kind=held_kind,
        counter_kind=counter_kind,
    )


def post_donation(*, actor: Actor, **donation) -> Donation:
    """Record a donation received by the fund's host, and post it to the ledger in the same transaction.

    Takes the arguments of check_donation. Money goes to the fund's general account
    (an endowment's: its principal); restricted to a named fund, to that fund's; restricted to a purpose,
    to the fund's restricted account for it; goods, to the in-kind account at their valuation. Raises what
    check_donation raises, and DuplicateReceipt.
    """
    return _write(check_donation(**donation), actor)


def _write(plan: DonationPlan, actor: Actor) -> Donation:
    fund, target = plan.fund, plan.target
    donation = plan.donation(actor)
    audit = {
        "actor": actor,
        "action": AuditAction.DONATION_POSTED,
        "area": area(fund),
        "summary": f"{fund.name}: {plan.amount_fen} fen ({plan.channel})",
        "data": {
            "amount_fen": plan.amount_fen,
            "fund_id": fund.pk,
            "form": plan.form,
            "restriction": plan.restriction,
            "receipt_no": plan.receipt_no,
        },
    }
    held_purpose = plan.purpose if plan.held_kind == Account.Kind.RESTRICTED else ""
    # A duplicate receipt number is refused by the unique constraint (host, receipt_no), caught below: one
    # query fewer on every donation than checking first, and no window between a check and the insert.
    try:
        if connection.vendor == "postgresql":
            # One statement, the same rows (funds/postgres.py); None: the accounts are not there yet.
            written_audit = audit_event(obj=donation, **audit)
            posted = post_donation_in_one_statement(
                donation=donation,
                txn=Transaction(
                    kind=plan.transaction_kind, fund_id=fund.pk, memo=plan.memo, **actor_fields(actor)
                ),
                held=(target.pk, plan.held_kind, held_purpose),
                counterpart=(target.pk, plan.counter_kind),
                audit=written_audit,
            )
            if posted is not None:
                public_pages.audit_recorded(written_audit)
                return posted
        with transaction.atomic():
            accounts = get_or_create_accounts(target)
            if plan.held_kind in accounts:
                held = accounts[plan.held_kind]
            else:  # restricted to a purpose, or an endowment's principal: created on demand
                held = get_or_create_account(target, plan.held_kind, held_purpose)
            counterpart = accounts[plan.counter_kind]

            def record(txn: Transaction) -> None:
                donation.transaction = txn
                insert_row(donation)
                audit["data"]["transaction_id"] = txn.pk
                record_audit(obj=donation, **audit)

            post_lines(
                fund=fund,
                kind=plan.transaction_kind,
                lines=[(held, plan.amount_fen), (counterpart, -plan.amount_fen)],
                actor=actor,
                memo=plan.memo,
                before_balances=record,
            )
    except IntegrityError as exc:
        # A racing insert of the same receipt number: the unique constraint decides.
        if plan.receipt_no and (
            "receipt" in str(exc)
            or Donation.objects.filter(host_id=fund.host_id, receipt_no=plan.receipt_no).exists()
        ):
            raise DuplicateReceipt(field="receipt_no")
        raise
    return donation


def refund_donation(*, donation: Donation, reason: str, actor: Actor) -> Transaction:
    """Refund a donation: reverse its ledger transaction and mark it refunded, with the reason.

    An organisation (an API key) refunds only what it recorded; staff refund any donation in their area
    (the caller checks the area). Raises NotRecordedByYou, DomainError reason_required, AlreadyRefunded,
    InsufficientFunds (the money has been spent).
    """
    if actor.organization is not None and donation.recorded_by_organization_id != actor.organization.pk:
        raise NotRecordedByYou(field="donation")
    reason = check_reason(reason)
    if donation.refund_transaction_id is not None:
        raise AlreadyRefunded(field="donation")
    try:
        with transaction.atomic():
            refund = reverse_lines(original=donation.transaction, actor=actor, reason=reason)
            mark_refunded(donation_id=donation.pk, refund=refund, reason=reason)
            record_audit(
                actor=actor,
                action=AuditAction.DONATION_REFUNDED,
                obj=donation,
                area=area(donation.fund),
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
