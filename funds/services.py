"""Every write to funds and the ledger, in one place to import from (the facade of the modules below).

Each service is one database transaction and writes its audit row. Where they live:

- funds/ledger.py — accounts, row locks, posting a balanced transaction, reversals, the ledger check;
- funds/donations.py — check_donation, post_donation, refunds;
- funds/movements.py — transfers into named funds, withdrawals, investment income;
- funds/restrictions.py — restriction changes with the donor's consent, leftover decisions, closing a fund.

The rules they keep are in docs/fund-rules.md.
"""

from .donations import DonationPlan, check_donation, post_donation, refund_donation
from .errors import (
    AlreadyRefunded,
    AlreadyReversed,
    DonationError,
    DuplicateReceipt,
    FundClosed,
    HostMismatch,
    InsufficientFunds,
    InvalidAmount,
    LedgerError,
    LeftoverUndecided,
    NotRecordedByYou,
    PrincipalNotSpendable,
)
from .ledger import (
    get_or_create_accounts,
    get_or_create_restricted_account,
    post_transaction,
    record_ledger_check,
    reverse_transaction,
)
from .movements import record_investment_income, transfer, withdraw
from .restrictions import change_restriction, close_fund, decide_leftover

__all__ = [
    "AlreadyRefunded",
    "AlreadyReversed",
    "DonationError",
    "DonationPlan",
    "DuplicateReceipt",
    "FundClosed",
    "HostMismatch",
    "InsufficientFunds",
    "InvalidAmount",
    "LedgerError",
    "LeftoverUndecided",
    "NotRecordedByYou",
    "PrincipalNotSpendable",
    "change_restriction",
    "check_donation",
    "close_fund",
    "decide_leftover",
    "get_or_create_accounts",
    "get_or_create_restricted_account",
    "post_donation",
    "post_transaction",
    "record_investment_income",
    "record_ledger_check",
    "refund_donation",
    "reverse_transaction",
    "transfer",
    "withdraw",
]
