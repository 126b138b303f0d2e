"""The refusals of the funds services, each with a stable `code` (charity.errors.DomainError)."""

from django.utils.translation import gettext_lazy as _

from charity.errors import ConflictError, DomainError


class LedgerError(DomainError):
    code = "invalid_ledger_posting"


class InvalidAmount(DomainError):
    code = "invalid_amount"


class InsufficientFunds(ConflictError):
    code = "insufficient_funds"
    default_message = _("The fund does not hold enough money for this.")


class PrincipalNotSpendable(InsufficientFunds):
    """What is asked for would take an endowment's principal, which is kept (only its income is spent)."""

    code = "principal_not_spendable"
    default_message = _("An endowment's principal is kept: only its income may be spent.")


class FundClosed(ConflictError):
    code = "fund_closed"
    default_message = _("This fund is closed.")


class HostMismatch(DomainError):
    """Money never leaves its host: every fund it moves between is held by the same host."""

    code = "host_mismatch"
    default_message = _(
        "These funds are held by different hosts: money moves only between the funds of one host."
    )


class LeftoverUndecided(ConflictError):
    code = "leftover_undecided"
    default_message = _("The fund still holds money: record what happens to it (a leftover decision) first.")


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
