"""A slow, obviously right model of the engine's rules, written from the documentation, for tiny instances:
which pairs are feasible, what a pair costs, and the optimum by enumerating every integer assignment."""

from hypothesis import strategies as st

from needs.matching import EXPIRY_CAP, SUB_KINDS, WAIT_CAP, NeedRow, Params, ResourceRow, cost_of

TODAY = 739_000
# One city (1), two districts (10, 20), two streets each, two communities each.
PATHS = [(1, d, d * 10 + s, (d * 10 + s) * 10 + c) for d in (10, 20) for s in (1, 2) for c in (1, 2)]
KINDS = ("goods", "venue", "skill", "time")


def feasible(need: NeedRow, res: ResourceRow, params: Params) -> bool:
    if need.category_id not in res.category_ids:
        return False
    material = need.sub_kind in ("food", "clothing", "housing", "goods")
    if material and res.kind != "goods" and need.sub_kind not in res.skill_tags:
        return False
    if not material and res.kind == "goods":
        return False
    if need.community_path[res.reach_level] != res.reach_area_id:
        return False
    if need.needed_by is not None and res.available_from > need.needed_by:
        return False
    if res.kind in ("venue", "time") and not res.weekday_mask & need.weekday_mask:
        return False
    return (need.id, res.id) not in params.declined


def distance(need: NeedRow, res: ResourceRow) -> int:
    for d, level in enumerate((3, 2, 1, 0)):
        if need.community_path[level] == res.community_path[level]:
            return d
    raise AssertionError("different cities")


def cost(need: NeedRow, res: ResourceRow, params: Params) -> int:
    expiry = (
        EXPIRY_CAP if res.available_until is None else min(res.available_until - params.today, EXPIRY_CAP)
    )
    return cost_of(
        need.urgency,
        min(need.waited_days, WAIT_CAP),
        distance(need, res),
        0 if need.sub_kind in res.skill_tags else 1,
        expiry,
    )


def brute_force(needs, resources, params) -> tuple[int, int]:
    """(maximum flow, least total cost among maximum flows), by trying every integer assignment."""
    pairs = [
        (n, r, min(n.quantity, r.quantity_left), cost(n, r, params))
        for n in needs
        for r in resources
        if feasible(n, r, params)
    ]
    need_left = {n.id: n.quantity for n in needs}
    res_left = {r.id: r.quantity_left for r in resources}
    best = (0, 0)  # (flow, -cost): larger is better

    def walk(at: int, flow: int, total: int) -> None:
        nonlocal best
        if at == len(pairs):
            best = max(best, (flow, -total))
            return
        n, r, cap, c = pairs[at]
        for q in range(min(cap, need_left[n.id], res_left[r.id]) + 1):
            need_left[n.id] -= q
            res_left[r.id] -= q
            walk(at + 1, flow + q, total + q * c)
            need_left[n.id] += q
            res_left[r.id] += q

    walk(0, 0, 0)
    return best[0], -best[1]


@st.composite
def needs_rows(draw, max_size=4, max_quantity=3):
    size = draw(st.integers(0, max_size))
    ids = draw(st.lists(st.integers(1, 60), min_size=size, max_size=size, unique=True))
    return [
        NeedRow(
            id=i,
            category_id=draw(st.sampled_from((1, 2))),
            sub_kind=draw(st.sampled_from(SUB_KINDS[:2] + ("counselling",))),
            community_path=draw(st.sampled_from(PATHS)),
            urgency=draw(st.integers(0, 3)),
            waited_days=draw(st.integers(0, 400)),
            needed_by=draw(st.none() | st.integers(TODAY - 3, TODAY + 20)),
            quantity=draw(st.integers(1, max_quantity)),
            weekday_mask=draw(st.sampled_from((0b1111111, 0b0000001, 0b1100000))),
        )
        for i in ids
    ]


@st.composite
def resource_rows(draw, max_size=4, max_quantity=3):
    size = draw(st.integers(0, max_size))
    ids = draw(st.lists(st.integers(1, 60), min_size=size, max_size=size, unique=True))
    rows = []
    for i in ids:
        path = draw(st.sampled_from(PATHS))
        level = draw(st.integers(0, 3))
        kind = draw(st.sampled_from(KINDS))
        start = draw(st.integers(TODAY - 10, TODAY + 10))
        rows.append(
            ResourceRow(
                id=i,
                kind=kind,
                category_ids=frozenset(draw(st.sets(st.sampled_from((1, 2)), min_size=1))),
                reach_area_id=path[level],
                reach_level=level,
                community_path=path,
                available_from=start,
                available_until=draw(st.none() | st.integers(max(start, TODAY), TODAY + 120)),
                weekday_mask=draw(st.sampled_from((0b1111111, 0b0000001, 0b0000110)))
                if kind in ("venue", "time")
                else 0b1111111,
                skill_tags=frozenset(draw(st.sets(st.sampled_from(("counselling", "food"))))),
                quantity_left=draw(st.integers(1, max_quantity)),
            )
        )
    return rows
