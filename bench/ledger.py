"""Ledger benchmark. Run:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_ledger .venv/bin/python bench/ledger.py

Creates its own throw-away database (test_<name>, dropped at the end) and prints:
donations posted per second through post_donation with 1 and 8 writers on one hot fund (p50/p99 latency) —
as threads of one process, and as separate processes like production's gunicorn workers — the same load
spread over 8 funds, the CPU one donation costs, and the time to read one fund's balance with 1,000 and
with 1,000,000 ledger entries.
Targets (2-core machine): ≥500 donations/s with 8 writers on one fund (threads and processes), p99 < 100 ms,
balance read at 1M entries within 2x of at 1,000. Each is printed as met or MISSED; a miss, or any failed
posting, makes the exit status non-zero.
"""

import datetime
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charity.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

DONATIONS_SINGLE = 1_000
DONATIONS_PER_WRITER = 500
WRITERS = 8
READS = 500


FAILED_RUNS: list[str] = []
MISSED_TARGETS: list[str] = []
TARGET_RATE = 500  # donations/s with 8 writers on one hot fund
TARGET_P99 = 0.100  # seconds
TARGET_BALANCE_RATIO = 2.0  # balance read at 1,000,000 entries vs at 1,000


def check_target(label, ok, figure):
    print(f"  target {label}: {figure} — {'met' if ok else 'MISSED'}")
    if not ok:
        MISSED_TARGETS.append(f"{label}: {figure}")


def report_failures(label, total, latencies):
    failed = total - len(latencies)
    if failed:
        FAILED_RUNS.append(f"{label}: {failed} of {total} donations failed")
        print(f"  !! {failed} of {total} donations FAILED (see stderr): these figures do not count")


def percentile(values, pct):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def post_many(fund, actor, prefix, n, latencies):
    from funds.services import post_donation

    today = datetime.date(2026, 1, 5)
    failures = 0
    for i in range(n):
        start = time.perf_counter()
        try:
            post_donation(
                fund=fund,
                amount_fen=100 + i,
                channel="resident",
                actor=actor,
                received_on=today,
                receipt_no=f"{prefix}-{i}",
            )
        except Exception as error:  # a deadlock or any refusal: count it, the run must say so
            failures += 1
            print(f"FAILED {prefix}-{i}: {error!r}", file=sys.stderr)
            continue
        latencies.append(time.perf_counter() - start)
    return failures


def backend_cpu_seconds():
    """CPU time used so far by this thread's PostgreSQL backend (only when the server runs on this host)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def bench_cpu(fund, actor, n=500):
    """Where one writer's time goes: Python (ORM + driver) CPU vs the PostgreSQL backend's CPU."""
    wall, cpu, pg = time.perf_counter(), time.process_time(), backend_cpu_seconds()
    post_many(fund, actor, "cpu", n, [])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    pg_now = backend_cpu_seconds()
    pg_part = (
        f", PostgreSQL backend CPU {(pg_now - pg) / n * 1000:.2f} ms" if pg is not None and pg_now else ""
    )
    print(f"one post_donation: wall {wall / n * 1000:.2f} ms, Python CPU {cpu / n * 1000:.2f} ms{pg_part}")


def report_run(kind, funds, writers, per_writer, wall, latencies):
    """Print one run's rate and latency, and check it against the targets. kind: threads or processes."""
    total = writers * per_writer
    where = "one fund" if len(funds) == 1 else f"{len(funds)} funds"
    report_failures(f"{writers} writer {kind} on {where}", total, latencies)
    p99 = percentile(latencies, 99)
    print(
        f"post_donation, {writers} writer {kind} on {where}: {total} donations in {wall:.2f} s = "
        f"{total / wall:,.0f} donations/s; latency p50 {percentile(latencies, 50) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms"
    )
    if writers == WRITERS and where == "one fund":
        check_target(f"≥{TARGET_RATE} donations/s", total / wall >= TARGET_RATE, f"{total / wall:,.0f}/s")
        check_target(f"p99 < {TARGET_P99 * 1000:.0f} ms", p99 < TARGET_P99, f"{p99 * 1000:.1f} ms")


