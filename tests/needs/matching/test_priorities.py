"""What matters most dominates: no urgent need goes without while a routine one takes what it could use,
no need waits behind a newer one, and, between equals, the nearer and better-fitting resource wins."""

from collections import Counter

from hypothesis import HealthCheck, given, settings

from needs.matching import WAIT_CAP, NeedRow, Params, ResourceRow, exact, match
from tests.needs.matching.reference import PATHS, TODAY, feasible, needs_rows, resource_rows

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def give_way_violations(result, needs, resources, params):
    """(U, R, X): need U is short, need R gets units of resource X that U could use, and U ranks above R
    (more urgent, or as urgent and waiting longer)."""
    served = Counter()
    for p in result.proposals:
        served[p.need_id] += p.quantity
    by_need = {n.id: n for n in needs}
    short = [n for n in needs if served[n.id] < n.quantity]
    found = []
    for p in result.proposals:
        taker = by_need[p.need_id]
        res = next(r for r in resources if r.id == p.resource_id)
        for u in short:
            if u.id == taker.id or not feasible(u, res, params):
                continue
            rank_u = (u.urgency, min(u.waited_days, WAIT_CAP))
            rank_r = (taker.urgency, min(taker.waited_days, WAIT_CAP))
            if rank_u > rank_r:
                found.append((u.id, taker.id, res.id))
    return found


@FAST
@given(needs_rows(max_size=12, max_quantity=4), resource_rows(max_size=6, max_quantity=4))
def test_an_urgent_need_is_never_left_for_a_routine_one_that_could_give_way(needs, resources):
    params = Params(today=TODAY)  # k = 10 covers every resource here: the candidates are all pairs
    for solve in (match, exact):
        assert give_way_violations(solve(needs, resources, params), needs, resources, params) == []


def need(id, urgency=0, waited=0, path=PATHS[0], sub_kind="care", quantity=1):
    return NeedRow(id, 1, sub_kind, path, urgency, waited, None, quantity)


def resource(id, path=PATHS[0], level=0, quantity=1, until=None, skills=frozenset()):
    return ResourceRow(
        id, "skill", frozenset({1}), path[level], level, path, TODAY, until, 127, skills, quantity
    )


def pairs(result):
    return [(p.need_id, p.resource_id, p.quantity) for p in result.proposals]


def test_the_urgent_need_far_away_gets_the_last_unit_before_the_routine_one_next_door():
    needs = [need(1, urgency=0, path=PATHS[0]), need(2, urgency=2, path=PATHS[-1])]
    assert pairs(match(needs, [resource(10)], Params(today=TODAY))) == [(2, 10, 1)]


def test_the_need_that_waited_longer_goes_first():
    needs = [need(1, waited=3), need(2, waited=40, path=PATHS[-1])]
    assert pairs(match(needs, [resource(10)], Params(today=TODAY))) == [(2, 10, 1)]


def test_waiting_beyond_the_cap_counts_as_the_cap_and_then_the_nearer_need_wins():
    needs = [need(1, waited=WAIT_CAP + 300, path=PATHS[-1]), need(2, waited=WAIT_CAP + 1)]
    assert pairs(match(needs, [resource(10)], Params(today=TODAY))) == [(2, 10, 1)]


def test_between_equals_the_nearer_resource_then_the_skilled_one_then_the_one_ending_sooner():
    near, street, far = PATHS[0], PATHS[1], PATHS[-1]
    resources = [
        resource(10, path=far),
        resource(11, path=street, skills=frozenset({"counselling"})),
        resource(12, path=near),
    ]
    one = [need(1, sub_kind="counselling")]
    assert pairs(match(one, resources, Params(today=TODAY))) == [(1, 12, 1)]
    resources = [
        resource(10, path=street),
        resource(11, path=street, skills=frozenset({"counselling"}), until=TODAY + 200),
        resource(12, path=street, skills=frozenset({"counselling"}), until=TODAY + 30),
    ]
    result = match(one, resources, Params(today=TODAY))
    assert pairs(result) == [(1, 12, 1)]
    assert result.proposals[0].terms == {
        "urgency": 0,
        "waited_days": 0,
        "distance": 1,
        "skill_fit": 0,
        "expiry_days": 30,
    }


def test_a_big_resource_serves_many_needs_and_a_big_need_takes_many_resources():
    blankets = resource(10, quantity=20)
    households = [need(i) for i in range(1, 26)]
    result = match(households, [blankets], Params(today=TODAY))
    assert result.matched_quantity == 20
    assert len(result.proposals) == 20
    volunteers = [resource(i) for i in range(10, 15)]
    result = match([need(1, quantity=3)], volunteers, Params(today=TODAY))
    assert result.matched_quantity == 3
    assert [p.quantity for p in result.proposals] == [1, 1, 1]  # three people
