"""The promises made to donors: a restriction changes only with the donor's recorded consent (CL art. 56);
what is left when a fund or a purpose closes is handled as the donors agreed, or moved to a similar purpose
with a recorded reason, and shown publicly (CL art. 58); a fund closes only once that is decided.

Restricted money here is money restricted to a stated purpose, and all of a named fund's money (restricted to
the named fund). An endowment's principal is never re-purposed; it moves only with the fund's leftover.
Money never leaves its host. See docs/fund-rules.md.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from charity.errors import DomainError
from charity.models import AuditAction
from charity.services import Actor, record_audit
from charity.templatetags.money import format_fen

from .errors import FundClosed, InsufficientFunds, LeftoverUndecided
from .ledger import (
    MEMO_MAX_LENGTH,
    area,
    check_amount,
    check_date,
    check_open,
    check_purpose,
    check_reason,
    check_text,
    draw,
    lock_accounts,
    post_lines,
    receiving_account,
)
from .models import Account, Fund, LeftoverDecision, RestrictionChange, Transaction
from .movements import check_same_host, refuse_shortfall

BASES = frozenset(LeftoverDecision.Basis.values)


def _check_target(fund: Fund, to_fund: Fund, to_purpose: str) -> None:
    check_same_host(fund, to_fund, field="to_fund")
    check_open(to_fund, field="to_fund")
    if to_purpose and to_fund.policy == Fund.Policy.ENDOWMENT:
        raise DomainError(
            _("An endowment keeps no money for separate purposes: leave the purpose empty (its principal)."),
            code="invalid_restriction",
            field="to_purpose",
        )


def _check_consent(consent_by, consent_on, consent_record) -> tuple[str, datetime.date, str]:
    consent_by = check_text(
        consent_by,
        field="consent_by",
        max_length=200,
        code="consent_required",
        required=True,
        required_message=_("Name the donor who consented to the change."),
    )
    consent_on = check_date(
        consent_on,
        field="consent_on",
        code="consent_required",
        message=_("Give the date the donor consented."),
    )
    consent_record = check_text(
        consent_record,
        field="consent_record",
        max_length=MEMO_MAX_LENGTH,
        code="consent_required",
        required=True,
        required_message=_("Say how the consent is recorded: the document's reference, or a note."),
    )
    return consent_by, consent_on, consent_record


def change_restriction(
    *,
    fund: Fund,
    to_fund: Fund,
    amount_fen: int,
    actor: Actor,
    consent_by: str,
    consent_on: datetime.date,
    consent_record: str,
    from_purpose: str = "",
    to_purpose: str = "",
) -> RestrictionChange:
    """Move restricted money to another restriction with the donor's recorded consent, and audit it.

    From: the money `fund` holds for `from_purpose`, or (empty) a named fund's own money. To: `to_fund`'s
    money for `to_purpose`, or (empty) its own money — unrestricted for a community fund, principal for an
    endowment. Raises DomainError consent_required / not_restricted / invalid_restriction, InvalidAmount,
    HostMismatch, FundClosed, PrincipalNotSpendable, InsufficientFunds.
    """
    amount_fen = check_amount(amount_fen)
    from_purpose = check_purpose(from_purpose, field="from_purpose")
    to_purpose = check_purpose(to_purpose, field="to_purpose")
    consent_by, consent_on, consent_record = _check_consent(consent_by, consent_on, consent_record)
    if not from_purpose and fund.kind != Fund.Kind.NAMED:
        raise DomainError(
            _(
                "A community fund's own money is unrestricted: it needs no donor's consent. Name the "
                "restricted purpose the money leaves."
            ),
            code="not_restricted",
            field="from_purpose",
        )
    if fund.pk == to_fund.pk and from_purpose == to_purpose:
        raise DomainError(
            _("The money is already restricted so: choose another fund or purpose."),
            code="invalid_restriction",
            field="to_purpose",
        )
    _check_target(fund, to_fund, to_purpose)
    with transaction.atomic():
        if from_purpose:
            sources = [
                Account.objects.filter(
                    fund_id=fund.pk, kind=Account.Kind.RESTRICTED, purpose=from_purpose
                ).first()
            ]
        else:
            sources = list(
                Account.objects.filter(
                    fund_id=fund.pk, kind__in=[Account.Kind.GENERAL, Account.Kind.INCOME], purpose=""
                ).order_by("kind")  # general, then income
            )
        target = receiving_account(to_fund, to_purpose)
        locked = lock_accounts([a.pk for a in sources if a is not None] + [target.pk])
        lines, shortfall = draw(sources, locked, amount_fen)
        if shortfall:
            if from_purpose:
                raise InsufficientFunds(field="amount_fen")
            refuse_shortfall(fund, available_fen=amount_fen - shortfall)
        change = RestrictionChange(
            fund=fund,
            from_purpose=from_purpose,
            to_fund=to_fund,
            to_purpose=to_purpose,
            amount_fen=amount_fen,
            consent_by=consent_by,
            consent_on=consent_on,
            consent_record=consent_record,
            recorded_by_id=actor.user_id,
        )
        _record_movement(
            change,
            kind=Transaction.Kind.RESTRICTION_CHANGE,
            lines=[*lines, (target, amount_fen)],
            memo=consent_record,
            locked=locked,
            actor=actor,
            action=AuditAction.RESTRICTION_CHANGED,
            summary=f"{fund.name} {from_purpose} → {to_fund.name} {to_purpose}: {amount_fen} fen",
            data={
                "amount_fen": amount_fen,
                "fund_id": fund.pk,
                "from_purpose": from_purpose,
                "to_fund_id": to_fund.pk,
                "to_purpose": to_purpose,
                "consent_by": consent_by,
                "consent_on": consent_on.isoformat(),
                "consent_record": consent_record,
            },
        )
    return change


def _record_movement(record, *, kind, lines, memo, locked, actor: Actor, action, summary: str, data: dict):
    """Post the movement's lines, save the record that says why (it points at them), and audit both."""
    record.transaction = post_lines(
        fund=record.fund, kind=kind, lines=lines, actor=actor, memo=memo, locked=locked
    )
    record.save()
    record_audit(
        actor=actor,
        action=action,
        obj=record,
        area=area(record.fund),
        summary=summary,
        data={**data, "transaction_id": record.transaction.pk},
    )


