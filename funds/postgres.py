"""A donation posted in one SQL statement — PostgreSQL's fast path for the busiest write of the ledger.

`donations.post_donation` validates, then on PostgreSQL calls `post_donation_in_one_statement`: one prepared,
data-modifying statement that locks the two accounts, appends the transaction, its two entries, the donation
and its audit event, and moves the stored balances. Outside a transaction it is its own transaction (no
BEGIN/COMMIT round trips); inside one it runs in a savepoint. The rows it writes are exactly the rows of
`ledger.post_lines` for the same donation (tests/funds/test_postgres_path.py compares them field by field),
and the locking rules are the same: accounts are locked in primary-key order, the database CHECK keeps held
balances ≥ 0, and the append-only triggers and constraints apply as to any insert.

Why: the generic path costs nine round trips; on a 2-core machine the per-statement CPU of the driver and of
PostgreSQL, not the hot fund's row lock, is what limits donations per second (bench/ledger.py).

If the fund's accounts do not exist yet (its first posting), the statement writes nothing and returns None;
the caller then takes the generic path, which creates them.
"""

from __future__ import annotations

from django.db import connection, transaction

from charity.db import execute_prepared, insert_select
from charity.models import AuditEvent

from .models import Account, Donation, Entry, Transaction

# Held kinds are the only ones credited by a donation; the counterpart (donors, in-kind donors) never is.
_HELD = ", ".join(f"'{kind}'" for kind in Account.HELD)
_SIGNED_AMOUNT = f"CASE WHEN acc.kind IN ({_HELD}) THEN %s::bigint ELSE -%s::bigint END"


def post_donation_in_one_statement(
    *,
    donation: Donation,
    txn: Transaction,
    held: tuple[int, str, str],
    counterpart: tuple[int, str],
    audit: AuditEvent,
) -> Donation | None:
    """Write `donation` (unsaved) with its ledger transaction `txn` (unsaved, no lines) and `audit` (unsaved).

    `held` = (fund id, kind, purpose) of the account credited; `counterpart` = (fund id, kind) of the account
    debited. The amount is donation.amount_fen. Returns the saved donation, or None (nothing written) when
    an account does not exist yet. Raises django.db.IntegrityError as an INSERT would (a duplicate receipt).
    """
    amount = donation.amount_fen
    txn_sql, txn_params = insert_select(txn, {})
    entry_sql, _none = insert_select(
        Entry(), {"transaction_id": "txn.id", "account_id": "acc.id", "amount_fen": _SIGNED_AMOUNT}
    )
    donation_sql, donation_params = insert_select(donation, {"transaction_id": "txn.id"})
    audit_sql, audit_params = insert_select(
        audit,
        {"object_id": "don.id::text", "data": "{value} || jsonb_build_object('transaction_id', txn.id)"},
    )
    account = connection.ops.quote_name(Account._meta.db_table)
    locked_amount = _SIGNED_AMOUNT.replace("acc.", "lk.")
    sql = (
        # acc: the two accounts, not locked yet.
        f"WITH acc AS (SELECT id, kind FROM {account} WHERE (fund_id = %s AND kind = %s AND purpose = %s) "
        f"OR (fund_id = %s AND kind = %s AND purpose = '')), "
        # txn: only if both accounts exist; everything below hangs off txn, so otherwise nothing is written.
        f"txn AS ({txn_sql} WHERE (SELECT count(*) FROM acc) = 2 RETURNING id), "
        # ent: the held line first, then its counterpart, as _post writes them.
        f"ent AS ({entry_sql} FROM txn, acc ORDER BY acc.kind IN ({_HELD}) DESC RETURNING id), "
        f"don AS ({donation_sql} FROM txn RETURNING id), "
        f"aud AS ({audit_sql} FROM txn, don RETURNING id), "
        # lk, upd: lock the accounts in primary-key order, as every posting does, and move the balances.
        # Last, so that on a hot fund the lock is held for the balance update and the commit only. Only if
        # txn was written: a statement that declines must hold no lock (the caller's fallback path, inside
        # the same transaction, would otherwise keep it while creating the missing account, and deadlock
        # with a concurrent first donation to the same purpose).
        f"lk AS (SELECT id, kind FROM {account} WHERE id IN (SELECT id FROM acc) "
        f"AND EXISTS (SELECT FROM txn) ORDER BY id FOR NO KEY UPDATE), "
        f"upd AS (UPDATE {account} a SET balance_fen = a.balance_fen + {locked_amount} "
        f"FROM lk, txn WHERE a.id = lk.id RETURNING a.id) "
        # The scalar subqueries run left to right: the inserts, then the lock and the update. The last one
        # checks the posting is whole — two entries, the audit event, both balances — and if it is not,
        # divides by zero, which aborts the whole statement so that nothing at all is written.
        f"SELECT (SELECT id FROM txn), (SELECT id FROM don), 1 / ("
        f"NOT EXISTS (SELECT FROM txn) OR ((SELECT count(*) FROM ent) = 2 AND (SELECT count(*) FROM aud) = 1 "
        f"AND (SELECT count(*) FROM upd) = 2))::int"
    )
    params = [
        *held,
        *counterpart,
        *txn_params,
        *(amount, amount),  # ent
        *donation_params,
        *audit_params,
        *(amount, amount),  # upd
    ]
    if connection.in_atomic_block or not connection.get_autocommit():
        with transaction.atomic():  # a savepoint: a refused donation leaves the caller's transaction usable
            rows = execute_prepared(sql, params)
    else:
        rows = execute_prepared(sql, params)  # one statement is one transaction
    txn_id, donation_id, _whole = rows[0]
    if txn_id is None:
        return None
    txn.pk, donation.pk = txn_id, donation_id
    for obj in (txn, donation):
        obj._state.adding = False
        obj._state.db = connection.alias
    donation.transaction = txn
    return donation
