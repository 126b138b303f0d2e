"""Rows to column arrays: check every row, skip the bad ones with a reason code, number the rest densely."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from needs.matching._arrays import unique, unique_inverse
from needs.matching.rows import (
    EXPIRY_CAP,
    MATERIAL_SUB_KINDS,
    RESOURCE_KINDS,
    SLOTTED_KINDS,
    SUB_KINDS,
    WAIT_CAP,
    NeedRow,
    Params,
    ResourceRow,
    Skipped,
)

ALL_DAYS = 0b1111111
NO_DATE = np.iinfo(np.int64).max // 4  # a needed_by of None: the need waits as long as it takes
SUB_INDEX = {name: i for i, name in enumerate(SUB_KINDS)}


@dataclass
class NeedTable:
    rows: list[NeedRow]
    id: np.ndarray  # int64, ascending
    cat: np.ndarray  # dense category number
    sub: np.ndarray  # index into SUB_KINDS
    material: np.ndarray  # bool: the sub_kind is material help (MATERIAL_SUB_KINDS)
    path: np.ndarray  # (n, 4) dense area numbers: city, district, street, community
    urgency: np.ndarray
    waited: np.ndarray  # capped at WAIT_CAP
    needed_by: np.ndarray  # NO_DATE for None
    quantity: np.ndarray
    weekdays: np.ndarray
    rank: np.ndarray  # the need-only part of the cost: urgency and waiting, lower is served first

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class ResourceTable:
    rows: list[ResourceRow]
    id: np.ndarray
    reach: np.ndarray  # 0 city … 3 community
    path: np.ndarray  # (r, 4) dense area numbers
    available_from: np.ndarray
    weekdays: np.ndarray  # all days for kinds without weekly slots
    skills: np.ndarray  # bit i set: good at SUB_KINDS[i]
    goods: np.ndarray  # bool: the kind is goods (it serves material help only)
    quantity: np.ndarray
    expiry: np.ndarray  # days until available_until, capped at EXPIRY_CAP (no end: the cap)
    expires: np.ndarray  # bool: it has an end within the horizon (a reason worth telling)
    # (category, resource) pairs, one per category a resource serves
    entry_cat: np.ndarray
    entry_res: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)


def _is_int(value) -> bool:
    return type(value) is int  # noqa: E721  (bool and float are not ids, days or quantities)


def _path_ok(path) -> bool:
    return type(path) is tuple and len(path) == 4 and all(type(a) is int for a in path)  # noqa: E721


URGENCIES = frozenset({0, 1, 2, 3})
LEVELS = frozenset({0, 1, 2, 3})


def _need_problem(row: NeedRow) -> str | None:
    path = row.community_path
    if (  # the common case in one expression: every field well-formed
        type(row.id) is int  # noqa: E721
        and type(row.category_id) is int  # noqa: E721
        and row.category_id > 0
        and type(row.quantity) is int  # noqa: E721
        and row.quantity >= 1
        and row.sub_kind in SUB_INDEX
        and type(row.urgency) is int  # noqa: E721
        and row.urgency in URGENCIES
        and type(path) is tuple  # noqa: E721
        and len(path) == 4
        and type(path[0]) is type(path[1]) is type(path[2]) is type(path[3]) is int  # noqa: E721
        and type(row.waited_days) is int  # noqa: E721
        and (row.needed_by is None or type(row.needed_by) is int)  # noqa: E721
        and type(row.weekday_mask) is int  # noqa: E721
        and row.weekday_mask & ALL_DAYS
    ):
        return None
    return _need_problem_found(row)


def _need_problem_found(row: NeedRow) -> str | None:
    if not _is_int(row.id):
        return "bad_id"
    if not _is_int(row.category_id) or row.category_id <= 0:
        return "no_category"
    if not _is_int(row.quantity) or row.quantity < 1:
        return "no_quantity"
    if row.sub_kind not in SUB_INDEX:
        return "bad_sub_kind"
    if row.urgency not in (0, 1, 2, 3) or not _is_int(row.urgency):
        return "bad_urgency"
    if not _path_ok(row.community_path):
        return "no_area"
    if not _is_int(row.waited_days):
        return "bad_waited_days"
    if row.needed_by is not None and not _is_int(row.needed_by):
        return "bad_needed_by"
    if not _is_int(row.weekday_mask) or row.weekday_mask & ALL_DAYS == 0:
        return "no_slot"
    return None


def _resource_problem(row: ResourceRow, today: int) -> str | None:
    path, level, until, cats = row.community_path, row.reach_level, row.available_until, row.category_ids
    if (  # the common case in one expression: every field well-formed
        type(row.id) is int  # noqa: E721
        and row.kind in RESOURCE_KINDS
        and cats
        and all(type(c) is int and c > 0 for c in cats)  # noqa: E721
        and type(row.quantity_left) is int  # noqa: E721
        and row.quantity_left >= 1
        and type(row.available_from) is int  # noqa: E721
        and (until is None or (type(until) is int and until >= row.available_from and until >= today))  # noqa: E721
        and type(level) is int  # noqa: E721
        and level in LEVELS
        and type(path) is tuple  # noqa: E721
        and len(path) == 4
        and type(path[0]) is type(path[1]) is type(path[2]) is type(path[3]) is int  # noqa: E721
        and path[level] == row.reach_area_id
        and (row.kind not in SLOTTED_KINDS or (type(row.weekday_mask) is int and row.weekday_mask & ALL_DAYS))  # noqa: E721
    ):
        return None
    return _resource_problem_found(row, today)


def _resource_problem_found(row: ResourceRow, today: int) -> str | None:
    if not _is_int(row.id):
        return "bad_id"
    if row.kind not in RESOURCE_KINDS:
        return "bad_kind"
    cats = row.category_ids
    if not cats or {type(c) for c in cats} != {int} or min(cats) <= 0:
        return "no_category"
    if not _is_int(row.quantity_left) or row.quantity_left < 1:
        return "no_quantity"
    until = row.available_until
    if not _is_int(row.available_from) or (until is not None and not _is_int(until)):
        return "bad_window"
    if until is not None and until < row.available_from:
        return "window_reversed"
    if until is not None and until < today:
        return "expired"
    level = row.reach_level
    if (
        level not in (0, 1, 2, 3)
        or not _is_int(level)
        or not _path_ok(row.community_path)
        or row.community_path[level] != row.reach_area_id
    ):
        return "travels_nowhere"
    if row.kind in SLOTTED_KINDS and (not _is_int(row.weekday_mask) or row.weekday_mask & ALL_DAYS == 0):
        return "no_slot"
    return None


def _split(rows, problem, kind: str) -> tuple[list, list[Skipped]]:
    """Keep the good rows sorted by id; a bad row, or every row of an id given twice, is skipped."""
    skipped: list[Skipped] = []
    good = []
    for row in rows:
        reason = problem(row)
        if reason is None:
            good.append(row)
        else:
            skipped.append(Skipped(kind, row.id if _is_int(row.id) else -1, reason))
    twice = {i for i, n in Counter(r.id for r in good).items() if n > 1}
    if twice:
        skipped.extend(Skipped(kind, r.id, "duplicate_id") for r in good if r.id in twice)
        good = [r for r in good if r.id not in twice]
    good.sort(key=lambda r: r.id)
    return good, skipped


def build_tables(needs, resources, params: Params) -> tuple[NeedTable, ResourceTable, list[Skipped]]:
    need_rows, skipped = _split(needs, _need_problem, "need")
    res_rows, res_skipped = _split(resources, lambda r: _resource_problem(r, params.today), "resource")
    skipped.extend(res_skipped)
    skipped.sort(key=lambda s: (s.kind, s.id, s.reason))

    # Dense numbers for areas and categories (ids can be anything up to 2**63).
    n_path_raw = np.array([r.community_path for r in need_rows], dtype=np.int64).reshape(-1, 4)
    r_path_raw = np.array([r.community_path for r in res_rows], dtype=np.int64).reshape(-1, 4)
    _, inverse = unique_inverse(np.concatenate([n_path_raw.ravel(), r_path_raw.ravel()]))
    n_path = inverse[: n_path_raw.size].reshape(-1, 4).astype(np.int64)
    r_path = inverse[n_path_raw.size :].reshape(-1, 4).astype(np.int64)

    n_cat_raw = np.array([r.category_id for r in need_rows], dtype=np.int64)
    counts = [len(r.category_ids) for r in res_rows]
    entry_cat_raw = np.array([c for r in res_rows for c in sorted(r.category_ids)], dtype=np.int64)
    entry_res = np.repeat(np.arange(len(res_rows), dtype=np.int64), counts)
    _, cat_inverse = unique_inverse(np.concatenate([n_cat_raw, entry_cat_raw]))
    n_cat = cat_inverse[: n_cat_raw.size].astype(np.int64)
    entry_cat = cat_inverse[n_cat_raw.size :].astype(np.int64)

    urgency = np.array([r.urgency for r in need_rows], dtype=np.int64)
    waited = np.clip(np.array([r.waited_days for r in need_rows], dtype=np.int64), 0, WAIT_CAP)
    need_table = NeedTable(
        rows=need_rows,
        id=np.array([r.id for r in need_rows], dtype=np.int64),
        cat=n_cat,
        sub=np.array([SUB_INDEX[r.sub_kind] for r in need_rows], dtype=np.int64),
        material=np.array([r.sub_kind in MATERIAL_SUB_KINDS for r in need_rows], dtype=bool),
        path=n_path,
        urgency=urgency,
        waited=waited,
        needed_by=np.array(
            [NO_DATE if r.needed_by is None else r.needed_by for r in need_rows], dtype=np.int64
        ),
        quantity=np.array([r.quantity for r in need_rows], dtype=np.int64),
        weekdays=np.array([r.weekday_mask & ALL_DAYS for r in need_rows], dtype=np.int64),
        rank=(3 - urgency) * (WAIT_CAP + 1) + (WAIT_CAP - waited),
    )

    until = np.array(
        [NO_DATE if r.available_until is None else r.available_until for r in res_rows], dtype=np.int64
    )
    days_left = until - params.today
    res_table = ResourceTable(
        rows=res_rows,
        id=np.array([r.id for r in res_rows], dtype=np.int64),
        reach=np.array([r.reach_level for r in res_rows], dtype=np.int64),
        path=r_path,
        available_from=np.array([r.available_from for r in res_rows], dtype=np.int64),
        weekdays=np.array(
            [r.weekday_mask & ALL_DAYS if r.kind in SLOTTED_KINDS else ALL_DAYS for r in res_rows],
            dtype=np.int64,
        ),
        skills=np.array(
            [sum(1 << SUB_INDEX[s] for s in r.skill_tags if s in SUB_INDEX) for r in res_rows], dtype=np.int64
        ),
        goods=np.array([r.kind == "goods" for r in res_rows], dtype=bool),
        quantity=np.array([r.quantity_left for r in res_rows], dtype=np.int64),
        expiry=np.minimum(days_left, EXPIRY_CAP),
        expires=days_left <= EXPIRY_CAP,
        entry_cat=entry_cat,
        entry_res=entry_res,
    )
    return need_table, res_table, skipped


def declined_keys(needs: NeedTable, resources: ResourceTable, params: Params) -> np.ndarray:
    """The declined pairs as sorted keys need_index * len(resources) + resource_index; unknown ids dropped."""
    if not params.declined or not len(needs) or not len(resources):
        return np.empty(0, dtype=np.int64)
    pairs = np.array(sorted(params.declined), dtype=np.int64).reshape(-1, 2)
    j = np.searchsorted(needs.id, pairs[:, 0])
    i = np.searchsorted(resources.id, pairs[:, 1])
    j_ok = j < len(needs)
    i_ok = i < len(resources)
    known = j_ok & i_ok
    known[known] = (needs.id[j[known]] == pairs[known, 0]) & (resources.id[i[known]] == pairs[known, 1])
    return unique(j[known] * len(resources) + i[known])
