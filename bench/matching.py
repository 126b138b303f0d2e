"""The nightly matching end to end on PostgreSQL: rows in the database, the partitioned run, the proposals.
Run:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_matching .venv/bin/python bench/matching.py
    … --sizes 10000           # one size (default: 10,000 × 10,000, then 100,000 × 100,000)
    … --fresh                 # drop and rebuild the database first
    … --keep-rows             # reuse the rows of an earlier run of this size (runs, matches emptied)
    … --no-quality            # skip the comparison with exact and greedy; --processes N (default 2)

It creates (or reuses) the dedicated database named in DATABASE_URL — its name must contain "bench", and it is
never the test database — and migrates it. It builds a synthetic city once, with bulk_create: one city, 10
districts, 100 streets, 1,000 communities. For each size it empties the needs, resources and matches and
fills them again with bulk_create from the synthetic instance of bench/matching_engine.py (the same mix of
categories, urgency, waiting, deadlines, reaches, quantities, kinds, weekly slots and skills the engine's own
benchmark uses), written as rows: needs published the days they have waited, resources with their
categories, reach areas and weekly availability, a few odd rows (used up, ended, no weekly slot, no
category) that must come back as skipped.

Then, for each size:

- **quality, on one district** (before anything is proposed): its needs and every resource that can reach
  them, read from the database by the run's own loader; `match` (the run's solver: best k per need and per
  resource) against `exact` (the minimum-cost maximum flow over every feasible pair, no pruning) — matched
  quantity against the maximum flow, total cost against the optimum — and against `greedy` (the same
  candidates, cheapest pair first), compared by the engine's regret (units left unmatched count their need's
  priority, units matched their pair's imperfection) and by the shortfall cost;
- **three nights**: the first and the next (whose run expires and supersedes the first's unreviewed
  proposals) in this process, as `manage.py run_matching` runs them without a broker — every district's
  partition, then the city-wide one; a third with the districts spread over --processes processes (forked,
  each running partitions as a Celery worker of that concurrency takes the chord's group), then the city.
  Per phase — *load* (the rows read from the database), *solve* (the engine: candidates and the flow),
  *write* (the proposals and the run's counts, one transaction each) — the seconds summed over the
  partitions, the CPU seconds of this process (or its workers), and the peak resident memory of a process
  during that phase (/proc/self/status VmHWM, reset before each phase); end to end, the wall clock and the
  load average (other work on the machine slows every figure); the proposals counted back in the database.

Targets (issue 14, on 2 cores): 100k × 100k end to end within 60 s and 2 GB (each night), solve within 30 s
(the one-process nights: over several processes the phases' seconds overlap); matched
quantity 100 % of the maximum flow, total cost within 0.5 % of the unpruned optimum and at least 15 % below
greedy. Each is printed as met or MISSED; any miss makes the exit status non-zero.
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
import datetime  # noqa: E402
import time  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_matching"
CITY_NAME = "基准市"
DISTRICTS, STREETS, COMMUNITIES = 10, 10, 10  # per city, per district, per street
BATCH = 5_000
TARGET_END_TO_END = 60.0  # seconds, 100k × 100k
TARGET_SOLVE = 30.0
TARGET_MEMORY_MB = 2048
TARGET_COST_OVER_OPTIMUM = 0.5  # per cent
TARGET_BELOW_GREEDY = 15.0  # per cent


# --- memory and time of one phase ---------------------------------------------------------------------------


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Phases:
    """Seconds and peak resident memory per phase name, summed (seconds) and maxed (memory) over calls."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.peak_mb: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str):
        with contextlib.suppress(OSError):  # reset the peak (Linux ≥ 4.0): this phase's own
            Path("/proc/self/clear_refs").write_text("5")
        started, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu
            peak = _status_kb("VmHWM") / 1024
            self.peak_mb[name] = max(self.peak_mb.get(name, 0.0), peak)


# --- the synthetic city in the database ------------------------------------------------------------------


