"""HTTP benchmark: the app under gunicorn on PostgreSQL, against a raw WSGI baseline, on this machine. Run:

    apt-get install -y wrk      # the load generator (Debian package)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_http .venv/bin/python bench/http_load.py

It creates (or reuses) the dedicated database named in DATABASE_URL — its name must contain "bench", and it is
never the test database — migrates it and fills it once with a synthetic city: the demo communities, 500 more
organisations, and 10,000 donations on one community fund posted through `post_donation` (so the ledger is
the one the services write; `verify_ledger` is checked). `--fresh` drops and rebuilds it. A new API key of the
hub organisation is created for each run.

It then starts the app under gunicorn (2 sync workers, gunicorn.conf.py, bound to 127.0.0.1 on a free port,
DJANGO_DEBUG=false, a throw-away SECRET_KEY) and, in the same run, a raw WSGI app under the same gunicorn
settings (psycopg + json, no framework, one connection per worker) serving the same 50 donation rows as JSON.
`wrk` (keep-alive HTTP/1.1, one thread, --connections concurrent connections, a separate process written in
C, so the load generator takes little of the two cores the servers need) loads each endpoint for --duration
seconds after a --warmup. It prints req/s, p50/p99 latency and the ratio to the raw baseline per endpoint, and
checks issue 9's targets: public pages ≥ 1,000 req/s; API lists of 50 rows ≥ 600 req/s with p99 < 50 ms;
detail endpoints at least as fast as their list. Each target is printed as met or MISSED; a miss, or any
non-2xx answer or timeout, makes the exit status non-zero. Everything it started is stopped on exit, Ctrl-C
or failure.

The app runs with the settings of the environment (DATABASE_CONN_MAX_AGE, DATABASE_POOL_SIZE, REDIS_URL are
passed through) except API_THROTTLE_RATE, raised so that the benchmark measures the throttle's work and not
its refusals (--throttle-rate). `--profile` profiles each endpoint in this process (cProfile, the Django test
client) and prints its top costs instead of loading it over HTTP.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if __name__ == "__main__":
    # The repository root first, so `bench.http_load:raw_app` and the apps import as they do under gunicorn.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import base64  # noqa: E402
import contextlib  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_http"
DONATIONS = 10_000
ORGANIZATIONS = 500
RECEIPT_PREFIX = "BENCH-"
TARGET_PAGE_RATE = 1_000  # req/s, public pages
TARGET_API_RATE = 600  # req/s, API lists of 50 rows and the detail endpoints
TARGET_API_P99 = 0.050  # seconds
TARGET_FRESH_SECONDS = 1.0  # a donation on the cached public fund page
DETAIL_TOLERANCE = 0.95  # "at least as fast as the list", allowing 5 % of run-to-run noise

# --- the raw baseline: gunicorn imports it as bench.http_load:raw_app, so nothing above needs Django -----

RAW_COLUMNS = [
    "id",
    "fund",
    "form",
    "amount_fen",
    "channel",
    "donor",
    "anonymous",
    "publish_name",
    "receipt_no",
    "receipt_waived",
    "received_on",
    "restriction",
    "restricted_fund",
    "purpose",
    "item_description",
    "item_quantity",
    "item_unit",
    "transaction",
    "refunded",
    "refund_reason",
    "created_at",
]
# The API's 50 rows of the fund, newest first, with the donor name the public may see.
RAW_SQL = """
SELECT d.id, d.fund_id, d.form, d.amount_fen, d.channel,
       CASE WHEN d.anonymous OR NOT d.publish_name THEN NULL
            ELSE COALESCE(o.name, p.name, NULLIF(d.donor_name, '')) END,
       d.anonymous, d.publish_name, d.receipt_no, d.receipt_waived, d.received_on, d.restriction,
       d.restricted_fund_id, d.purpose, d.item_description, d.item_quantity, d.item_unit, d.transaction_id,
       d.refund_transaction_id IS NOT NULL, d.refund_reason, d.created_at
