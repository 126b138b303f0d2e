"""Statement import benchmark: a host's statement of 100,000 small online gifts, on PostgreSQL. Run:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/import_speed_bench \
        .venv/bin/python bench/statement_import.py [--rows 100000] [--small 10000] [--formats xlsx,csv]

It creates (or reuses) the dedicated database named in DATABASE_URL — its name must contain "bench", and it is
never the test database (bench/http_load.py's `ensure_database`) — migrates it and loads the demo communities
once (`--fresh` drops and rebuilds it), with fresh statistics (ANALYZE). It then writes a synthetic statement
of `--rows` small online gifts (default 100,000) twice: as Excel (.xlsx, dates and amounts as numbers, strings
inline as openpyxl's streaming writer saves them) and as CSV in GBK (what Chinese Excel saves), with the
importer's Chinese headers: unique receipt numbers (new ones on every run), amounts from ¥0.01 to ¥500, a
fifth of the donors anonymous, a tenth of the gifts restricted to a purpose and a twentieth to a named fund.

For each format it runs `funds.importing.import_statement` into the demo's community fund as its staff member,
as the admin's import page does (outside a transaction): a dry run, then the apply. Each run is a process of
its own (the file, already on disk, is read into memory before the clock starts), so that its peak memory is
its own: the growth of the process's resident set (VmHWM after − VmRSS before, Linux). The same runs are made
with a `--small` statement (default 10,000 rows, 0 to skip): memory flat in the number of rows shows as
about the same peak at both sizes.

After each apply it checks the ledger: `verify_ledger` is clean, exactly the file's rows were recorded (count
and total in fen), the fund's held accounts gained the file's total and its donors account lost it; and a
second apply of the same file records nothing (every row "already recorded").

Targets (issue 9): at `--rows`, each dry run and each apply within 60 s; memory flat in the number of rows:
the peak at `--rows` at most 100 bytes a row above the peak at `--small` (what grows is the index of receipt
numbers that finds a receipt's second row, ~40 bytes a row; a list of the rows would be some 2 KB a row).
Each is printed as met or MISSED; a miss or a failed check exits non-zero. The machine's load average is
printed with each figure: on a shared machine the figures vary from run to run.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if __name__ == "__main__":
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import csv  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from bench.http_load import ensure_database  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/import_speed_bench"
TARGET_SECONDS = 60.0
TARGET_BYTES_PER_ROW = 100  # peak memory growth from --small to --rows
HEADER = ["票据号", "日期", "捐赠人", "金额", "渠道", "匿名", "同意公开", "定向用途", "冠名基金"]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文斌晓梅海燕"
NICKNAMES = ["爱心网友", "一位好心人", "匿名爱心人士", "小区居民"]


# --- the statement --------------------------------------------------------------------------------------


def statement_rows(n: int, prefix: str, purpose: str, named_fund: str, seed: int):
    """Yield (cells, amount_fen) for n small online gifts; cells in HEADER's order, dates as date objects."""
    rng = random.Random(seed)
    today = datetime.date.today() - datetime.timedelta(days=1)  # never "in the future" in Shanghai either
    for i in range(n):
        fen = rng.choice([1, 100, 500, 990, 1000, 2000, 5000, 6660, 8880, 10000]) + rng.randrange(
            0, 40_000
        ) * (rng.random() < 0.2)
        anonymous = rng.random() < 0.2
        if anonymous:
            donor, publish = ("" if rng.random() < 0.5 else rng.choice(NICKNAMES)), "否"
        else:
            donor = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))
            publish = "是" if rng.random() < 0.3 else "否"
        roll = rng.random()
        cells = [
            f"{prefix}{i + 1:07d}",
            today - datetime.timedelta(days=i % 28),
            donor,
            fen,
            "线上募捐",
            "是" if anonymous else "否",
            publish,
            purpose if roll < 0.1 else "",
            named_fund if 0.1 <= roll < 0.15 else "",
        ]
        yield cells, fen


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def write_xlsx(path: Path, rows) -> int:
    """Write the statement as Excel (streaming); return the total in fen."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("对账单")
    sheet.append(HEADER)
    total = 0
    for cells, fen in rows:
        total += fen
        cells[3] = fen / 100  # a number, as hosts' exports hold it; its repr is the 2-decimal amount
        sheet.append(cells)
    book.save(path)
    return total


def write_gbk_csv(path: Path, rows) -> int:
    """Write the statement as CSV in GBK, dates as 2026-03-15; return the total in fen."""
    total = 0
    with open(path, "w", encoding="gbk", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for cells, fen in rows:
            total += fen
            cells[1] = cells[1].isoformat()
            cells[3] = yuan(fen)
            writer.writerow(cells)
    return total


# --- one import, in a process of its own ------------------------------------------------------------------


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(spec: dict) -> None:
    """Run one import (spec: file, filename, fund, user, dry_run) and print its figures as one JSON line."""
    import gc

    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from charity.models import AuditEvent
    from charity.services import Actor
    from funds.importing import import_statement
    from funds.models import Fund

    fund = Fund.objects.select_related("community", "host").get(pk=spec["fund"])
    actor = Actor(user=get_user_model().objects.get(pk=spec["user"]), surface=AuditEvent.Surface.ADMIN)
    raw = Path(spec["file"]).read_bytes()
    gc.collect()
    with contextlib.suppress(OSError):  # count the peak from here on (Linux ≥ 4.0): the import's own
        Path("/proc/self/clear_refs").write_text("5")
    before = _status_kb("VmRSS")
    cpu = os.times()
    start = time.perf_counter()
    report = import_statement(
        fund=fund, filename=spec["filename"], raw=raw, actor=actor, dry_run=spec["dry_run"]
    )
    seconds = time.perf_counter() - start
    cpu_after = os.times()
    peak = _status_kb("VmHWM")
    counts = getattr(report, "counts", None) or {
        "ok": len(report.to_record),
        "skipped": len(report.skipped),
        "error": len(report.errors),
    }
    errors = [f"line {r.line}: {r.message}" for r in report.errors[:5]]
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu_after.user - cpu.user + cpu_after.system - cpu.system,
                "load": os.getloadavg()[0],
                "peak_mb": max(0, peak - before) / 1024,
                "file_mb": len(raw) / 2**20,
                "applied": report.applied,
                "counts": counts,
                "total_fen": report.total_fen,
                "errors": errors,
            }
        )
    )


def run_child(spec: dict, env: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        sys.exit(f"the import process failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- the run ----------------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the large statement")
    parser.add_argument("--small", type=int, default=10_000, help="rows of the small one (0: skip it)")
    parser.add_argument("--formats", default="xlsx,csv", help="xlsx, csv or both (default)")
    parser.add_argument("--fresh", action="store_true", help="drop and rebuild the benchmark database")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def setup(args) -> dict:
    """Migrate and seed the dedicated database; return the fund, its staff member and where gifts land."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from charity.models import Area
    from funds import demo as funds_demo
    from funds.models import Fund

    call_command("migrate", verbosity=0, interactive=False)
    if not Area.objects.exists():
        with open(os.devnull, "w") as devnull:
            call_command("seed_demo", force=True, stdout=devnull)
    # Fresh statistics, as autovacuum keeps them in production (it may be off on a benchmark server): the
    # receipt look-ups must find the host's unique index cheaper than reading every donation of the host.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    fund = Fund.objects.get(name=funds_demo.GBG_FUND)
    named = Fund.objects.filter(parent=fund).order_by("name").first()
    user = get_user_model().objects.get(username="gbg_staff")
    return {
        "fund": fund.pk,
        "user": user.pk,
        "purpose": funds_demo.PURPOSES[funds_demo.GBG_FUND][0],
        "named_fund": named.name,
        "fund_ids": [fund.pk, named.pk],
    }