def bench_writers(funds, actor, writers, per_writer, label):
    latencies = []
    barrier = threading.Barrier(writers)

    def run(w):
        try:
            barrier.wait()
            post_many(funds[w % len(funds)], actor, f"{label}-{w}", per_writer, latencies)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(w,)) for w in range(writers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    report_run("threads", funds, writers, per_writer, wall, latencies)


def _process_writer(args):
    fund_id, prefix, n = args
    from charity.services import Actor
    from funds.models import Fund

    connection.close()  # never share the parent's connection across fork
    latencies = []
    post_many(
        Fund.objects.select_related("community", "host").get(pk=fund_id), Actor.system(), prefix, n, latencies
    )
    connection.close()
    return latencies


def bench_processes(funds, writers, per_writer, label):
    """Writers as separate processes, as gunicorn workers are in production (no shared interpreter lock)."""
    import multiprocessing

    connection.close()
    jobs = [(funds[w % len(funds)].pk, f"{label}-{w}", per_writer) for w in range(writers)]
    with multiprocessing.get_context("fork").Pool(writers) as pool:
        start = time.perf_counter()
        results = pool.map(_process_writer, jobs)
        wall = time.perf_counter() - start
    latencies = [x for r in results for x in r]
    report_run("processes", funds, writers, per_writer, wall, latencies)


def bulk_entries(fund, pairs):
    """Append `pairs` balanced donation transactions (2 entries each) with INSERT … SELECT generate_series."""
    from funds.models import Account
    from funds.services import get_or_create_accounts

    accounts = get_or_create_accounts(fund)
    general, donors = accounts[Account.Kind.GENERAL].pk, accounts[Account.Kind.DONORS].pk
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO funds_transaction (kind, fund_id, memo, posted_at) "
            "SELECT 'donation', %s, 'bench', now() FROM generate_series(1, %s)",
            [fund.pk, pairs],
        )
        cursor.execute(
            "INSERT INTO funds_entry (transaction_id, account_id, amount_fen) "
            "SELECT t.id, a.account_id, a.amount FROM funds_transaction t "
            "CROSS JOIN (VALUES (%s::bigint, 100::bigint), (%s::bigint, -100::bigint)) "
            "AS a(account_id, amount) "
            "WHERE t.fund_id = %s AND t.memo = 'bench'",
            [general, donors, fund.pk],
        )
        # Keep the stored balances consistent with what was appended.
        cursor.execute(
            "UPDATE funds_account SET balance_fen = balance_fen + %s WHERE id = %s", [100 * pairs, general]
        )
        cursor.execute(
            "UPDATE funds_account SET balance_fen = balance_fen - %s WHERE id = %s", [100 * pairs, donors]
        )
        cursor.execute("ANALYZE funds_entry; ANALYZE funds_account; ANALYZE funds_transaction")


def time_balance_read(fund):
    from funds.selectors import fund_balance

    fund_balance(fund)  # warm
    times = []
    for _ in range(READS):
        start = time.perf_counter()
        fund_balance(fund)
        times.append(time.perf_counter() - start)
    return statistics.median(times), fund_balance(fund)


def main():
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL=postgres://… : this benchmark measures PostgreSQL.")
    connections["default"].settings_dict.setdefault("TEST", {})
    # Measure what production runs: DEBUG=False (no per-query logging in the cursor wrapper).
    settings.DEBUG = False
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        from charity.services import Actor
        from funds.models import Entry
        from funds.selectors import verify_ledger
        from tests.factories import FundFactory

        actor = Actor.system()
        print(
            f"database: {connection.settings_dict['NAME']} (PostgreSQL {connection.pg_version // 10000}), "
            f"CPUs: {os.cpu_count()}"
        )

        hot = FundFactory(name="热点基金")
        post_many(hot, actor, "warm", 50, [])
        bench_writers([hot], actor, 1, DONATIONS_SINGLE, "one")
        bench_writers([hot], actor, WRITERS, DONATIONS_PER_WRITER, "eight")
        bench_processes([hot], 1, DONATIONS_SINGLE, "proc-one")
        bench_processes([hot], WRITERS, DONATIONS_PER_WRITER, "proc-eight")
        # The same load spread over 8 funds: if it is no faster, the hot fund's row lock is not the limit.
        spread = [FundFactory(name=f"分散基金{i}") for i in range(WRITERS)]
        bench_writers(spread, actor, WRITERS, DONATIONS_PER_WRITER, "spread")
        bench_cpu(hot, actor)

        small, large = FundFactory(name="小基金"), FundFactory(name="大基金")
        bulk_entries(small, 500)
        bulk_entries(large, 500_000)
        medians = []
        for fund in (small, large):
            entries = Entry.objects.filter(account__fund=fund).count()
            median, balance = time_balance_read(fund)
            medians.append(median)
            print(
                f"fund_balance with {entries:,} entries: median {median * 1e6:.0f} µs over {READS} reads "
                f"(balance {balance.balance_fen:,} fen)"
            )
        ratio = medians[1] / medians[0]
        check_target(
            f"balance read at 1M entries within {TARGET_BALANCE_RATIO:.0f}x of at 1,000",
            ratio <= TARGET_BALANCE_RATIO,
            f"{ratio:.2f}x",
        )
        start = time.perf_counter()
        report = verify_ledger()
        print(
            f"verify_ledger over {report.entries_checked:,} entries / {report.transactions_checked:,} "
            f"transactions: {time.perf_counter() - start:.2f} s, ok={report.ok}"
        )
    finally:
        connection.close()
        teardown_databases(old_config, verbosity=0)
    if FAILED_RUNS:
        sys.exit("Some postings failed: " + "; ".join(FAILED_RUNS))
    if MISSED_TARGETS:
        sys.exit("Targets missed: " + "; ".join(MISSED_TARGETS))
    print("All targets met.")


if __name__ == "__main__":
    main()