FROM funds_donation d
LEFT JOIN charity_person p ON p.id = d.donor_person_id
LEFT JOIN charity_organization o ON o.id = d.donor_organization_id
WHERE d.fund_id = %s
ORDER BY d.received_on DESC, d.id DESC
LIMIT 50
"""
_raw_state: dict = {}


def _json_default(value):
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def raw_app(environ, start_response):
    """Plain WSGI: one psycopg connection per worker, one query, json.dumps. The machine's limit."""
    import psycopg

    conn = _raw_state.get("conn")
    if conn is None or conn.closed:
        conn = _raw_state["conn"] = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    with conn.cursor() as cursor:
        cursor.execute(RAW_SQL, (int(os.environ["BENCH_RAW_FUND_ID"]),))
        rows = cursor.fetchall()
    results = [dict(zip(RAW_COLUMNS, row, strict=True)) for row in rows]
    body = json.dumps({"results": results}, default=_json_default, ensure_ascii=False).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


# --- set-up -----------------------------------------------------------------------------------------------


def app_environment(args, static_root: str) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=args.database_url,
        DJANGO_SETTINGS_MODULE="charity.settings",
        DJANGO_DEBUG="false",
        SECRET_KEY="bench-" + os.urandom(32).hex(),  # throw-away, never stored
        # The benchmark database's own key (its demo needs' details are invented): fixed, so that a reused
        # database stays readable; never a production key.
        FIELD_ENCRYPTION_KEYS=os.environ.get("BENCH_FIELD_ENCRYPTION_KEYS")
        or base64.urlsafe_b64encode(hashlib.sha256(b"bench_http only").digest()).decode(),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        STATIC_ROOT=static_root,
        API_THROTTLE_RATE=args.throttle_rate,
        LOG_LEVEL="WARNING",
    )
    return env