def build_city(stdout) -> dict[int, int]:
    """The city's areas (once, bulk_create with treebeard's paths); the engine bench's area ids → ours."""
    from charity.models import Area

    city = Area.objects.filter(depth=1, name=CITY_NAME).first()
    if city is None:
        started = time.perf_counter()
        last_root = Area.objects.filter(depth=1).order_by("-path").first()
        root_step = (Area._str2int(last_root.path) + 1) if last_root else 1
        city_path = Area._get_path(None, 1, root_step)
        rows = [
            Area(
                name=CITY_NAME,
                level="city",
                path=city_path,
                depth=1,
                numchild=DISTRICTS,
                is_illustrative=True,
            )
        ]
        for d in range(DISTRICTS):
            d_path = Area._get_path(city_path, 2, d + 1)
            rows.append(Area(name=f"基准{d:02d}区", level="district", path=d_path, depth=2, numchild=STREETS))
            for s in range(STREETS):
                s_path = Area._get_path(d_path, 3, s + 1)
                rows.append(
                    Area(
                        name=f"基准{d:02d}区{s:02d}街道",
                        level="street",
                        path=s_path,
                        depth=3,
                        numchild=COMMUNITIES,
                    )
                )
                for c in range(COMMUNITIES):
                    rows.append(
                        Area(
                            name=f"基准{d:02d}区{s:02d}街道{c:02d}社区",
                            level="community",
                            path=Area._get_path(s_path, 4, c + 1),
                            depth=4,
                            numchild=0,
                        )
                    )
        for row in rows:
            row.is_illustrative = True
        Area.objects.bulk_create(rows, batch_size=BATCH)
        stdout.write(f"built the city: {len(rows):,} areas in {time.perf_counter() - started:.1f} s\n")
        city = Area.objects.get(path=city_path)
    ids = {a.path: a.pk for a in Area.objects.filter(path__startswith=city.path)}
    step = Area.steplen
    mapping = {1: city.pk}
    for d in range(DISTRICTS):
        d_path = city.path + Area._get_path(None, 1, d + 1)
        mapping[100 + d] = ids[d_path]
        for s in range(STREETS):
            s_path = d_path + Area._get_path(None, 1, s + 1)
            mapping[1_000 + d * STREETS + s] = ids[s_path]
            for c in range(COMMUNITIES):
                mapping[10_000 + (d * STREETS + s) * COMMUNITIES + c] = ids[
                    s_path + Area._get_path(None, 1, c + 1)
                ]
    assert len(mapping) == 1 + DISTRICTS * (1 + STREETS * (1 + COMMUNITIES)), step
    return mapping


def categories() -> dict[int, int]:
    """The engine bench's 12 categories → ours (the ten of the data migration and two more)."""
    from charity.models import Category

    for n in (11, 12):
        Category.objects.get_or_create(
            code=f"bench{n}", defaults={"name_zh": f"基准类{n}", "name_en": f"bench {n}"}
        )
    ours = list(Category.objects.order_by("sort_order", "code").values_list("pk", flat=True))[:12]
    return {i + 1: pk for i, pk in enumerate(ours)}