def _check_decision_date(fund: Fund, decided_on) -> datetime.date:
    decided_on = check_date(
        decided_on, field="decided_on", code="invalid_date", message=_("Give the date of the decision.")
    )
    if decided_on < fund.opened_on:
        raise DomainError(_("A fund cannot close before it opened."), code="invalid_date", field="decided_on")
    return decided_on


def decide_leftover(
    *,
    fund: Fund,
    basis: str,
    to_fund: Fund,
    reason: str,
    decided_on: datetime.date,
    actor: Actor,
    purpose: str = "",
    to_purpose: str = "",
) -> LeftoverDecision:
    """Record what happens to what is left, move it, and audit it; with no `purpose` the fund then closes.

    `purpose`: close one restricted purpose of the fund (the fund stays open); empty: close the whole fund
    (its named funds closed first) and move every yuan it holds, principal included. `basis`: as the donors
    agreed, or for a similar purpose — which is a purpose (`to_purpose`) or a named fund's own. Raises
    DomainError invalid_leftover / reason_required / nothing_left / named_funds_open / invalid_date /
    invalid_restriction, HostMismatch, FundClosed.
    """
    if not isinstance(basis, str) or basis not in BASES:
        raise DomainError(
            _("Say whether the leftover follows the donors' agreement or goes to a similar purpose."),
            code="invalid_leftover",
            field="basis",
        )
    purpose = check_purpose(purpose)
    to_purpose = check_purpose(to_purpose, field="to_purpose")
    reason = check_reason(
        reason, message=_("Give the reason: the donors' agreement it follows, or why the purpose is similar.")
    )
    decided_on = _check_decision_date(fund, decided_on)
    closes_fund = not purpose
    check_open(fund)
    if (closes_fund and to_fund.pk == fund.pk) or (to_fund.pk == fund.pk and to_purpose == purpose):
        raise DomainError(
            _("The leftover goes somewhere else: choose another fund or purpose."),
            code="invalid_leftover",
            field="to_fund" if closes_fund else "to_purpose",
        )
    if basis == LeftoverDecision.Basis.SIMILAR_PURPOSE and not to_purpose and to_fund.kind != Fund.Kind.NAMED:
        raise DomainError(
            _(
                "A similar purpose is a purpose: name it, or choose a named fund set up for one. "
                "Unrestricted money is only where the donors agreed it may go."
            ),
            code="invalid_leftover",
            field="to_purpose",
        )
    _check_target(fund, to_fund, to_purpose)
    with transaction.atomic():
        if closes_fund:
            if Fund.objects.filter(parent_id=fund.pk, status=Fund.Status.OPEN).exists():
                raise DomainError(
                    _("Close this fund's named funds first."), code="named_funds_open", field="fund"
                )
            sources = list(Account.objects.filter(fund_id=fund.pk, kind__in=Account.MONEY).order_by("pk"))
        else:
            sources = list(
                Account.objects.filter(fund_id=fund.pk, kind=Account.Kind.RESTRICTED, purpose=purpose)
            )
        target = receiving_account(to_fund, to_purpose)
        locked = lock_accounts([a.pk for a in sources] + [target.pk])
        amount_fen = sum(locked[a.pk][1] for a in sources)
        if amount_fen <= 0:
            raise DomainError(
                _("Nothing is left to decide on: close the fund directly.")
                if closes_fund
                else _("Nothing is left for this purpose."),
                code="nothing_left",
                field="fund" if closes_fund else "purpose",
            )
        lines, _shortfall = draw(sources, locked, amount_fen)
        decision = LeftoverDecision(
            fund=fund,
            purpose=purpose,
            basis=basis,
            to_fund=to_fund,
            to_purpose=to_purpose,
            amount_fen=amount_fen,
            reason=reason,
            decided_on=decided_on,
            recorded_by_id=actor.user_id,
        )
        _record_movement(
            decision,
            kind=Transaction.Kind.LEFTOVER,
            lines=[*lines, (target, amount_fen)],
            memo=reason,
            locked=locked,
            actor=actor,
            action=AuditAction.LEFTOVER_DECIDED,
            summary=f"{fund.name} {purpose or '-'} → {to_fund.name} {to_purpose or '-'}: {amount_fen} fen",
            data={
                "amount_fen": amount_fen,
                "fund_id": fund.pk,
                "purpose": purpose,
                "basis": basis,
                "to_fund_id": to_fund.pk,
                "to_purpose": to_purpose,
            },
        )
        if closes_fund:
            _close(fund=fund, actor=actor, closed_on=decided_on)
    return decision