def ensure_database(url: str, fresh: bool) -> None:
    """Create the dedicated database if it is missing (drop it first with --fresh)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name or name.startswith("test"):
        sys.exit(f"DATABASE_URL names {name!r}: use a dedicated database whose name contains 'bench'.")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def seed(stdout) -> dict:
    """Fill the database once (idempotent, resumable); return the ids and a new hub API key."""
    import random

    from django.core.management import call_command
    from django.db import connection, transaction

    from charity.models import Area, AuditEvent, Organization, Person
    from charity.services import Actor, create_api_key
    from funds import demo as funds_demo
    from funds.models import Donation, Fund
    from funds.selectors import verify_ledger
    from governance.models import Committee

    if not Area.objects.exists():
        with open(os.devnull, "w") as devnull:
            call_command("seed_demo", force=True, stdout=devnull)
    fund = Fund.objects.select_related("community", "host").get(name=funds_demo.GBG_FUND)
    community = fund.community
    hub = Organization.objects.get(name="祯祥社")

    # 500 more organisations across the city: 25 serving the benchmark's community, the rest 19 others.
    have = Organization.objects.filter(name__startswith="基准组织").count()
    if have < ORGANIZATIONS:
        street = Area.objects.get_parent(community)
        communities = [community]
        for i in range(19):
            name = f"基准社区{i + 1:02d}"
            child = Area.objects.get_children(street).filter(name=name).first()
            communities.append(
                child or Area.objects.add_child(street, {"name": name, "level": Area.Level.COMMUNITY})
            )
        t = Organization.Type
        types = [t.COMMUNITY_GROUP, t.VOLUNTEER_TEAM, t.MERCHANT]
        with transaction.atomic():
            for i in range(have, ORGANIZATIONS):
                area = communities[i % len(communities)]
                org = Organization.objects.create(
                    name=f"基准组织{i + 1:03d}",
                    type=types[i % len(types)],
                    area=area,
                    hub=hub if area == community else None,
                )
                if org.type != Organization.Type.MERCHANT:
                    org.served_areas.add(area)

    posted = Donation.objects.filter(fund__community=community, receipt_no__startswith=RECEIPT_PREFIX).count()
    if posted < DONATIONS:
        stdout.write(f"posting {DONATIONS - posted:,} donations through post_donation (once)…\n")
        stdout.flush()
        start = time.perf_counter()
        people = list(Person.objects.filter(community=community))
        named = list(Fund.objects.filter(parent=fund).order_by("name"))
        funds_demo._donations(
            fund, RECEIPT_PREFIX, people, named, random.Random(9), Actor.system(), DONATIONS
        )
        stdout.write(f"  done in {time.perf_counter() - start:.0f} s\n")
    # Fresh statistics, or the planner sorts all 10,000 rows instead of reading the index (12 ms, not 0.3).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    report = verify_ledger()
    if not report.ok:
        sys.exit("verify_ledger found differences in the benchmark database: rebuild it with --fresh.")

    _api_key, key = create_api_key(
        organization=hub,
        name=f"bench {time.strftime('%Y-%m-%d %H:%M:%S')}",
        actor=Actor.system(AuditEvent.Surface.COMMAND),
    )
    committee = Committee.objects.get(fund=fund)
    newest = Donation.objects.filter(fund=fund).order_by("-received_on", "-id").first()
    return {
        "fund": fund.pk,
        "community": community.pk,
        "hub": hub.pk,
        "committee": committee.pk,
        "donation": newest.pk,
        "key": key,
        "donations": Donation.objects.filter(fund=fund).count(),
        "organizations": Organization.objects.count(),
        "ledger_entries": report.entries_checked,
    }


def endpoints(ids: dict) -> list[dict]:
    """(label, path, kind) of every endpoint; kind: page, list, detail (with the list it is compared to)."""
    return [
        {"label": "API donations, 50 rows", "path": "/api/v1/donations/?page_size=50", "kind": "list"},
        {"label": "API donation detail", "path": f"/api/v1/donations/{ids['donation']}/", "kind": "detail",
         "list": "API donations, 50 rows"},
        {"label": "API funds list", "path": "/api/v1/funds/", "kind": "list"},
        {"label": "API fund detail", "path": f"/api/v1/funds/{ids['fund']}/", "kind": "detail",
         "list": "API funds list"},
        {"label": "fund page", "path": f"/funds/{ids['fund']}/", "kind": "page"},
        {"label": "community page", "path": f"/communities/{ids['community']}/", "kind": "page"},
        {"label": "organisation page", "path": f"/organizations/{ids['hub']}/", "kind": "page"},
        {"label": "committee page", "path": f"/committees/{ids['committee']}/", "kind": "page"},
    ]  # fmt: skip


# --- servers ----------------------------------------------------------------------------------------------

STARTED: list[subprocess.Popen] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(app: str, env: dict, workers: int, log_path: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,  # its own process group: Ctrl-C reaches us, and we stop it ourselves
        )
    STARTED.append(proc)
    return proc, port


def stop_all() -> None:
    for proc in STARTED:
        if proc.poll() is None:
            proc.terminate()  # gunicorn's master stops its workers gracefully on SIGTERM
    deadline = time.monotonic() + 10
    for proc in STARTED:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the group we created for it: master and workers
            proc.wait()
    STARTED.clear()


def get(port: int, path: str, headers: dict, timeout: float = 10) -> tuple[int, bytes]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_ready(proc: subprocess.Popen, port: int, path: str, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"gunicorn exited with status {proc.returncode}; its log: {log_path}")
        try:
            get(port, path, {}, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"gunicorn did not answer within {timeout:.0f} s; its log: {log_path}")


# --- load -------------------------------------------------------------------------------------------------

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _seconds(number: str, unit: str) -> float:
    return float(number) * _UNITS[unit]


def run_wrk(port: int, path: str, headers: dict, args, duration: int) -> dict:
    cmd = ["wrk", "-t1", f"-c{args.connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    if not (rate and p50 and p99 and total):
        sys.exit(f"could not read wrk's output:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rate": float(rate[1]),
        "p50": _seconds(*p50.groups()),
        "p99": _seconds(*p99.groups()),
        "requests": int(total[1]),
        "non2xx": int(bad[1]) if bad else 0,
        "timeouts": int(sockets[4]) if sockets else 0,
        "connect_errors": int(sockets[1]) if sockets else 0,
    }


def freshness(port: int, fund_id: int, tries: int = 3) -> list[float]:
    """Seconds from a donation's commit (here, through post_donation) until the fund page shows it.

    The page is loaded first, so that it is in the cache; the donation is posted by this process, as a web
    worker, a Celery task or an import would, and the page is then asked for every 10 ms.
    """
    from django.db import connection
    from django.utils import timezone

    from charity.services import Actor
    from funds import services
    from funds.models import Fund

    fund = Fund.objects.get(pk=fund_id)
    delays = []
    for _ in range(tries):
        name = f"新捐赠人{time.time_ns() % 10**9}"
        get(port, f"/funds/{fund_id}/", {})
        get(port, f"/funds/{fund_id}/", {})
        services.post_donation(
            fund=fund,
            amount_fen=100,
            actor=Actor.system(),
            receipt_no=f"FRESH-{time.time_ns()}",
            channel="online",
            received_on=timezone.localdate(),
            donor_name=name,
            publish_name=True,
        )
        committed = time.perf_counter()
        while name.encode() not in get(port, f"/funds/{fund_id}/", {})[1]:
            if time.perf_counter() - committed > 5:
                break
            time.sleep(0.01)
        delays.append(time.perf_counter() - committed)
    connection.close()
    return delays


def check(port: int, path: str, headers: dict, label: str) -> None:
    """One request before the load: it must be a 200, not a redirect or an error page wrk would count."""
    status, body = get(port, path, headers)
    if status != 200:
        sys.exit(f"{label}: GET {path} answered {status}, not 200:\n{body[:500].decode(errors='replace')}")


# --- profile ----------------------------------------------------------------------------------------------


# Frames that wrap every request (the test client, the handler, each middleware) or live outside the project
# and its libraries (the standard library, built-ins): left out of the cumulative listing.
WRAPPERS = re.compile(r"^[{~</]|middleware|django/test/|django/core/handlers/|django/utils/deprecation\.py")


def profile(eps: list[dict], headers: dict, requests: int, top: int) -> None:
    """Each endpoint in this process through the Django test client: time, queries, and the top costs."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    api_headers = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    for ep in eps:
        kw = api_headers if ep["path"].startswith("/api/") else {}
        for _ in range(20):  # warm: imports, template loading, the URL resolver
            response = client.get(ep["path"], **kw)
        assert response.status_code == 200, (ep["path"], response.status_code)
        queries = []

        def timed(execute, sql, params, many, context, queries=queries):
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                queries.append((time.perf_counter() - start, sql))

        with connection.execute_wrapper(timed):
            client.get(ep["path"], **kw)
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        for _ in range(requests):
            client.get(ep["path"], **kw)
        profiler.disable()
        per = (time.perf_counter() - start) / requests
        rows = []
        for (filename, line, func), (_cc, calls, tottime, cumtime, _callers) in pstats.Stats(
            profiler
        ).stats.items():
            where = filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1]
            rows.append((tottime / requests, cumtime / requests, calls / requests, f"{where}:{line}({func})"))
        print(f"\n## {ep['label']}  GET {ep['path']}")
        print(f"{per * 1000:.2f} ms per request in-process with the profiler on; {len(queries)} queries, "
              f"{sum(q[0] for q in queries) * 1000:.2f} ms in them (one request, profiler off):")  # fmt: skip
        for seconds, sql in queries:
            print(f"  {seconds * 1000:6.2f} ms  {' '.join(sql.split())[:150]}")
        print(f"top {top} by own time (ms per request, calls per request):")
        for own, cum, calls, name in sorted(rows, reverse=True)[:top]:
            print(f"  {own * 1000:7.3f} own {cum * 1000:7.3f} cum {calls:6.0f}x  {name}")
        # Layers: frames of the project and its libraries below the middleware chain that wraps everything.
        print(f"top {top} by cumulative time, below the middleware (project and library frames):")
        layers = [r for r in rows if not WRAPPERS.search(r[3])]
        for _own, cum, calls, name in sorted(layers, key=lambda r: -r[1])[:top]:
            print(f"  {cum * 1000:7.3f} cum {calls:6.0f}x  {name}")


