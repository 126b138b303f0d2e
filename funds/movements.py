"""Money moving into a named fund, out to be spent, and in as investment income.

What may be spent (CL art. 39, DOMAIN.md "The fund"): a fund's unrestricted money — its general account and
its investment income — and, for a stated purpose, the money restricted to that purpose. Never an
endowment's principal, and never another fund's money: a named fund's money is restricted to it, so it does
not flow back into its community fund's pool (funds/restrictions.py moves it, with consent or at closing).
See docs/fund-rules.md.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from charity.errors import DomainError
from charity.models import AuditAction
from charity.services import Actor, record_audit
from charity.templatetags.money import format_fen

from .errors import HostMismatch, InsufficientFunds, PrincipalNotSpendable
from .ledger import (
    MEMO_MAX_LENGTH,
    area,
    check_amount,
    check_open,
    check_purpose,
    check_text,
    draw,
    get_or_create_account,
    get_or_create_accounts,
    lock_accounts,
    post_lines,
    receiving_account,
)
from .models import Account, Fund, Transaction


def check_same_host(fund: Fund, other: Fund, *, field: str) -> None:
    """Money never leaves its host (the host holds it and issues the receipts): refuse two hosts."""
    if fund.host_id != other.host_id:
        raise HostMismatch(field=field)


def unrestricted_accounts(fund: Fund) -> tuple[Account, Account | None]:
    """The fund's unrestricted money, in the order it is drawn: general, then investment income."""
    general = get_or_create_accounts(fund)[Account.Kind.GENERAL]
    income = Account.objects.filter(fund_id=fund.pk, kind=Account.Kind.INCOME, purpose="").first()
    return general, income


def refuse_shortfall(fund: Fund, *, available_fen: int) -> None:
    """Refuse asking for more than `available_fen`; an endowment hears why its principal is kept."""
    principal = Account.objects.filter(fund_id=fund.pk, kind=Account.Kind.PRINCIPAL, purpose="").first()
    if principal is not None and principal.balance_fen > 0:
        raise PrincipalNotSpendable(
            _(
                "Only %(available)s may be spent: the endowment's principal of %(principal)s is kept, and "
                "only its income is spent."
            )
            % {"available": format_fen(available_fen), "principal": format_fen(principal.balance_fen)},
            field="amount_fen",
        )
    raise InsufficientFunds(field="amount_fen")


def transfer(*, from_fund: Fund, to_fund: Fund, amount_fen: int, actor: Actor, memo: str = "") -> Transaction:
    """Commit a community fund's unrestricted money to one of its own named funds.

    The money becomes the named fund's (its principal, for an endowment) and does not come back by a
    transfer: a named fund's money is restricted to it. Raises InvalidAmount, DomainError invalid_transfer /
    restricted_transfer, HostMismatch, FundClosed (receiving fund), InsufficientFunds.
    """
    amount_fen = check_amount(amount_fen)
    memo = check_text(memo, field="memo", max_length=MEMO_MAX_LENGTH)
    if from_fund.parent_id is not None and from_fund.parent_id == to_fund.pk:
        raise DomainError(
            _(
                "Money in a named fund is restricted to it: it goes to the community fund only with its "
                "donors' recorded consent (a restriction change) or as the leftover when the named fund "
                "closes."
            ),
            code="restricted_transfer",
            field="from_fund",
        )
    if from_fund.pk == to_fund.pk or to_fund.parent_id is None or to_fund.parent_id != from_fund.pk:
        raise DomainError(
            _("Money moves only from a community fund to its own named funds."),
            code="invalid_transfer",
            field="to_fund",
        )
    check_same_host(from_fund, to_fund, field="to_fund")
    check_open(to_fund, field="to_fund")
    with transaction.atomic():
        sources = unrestricted_accounts(from_fund)
        target = receiving_account(to_fund)
        locked = lock_accounts([a.pk for a in sources if a is not None] + [target.pk])
        lines, shortfall = draw(sources, locked, amount_fen)
        if shortfall:
            raise InsufficientFunds(field="amount_fen")
        txn = post_lines(
            fund=from_fund,
            kind=Transaction.Kind.TRANSFER,
            lines=[*lines, (target, amount_fen)],
            actor=actor,
            memo=memo,
            locked=locked,
        )
        record_audit(
            actor=actor,
            action=AuditAction.FUNDS_TRANSFERRED,
            obj=txn,
            area=area(from_fund),
            summary=f"{from_fund.name} → {to_fund.name}: {amount_fen} fen",
            data={"amount_fen": amount_fen, "from_fund_id": from_fund.pk, "to_fund_id": to_fund.pk},
        )
    return txn


