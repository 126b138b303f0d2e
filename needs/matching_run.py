"""The matching run: read the open needs and the resources from the database, let the engine (needs.matching,
pure: rows in, proposals out) choose, and write its proposals as `Match` rows with one `MatchRun` per
partition. docs/matching.md explains the rules; the Celery tasks (needs/tasks.py), the command
(`manage.py run_matching`) and the admin's "start a run" all call the functions here.

**Partitions.** The nightly run of a city is split so that it spreads across workers and no unit is ever
proposed twice:

- one *district* partition per child of the city (its districts): the resources whose reach area lies
  within that district (they may travel their own community, street or the district) against the
  district's needs. Such a resource can serve nothing outside its district, so the districts share nothing
  and run at the same time (a Celery group);
- then one *city* partition (the chord's callback, once every district is done): the resources that may
  travel the whole city against the needs still wanting something after the districts' proposals.

A resource's reach area is either the city or lies in exactly one district, so each resource is in exactly
one partition, and a city-wide unit is only ever offered by the city partition. A staff member's (or the
command line's) run for one *area* takes the area's needs and every resource that can reach them: those
within the area and those whose reach area is one of its ancestors.

**Quantities.** A need still wants `quantity` (or 1) less what its accepted and fulfilled matches hold and
what the runs of the same set (tonight's other partitions) proposed. Proposals of earlier runs for the
partition's needs that nobody reviewed are superseded: the write deletes them in the transaction that writes
the new ones (an unreviewed proposal carries nothing a newer one doesn't, and an UPDATE of 100,000 rows took
longer than the night allows; the old run keeps its counts). Reviewed matches are never deleted. A
resource offers `quantity - taken` less what is proposed for it that this run will not supersede: by the
same set, or for needs outside the partition (an area run's resource that also reaches other areas).

**Once per night.** A nightly partition's `MatchRun` is unique for (night, area, partition). A task finds
it done and returns; finds it running (a worker died, or a second delivery is running it) and does it again.
The proposals are computed first and then written, with the run marked done, in one transaction that first
locks the run's row and re-checks it: a second delivery finishing later finds the run done and writes
nothing; a worker killed mid-write leaves nothing written. Runs for overlapping areas (the same area, an
ancestor or a descendant) never run at once: starting one locks the city's row and looks for the others.
"""

from __future__ import annotations

import datetime
import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from charity.errors import ConflictError, NotFoundError
from charity.models import Area, AuditAction
from charity.services import Actor, record_audit, require_staff
from resources.models import AvailabilitySlot, Resource

from . import matches
from .matching import NeedRow, Params, Proposal, ResourceRow, Result, match
from .models import Match, MatchRun, Need

log = logging.getLogger(__name__)

DISTRICT = "district"
CITY = "city"
AREA = "area"
PARTITIONS = (DISTRICT, CITY, AREA)

# Kinds that take part. Money pledges do not: money moves only through proposals and the fund (Charity Law
# art. 54 and the fund rules). Tools are lent by the tool library and exchange items go first come, first
# served: each has its own queue. Volunteers' offered time and skills are resources of kinds time and skill.
KINDS = (Resource.Kind.GOODS, Resource.Kind.VENUE, Resource.Kind.SKILL, Resource.Kind.TIME)
SLOTTED = tuple(Resource.SLOTTED_KINDS)
URGENCY = {value: level for level, value in enumerate(Need.Urgency.values)}
ALL_DAYS = 0b1111111
WRITE_BATCH = 2000
# A run keeps the first rows it skipped in its `skipped` list, and the count of the rest.
SKIPPED_KEPT = 1000


class RunBusy(ConflictError):
    """Another run for an overlapping area is under way."""

    code = "run_in_progress"


# --- the area tree of one city -------------------------------------------------------------------------