# --- main -------------------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per endpoint (10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured load first (2)")
    parser.add_argument("--connections", type=int, default=4, help="concurrent connections of wrk (4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2, as on our machines)")
    parser.add_argument("--throttle-rate", default="1000000/s", help="API_THROTTLE_RATE of the app")
    parser.add_argument("--only", help="measure only endpoints whose label contains this text")
    parser.add_argument("--fresh", action="store_true", help="drop and rebuild the benchmark database")
    parser.add_argument("--profile", action="store_true", help="profile in-process instead of loading")
    parser.add_argument("--profile-requests", type=int, default=200)
    parser.add_argument("--profile-top", type=int, default=15)
    args = parser.parse_args(argv)
    if not (0 < args.duration <= 600 and 0 <= args.warmup <= 60 and 1 <= args.connections <= 256):
        parser.error("--duration 0–600 s, --warmup 0–60 s, --connections 1–256")
    if not 1 <= args.workers <= 32:
        parser.error("--workers 1–32")
    return args


def report_table(results: list[tuple[dict, dict]], baseline: dict) -> None:
    print(f"{'endpoint':<26} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}  requests  errors")
    for ep, r in results:
        ratio = r["rate"] / baseline["rate"] if baseline["rate"] else 0
        errors = r["non2xx"] + r["timeouts"]
        print(f"{ep['label']:<26} {r['rate']:>8,.0f} {r['p50'] * 1000:>8.1f} {r['p99'] * 1000:>8.1f} "
              f"{ratio:>6.3f}  {r['requests']:>8,}  {errors}")  # fmt: skip


