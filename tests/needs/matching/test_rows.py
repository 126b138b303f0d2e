"""Which rows and pairs the engine accepts, what it says about them, and that it always says the same."""

import random

from hypothesis import HealthCheck, given, settings

from needs.matching import NeedRow, Params, ResourceRow, Skipped, match
from tests.needs.matching.reference import PATHS, TODAY, needs_rows, resource_rows

HOME = PATHS[0]


def need(id, **changes):
    row = NeedRow(id, 1, "counselling", HOME, 0, 0, None, 1)
    return NeedRow(**{**row.__dict__, **changes})


def resource(id, **changes):
    row = ResourceRow(id, "skill", frozenset({1}), HOME[3], 3, HOME, TODAY, None, 127, frozenset(), 1)
    return ResourceRow(**{**row.__dict__, **changes})


def matched(needs, resources, **params):
    return [
        (p.need_id, p.resource_id) for p in match(needs, resources, Params(today=TODAY, **params)).proposals
    ]


def test_bad_rows_are_skipped_with_a_reason_and_the_rest_is_matched():
    needs = [
        need(1),
        need(2, category_id=0),
        need(3, quantity=0),
        need(4, quantity=None),
        need(5, urgency=7),
        need(6, sub_kind="magic"),
        need(7, community_path=(1, 2)),
        need(8, weekday_mask=0),
        need(9, waited_days=-4),  # counted as 0, not skipped
    ]
    resources = [
        resource(10, quantity_left=2),
        resource(11, category_ids=frozenset()),
        resource(12, quantity_left=0),
        resource(13, available_from=TODAY + 5, available_until=TODAY + 1),
        resource(14, available_from=TODAY - 30, available_until=TODAY - 1),
        resource(15, reach_level=5),
        resource(16, reach_area_id=HOME[2]),  # says street, but level 3 is its community
        resource(17, kind="time", weekday_mask=0),
        resource(18, kind="money_pledge"),
        resource(19, available_until="soon"),
    ]
    result = match(needs, resources, Params(today=TODAY))
    assert result.skipped == [
        Skipped("need", 2, "no_category"),
        Skipped("need", 3, "no_quantity"),
        Skipped("need", 4, "no_quantity"),
        Skipped("need", 5, "bad_urgency"),
        Skipped("need", 6, "bad_sub_kind"),
        Skipped("need", 7, "no_area"),
        Skipped("need", 8, "no_slot"),
        Skipped("resource", 11, "no_category"),
        Skipped("resource", 12, "no_quantity"),
        Skipped("resource", 13, "window_reversed"),
        Skipped("resource", 14, "expired"),
        Skipped("resource", 15, "travels_nowhere"),
        Skipped("resource", 16, "travels_nowhere"),
        Skipped("resource", 17, "no_slot"),
        Skipped("resource", 18, "bad_kind"),
        Skipped("resource", 19, "bad_window"),
    ]
    assert [(p.need_id, p.resource_id) for p in result.proposals] == [(1, 10), (9, 10)]
    assert result.proposals[1].terms["waited_days"] == 0


def test_an_id_given_twice_is_skipped_both_times():
    result = match(
        [need(1), need(1, urgency=3), need(2)], [resource(10, quantity_left=5)], Params(today=TODAY)
    )
    assert result.skipped == [Skipped("need", 1, "duplicate_id"), Skipped("need", 1, "duplicate_id")]
    assert [p.need_id for p in result.proposals] == [2]


def test_empty_input_gives_an_empty_result():
    result = match([], [], Params(today=TODAY))
    assert (result.proposals, result.skipped, result.matched_quantity, result.total_cost) == ([], [], 0, 0)
    assert match([need(1)], [], Params(today=TODAY)).proposals == []
    assert match([], [resource(10)], Params(today=TODAY)).proposals == []


def test_the_resource_must_cover_the_category_and_reach_the_need():
    other_street = PATHS[2]
    assert matched([need(1, category_id=2)], [resource(10)]) == []
    assert matched([need(1, community_path=PATHS[1])], [resource(10)]) == []  # reaches its community only
    assert matched(
        [need(1, community_path=PATHS[1])], [resource(10, reach_area_id=HOME[2], reach_level=2)]
    ) == [(1, 10)]
    assert (
        matched([need(1, community_path=other_street)], [resource(10, reach_area_id=HOME[2], reach_level=2)])
        == []
    )
    assert matched(
        [need(1, community_path=PATHS[-1])], [resource(10, reach_area_id=HOME[0], reach_level=0)]
    ) == [(1, 10)]


def test_the_resource_must_be_there_by_the_needed_by_day():
    later = resource(10, available_from=TODAY + 10)
    assert matched([need(1, needed_by=TODAY + 9)], [later]) == []
    assert matched([need(1, needed_by=TODAY + 10)], [later]) == [(1, 10)]
    assert matched([need(1, needed_by=None)], [later]) == [(1, 10)]