@dataclass
class AreaTree:
    """The areas of one city, from one query: ids by path, and the four-level path of each community."""

    root_id: int
    root_path: str
    id_of: dict[str, int]
    path_of: dict[int, str]
    _paths: dict[int, tuple[int, int, int, int] | None] = field(default_factory=dict)

    @classmethod
    def of(cls, area: Area) -> AreaTree:
        root_path = area.path[: Area.steplen]
        rows = list(Area.objects.filter(path__startswith=root_path).order_by().values_list("id", "path"))
        id_of = {path: pk for pk, path in rows}
        return cls(root_id=id_of[root_path], root_path=root_path, id_of=id_of, path_of=dict(rows))

    def under(self, path: str) -> list[int]:
        """The ids of the area at `path` and of every area below it."""
        return [pk for p, pk in self.id_of.items() if p.startswith(path)]

    def ancestors(self, path: str) -> list[int]:
        step = Area.steplen
        return [self.id_of[path[:i]] for i in range(step, len(path), step) if path[:i] in self.id_of]

    def community_path(self, community_id: int) -> tuple[int, int, int, int] | None:
        """(city, district, street, community) ids. A community hung higher up (a tree without streets)
        gets a stand-in id of its own for each missing level, so it counts as nobody else's street."""
        if community_id in self._paths:
            return self._paths[community_id]
        path = self.path_of.get(community_id)
        found = None
        if path is not None:
            step = Area.steplen
            chain = [self.id_of[path[:i]] for i in range(step, len(path) + 1, step)]
            if len(chain) == 4:
                found = tuple(chain)
            elif len(chain) in (2, 3):
                upper = chain[:-1] + [-(community_id * 4 + level) for level in range(len(chain) - 1, 3)]
                found = (*upper, community_id)
        self._paths[community_id] = found
        return found


@dataclass(frozen=True)
class Scope:
    """What one partition reads: the needs of `need_areas`, the resources whose reach area is in
    `reach_areas`."""

    area: Area
    partition: str
    tree: AreaTree
    need_areas: list[int]
    reach_areas: list[int]


def scope_of(area: Area, partition: str, tree: AreaTree | None = None) -> Scope:
    tree = tree or AreaTree.of(area)
    under = tree.under(area.path)
    if partition == DISTRICT:
        reach = under
    elif partition == CITY:
        reach = [tree.root_id]
    else:
        reach = under + tree.ancestors(area.path)
    return Scope(area=area, partition=partition, tree=tree, need_areas=under, reach_areas=reach)


# --- loading the rows ----------------------------------------------------------------------------------


@dataclass
class Pending:
    """Units a dry run has proposed in earlier partitions, which a real run would have written."""

    needs: Counter = field(default_factory=Counter)
    resources: Counter = field(default_factory=Counter)

    def add(self, proposals: Iterable[Proposal]) -> None:
        for p in proposals:
            self.needs[p.need_id] += p.quantity
            self.resources[p.resource_id] += p.quantity


@dataclass
class Loaded:
    needs: list[NeedRow]
    resources: list[ResourceRow]
    declined: frozenset[tuple[int, int]]
    covered: int = 0  # published needs whose whole quantity is already matched or proposed


# What a match takes of its need: all of it while proposed or accepted, what was delivered once fulfilled (as
# needs.matches counts it).
_GIVEN = Case(
    When(status=Match.Status.FULFILLED, then=Coalesce("fulfilled_quantity", Value(0))),
    default=F("quantity"),
    output_field=IntegerField(),
)


def _eligible_resources(scope: Scope) -> QuerySet:
    return (
        Resource.objects.filter(
            status=Resource.Status.AVAILABLE, kind__in=KINDS, reach_area_id__in=scope.reach_areas
        )
        .exclude(for_exchange=True)
        .order_by()
    )


def _ordinal(day: datetime.date | None) -> int | None:
    return None if day is None else day.toordinal()