def fill(size: int, seed: int, areas: dict[int, int], stdout, *, keep: bool = False) -> dict:
    """Empty the registries and fill them with the engine bench's instance of `size` × `size` (with `keep`,
    reuse the rows of an earlier fill of the same size and seed: only the runs and matches are emptied)."""
    from django.db import connection
    from django.utils import timezone

    from bench.matching_engine import TODAY, build
    from charity.models import Organization
    from needs.matching import URGENCY_LEVELS
    from needs.models import Need
    from resources.models import AvailabilitySlot, Resource

    started = time.perf_counter()
    marker = f"bench {size} {seed}"
    if keep and Need.objects.filter(summary="基准需求1", description=marker).exists():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE needs_match, needs_matchrun RESTART IDENTITY CASCADE")
            cursor.execute("ANALYZE")
        stdout.write(f"  reusing {Need.objects.count():,} needs and {Resource.objects.count():,} resources\n")
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE needs_match, needs_matchrun, needs_need, resources_resource, "
            "resources_resource_categories, resources_availabilityslot RESTART IDENTITY CASCADE"
        )
    needs, resources = build(size, size, seed)
    today = timezone.localdate()
    shift = today.toordinal() - TODAY

    def day(ordinal):
        return None if ordinal is None else datetime.date.fromordinal(ordinal + shift)

    cats = categories()
    merchant, _ = Organization.objects.get_or_create(
        name="基准爱心商户",
        area_id=areas[10_000],
        defaults={"type": Organization.Type.MERCHANT, "is_illustrative": True},
    )
    now = timezone.now()
    Need.objects.bulk_create(
        (
            Need(
                community_id=areas[n.community_path[3]],
                category_id=cats[n.category_id],
                sub_kind=n.sub_kind,
                summary=f"基准需求{n.id}",
                description=marker,
                quantity=n.quantity,
                urgency=URGENCY_LEVELS[n.urgency],
                needed_by=day(n.needed_by),
                status=Need.Status.PUBLISHED,
                source=Need.Source.STAFF,
                published_at=now - datetime.timedelta(days=n.waited_days),
                is_illustrative=True,
            )
            for n in needs
            if n.category_id in cats and n.quantity >= 1  # the engine bench's broken needs cannot be stored
        ),
        batch_size=BATCH,
    )
    reach = {3: "community", 2: "street", 1: "district", 0: "city"}
    kept = [r for r in resources if r.reach_area_id in areas]
    rows = []
    for r in kept:
        start, until = day(r.available_from), day(r.available_until)
        if until is not None and until < start:
            start = until  # the table refuses a window that ends before it starts
        quantity = max(r.quantity_left, 1)
        rows.append(
            Resource(
                kind=r.kind,
                owner_organization=merchant,
                title=f"基准资源{r.id}",
                quantity=quantity,
                taken=quantity - r.quantity_left if r.quantity_left >= 0 else quantity,
                community_id=areas[r.community_path[3]],
                reach=reach[r.reach_level],
                reach_area_id=areas[r.reach_area_id],
                available_from=start,
                available_until=until,
                help_kinds=sorted(r.skill_tags),
            )
        )
    made = Resource.objects.bulk_create(rows, batch_size=BATCH)
    through = Resource.categories.through
    through.objects.bulk_create(
        (
            through(resource_id=m.pk, category_id=cats[c])
            for m, r in zip(made, kept, strict=True)
            for c in sorted(r.category_ids)
            if c in cats
        ),
        batch_size=BATCH,
    )
    AvailabilitySlot.objects.bulk_create(
        (
            AvailabilitySlot(
                resource_id=m.pk, weekday=w, start_time=datetime.time(9), end_time=datetime.time(17)
            )
            for m, r in zip(made, kept, strict=True)
            if r.kind in ("venue", "time")
            for w in range(7)
            if r.weekday_mask >> w & 1
        ),
        batch_size=BATCH,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    counts = {"needs": Need.objects.count(), "resources": Resource.objects.count()}
    stdout.write(
        f"  filled {counts['needs']:,} needs and {counts['resources']:,} resources in "
        f"{time.perf_counter() - started:.0f} s (bulk_create)\n"
    )
    return counts


# --- the measurements -------------------------------------------------------------------------------------


def pct(a, b):
    return 100.0 * a / b if b else 100.0


def quality(district_id: int, failures: list[str], label: str) -> None:
    """match against exact and greedy on one district's needs and every resource that reaches them."""
    from django.conf import settings
    from django.utils import timezone

    from charity.models import Area
    from needs import matching_run
    from needs.matching import Params, exact, greedy, match

    area = Area.objects.get(pk=district_id)
    today = timezone.localdate()
    loaded = matching_run.load_rows(matching_run.scope_of(area, matching_run.AREA), today=today)
    params = Params(today=today.toordinal(), k=settings.MATCHING_K, declined=loaded.declined)
    started = time.perf_counter()
    mine = match(loaded.needs, loaded.resources, params)
    t_mine = time.perf_counter() - started
    base = greedy(loaded.needs, loaded.resources, params)
    started = time.perf_counter()
    best = exact(loaded.needs, loaded.resources, params)
    t_best = time.perf_counter() - started
    print(
        f"  quality on {area.name} ({label}): {len(loaded.needs):,} needs × "
        f"{len(loaded.resources):,} resources"
    )
    print(
        f"    match : {mine.candidates:,} candidates → matched {mine.matched_quantity:,} of {mine.demand:,} "
        f"asked ({mine.supply:,} offered), total cost {mine.total_cost:,}, {t_mine:.1f} s"
    )
    print(
        f"    exact : {best.candidates:,} pairs (unpruned) → matched {best.matched_quantity:,}, "
        f"total cost {best.total_cost:,}, {t_best:.1f} s"
    )
    flow = pct(mine.matched_quantity, best.matched_quantity)
    over = pct(mine.total_cost, best.total_cost) - 100
    check(
        failures,
        f"{label}: matched quantity = maximum flow",
        mine.matched_quantity == best.matched_quantity,
        f"{flow:.3f} %",
    )
    check(
        failures,
        f"{label}: total cost within {TARGET_COST_OVER_OPTIMUM} % of the optimum",
        over <= TARGET_COST_OVER_OPTIMUM,
        f"{over:+.4f} %",
    )
    regret = getattr(mine, "regret", None)
    measure, ours, theirs = (
        ("regret", mine.regret, base.regret)
        if regret is not None
        else ("shortfall cost", mine.shortfall_cost, base.shortfall_cost)
    )
    below = 100 - pct(ours, theirs)
    shortfall = 100 - pct(mine.shortfall_cost, base.shortfall_cost)
    print(
        f"    greedy: matched {base.matched_quantity:,}, total cost {base.total_cost:,}; {measure} "
        f"{theirs:,} against match's {ours:,}; shortfall cost {shortfall:.2f} % below"
    )
    check(
        failures,
        f"{label}: at least {TARGET_BELOW_GREEDY:.0f} % below greedy ({measure})",
        below >= TARGET_BELOW_GREEDY,
        f"{below:.1f} % below",
    )


def check(failures: list[str], label: str, ok: bool, figure: str) -> None:
    print(f"    {'met   ' if ok else 'MISSED'} {label}: {figure}")
    if not ok:
        failures.append(f"{label}: {figure}")


def _district_in_child(job) -> tuple[int, dict, dict, dict]:
    """One district's partition in a worker process (like a Celery worker): its run id and phase figures."""
    from needs import matching_run

    night, district_id = job
    phases = Phases()
    run = matching_run.run_partition(
        night=night, area_id=district_id, partition=matching_run.DISTRICT, phase=phases
    )
    return run.pk, phases.seconds, phases.cpu, phases.peak_mb


def run_night(night: datetime.date, phases: Phases, processes: int) -> list:
    """The night as the command runs it (processes=1), or its districts spread over `processes` worker
    processes the way Celery workers take the chord's group, then the city partition."""
    import multiprocessing

    from django.db import connection

    from needs import matching_run
    from needs.models import MatchRun

    if processes <= 1:
        return matching_run.run_nightly(night=night, phase=phases)
    plan = matching_run.begin_night()
    connection.close()  # the children open their own
    runs = []
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        jobs = [(night, d) for _city, districts in plan for d in districts]
        for run_id, seconds, cpu, peak in pool.imap_unordered(_district_in_child, jobs):
            runs.append(run_id)
            for name in seconds:
                # Wall seconds of parallel partitions overlap: the phase's share of the wall clock is
                # reported end to end; here, the sum (as for one process) and the peak of any process.
                phases.seconds[name] = phases.seconds.get(name, 0.0) + seconds[name]
                phases.cpu[name] = phases.cpu.get(name, 0.0) + cpu[name]
                phases.peak_mb[name] = max(phases.peak_mb.get(name, 0.0), peak[name])
    for city_id, _districts in plan:
        runs.append(
            matching_run.run_partition(night=night, area_id=city_id, partition="city", phase=phases).pk
        )
    return list(MatchRun.objects.filter(pk__in=runs))


def nightly(label: str, failures: list[str], *, night: datetime.date, targets: bool, processes: int) -> None:
    """The night's run, partition after partition (or the districts over `processes` processes); per phase
    seconds and peak memory."""
    from django.db.models import Sum

    from needs.models import Match, MatchRun

    phases = Phases()
    started = time.perf_counter()
    cpu = time.process_time()
    runs = run_night(night, phases, processes)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    totals = MatchRun.objects.filter(pk__in=[r.pk for r in runs]).aggregate(
        needs=Sum("needs_considered"),
        resources=Sum("resources_considered"),
        candidates=Sum("candidates"),
        proposals=Sum("matches_proposed"),
        units=Sum("quantity_matched"),
        cost=Sum("total_cost"),
    )
    written = Match.objects.filter(run__in=runs).count()
    skipped = sum(r.parameters.get("skipped_total", 0) for r in runs)
    load = os.getloadavg()[0]
    print(
        f"  nightly run ({label}): {len(runs)} partitions, {wall:.1f} s end to end ({cpu:.1f} s CPU in this "
        f"process; load average {load:.1f} on {os.cpu_count()} cores)"
    )
    if processes > 1:
        print(f"    (phases summed over the {processes} processes' partitions, which overlap in time)")
    for name in ("load", "solve", "write"):
        print(
            f"    {name:5}: {phases.seconds.get(name, 0):6.1f} s ({phases.cpu.get(name, 0):5.1f} s CPU here),"
            f" peak resident {phases.peak_mb.get(name, 0):5.0f} MB"
        )
    print(
        f"    {totals['proposals']:,} matches written ({written:,} rows), {totals['units']:,} units, "
        f"total cost {totals['cost']:,}; {totals['candidates']:,} candidate pairs; {skipped} rows skipped; "
        f"statuses {sorted({r.status for r in runs})}"
    )
    if written != totals["proposals"] or any(r.status != MatchRun.Status.DONE for r in runs):
        failures.append(f"{label}: runs not all done or proposals not all written")
    if targets:
        peak = max(phases.peak_mb.values())
        check(
            failures,
            f"{label}: end to end within {TARGET_END_TO_END:.0f} s",
            wall <= TARGET_END_TO_END,
            f"{wall:.1f} s",
        )
        if processes <= 1:  # over several processes the phases' seconds overlap: their sum is not a time
            check(
                failures,
                f"{label}: solve within {TARGET_SOLVE:.0f} s",
                phases.seconds["solve"] <= TARGET_SOLVE,
                f"{phases.seconds['solve']:.1f} s",
            )
        check(
            failures,
            f"{label}: peak memory within {TARGET_MEMORY_MB} MB",
            peak <= TARGET_MEMORY_MB,
            f"{peak:.0f} MB",
        )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--fresh", action="store_true", help="Drop and rebuild the benchmark database first.")
    parser.add_argument(
        "--keep-rows",
        action="store_true",
        help="Reuse the needs and resources of an earlier run of this size.",
    )
    parser.add_argument(
        "--no-quality", action="store_true", help="Skip the comparison with exact and greedy."
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=2,
        help="A third night runs the districts over this many processes, as Celery workers do (default 2).",
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from bench.http_load import ensure_database

    ensure_database(args.database_url, args.fresh)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charity.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    with open(os.devnull, "w") as devnull:
        call_command("migrate", verbosity=0, stdout=devnull)
    areas = build_city(sys.stdout)
    failures: list[str] = []
    for size in args.sizes:
        print(f"\n{size:,} needs × {size:,} resources (seed {args.seed}; {os.cpu_count()} cores)")
        fill(size, args.seed, areas, sys.stdout, keep=args.keep_rows)
        if not args.no_quality:
            quality(areas[100], failures, f"{size // 1000}k")
        today = timezone.localdate()
        big = size >= 100_000
        label = f"{size // 1000}k"
        # The first night; the next (its unreviewed proposals expired and superseded), both in one process as
        # the command runs them; a third with the districts over --processes processes, as Celery workers
        # of that concurrency take the chord's group.
        nightly(f"{label}, first night, one process", failures, night=today, targets=big, processes=1)
        tomorrow = today + datetime.timedelta(days=1)
        nightly(f"{label}, next night, one process", failures, night=tomorrow, targets=big, processes=1)
        if args.processes > 1:
            nightly(
                f"{label}, third night, districts over {args.processes} processes",
                failures,
                night=tomorrow + datetime.timedelta(days=1),
                targets=big,
                processes=args.processes,
            )
    if failures:
        print("\nMISSED:\n  " + "\n  ".join(failures))
        return 1
    print("\nAll targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
