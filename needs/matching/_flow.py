"""The solvers over a candidate graph: OR-Tools' minimum-cost maximum flow, and the greedy baseline."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from ortools.graph.python import max_flow, min_cost_flow

from needs.matching._arrays import unique_inverse


class SolverError(RuntimeError):
    """OR-Tools did not return an optimal flow (it should never happen on a well-formed graph)."""


BATCH_ARCS = 100_000


def min_cost_max_flow(need_qty, res_qty, j, i, cost, workers: int = 1) -> np.ndarray:
    """Return the flow on each arc (j[a] → i[a]) of a maximum flow of least total cost.

    need_qty[j] units leave need j at most, res_qty[i] units reach resource i at most; an arc carries at
    most min of the two. The connected components of the graph are independent: they are solved in
    batches of about BATCH_ARCS arcs (cost scaling's work grows faster than the graph), in `workers`
    processes when there are several batches. The batches do not depend on `workers`, nor the answer.
    """
    flow = np.zeros(j.size, dtype=np.int64)
    if not j.size:
        return flow
    label = components(need_qty.size, j, i)
    order = np.argsort(label, kind="stable")
    bounds = np.flatnonzero(np.diff(label[order])) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [j.size]])
    batches = []
    at = 0
    while at < starts.size:
        # Whole components, up to about BATCH_ARCS arcs (a larger component alone).
        stop = max(int(np.searchsorted(ends, starts[at] + BATCH_ARCS, side="right")), at + 1)
        batches.append(order[starts[at] : ends[stop - 1]])
        at = stop
    jobs = [(need_qty, res_qty, j[arcs], i[arcs], cost[arcs]) for arcs in batches]
    if workers > 1 and len(batches) > 1 and not multiprocessing.current_process().daemon:
        # OR-Tools holds the GIL while it solves: processes, not threads. "spawn" is safe in a parent that
        # runs threads (a web or task worker); the largest batches go first.
        biggest_first = sorted(range(len(jobs)), key=lambda b: -batches[b].size)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            done = dict(
                zip(biggest_first, pool.map(_solve_job, [jobs[b] for b in biggest_first]), strict=True)
            )
        results = [done[b] for b in range(len(jobs))]
    else:
        results = [_solve_job(job) for job in jobs]
    for arcs, result in zip(batches, results, strict=True):
        flow[arcs] = result
    return flow


def _solve_job(job) -> np.ndarray:
    return _solve(*job)


def _solve(need_qty, res_qty, j, i, cost) -> np.ndarray:
    if not j.size:
        return np.zeros(0, dtype=np.int64)
    needs_used, tails = unique_inverse(j)
    res_used, heads = unique_inverse(i)
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32),
        (heads + needs_used.size).astype(np.int32),
        np.minimum(need_qty[j], res_qty[i]).astype(np.int64),
        cost.astype(np.int64),
    )
    supplies = np.concatenate([need_qty[needs_used], -res_qty[res_used]]).astype(np.int64)
    solver.set_nodes_supplies(np.arange(supplies.size, dtype=np.int32), supplies)
    status = solver.solve_max_flow_with_min_cost()
    if status != solver.OPTIMAL:
        raise SolverError(f"min-cost flow status {status}")
    return np.asarray(solver.flows(np.arange(j.size, dtype=np.int32)), dtype=np.int64)


def cheapest_first(need_qty, res_qty, j, i, cost) -> np.ndarray:
    """Return the flow of the greedy baseline: cheapest arc first (ties by need, then resource), each taking
    all it can."""
    flow = np.zeros(j.size, dtype=np.int64)
    need_left = need_qty.tolist()
    res_left = res_qty.tolist()
    order = np.lexsort((i, j, cost))
    jj, ii = j.tolist(), i.tolist()
    for a in order.tolist():
        n, r = jj[a], ii[a]
        q = min(need_left[n], res_left[r])
        if q:
            flow[a] = q
            need_left[n] -= q
            res_left[r] -= q
    return flow


def max_flow_cut(need_qty, res_qty, j, i) -> tuple[int, np.ndarray, np.ndarray]:
    """Return the maximum flow of the candidate graph and its source side after the flow: which needs and
    which resources a unit could still reach from the source. (OR-Tools' push-relabel maximum flow.)"""
    n, r = need_qty.size, res_qty.size
    source, sink = n + r, n + r + 1
    solver = max_flow.SimpleMaxFlow()
    solver.add_arcs_with_capacity(
        np.concatenate([np.full(n, source), j, n + np.arange(r)]).astype(np.int32),
        np.concatenate([np.arange(n), n + i, np.full(r, sink)]).astype(np.int32),
        np.concatenate([need_qty, np.minimum(need_qty[j], res_qty[i]), res_qty]).astype(np.int64),
    )
    if solver.solve(source, sink) != solver.OPTIMAL:
        raise SolverError("maximum flow failed")
    side = np.zeros(n + r + 2, dtype=bool)
    side[np.asarray(solver.get_source_side_min_cut(), dtype=np.int64)] = True
    return int(solver.optimal_flow()), side[:n], side[n : n + r]


def components(n_needs: int, j: np.ndarray, i: np.ndarray) -> np.ndarray:
    """Label each arc with the connected component of the candidate graph it belongs to (the smallest need
    index in it): components share no need and no resource, so each is solved on its own."""
    n_nodes = n_needs + (int(i.max()) + 1 if i.size else 0)
    label = np.arange(n_nodes)
    u, v = j, i + n_needs
    while True:
        low = np.minimum(label[u], label[v])
        new = label.copy()
        np.minimum.at(new, u, low)
        np.minimum.at(new, v, low)
        new = new[new]  # pointer jumping: follow a label to its own label
        if np.array_equal(new, label):
            return label[u]
        label = new