def check_targets(results: list[tuple[dict, dict]]) -> list[str]:
    missed = []

    def target(label, ok, figure):
        print(f"  target {label}: {figure} — {'met' if ok else 'MISSED'}")
        if not ok:
            missed.append(f"{label}: {figure}")

    rates = {ep["label"]: r["rate"] for ep, r in results}
    for ep, r in results:
        rate, p99 = r["rate"], r["p99"]
        if ep["kind"] == "page":
            target(f"{ep['label']} ≥ {TARGET_PAGE_RATE:,} req/s", rate >= TARGET_PAGE_RATE, f"{rate:,.0f}/s")
        else:
            target(f"{ep['label']} ≥ {TARGET_API_RATE} req/s", rate >= TARGET_API_RATE, f"{rate:,.0f}/s")
            target(f"{ep['label']} p99 < {TARGET_API_P99 * 1000:.0f} ms", p99 < TARGET_API_P99,
                   f"{p99 * 1000:.1f} ms")  # fmt: skip
        if ep["kind"] == "detail" and ep["list"] in rates:
            listed = rates[ep["list"]]
            target(f"{ep['label']} at least as fast as {ep['list']}", rate >= DETAIL_TOLERANCE * listed,
                   f"{rate:,.0f}/s vs {listed:,.0f}/s")  # fmt: skip
    return missed


def _interrupted(signum, frame):
    """Ctrl-C or SIGTERM (`kill`, a time-out) stops the benchmark through main's finally."""
    raise KeyboardInterrupt