def load_rows(
    scope: Scope,
    *,
    today: datetime.date,
    run_id: int | None = None,
    current_runs: QuerySet | list[int] = (),
    pending: Pending | None = None,
) -> Loaded:
    """Read the rows of `scope` for the engine, in a fixed number of queries however many rows.

    `run_id` is the run being computed (its own proposals do not count), `current_runs` the runs of the same
    set (their proposals stand), `pending` what a dry run proposed in the partitions before this one.
    """
    pending = pending or Pending()
    current = list(current_runs) if isinstance(current_runs, list | tuple) else current_runs
    resources = _eligible_resources(scope)
    resource_rows = list(
        resources.values_list(
            "id",
            "kind",
            "community_id",
            "reach_area_id",
            "available_from",
            "available_until",
            "quantity",
            "taken",
            "help_kinds",
        )
    )
    if not resource_rows:
        # Nothing to give: the needs are not read (an area with no resources, a city with no city-wide one).
        return Loaded(needs=[], resources=[], declined=frozenset())

    categories: dict[int, set[int]] = defaultdict(set)
    for resource_id, category_id in Resource.categories.through.objects.filter(
        resource__in=resources.values("id")
    ).values_list("resource_id", "category_id"):
        categories[resource_id].add(category_id)
    weekdays: dict[int, int] = defaultdict(int)
    for resource_id, weekday in AvailabilitySlot.objects.filter(
        resource__in=resources.filter(kind__in=SLOTTED).values("id")
    ).values_list("resource_id", "weekday"):
        weekdays[resource_id] |= 1 << weekday
    if scope.partition == AREA:
        proposed = Match.objects.filter(
            Q(run_id__in=current) | ~Q(need__community_id__in=scope.need_areas),
            status=Match.Status.PROPOSED,
            resource__in=resources.values("id"),
        )
    else:
        # A district's resources reach only its own needs, the city partition's needs are the whole city:
        # every earlier proposal of a nightly partition's resources is for a need it supersedes, and only
        # the night's own proposals stand. Summed over the night's runs alone, without joining resources:
        # the planner, misled by a table that has just grown by 100,000 rows, looked each one up.
        proposed = Match.objects.filter(status=Match.Status.PROPOSED, run_id__in=current)
    if run_id is not None:
        proposed = proposed.exclude(run_id=run_id)
    reserved = dict(proposed.order_by().values_list("resource_id").annotate(q=Sum("quantity")))

    tree = scope.tree
    res_out = []
    for rid, kind, cid, reach_id, start, end, quantity, taken, help_kinds in resource_rows:
        path = tree.community_path(cid)
        level = path.index(reach_id) if path is not None and reach_id in path else -1
        res_out.append(
            ResourceRow(
                id=rid,
                kind=kind,
                category_ids=frozenset(categories.get(rid, ())),
                reach_area_id=reach_id,
                reach_level=level,
                community_path=path,
                available_from=start.toordinal(),
                available_until=_ordinal(end),
                weekday_mask=weekdays.get(rid, 0) if kind in SLOTTED else ALL_DAYS,
                skill_tags=frozenset(help_kinds) if isinstance(help_kinds, list) else frozenset(),
                quantity_left=quantity - taken - reserved.get(rid, 0) - pending.resources[rid],
            )
        )

    needs = Need.objects.filter(status=Need.Status.PUBLISHED, community_id__in=scope.need_areas).order_by()
    given = Match.objects.filter(need__in=needs.values("id")).filter(
        Q(status__in=[Match.Status.ACCEPTED, Match.Status.FULFILLED])
        | Q(status=Match.Status.PROPOSED, run_id__in=current)
    )
    if run_id is not None:
        given = given.exclude(run_id=run_id)
    given_to = dict(given.order_by().values_list("need_id").annotate(q=Sum(_GIVEN)))
    declined = frozenset(
        Match.objects.filter(status=Match.Status.DECLINED, need__in=needs.values("id"))
        .order_by()
        .values_list("need_id", "resource_id")
    )
    today_n = today.toordinal()
    need_out, covered = [], 0
    # The Shanghai day it was published, from the database: parsing 100,000 timestamps in Python took seconds.
    since_day = TruncDate(Coalesce("published_at", "created_at"), tzinfo=timezone.get_current_timezone())
    for nid, cat, sub, cid, urgency, since, needed_by, quantity in needs.annotate(
        since=since_day
    ).values_list(
        "id",
        "category_id",
        "sub_kind",
        "community_id",
        "urgency",
        "since",
        "needed_by",
        "quantity",
    ):
        wanted = (quantity or 1) - given_to.get(nid, 0) - pending.needs[nid]
        if wanted <= 0:
            covered += 1
            continue
        since = since.toordinal()
        need_out.append(
            NeedRow(
                id=nid,
                category_id=cat,
                sub_kind=sub,
                community_path=tree.community_path(cid),
                urgency=URGENCY.get(urgency, -1),
                waited_days=max(0, today_n - since),
                needed_by=_ordinal(needed_by),
                quantity=wanted,
            )
        )
    return Loaded(needs=need_out, resources=res_out, declined=declined, covered=covered)


