"""Ledger invariants under a long random run: 100,000 operations of every money service, checked. Run:

    .venv/bin/python bench/ledger_invariants.py           # SQLite, in memory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_inv .venv/bin/python bench/ledger_invariants.py

Options: --ops N (default 100,000), --seed S (default 2026), --check-every N (default 10,000).

Creates its own throw-away database (test_<name>, dropped at the end; SQLite: in memory) and drives the world
of tests/funds/ledger_world.py — the one the stateful property test drives — with a seeded random sequence of
donations (unrestricted, to a purpose, to a named fund, goods, venture grants), transfers, withdrawals,
investment income, restriction changes (some without consent), leftover decisions and closings, reversals
and refunds, over community funds with named funds (spend-down and endowment) at two hosts; new funds open
as old ones close. Every operation is checked as it runs: a refusal must carry the code the rules give and
leave no trace, an accepted one must post exactly the lines the rules give. Every --check-every operations
and at the end, the whole ledger: restricted money never spent outside its restriction, principal never
spent, stored balances equal to the model's and to the sum of their entries, verify_ledger clean.

Prints operations per second (checks included, and the services alone), what was done and refused, and each
check; exits 1 on the first violation, naming the operation and the seed to replay it.
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

# The repository root first, as the apps import under manage.py.
sys.path[0] = str(Path(__file__).resolve().parent.parent)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charity.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

# (operation, weight): donations dominate, as they do in a real ledger; every kind of movement and refusal
# meets the others often enough.
WEIGHTS = [
    ("donate", 30),
    ("withdraw", 15),
    ("transfer", 9),
    ("income", 5),
    ("change_restriction", 9),
    ("leftover_purpose", 4),
    ("leftover_fund", 0.7),
    ("close", 2),
    ("reverse", 8),
    ("refund", 7),
    ("open_named", 3),
]
HOWS = ["unrestricted", "unrestricted", "purpose", "purpose", "named", "named", "goods", "grant"]


def amount(rng, low, high):
    """Mostly good amounts, one in twenty bad (zero, negative, above the maximum)."""
    from tests.funds.ledger_world import BAD_AMOUNTS

    return rng.choice(BAD_AMOUNTS) if rng.random() < 0.05 else rng.randint(low, high)


def pick(rng, world, *, open_share=0.85):
    """A fund index: mostly an open fund, sometimes any (refusals of closed funds are tried too)."""
    funds = world.funds
    if rng.random() < open_share:
        open_ = [i for i, f in enumerate(funds) if f.is_open]
        if open_:
            return rng.choice(open_)
    return rng.randrange(len(funds))


def maybe_purpose(rng):
    return None if rng.random() < 0.4 else rng.randrange(3)


def step(rng, world, op):
    if op == "donate":
        i = pick(rng, world)
        children = [k for k, f in enumerate(world.funds) if f.parent_id == world.funds[i].pk]
        j = rng.choice(children) if children and rng.random() < 0.9 else pick(rng, world)
        world.donate(i, amount(rng, 1_000, 50_000), rng.choice(HOWS), rng.randrange(3), j)
    elif op == "withdraw":
        world.withdraw(pick(rng, world), amount(rng, 1, 8_000), maybe_purpose(rng))
    elif op == "transfer":
        communities = [k for k, f in enumerate(world.funds) if f.is_open and f.parent_id is None]
        i = rng.choice(communities) if communities and rng.random() < 0.8 else pick(rng, world)
        children = [k for k, f in enumerate(world.funds) if f.parent_id == world.funds[i].pk]
        parent = [k for k, f in enumerate(world.funds) if f.pk == world.funds[i].parent_id]
        roll = rng.random()
        if children and roll < 0.7:
            j = rng.choice(children)
        elif parent and roll < 0.9:
            j = parent[0]  # back to the community fund: refused, restricted
        else:
            j = pick(rng, world)
        world.transfer(i, j, amount(rng, 1, 8_000))
    elif op == "income":
        world.income(pick(rng, world), amount(rng, 1, 3_000))
    elif op == "change_restriction":
        i = pick(rng, world)
        fund = world.funds[i]
        family = [k for k, f in enumerate(world.funds) if f.host_id == fund.host_id and f.is_open]
        j = rng.choice(family) if family and rng.random() < 0.9 else pick(rng, world)
        # From a purpose, or (mostly for a named fund) the fund's own money.
        p = rng.randrange(3) if fund.parent_id is None or rng.random() < 0.3 else None
        world.change_restriction(
            i,
            p if rng.random() < 0.95 else None,
            j,
            maybe_purpose(rng),
            amount(rng, 1, 6_000),
            consent=rng.random() < 0.95,
        )
    elif op == "leftover_purpose":
        i = pick(rng, world)
        j = i if rng.random() < 0.5 else pick(rng, world)
        world.decide_leftover(i, rng.randrange(3), j, maybe_purpose(rng), rng.random() < 0.5)
    elif op == "leftover_fund":
        named = [k for k, f in enumerate(world.funds) if f.is_open and f.parent_id]
        i = rng.choice(named) if named and rng.random() < 0.8 else pick(rng, world)
        parent = [k for k, f in enumerate(world.funds) if f.pk == world.funds[i].parent_id]
        j = parent[0] if parent and rng.random() < 0.7 else pick(rng, world)
        world.decide_leftover(i, None, j, maybe_purpose(rng), rng.random() < 0.5)
    elif op == "close":
        world.close(pick(rng, world))
    elif op == "reverse":
        world.reverse(rng.randrange(1 << 30))
    elif op == "refund":
        world.reverse(rng.randrange(1 << 30), refund=True)
    elif op == "open_named":
        world.open_named(pick(rng, world), rng.random() < 0.3)
    # Keep money moving as funds close: at least 4 open community funds and 8 open named funds.
    if sum(f.is_open and f.parent_id is None for f in world.funds) < 4:
        world.open_community(rng.randrange(len(world.funds)))
    if sum(f.is_open and f.parent_id is not None for f in world.funds) < 8:
        world.open_named(pick(rng, world, open_share=1), rng.random() < 0.3)


def check(world, label, started, done_ops, service_seconds):
    from funds.models import Account, Entry, Transaction

    t = time.perf_counter()
    world.check_all()
    seconds = time.perf_counter() - t
    elapsed = time.perf_counter() - started
    principal = sum(v for k, v in world.held.items() if k[1] == Account.Kind.PRINCIPAL)
    restricted = sum(v for k, v in world.held.items() if k[1] == Account.Kind.RESTRICTED)
    print(
        f"  {label}: {done_ops:,} ops, {done_ops / elapsed:,.0f} ops/s with checks "
        f"({done_ops / service_seconds:,.0f} ops/s in the services); "
        f"{Transaction.objects.count():,} transactions, {Entry.objects.count():,} entries; "
        f"restricted {restricted:,} fen, principal {principal:,} fen — all invariants hold "
        f"(checked in {seconds:.2f} s)",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--check-every", type=int, default=10_000)
    args = parser.parse_args()
    settings.DEBUG = False  # no per-query logging
    old_config = setup_databases(verbosity=0, interactive=False)
    violation = None
    try:
        from tests.funds.ledger_world import LedgerWorld, Violation

        rng = random.Random(args.seed)
        world = LedgerWorld(max_funds=5_000)
        world.stock()
        names = [name for name, _w in WEIGHTS]
        weights = [w for _name, w in WEIGHTS]
        vendor = f"{connection.vendor} ({connection.settings_dict['NAME']})"
        print(f"database: {vendor}, CPUs: {os.cpu_count()}, seed {args.seed}, {args.ops:,} operations")
        started = time.perf_counter()
        service_seconds = 0.0
        n = 0
        try:
            for n in range(1, args.ops + 1):
                op = rng.choices(names, weights)[0]
                t = time.perf_counter()
                step(rng, world, op)
                service_seconds += time.perf_counter() - t
                if n % 500 == 0:
                    world.check_balances()
                if n % args.check_every == 0 or n == args.ops:
                    check(world, "check", started, n, service_seconds)
        except Violation as error:
            violation = f"operation {n:,} ({op}, seed {args.seed}): {error}"
        elapsed = time.perf_counter() - started
        print(f"{n:,} operations in {elapsed:.1f} s: {n / elapsed:,.0f} ops/s with every check")
        print("  done:    " + ", ".join(f"{k} {v:,}" for k, v in world.done.most_common()))
        print("  refused: " + ", ".join(f"{k} {v:,}" for k, v in world.refused.most_common()))
        open_funds = sum(f.is_open for f in world.funds)
        print(f"  funds: {len(world.funds)} ({open_funds} open)")
    finally:
        connection.close()
        teardown_databases(old_config, verbosity=0)
    if violation:
        print(f"VIOLATION at {violation}")
        sys.exit(1)
    print("Every invariant held.")


if __name__ == "__main__":
    main()