def held_and_donors(fund_ids) -> tuple[int, int]:
    from django.db.models import Sum

    from funds.models import Account

    def total(kinds):
        return (
            Account.objects.filter(fund_id__in=fund_ids, kind__in=kinds).aggregate(s=Sum("balance_fen"))["s"]
            or 0
        )

    return total(Account.HELD), total([Account.Kind.DONORS])


def check_ledger(prefix: str, rows: int, total_fen: int, moved: tuple[int, int]) -> list[str]:
    """What is wrong with the ledger after applying the statement (empty: nothing)."""
    from django.db.models import Count, Sum

    from funds.models import Donation
    from funds.selectors import verify_ledger

    problems = []
    report = verify_ledger()
    if not report.ok:
        problems.append(f"verify_ledger found {len(report.differences)} differences")
    recorded = Donation.objects.filter(receipt_no__startswith=prefix).aggregate(
        n=Count("id"), s=Sum("amount_fen")
    )
    if (recorded["n"], recorded["s"]) != (rows, total_fen):
        problems.append(
            f"recorded {recorded['n']} donations, {recorded['s']} fen; the file: {rows}, {total_fen}"
        )
    if moved != (total_fen, -total_fen):
        problems.append(
            f"the fund's held accounts moved {moved[0]}, its donors account {moved[1]}; want ±{total_fen}"
        )
    return problems


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return
    env = dict(os.environ)
    env.update(
        DATABASE_URL=args.database_url,
        DJANGO_SETTINGS_MODULE="charity.settings",
        # As in production: DEBUG off (no query log), so a throw-away key and host are needed.
        DJANGO_DEBUG="false",
        SECRET_KEY="bench-" + os.urandom(32).hex(),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
    )
    if not env.get("FIELD_ENCRYPTION_KEYS"):
        from cryptography.fernet import Fernet

        env["FIELD_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()  # throw-away, as SECRET_KEY
    os.environ.update(env)
    ensure_database(args.database_url, args.fresh)
    ids = setup(args)
    from django.conf import settings
    from django.db import connection

    if args.rows > settings.IMPORT_MAX_ROWS:
        # Only to measure code whose limit is lower (the figures before this change); said so in the output.
        print(f"IMPORT_MAX_ROWS is {settings.IMPORT_MAX_ROWS:,}: raised to {args.rows:,} for this run")
        env["IMPORT_MAX_ROWS"] = str(args.rows)
    print(
        f"database {connection.settings_dict['NAME']} (PostgreSQL {connection.pg_version // 10000}); "
        f"CPUs: {os.cpu_count()} (shared: the load average is given with each run); admin uploads up to "
        f"{settings.MAX_UPLOAD_BYTES / 2**20:.1f} MB"
    )
    connection.close()

    run = time.strftime("%m%d%H%M%S")
    work = Path(tempfile.mkdtemp(prefix="import_speed_"))
    sizes = [n for n in (args.small, args.rows) if n]
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    results: dict = {}
    failed: list[str] = []
    print(
        f"\n{'statement':<14}{'rows':>9}{'MB':>6}{'phase':>9}{'seconds':>9}{'rows/s':>8}{'CPU s':>7}"
        f"{'load':>6}{'peak MB':>9}"
    )
    for size in sizes:
        for fmt in formats:
            prefix = f"IS{run}{fmt[0].upper()}{size}-"
            rows = statement_rows(size, prefix, ids["purpose"], ids["named_fund"], seed=size)
            path = work / f"statement-{size}.{fmt}"
            total = (write_xlsx if fmt == "xlsx" else write_gbk_csv)(path, rows)
            label = "Excel (.xlsx)" if fmt == "xlsx" else "CSV (GBK)"
            if path.stat().st_size > settings.MAX_UPLOAD_BYTES:
                failed.append(f"{label} {size:,}: {path.stat().st_size:,} bytes, more than MAX_UPLOAD_BYTES")
            for phase in ("dry run", "apply"):
                before = held_and_donors(ids["fund_ids"])
                connection.close()
                spec = {
                    "file": str(path),
                    "filename": path.name,
                    "fund": ids["fund"],
                    "user": ids["user"],
                    "dry_run": phase == "dry run",
                }
                r = run_child(spec, env)
                results[(fmt, size, phase)] = r
                print(
                    f"{label:<14}{size:>9,}{r['file_mb']:>6.1f}{phase:>9}{r['seconds']:>9.1f}"
                    f"{size / r['seconds']:>8,.0f}{r['cpu']:>7.1f}{r['load']:>6.1f}{r['peak_mb']:>9.1f}"
                )
                if r["counts"]["ok"] != size or r["counts"]["error"] or r["total_fen"] != total:
                    failed.append(
                        f"{label} {size:,} {phase}: {r['counts']}, {r['total_fen']} fen {r['errors']}"
                    )
                if phase == "apply":
                    after = held_and_donors(ids["fund_ids"])
                    moved = (after[0] - before[0], after[1] - before[1])
                    problems = [] if r["applied"] else ["not applied"]
                    problems += check_ledger(prefix, size, total, moved)
                    again = run_child(spec, env)  # the same file again: nothing twice
                    if again["counts"]["ok"] or again["counts"]["skipped"] != size:
                        problems.append(f"a second apply reported {again['counts']}")
                    if check_ledger(prefix, size, total, moved):
                        problems.append("a second apply changed the ledger")
                    connection.close()
                    failed += [f"{label} {size:,} apply: {p}" for p in problems]
                    if not problems:
                        print(
                            f"{'':<14}ledger checked: verify_ledger clean, {size:,} donations = "
                            f"{yuan(total)} yuan; applied again: nothing recorded ({again['seconds']:.1f} s)"
                        )
            path.unlink()

    print()
    missed = []
    for fmt in formats:
        for phase in ("dry run", "apply"):
            r = results[(fmt, args.rows, phase)]
            ok = r["seconds"] <= TARGET_SECONDS
            figure = f"{r['seconds']:.1f} s (load average {r['load']:.1f})"
            print(f"  target {fmt} {phase} of {args.rows:,} rows ≤ {TARGET_SECONDS:.0f} s: {figure} — "
                  f"{'met' if ok else 'MISSED'}")  # fmt: skip
            if not ok:
                missed.append(f"{fmt} {phase}")
            if args.small and args.small < args.rows:
                small = results[(fmt, args.small, phase)]
                per_row = (r["peak_mb"] - small["peak_mb"]) * 2**20 / (args.rows - args.small)
                ok = per_row <= TARGET_BYTES_PER_ROW
                figure = (
                    f"peak {r['peak_mb']:.1f} MB at {args.rows:,} rows, {small['peak_mb']:.1f} MB at "
                    f"{args.small:,}: {per_row:.0f} bytes a row"
                )
                print(f"  target {fmt} {phase} memory flat, ≤ {TARGET_BYTES_PER_ROW} bytes a row: {figure} — "
                      f"{'met' if ok else 'MISSED'}")  # fmt: skip
                if not ok:
                    missed.append(f"{fmt} {phase} memory")
    for f in failed:
        print(f"  !! {f}")
    if failed or missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