# --- one partition: load, solve, write -----------------------------------------------------------------

Phase = Callable[[str], AbstractContextManager]


def _no_phase(name: str) -> AbstractContextManager:
    return nullcontext()


@dataclass
class Outcome:
    """What one partition did (or, in a dry run, would do)."""

    area: Area
    partition: str
    result: Result
    loaded: Loaded
    timings: dict[str, float]
    run: MatchRun | None = None
    written: bool = False  # False: a dry run, or another delivery had already written this partition


def compute(
    scope: Scope,
    *,
    today: datetime.date,
    run_id: int | None = None,
    current_runs: QuerySet | list[int] = (),
    pending: Pending | None = None,
    phase: Phase = _no_phase,
) -> tuple[Loaded, Result, dict[str, float]]:
    """Load the rows of `scope` and solve; writes nothing."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with phase("load"):
        loaded = load_rows(scope, today=today, run_id=run_id, current_runs=current_runs, pending=pending)
    timings["load"] = time.perf_counter() - started
    started = time.perf_counter()
    with phase("solve"):
        result = match(
            loaded.needs,
            loaded.resources,
            Params(today=today.toordinal(), k=settings.MATCHING_K, declined=loaded.declined),
        )
    timings["solve"] = time.perf_counter() - started
    for name, seconds in result.timings.items():
        timings[f"engine_{name}"] = seconds
    return loaded, result, timings


def _skipped_list(result: Result) -> list[dict]:
    rows = [{"kind": s.kind, "id": s.id, "reason": s.reason} for s in result.skipped[:SKIPPED_KEPT]]
    if len(result.skipped) > SKIPPED_KEPT:
        rows.append(
            {"kind": "more", "id": None, "reason": "more", "count": len(result.skipped) - SKIPPED_KEPT}
        )
    return rows


_MATCH_COLUMNS = (
    "run_id",
    "need_id",
    "resource_id",
    "quantity",
    "cost",
    "cost_terms",
    "reasons",
    "status",
    "decline_reason",
    "created_at",
    "updated_at",
)


def _insert_matches(run_id: int, proposals: list[Proposal], now: datetime.datetime) -> None:
    """Insert the proposals as Match rows. PostgreSQL: one COPY (100,000 rows in seconds, where bulk_create
    spent most of a minute building its statement); elsewhere bulk_create in batches. Caller is atomic."""
    if connection.vendor != "postgresql":
        Match.objects.bulk_create(
            (
                Match(
                    run_id=run_id,
                    need_id=p.need_id,
                    resource_id=p.resource_id,
                    quantity=p.quantity,
                    cost=p.cost,
                    cost_terms=dict(p.terms),
                    reasons=[[code, dict(args)] for code, args in p.reasons],
                )
                for p in proposals
            ),
            batch_size=WRITE_BATCH,
        )
        return
    table = connection.ops.quote_name(Match._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _MATCH_COLUMNS)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for p in proposals:
            copy.write_row(
                (
                    run_id,
                    p.need_id,
                    p.resource_id,
                    p.quantity,
                    p.cost,
                    dumps(p.terms),
                    dumps([[code, args] for code, args in p.reasons]),
                    Match.Status.PROPOSED.value,
                    "",
                    now,
                    now,
                )
            )


def _write(run: MatchRun, scope: Scope, loaded: Loaded, result: Result, timings: dict, current_runs) -> bool:
    """Write the proposals and mark the run done, all in one transaction; False when already done."""
    started = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        locked = MatchRun.objects.select_for_update().filter(pk=run.pk).first()
        if locked is None or locked.status == MatchRun.Status.DONE:
            return False  # another delivery of the same task wrote it first
        # Nothing of this run can have been written (proposals and "done" commit together); a safety net.
        Match.objects.filter(run_id=run.pk, status=Match.Status.PROPOSED).delete()
        # Earlier runs' unreviewed proposals for these needs give way to tonight's: deleted, not expired.
        # Nobody acted on them, so they hold nothing a newer proposal doesn't (declined, accepted, fulfilled
        # and expired matches are another status and stay); their runs keep their counts. Expiring them was
        # an UPDATE of every row, 11-14 s of a 60 s night at 100,000 on PostgreSQL. Match has no dependent
        # rows, so the queryset delete is one DELETE.
        Match.objects.filter(status=Match.Status.PROPOSED, need__community_id__in=scope.need_areas).exclude(
            run_id__in=current_runs
        ).exclude(run_id=run.pk).order_by().delete()
        _insert_matches(run.pk, result.proposals, now)
        timings["write"] = time.perf_counter() - started
        locked.status = MatchRun.Status.DONE
        locked.finished_at = timezone.now()
        locked.error = ""
        locked.needs_considered = len(loaded.needs)
        locked.resources_considered = len(loaded.resources)
        locked.candidates = result.candidates
        locked.matches_proposed = len(result.proposals)
        locked.quantity_matched = result.matched_quantity
        locked.total_cost = result.total_cost
        locked.skipped = _skipped_list(result)
        locked.timings = {k: round(v, 3) for k, v in timings.items()}
        locked.parameters = {
            **locked.parameters,
            "needs_covered": loaded.covered,
            "demand": result.demand,
            "supply": result.supply,
            "skipped_total": len(result.skipped),
        }
        locked.save(
            update_fields=[
                "status",
                "finished_at",
                "error",
                "needs_considered",
                "resources_considered",
                "candidates",
                "matches_proposed",
                "quantity_matched",
                "total_cost",
                "skipped",
                "timings",
                "parameters",
            ]
        )
    run.refresh_from_db()
    return True


def _current_runs(run: MatchRun):
    """The runs whose proposals stand beside this one's: tonight's nightly partitions, or itself."""
    if run.trigger == MatchRun.Trigger.NIGHTLY:
        return MatchRun.objects.filter(
            night=run.night, trigger=MatchRun.Trigger.NIGHTLY, dry_run=False
        ).values("id")
    return [run.pk]


def execute(run: MatchRun, *, phase: Phase = _no_phase) -> Outcome:
    """Compute and write one claimed run (status running); on an error it is marked failed and re-raised."""
    area = Area.objects.get(pk=run.area_id)
    scope = scope_of(area, run.partition)
    current = _current_runs(run)
    try:
        if run.partition == AREA:
            # Proposals whose need or resource changed since are expired first (needs.matches owns the
            # rule); a night does it once for all its partitions (begin_night).
            matches.expire_stale_matches()
        loaded, result, timings = compute(
            scope, today=run.night, run_id=run.pk, current_runs=current, phase=phase
        )
        with phase("write"):
            written = _write(run, scope, loaded, result, timings, current)
    except Exception as exc:
        MatchRun.objects.filter(pk=run.pk).exclude(status=MatchRun.Status.DONE).update(
            status=MatchRun.Status.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        raise
    log.info(
        "matching %s %s (%s): %d proposals, %d units, %d skipped%s",
        run.partition,
        area.pk,
        run.night,
        len(result.proposals),
        result.matched_quantity,
        len(result.skipped),
        "" if written else " — already written by another delivery",
    )
    return Outcome(
        area=area,
        partition=run.partition,
        result=result,
        loaded=loaded,
        timings=timings,
        run=run,
        written=written,
    )


# --- who may run when ----------------------------------------------------------------------------------


def _lock_city(area: Area) -> None:
    """Serialise run starts within one city: two starts at once cannot both see no other run."""
    list(Area.objects.select_for_update().filter(path=area.path[: Area.steplen]).values_list("id"))


def _busy_run(area: Area, *, exclude: int | None = None) -> MatchRun | None:
    """A live run for `area`, an ancestor or a descendant. Caller holds the city lock.

    A run still "running" after MATCHING_STALE_MINUTES is taken for one whose process died: it is marked
    failed and stands in nobody's way (a nightly partition's next delivery does it again)."""
    overlap = Q(area__path__startswith=area.path) | Q(
        area__path__in=[area.path[:i] for i in range(Area.steplen, len(area.path), Area.steplen)]
    )
    running = MatchRun.objects.filter(overlap, status=MatchRun.Status.RUNNING, dry_run=False)
    if exclude is not None:
        running = running.exclude(pk=exclude)
    stale_before = timezone.now() - datetime.timedelta(minutes=settings.MATCHING_STALE_MINUTES)
    running.filter(started_at__lt=stale_before).update(
        status=MatchRun.Status.FAILED,
        finished_at=timezone.now(),
        error=f"no news for {settings.MATCHING_STALE_MINUTES} minutes: taken for a run whose process died",
    )
    return running.filter(started_at__gte=stale_before).select_related("area").order_by("started_at").first()


def _busy_message(busy: MatchRun):
    return _(
        "A matching run for %(area)s is already under way (started %(time)s): wait until it has finished, "
        "then start again."
    ) % {
        "area": busy.area.name,
        "time": formats.date_format(timezone.localtime(busy.started_at), "SHORT_DATETIME_FORMAT"),
    }


def _parameters(partition: str, night: datetime.date) -> dict:
    return {"k": settings.MATCHING_K, "today": night.isoformat(), "partition": partition, "attempts": 1}


def claim_nightly(*, night: datetime.date, area: Area, partition: str) -> tuple[MatchRun, bool]:
    """Get or create the nightly run of (night, area, partition); True when the caller should do it.

    False: it is done already (a second delivery). Raises RunBusy while a run for an overlapping area is
    under way (the task tries again later)."""
    if partition not in (DISTRICT, CITY):
        raise ValueError(f"not a nightly partition: {partition!r}")
    with transaction.atomic():
        _lock_city(area)
        run, created = MatchRun.objects.get_or_create(
            night=night,
            area=area,
            partition=partition,
            trigger=MatchRun.Trigger.NIGHTLY,
            dry_run=False,
            defaults={"parameters": _parameters(partition, night)},
        )
        if run.status == MatchRun.Status.DONE:
            return run, False
        busy = _busy_run(area, exclude=run.pk)
        if busy is not None:
            raise RunBusy(_busy_message(busy))
        if not created:
            # A worker died in it, or another delivery is at it: do it again; the write decides who counts.
            # Compare-and-set: a delivery that has just written it (and marked it done) is not undone.
            parameters = {**run.parameters, "attempts": run.parameters.get("attempts", 1) + 1}
            again = (
                MatchRun.objects.filter(pk=run.pk)
                .exclude(status=MatchRun.Status.DONE)
                .update(
                    status=MatchRun.Status.RUNNING,
                    started_at=timezone.now(),
                    finished_at=None,
                    error="",
                    parameters=parameters,
                )
            )
            if not again:
                return run, False
            run.refresh_from_db()
    return run, True


def run_partition(
    *, night: datetime.date, area_id: int, partition: str, phase: Phase = _no_phase
) -> MatchRun | None:
    """Run one partition of the nightly run for `night` (the Celery task's body); once, however often called.

    Returns its MatchRun (done), or None when the area no longer exists. Raises RunBusy (try later)."""
    area = Area.objects.filter(pk=area_id).first()
    if area is None:
        log.warning("matching: area %s no longer exists; partition %s skipped", area_id, partition)
        return None
    run, todo = claim_nightly(night=night, area=area, partition=partition)
    if todo:
        execute(run, phase=phase)
        run.refresh_from_db()
    return run


def nightly_plan() -> list[tuple[int, list[int]]]:
    """(city id, ids of its children) for every city: the partitions of a nightly run, in a fixed order."""
    step = Area.steplen
    rows = list(Area.objects.filter(depth__lte=2).order_by("path").values_list("id", "path", "depth"))
    cities = {path: pk for pk, path, depth in rows if depth == 1}
    children: dict[int, list[int]] = {pk: [] for pk in cities.values()}
    for pk, path, depth in rows:
        if depth == 2 and path[:step] in cities:
            children[cities[path[:step]]].append(pk)
    return [(city, children[city]) for city in cities.values()]


def begin_night() -> list[tuple[int, list[int]]]:
    """Expire the proposals whose need or resource changed (once a night, before any partition) and return
    the night's partitions (nightly_plan)."""
    matches.expire_stale_matches()
    return nightly_plan()


def run_nightly(*, night: datetime.date, phase: Phase = _no_phase) -> list[MatchRun]:
    """The whole nightly run in this process, partition after partition (the command, without a broker)."""
    runs = []
    for city_id, districts in begin_night():
        for district_id in districts:
            runs.append(run_partition(night=night, area_id=district_id, partition=DISTRICT, phase=phase))
        runs.append(run_partition(night=night, area_id=city_id, partition=CITY, phase=phase))
    return [r for r in runs if r is not None]


def dry_run(*, area: Area | None = None, night: datetime.date | None = None) -> list[Outcome]:
    """What a run would propose now — the nightly run's partitions, or one area's run — writing nothing."""
    night = night or timezone.localdate()
    outcomes = []
    if area is not None:
        scope = scope_of(area, AREA)
        loaded, result, timings = compute(scope, today=night)
        return [Outcome(area=area, partition=AREA, result=result, loaded=loaded, timings=timings)]
    pending = Pending()
    areas = Area.objects.in_bulk([pk for city, districts in nightly_plan() for pk in [*districts, city]])
    for city_id, districts in nightly_plan():
        tree = AreaTree.of(areas[city_id])
        for pk, partition in [*((d, DISTRICT) for d in districts), (city_id, CITY)]:
            scope = scope_of(areas[pk], partition, tree)
            loaded, result, timings = compute(scope, today=night, pending=pending)
            pending.add(result.proposals)
            outcomes.append(
                Outcome(area=areas[pk], partition=partition, result=result, loaded=loaded, timings=timings)
            )
    return outcomes


# --- a run for one area --------------------------------------------------------------------------------


def start_area_run(*, area: Area, actor: Actor, trigger: str = MatchRun.Trigger.STAFF) -> MatchRun:
    """Record a run for `area` (status running), refused while a run for an overlapping area is under way.

    Staff of the area (or the system, for the command line). The caller then has it executed: the admin
    through the Celery task `needs.tasks.run_area_matching`, the command in its own process.
    Raises NotFoundError, ForbiddenError, RunBusy."""
    fresh = Area.objects.filter(pk=area.pk).first()
    if fresh is None:
        raise NotFoundError()
    require_staff(actor, fresh)
    night = timezone.localdate()
    with transaction.atomic():
        _lock_city(fresh)
        busy = _busy_run(fresh)
        if busy is not None:
            raise RunBusy(_busy_message(busy))
        run = MatchRun.objects.create(
            night=night,
            area=fresh,
            partition=AREA,
            trigger=trigger,
            started_by=actor.user,
            parameters=_parameters(AREA, night),
        )
        record_audit(
            actor=actor,
            action=AuditAction.MATCH_RUN_STARTED,
            obj=run,
            area=fresh,
            summary=fresh.name,
            data={"run": run.pk, "trigger": trigger},
        )
    return run


def execute_area_run(run_id: int, *, phase: Phase = _no_phase) -> MatchRun | None:
    """Do a recorded area run (the Celery task's body). A second call for a done run does nothing; a run that
    failed stays failed (staff start another)."""
    run = MatchRun.objects.filter(pk=run_id, partition=AREA).first()
    if run is None or run.status != MatchRun.Status.RUNNING:
        return run
    execute(run, phase=phase)
    run.refresh_from_db()
    return run