def main(argv=None) -> None:
    args = parse_args(argv)
    if not args.profile and shutil.which("wrk") is None:
        sys.exit("wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu), then run again.")
    work = Path(tempfile.mkdtemp(prefix="bench_http_"))
    static_root = str(Path(tempfile.gettempdir()) / "bench_http_static")  # kept: collectstatic is quicker
    env = app_environment(args, static_root)
    os.environ.update(env)  # this process seeds and profiles with the servers' settings

    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)  # also when started in the background, where SIGINT is ignored
    failed: list[str] = []
    missed: list[str] = []
    try:
        ensure_database(args.database_url, args.fresh)
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0, interactive=False)
        call_command("collectstatic", verbosity=0, interactive=False)
        ids = seed(sys.stdout)
        connection.close()
        headers = {"Authorization": f"Api-Key {ids['key']}"}
        eps = endpoints(ids)
        if args.only:
            eps = [ep for ep in eps if args.only.lower() in ep["label"].lower()]
        print(
            f"database {connection.settings_dict['NAME']} (PostgreSQL {connection.pg_version // 10000}): "
            f"{ids['donations']:,} donations on the fund, {ids['organizations']:,} organisations, "
            f"{ids['ledger_entries']:,} ledger entries (verify_ledger clean); CPUs: {os.cpu_count()}"
        )
        if args.profile:
            profile(eps, headers, args.profile_requests, args.profile_top)
            return

        conn_age, pool = env.get("DATABASE_CONN_MAX_AGE", "0"), env.get("DATABASE_POOL_SIZE", "0")
        cache = "Redis" if env.get("REDIS_URL") else "local memory"
        print(
            f"gunicorn: {args.workers} sync workers, 127.0.0.1; DATABASE_CONN_MAX_AGE={conn_age}, "
            f"DATABASE_POOL_SIZE={pool}, cache {cache}, API_THROTTLE_RATE={args.throttle_rate}"
        )
        print(
            f"load: wrk, 1 thread, {args.connections} keep-alive connections, {args.warmup} s warm-up + "
            f"{args.duration} s per endpoint\n"
        )
        app_log, raw_log = work / "app.log", work / "raw.log"
        app, app_port = start_gunicorn("charity.wsgi", env, args.workers, app_log)
        raw, raw_port = start_gunicorn(
            "bench.http_load:raw_app", {**env, "BENCH_RAW_FUND_ID": str(ids["fund"])}, args.workers, raw_log
        )
        wait_ready(app, app_port, "/healthz", app_log)
        wait_ready(raw, raw_port, "/", raw_log)

        def measure(port, ep, hdrs):
            check(port, ep["path"], hdrs, ep["label"])
            if args.warmup:
                run_wrk(port, ep["path"], hdrs, args, args.warmup)
            r = run_wrk(port, ep["path"], hdrs, args, args.duration)
            if r["non2xx"] or r["timeouts"]:
                failed.append(f"{ep['label']}: {r['non2xx']} non-2xx answers, {r['timeouts']} timeouts")
            return r

        baseline_ep = {"label": "raw WSGI baseline, 50 rows", "path": "/", "kind": "baseline"}
        baseline = measure(raw_port, baseline_ep, {})
        results = []
        for ep in eps:
            results.append((ep, measure(app_port, ep, headers if ep["path"].startswith("/api/") else {})))
        report_table([(baseline_ep, baseline), *results], baseline)
        print()
        missed = check_targets(results)
        if any(ep["label"] == "fund page" for ep in eps):
            delays = freshness(app_port, ids["fund"])
            worst = max(delays)
            print(f"  target a new donation on the cached fund page within {TARGET_FRESH_SECONDS:.0f} s: "
                  f"{', '.join(f'{d * 1000:.0f} ms' for d in delays)} — "
                  f"{'met' if worst < TARGET_FRESH_SECONDS else 'MISSED'}")  # fmt: skip
            if worst >= TARGET_FRESH_SECONDS:
                missed.append(f"a new donation on the fund page: {worst:.2f} s")
        print(f"\nserver logs: {work}")
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the servers", file=sys.stderr)
        stop_all()
        sys.exit(130)
    finally:
        stop_all()
    if failed:
        sys.exit("Some requests failed (see the server logs): " + "; ".join(failed))
    if missed:
        sys.exit("Targets missed: " + "; ".join(missed))
    print("All targets met.")


if __name__ == "__main__":
    main()