def test_venues_and_time_need_a_weekly_slot_on_a_day_the_need_can_use():
    saturday, sunday, monday = 1 << 5, 1 << 6, 1
    weekend_venue = resource(10, kind="venue", weekday_mask=saturday | sunday)
    assert matched([need(1, weekday_mask=monday)], [weekend_venue]) == []
    assert matched([need(1, weekday_mask=sunday | monday)], [weekend_venue]) == [(1, 10)]
    # Goods and skills have no slots: any day.
    food = need(1, sub_kind="food", weekday_mask=monday)
    assert matched([food], [resource(10, kind="goods", weekday_mask=0)]) == [(1, 10)]
    assert matched([need(1, weekday_mask=monday)], [resource(10, kind="skill", weekday_mask=0)]) == [(1, 10)]


def test_goods_serve_material_help_and_people_serve_services_or_what_they_are_good_at():
    blankets = resource(10, kind="goods")
    counsellor = resource(11, kind="skill", skill_tags=frozenset({"counselling"}))
    repair_team = resource(12, kind="skill", skill_tags=frozenset({"housing"}))
    assert matched([need(1, sub_kind="clothing")], [counsellor]) == []
    assert matched([need(1, sub_kind="clothing")], [blankets]) == [(1, 10)]
    assert matched([need(1, sub_kind="counselling")], [blankets]) == []
    assert matched([need(1, sub_kind="counselling")], [counsellor]) == [(1, 11)]
    # A skill serves material help it is good at: handrails fitted in a home ("housing").
    assert matched([need(1, sub_kind="housing")], [repair_team]) == [(1, 12)]
    assert matched([need(1, sub_kind="food")], [repair_team]) == []


def test_a_declined_pair_is_never_proposed_again():
    resources = [resource(10), resource(11, community_path=PATHS[1], reach_area_id=HOME[2], reach_level=2)]
    assert matched([need(1)], resources) == [(1, 10)]
    assert matched([need(1)], resources, declined=frozenset({(1, 10), (7, 99)})) == [(1, 11)]


def test_a_proposal_carries_its_terms_and_reasons_as_codes():
    n = need(1, urgency=2, waited_days=12, community_path=PATHS[1])
    r = resource(
        10,
        reach_area_id=HOME[2],
        reach_level=2,
        skill_tags=frozenset({"counselling"}),
        available_until=TODAY + 5,
    )
    (p,) = match([n], [r], Params(today=TODAY)).proposals
    assert p.terms == {"urgency": 2, "waited_days": 12, "distance": 1, "skill_fit": 0, "expiry_days": 5}
    assert p.reasons == (
        ("same_street", {}),
        ("urgency", {"level": "urgent"}),
        ("waited", {"days": 12}),
        ("skill", {"skill": "counselling"}),
        ("expires", {"days": 5}),
    )
    (p,) = match([need(1)], [resource(10)], Params(today=TODAY)).proposals
    assert p.reasons == (("same_community", {}),)  # routine, just posted, no skill, no end in sight


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(needs_rows(max_size=15, max_quantity=5), resource_rows(max_size=12, max_quantity=5))
def test_same_input_same_output_in_any_order(needs, resources):
    params = Params(
        today=TODAY, k=2, declined=frozenset((n.id, r.id) for n in needs[:1] for r in resources[:1])
    )
    first = match(needs, resources, params)
    shuffled_needs, shuffled_resources = needs[:], resources[:]
    random.Random(len(needs)).shuffle(shuffled_needs)
    random.Random(len(resources)).shuffle(shuffled_resources)
    again = match(shuffled_needs, shuffled_resources, params)
    assert again.proposals == first.proposals
    assert again.skipped == first.skipped
    assert (again.candidates, again.total_cost) == (first.candidates, first.total_cost)
    assert first.proposals == sorted(first.proposals, key=lambda p: (p.need_id, p.cost, p.resource_id))


def test_two_worker_processes_give_the_same_answer(monkeypatch):
    from needs.matching import _flow

    # Three categories with their own resources: three independent parts, in batches of their own.
    needs = [
        need(i, category_id=1 + i % 3, community_path=PATHS[i % 8], urgency=i % 4, quantity=1 + i % 3)
        for i in range(1, 60)
    ]
    resources = [
        resource(
            100 + i,
            category_ids=frozenset({1 + i % 3}),
            community_path=PATHS[i % 8],
            reach_area_id=PATHS[i % 8][i % 4],
            reach_level=i % 4,
        )
        for i in range(40)
    ]
    pools = []
    real_pool = _flow.ProcessPoolExecutor
    monkeypatch.setattr(_flow, "ProcessPoolExecutor", lambda **kw: pools.append(kw) or real_pool(**kw))
    monkeypatch.setattr(_flow, "BATCH_ARCS", 10)
    alone = match(needs, resources, Params(today=TODAY))
    assert alone.matched_quantity > 0
    assert pools == []
    assert match(needs, resources, Params(today=TODAY), workers=2).proposals == alone.proposals
    assert len(pools) == 1
