"""The need–resource matching engine: which resource should serve which need, and how much of it.

Pure: plain Python, numpy and OR-Tools, no Django (an import-linter contract keeps it so). The caller loads
rows (NeedRow, ResourceRow), calls match() and stores the proposals; docs/matching-engine.md tells the whole
story with the benchmark's figures.

Rows. A row that cannot be used is skipped and reported (Skipped(kind, id, reason)), never an exception:

  need      no_category (category_id not a positive int), no_quantity (< 1 or not an int), bad_sub_kind,
            bad_urgency (not 0–3), no_area (community_path not four ints), bad_waited_days, bad_needed_by,
            no_slot (weekday_mask has no day), bad_id, duplicate_id (every row of an id given twice)
  resource  bad_kind (not goods, venue, skill or time), no_category (no category), no_quantity
            (quantity_left < 1), bad_window (a date not an int), window_reversed (available_until before
            available_from), expired (available_until before today), travels_nowhere (reach_level not 0–3,
            or reach_area_id not its own community's area at that level), no_slot (a venue or time with
            weekday_mask 0), bad_id, duplicate_id

A negative waited_days counts as 0. A resource other than a venue or time is available every weekday,
whatever its weekday_mask says; skill_tags that are not sub_kinds are ignored.

Pairs. Need n and resource r may be paired when r's category_ids hold n's category; r's reach area is an
area on n's community path at r's reach level (the resource may travel that far); r is available by n's
needed-by day (available_from <= needed_by; no needed_by: any day); for a venue or time, a weekday of its
slots is one the need can use (weekday_mask & need.weekday_mask != 0); and (n, r) is not in
Params.declined. An arc carries at most min(need quantity, resource quantity_left) units.

Cost. One integer per unit, written in a mixed radix, the most important digit first:

  digit        value                                         radix
  urgency      3 - urgency (emergency 0 … routine 3)             4
  waited_days  WAIT_CAP - min(waited_days, WAIT_CAP)          366   (waiting beyond a year ranks as a year)
  distance     0 same community, 1 street, 2 district, 3 city   4   (by the area tree)
  skill_fit    0 the resource is good at the need's sub_kind    2
  expiry_days  min(available_until - today, EXPIRY_CAP)          91   (no end: EXPIRY_CAP)

Each digit is below its radix, so one step in a higher digit outweighs all the lower digits together
(cost_of() composes it; COST_RADICES lists it). Proposal.terms holds the five values (urgency and waiting as
the need's level and capped days, not the digits).

Solve. A maximum flow of least total cost (OR-Tools SimpleMinCostFlow.solve_max_flow_with_min_cost): the
most units matched, and among all ways of matching that many, the cheapest. Quantities are capacities: 20
blankets serve up to 20 households, a need for 3 volunteers takes 3 people. Because each unit's cost puts
urgency first and waiting second, an urgent need is never left short while a less urgent one receives units
of a resource the urgent one could use: moving one unit from the latter to the former keeps the flow and
lowers the cost by at least W_URGENCY - (W_URGENCY - 1), so the solution would not be optimal. The same
holds for two needs of one urgency, the one waiting longer first ("no need starves behind newer ones").
(The guarantee is about such direct swaps; a longer chain of moves could in principle trade one urgency step
for the distance of more than 366 other matches, which never happens in practice.) With pruning, "could use"
means: among the candidate pairs.

Candidates. Blocking by category × area, never every need against every resource (see _candidates.py): each
need keeps its best k resources (Params.k), walking its community, street, district and city pools in cost
order; each resource keeps its best k needs (k_resource, default k) by cost (most urgent first). Pruning can
lose flow, so the candidates are then widened until their maximum flow is provably that of every feasible
pair: after a maximum flow, the needs and resources a unit could still reach from the source form a minimum
cut; if no feasible pair crosses it from a need to a resource outside, that cut bounds every flow of the full
graph too. Each round adds crossing pairs (the needs' best, and the outside resources' spread over the needs
they reach) and solves again (OR-Tools' maximum flow). exact() skips pruning: every feasible pair.

Determinism. Rows are sorted by id; every step is deterministic; the same input (in any order) gives the
same Result, whatever `workers`.

Reasons (Proposal.reasons): codes with arguments, translated by the caller:

  same_community | same_street | same_district | same_city   {}        always one, the distance
  urgency     {"level": "soon" | "urgent" | "emergency"}                when not routine
  waited      {"days": int}                                             when it waited a day or more (capped)
  skill       {"skill": sub_kind}                                       when the resource is good at it
  expires     {"days": int}                                             when its end is within EXPIRY_CAP days

Result: proposals sorted by (need_id, cost, resource_id); skipped sorted by (kind, id, reason); candidates,
matched_quantity, total_cost (sum of quantity × cost), demand, supply, timings (seconds: prepare, candidates,
max_flow, solve, proposals), stats (counts of the widening), and two measures that compare answers matching
different quantities: shortfall_cost and regret (rows.py).

greedy() is the baseline: the same candidates, cheapest pair first, each taking all it can.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import partial

import numpy as np

from needs.matching._arrays import contains, unique
from needs.matching._candidates import Blocks, pair_terms
from needs.matching._flow import cheapest_first, max_flow_cut, min_cost_max_flow
from needs.matching._tables import build_tables, declined_keys
from needs.matching.rows import (
    COST_RADICES,
    DISTANCES,
    EXPIRY_CAP,
    SUB_KINDS,
    URGENCY_LEVELS,
    W_DISTANCE,
    W_EXPIRY,
    W_SKILL,
    W_URGENCY,
    W_WAITED,
    WAIT_CAP,
    NeedRow,
    Params,
    Proposal,
    ResourceRow,
    Result,
    Skipped,
    cost_of,
)

__all__ = [
    "COST_RADICES",
    "EXPIRY_CAP",
    "SUB_KINDS",
    "URGENCY_LEVELS",
    "WAIT_CAP",
    "NeedRow",
    "Params",
    "Proposal",
    "ResourceRow",
    "Result",
    "Skipped",
    "cost_of",
    "exact",
    "greedy",
    "match",
]

# Widening rounds: each need (or resource) across the cut takes 1, 2, 4 … up to 64 new pairs a round. It
# certifies in two to five rounds on the benchmark's cities; stats["max_flow_certified"] says whether it did.
MAX_FLOW_ROUNDS = 30
WIDEN_LIMIT = 64


def match(
    needs: Sequence[NeedRow],
    resources: Sequence[ResourceRow],
    params: Params,
    *,
    k_resource: int | None = None,
    workers: int = 1,
) -> Result:
    """Propose matches: the minimum-cost maximum flow over each need's best k resources and each resource's
    best k_resource needs (default: k), widened until its maximum flow is that of every feasible pair.
    `workers` > 1 solves independent parts of the graph in that many processes (same answer)."""
    solver = partial(min_cost_max_flow, workers=workers)
    return _run(needs, resources, params, prune=True, solver=solver, k_resource=k_resource)


def greedy(needs: Sequence[NeedRow], resources: Sequence[ResourceRow], params: Params) -> Result:
    """The baseline: the same candidates as match(), cheapest pair first, each pair taking all it can."""
    return _run(needs, resources, params, prune=True, solver=cheapest_first)


def exact(
    needs: Sequence[NeedRow], resources: Sequence[ResourceRow], params: Params, *, workers: int = 1
) -> Result:
    """The minimum-cost maximum flow over every feasible pair, unpruned (small and medium instances)."""
    return _run(needs, resources, params, prune=False, solver=partial(min_cost_max_flow, workers=workers))


def _run(needs, resources, params: Params, *, prune: bool, solver, k_resource: int | None = None) -> Result:
    if params.k < 1:
        raise ValueError("Params.k must be at least 1")
    k_resource = params.k if k_resource is None else k_resource
    timings: dict[str, float] = {}
    lap = _stopwatch(timings)
    need_t, res_t, skipped = build_tables(needs, resources, params)
    n_res = max(len(res_t), 1)
    blocks = Blocks(need_t, res_t, declined_keys(need_t, res_t, params))
    lap("prepare")

    stats: dict[str, int] = {}
    if prune:
        j1, i1 = blocks.for_needs(np.arange(len(need_t)), params.k)
        j2, i2 = blocks.for_resources(np.arange(len(res_t)), k_resource) if k_resource else (j1[:0], i1[:0])
        keys = unique(np.concatenate([j1 * n_res + i1, j2 * n_res + i2]))
        stats["candidates_pruned"] = int(keys.size)
        lap("candidates")
        keys = _widen_to_max_flow(blocks, keys, stats)
        lap("max_flow")
    else:
        j1, i1 = blocks.for_needs(np.arange(len(need_t)), None)
        keys = j1 * n_res + i1
        keys.sort()
        lap("candidates")

    j, i = np.divmod(keys, n_res)
    cost = _cost(need_t, res_t, j, i)
    flow = solver(need_t.quantity, res_t.quantity, j, i, cost)
    lap("solve")

    served = np.bincount(j, flow, minlength=len(need_t)).astype(np.int64)
    priority = W_URGENCY * need_t.urgency + W_WAITED * (need_t.waited + 1)
    unmet_cost = int(((need_t.quantity - served) * priority).sum())
    pair_cost = int((flow * (cost % W_WAITED)).sum())
    used = flow > 0
    proposals = _proposals(need_t, res_t, j[used], i[used], flow[used], cost[used])
    lap("proposals")
    return Result(
        proposals=proposals,
        skipped=skipped,
        candidates=int(keys.size),
        matched_quantity=int(flow.sum()),
        total_cost=int((flow * cost).sum()),
        timings=timings,
        demand=int(need_t.quantity.sum()),
        supply=int(res_t.quantity.sum()),
        stats=stats,
        unmet_cost=unmet_cost,
        pair_cost=pair_cost,
    )


def _widen_to_max_flow(blocks: Blocks, keys: np.ndarray, stats: dict[str, int]) -> np.ndarray:
    """Add pairs until the candidates' maximum flow is the maximum flow of every feasible pair.

    After a maximum flow, the source side S of the residual graph is a minimum cut of the candidate graph.
    It is a cut of the full graph with the same capacity, hence the full graph's maximum flow too, unless
    some feasible pair leads from a need in S to a resource outside S. Walk for such pairs — each need in S
    takes its best few among the resources outside S, and each resource outside S a few of the needs in S,
    spread so that resources sharing a pool take different needs — add them, and repeat until none is left.
    """
    need_t, res_t = blocks.needs, blocks.resources
    n_res = max(len(res_t), 1)
    stats["max_flow_rounds"] = 0
    stats["max_flow_certified"] = int(not len(need_t) or not len(res_t))
    for round_ in range(MAX_FLOW_ROUNDS if len(need_t) and len(res_t) else 0):
        j, i = np.divmod(keys, n_res)
        value, need_side, res_side = max_flow_cut(need_t.quantity, res_t.quantity, j, i)
        stats["max_flow"] = value
        stats["max_flow_rounds"] += 1
        width = min(1 << round_, WIDEN_LIMIT)
        j3, i3 = blocks.for_needs(np.flatnonzero(need_side), width, usable=~res_side, exclude=keys)
        j4, i4 = blocks.spread(np.flatnonzero(~res_side), width, usable=need_side, exclude=keys)
        extra = unique(np.concatenate([j3 * n_res + i3, j4 * n_res + i4]))
        extra = extra[~contains(keys, extra)]
        if not extra.size:
            stats["max_flow_certified"] = 1
            break
        keys = unique(np.concatenate([keys, extra]))
    stats["candidates_added"] = int(keys.size) - stats["candidates_pruned"]
    return keys


def _stopwatch(timings: dict[str, float]):
    """Return lap(name): record the seconds since the previous lap (or since now) under name."""
    last = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        timings[name] = now - last[0]
        last[0] = now

    return lap


def _cost(need_t, res_t, j, i) -> np.ndarray:
    t = pair_terms(need_t, res_t, j, i)
    return (
        W_URGENCY * (3 - t["urgency"])
        + W_WAITED * (WAIT_CAP - t["waited_days"])
        + W_DISTANCE * t["distance"]
        + W_SKILL * t["skill_fit"]
        + W_EXPIRY * t["expiry_days"]
    )


def _proposals(need_t, res_t, j, i, flow, cost) -> list[Proposal]:
    order = np.lexsort((res_t.id[i], cost, need_t.id[j]))
    j, i, flow, cost = j[order], i[order], flow[order], cost[order]
    terms = pair_terms(need_t, res_t, j, i)
    out = []
    for nid, rid, q, c, urgency, waited, distance, skill_fit, expiry, expires, sub in zip(
        need_t.id[j].tolist(),
        res_t.id[i].tolist(),
        flow.tolist(),
        cost.tolist(),
        terms["urgency"].tolist(),
        terms["waited_days"].tolist(),
        terms["distance"].tolist(),
        terms["skill_fit"].tolist(),
        terms["expiry_days"].tolist(),
        res_t.expires[i].tolist(),
        need_t.sub[j].tolist(),
        strict=True,
    ):
        reasons: list[tuple[str, dict]] = [(DISTANCES[distance], {})]
        if urgency:
            reasons.append(("urgency", {"level": URGENCY_LEVELS[urgency]}))
        if waited:
            reasons.append(("waited", {"days": waited}))
        if not skill_fit:
            reasons.append(("skill", {"skill": SUB_KINDS[sub]}))
        if expires:
            reasons.append(("expires", {"days": expiry}))
        values = {
            "urgency": urgency,
            "waited_days": waited,
            "distance": distance,
            "skill_fit": skill_fit,
            "expiry_days": expiry,
        }
        out.append(Proposal(nid, rid, q, c, values, tuple(reasons)))
    return out