def withdraw(*, fund: Fund, amount_fen: int, actor: Actor, memo: str = "", purpose: str = "") -> Transaction:
    """Record a disbursement out of the fund: for a purpose, its restricted money first; then unrestricted
    money (general, then investment income). Never another purpose's money, never principal.

    Raises InvalidAmount, PrincipalNotSpendable (an endowment asked for more than its income),
    InsufficientFunds.
    """
    amount_fen = check_amount(amount_fen)
    memo = check_text(memo, field="memo", max_length=MEMO_MAX_LENGTH)
    purpose = check_purpose(purpose)
    with transaction.atomic():
        general, income = unrestricted_accounts(fund)
        disbursed = get_or_create_accounts(fund)[Account.Kind.DISBURSED]
        restricted = None
        if purpose:
            restricted = Account.objects.filter(
                fund_id=fund.pk, kind=Account.Kind.RESTRICTED, purpose=purpose
            ).first()
        sources = [restricted, general, income]
        # Lock everything first, then decide the split on the locked balances.
        locked = lock_accounts([a.pk for a in sources if a is not None] + [disbursed.pk])
        lines, shortfall = draw(sources, locked, amount_fen)
        if shortfall:
            refuse_shortfall(fund, available_fen=amount_fen - shortfall)
        from_restricted = -sum(a for account, a in lines if account is restricted)
        txn = post_lines(
            fund=fund,
            kind=Transaction.Kind.DISBURSEMENT,
            lines=[(disbursed, amount_fen), *lines],
            actor=actor,
            memo=memo or purpose,
            locked=locked,
        )
        record_audit(
            actor=actor,
            action=AuditAction.FUNDS_WITHDRAWN,
            obj=txn,
            area=area(fund),
            summary=f"{fund.name}: {amount_fen} fen" + (f" ({purpose})" if purpose else ""),
            data={"amount_fen": amount_fen, "purpose": purpose, "from_restricted_fen": from_restricted},
        )
    return txn


def record_investment_income(*, fund: Fund, amount_fen: int, actor: Actor, memo: str = "") -> Transaction:
    """Record investment income (interest, returns) the host credits to the fund: unrestricted money the
    fund may spend — for an endowment, the only money it spends. Counterpart: the fund's `investment`
    account. Raises InvalidAmount, FundClosed.
    """
    amount_fen = check_amount(amount_fen)
    memo = check_text(memo, field="memo", max_length=MEMO_MAX_LENGTH)
    check_open(fund)
    with transaction.atomic():
        income = get_or_create_account(fund, Account.Kind.INCOME)
        returns = get_or_create_account(fund, Account.Kind.INVESTMENT)
        txn = post_lines(
            fund=fund,
            kind=Transaction.Kind.INVESTMENT_INCOME,
            lines=[(income, amount_fen), (returns, -amount_fen)],
            actor=actor,
            memo=memo,
        )
        record_audit(
            actor=actor,
            action=AuditAction.INCOME_RECORDED,
            obj=txn,
            area=area(fund),
            summary=f"{fund.name}: {amount_fen} fen",
            data={"amount_fen": amount_fen, "fund_id": fund.pk},
        )
    return txn
