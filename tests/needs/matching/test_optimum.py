"""The engine's answer is the optimum: the maximum flow, at the least total cost, within every capacity."""

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from needs.matching import NeedRow, Params, ResourceRow, exact, greedy, match
from tests.needs.matching.reference import (
    PATHS,
    TODAY,
    brute_force,
    cost,
    feasible,
    needs_rows,
    resource_rows,
)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_within_capacities(result, needs, resources, params):
    by_need = {n.id: n for n in needs}
    by_res = {r.id: r for r in resources}
    given_to = Counter()
    taken_from = Counter()
    for p in result.proposals:
        need, res = by_need[p.need_id], by_res[p.resource_id]
        assert feasible(need, res, params)
        assert p.cost == cost(need, res, params)
        assert p.quantity >= 1
        given_to[p.need_id] += p.quantity
        taken_from[p.resource_id] += p.quantity
    assert all(given_to[i] <= by_need[i].quantity for i in given_to)
    assert all(taken_from[i] <= by_res[i].quantity_left for i in taken_from)
    assert result.matched_quantity == sum(given_to.values())
    assert result.total_cost == sum(p.quantity * p.cost for p in result.proposals)


@FAST
@given(needs_rows(max_size=3, max_quantity=2), resource_rows(max_size=3, max_quantity=2), st.integers(1, 3))
def test_total_cost_is_the_brute_force_optimum(needs, resources, k):
    params = Params(today=TODAY, k=k)
    flow, total = brute_force(needs, resources, params)
    for solve in (match, exact):
        result = solve(needs, resources, params)
        check_within_capacities(result, needs, resources, params)
        assert result.matched_quantity == flow
        assert result.total_cost == total


@FAST
@given(needs_rows(max_size=14, max_quantity=5), resource_rows(max_size=10, max_quantity=6), st.integers(1, 2))
def test_pruning_keeps_the_maximum_flow(needs, resources, k):
    params = Params(today=TODAY, k=k)
    best = exact(needs, resources, params)
    # Each need keeps only its best one or two resources, no resource keeps any need of its own: the
    # maximum flow is still the unpruned one, because the engine widens the candidates until it is.
    pruned = match(needs, resources, params, k_resource=0)
    check_within_capacities(pruned, needs, resources, params)
    check_within_capacities(best, needs, resources, params)
    assert pruned.matched_quantity == best.matched_quantity
    assert pruned.stats["max_flow_certified"] == 1
    assert match(needs, resources, Params(today=TODAY, k=50)).total_cost == best.total_cost


def test_greedy_takes_the_cheapest_pair_and_loses_a_match():
    # Need 1 (urgent) can use either resource; need 2, in the next street, only resource 10 (which reaches
    # the district). Greedy gives need 1 its nearest, resource 10, and need 2 goes without; the engine sends
    # need 1 to resource 20 in its own street.
    here, next_door, next_street = PATHS[0], PATHS[1], PATHS[2]
    needs = [
        NeedRow(1, 1, "food", here, urgency=2, waited_days=0, needed_by=None, quantity=1),
        NeedRow(2, 1, "food", next_street, urgency=0, waited_days=0, needed_by=None, quantity=1),
    ]
    resources = [
        ResourceRow(10, "goods", frozenset({1}), here[1], 1, here, TODAY, None, 127, frozenset(), 1),
        ResourceRow(
            20, "goods", frozenset({1}), next_door[2], 2, next_door, TODAY, None, 127, frozenset(), 1
        ),
    ]
    params = Params(today=TODAY)
    base = greedy(needs, resources, params)
    assert [(p.need_id, p.resource_id) for p in base.proposals] == [(1, 10)]
    best = match(needs, resources, params)
    assert [(p.need_id, p.resource_id) for p in best.proposals] == [(1, 20), (2, 10)]
    assert best.matched_quantity == 2
    assert best.regret < base.regret