def _close(*, fund: Fund, actor: Actor, closed_on: datetime.date) -> None:
    updated = Fund.objects.filter(pk=fund.pk, status=Fund.Status.OPEN).update(
        status=Fund.Status.CLOSED, closed_on=closed_on
    )
    if not updated:
        raise FundClosed(field="fund")
    record_audit(
        actor=actor,
        action=AuditAction.FUND_CLOSED,
        obj=fund,
        area=area(fund),
        summary=fund.name,
        data={"closed_on": closed_on.isoformat()},
    )
    fund.status, fund.closed_on = Fund.Status.CLOSED, closed_on


def close_fund(*, fund: Fund, actor: Actor, closed_on: datetime.date) -> Fund:
    """Close an open fund that holds no money (compare-and-set); one that does needs decide_leftover.

    Raises FundClosed, LeftoverUndecided, DomainError invalid_date / named_funds_open.
    """
    if not isinstance(closed_on, datetime.date) or isinstance(closed_on, datetime.datetime):
        raise DomainError(_("Give the date the fund closes."), code="invalid_date", field="closed_on")
    if closed_on < fund.opened_on:
        raise DomainError(_("A fund cannot close before it opened."), code="invalid_date", field="closed_on")
    with transaction.atomic():
        if Fund.objects.filter(parent_id=fund.pk, status=Fund.Status.OPEN).exists():
            raise DomainError(
                _("Close this fund's named funds first."), code="named_funds_open", field="fund"
            )
        money = Account.objects.filter(fund_id=fund.pk, kind__in=Account.MONEY).select_for_update()
        held = sum(money.values_list("balance_fen", flat=True))
        if held > 0:
            raise LeftoverUndecided(
                _(
                    "“%(fund)s” still holds %(amount)s: record what happens to what is left (a leftover "
                    "decision), which closes it."
                )
                % {"fund": fund.name, "amount": format_fen(held)},
                field="fund",
            )
        _close(fund=fund, actor=actor, closed_on=closed_on)
    return fund
