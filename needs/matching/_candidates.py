"""Candidate pairs by blocking: never a need against every resource.

A resource of category c whose reach is level L (0 city … 3 community) is filed in the *pools*
(c, L', its own area at level L') for every L' from L down to its community: the areas it can serve. A need
in community path p looks for resources at distance D (0 same community … 3 same city) in the pool
(c, 3 - D, p[3 - D]), leaving out those of its own area one level down (they are nearer, seen before). Each
pool is kept sorted so that a walk along it meets resources in cost order for that need, and a need walks
only as far as it needs to collect its best k: the walk is vectorised over all needs at once, in windows
that double until every need has k or its pools run out. Resources find their best k needs the same way.
"""

from __future__ import annotations

import numpy as np

from needs.matching._arrays import contains, unique
from needs.matching._tables import NeedTable, ResourceTable
from needs.matching.rows import SUB_KINDS

N_SUB = len(SUB_KINDS)
INITIAL_WINDOW = 16


class Pools:
    """Entries sorted by (key, order...) with their keys, for finding a key's segment by binary search."""

    def __init__(self, keys: np.ndarray, items: np.ndarray, *orders: np.ndarray):
        by = np.lexsort((items, *reversed(orders), keys)) if keys.size else np.empty(0, dtype=np.int64)
        self.keys = keys[by]
        self.items = items[by]

    def only(self, usable: np.ndarray | None) -> Pools:
        """The same pools holding only the items usable[item] allows (still sorted)."""
        if usable is None:
            return self
        keep = usable[self.items]
        pools = Pools.__new__(Pools)
        pools.keys, pools.items = self.keys[keep], self.items[keep]
        return pools

    def segments(self, query_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.searchsorted(self.keys, query_keys, side="left"),
            np.searchsorted(self.keys, query_keys, side="right"),
        )


def _walk(starts, ends, want, feasible, window=INITIAL_WINDOW):
    """For each query q walk its segment starts[q]..ends[q] in order and keep the first want[q] positions
    that feasible(query_indices, positions) accepts. Return (query index, position) arrays."""
    q = np.flatnonzero((want > 0) & (starts < ends))
    pos = starts[q]
    end = ends[q]
    left = want[q]
    out_q, out_p = [], []
    while q.size:
        length = np.minimum(end - pos, window)
        first = np.cumsum(length) - length
        total = int(length.sum())
        owner = np.repeat(np.arange(q.size), length)
        at = np.repeat(pos - first, length) + np.arange(total)
        ok = feasible(q[owner], at)
        seen = np.cumsum(ok)
        before = seen[first] - ok[first]
        keep = ok & (seen - np.repeat(before, length) <= np.repeat(left, length))
        out_q.append(q[owner[keep]])
        out_p.append(at[keep])
        left = left - np.bincount(owner[keep], minlength=q.size)
        pos = pos + length
        go = (left > 0) & (pos < end)
        q, pos, end, left = q[go], pos[go], end[go], left[go]
        window *= 2
    if not out_q:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(out_q), np.concatenate(out_p)


class Blocks:
    """The pools of one instance, and the walks that find candidates in them."""

    def __init__(self, needs: NeedTable, resources: ResourceTable, declined: np.ndarray):
        self.needs = needs
        self.resources = resources
        self.declined = declined
        self.n_areas = int(max(needs.path.max(initial=0), resources.path.max(initial=0))) + 1

        # Resources in the pools of the areas they reach: (category, level, area) for levels reach..3.
        ec, ei = resources.entry_cat, resources.entry_res
        levels = 4 - resources.reach[ei]
        rep = np.repeat(np.arange(ei.size), levels)
        ent_i = ei[rep]
        ent_level = resources.reach[ent_i] + (
            np.arange(rep.size) - np.repeat(np.cumsum(levels) - levels, levels)
        )
        ent_key = self._key(ec[rep], ent_level, resources.path[ent_i, ent_level])
        self.res_pools = Pools(ent_key, ent_i, resources.expiry[ent_i])
        # The same, once more for each sub_kind a resource is good at.
        skilled = [np.flatnonzero((resources.skills[ent_i] >> s) & 1) for s in range(N_SUB)]
        sk_at = np.concatenate(skilled)
        sk_sub = np.repeat(np.arange(N_SUB), [a.size for a in skilled])
        self.skill_pools = Pools(
            ent_key[sk_at] * N_SUB + sk_sub, ent_i[sk_at], resources.expiry[ent_i[sk_at]]
        )

        # Needs in the pools of their areas at every level, sorted by urgency and waiting first.
        n = len(needs)
        nj = np.repeat(np.arange(n), 4)
        nl = np.tile(np.arange(4), n)
        n_key = self._key(needs.cat[nj], nl, needs.path[nj, nl])
        self.need_pools = Pools(n_key, nj, needs.rank[nj])
        self.need_sub_pools = Pools(n_key * N_SUB + needs.sub[nj], nj, needs.rank[nj])

    def _key(self, cat, level, area):
        return (cat * 4 + level) * self.n_areas + area

    def _fits(self, j, i, exclude=None):
        """Pairs whose kinds, dates, weekdays and earlier decisions allow a match (category and reach hold
        by construction), leaving out the pair keys in `exclude` (sorted) too. Kinds: goods serve material
        help only; a skill, time or venue serves service help, and material help it is good at."""
        needs, res = self.needs, self.resources
        good_at = ((res.skills[i] >> needs.sub[j]) & 1) == 1
        kinds = np.where(needs.material[j], res.goods[i] | good_at, ~res.goods[i])
        ok = (
            kinds
            & (res.available_from[i] <= needs.needed_by[j])
            & ((res.weekdays[i] & needs.weekdays[j]) != 0)
        )
        for keys in (self.declined, exclude):
            if keys is not None and keys.size:
                ok &= ~contains(keys, j * max(len(res), 1) + i)
        return ok

    def for_needs(self, needs_idx: np.ndarray, k: int | None, usable=None, exclude=None):
        """The best k resources of each need in needs_idx (all feasible ones if k is None), walking distance
        0…3 and, at each distance, first the resources good at the need's sub_kind. `usable` (bool per
        resource) limits the walk to some resources, `exclude` (sorted pair keys) leaves pairs out."""
        needs, res = self.needs, self.resources
        j_all = needs_idx
        want = np.full(j_all.size, np.iinfo(np.int64).max if k is None else k, dtype=np.int64)
        found_j, found_i = [], []
        res_pools, skill_pools = self.res_pools.only(usable), self.skill_pools.only(usable)
        for distance in range(4):
            level = 3 - distance
            key = self._key(needs.cat[j_all], level, needs.path[j_all, level])
            for skilled in (True, False):
                pools = skill_pools if skilled else res_pools
                starts, ends = pools.segments(key * N_SUB + needs.sub[j_all] if skilled else key)

                def feasible(q, at, pools=pools, skilled=skilled, level=level):
                    j = j_all[q]
                    i = pools.items[at]
                    ok = self._fits(j, i, exclude)
                    if level < 3:  # nearer resources were met at the smaller distance
                        ok &= res.path[i, level + 1] != needs.path[j, level + 1]
                    if not skilled:  # those good at the sub_kind were met just before
                        ok &= ((res.skills[i] >> needs.sub[j]) & 1) == 0
                    return ok

                window = INITIAL_WINDOW if k is not None else np.iinfo(np.int64).max // 4
                q, at = _walk(starts, ends, want, feasible, window)
                found_j.append(j_all[q])
                found_i.append(pools.items[at])
                want = want - np.bincount(q, minlength=j_all.size)
        return np.concatenate(found_j), np.concatenate(found_i)

    def for_resources(self, res_idx: np.ndarray, k: int, usable: np.ndarray | None = None):
        """The best k needs of each resource in res_idx: most urgent and longest waiting first, then nearest,
        then skill fit. One walk per (category, distance, skill fit) segment, merged."""
        needs, res = self.needs, self.resources
        take = contains(unique(res_idx), res.entry_res)
        ec, ei = res.entry_cat[take], res.entry_res[take]
        # One query per (entry, level) with level from the resource's reach to its community.
        levels = 4 - res.reach[ei]
        rep = np.repeat(np.arange(ei.size), levels)
        qi = ei[rep]
        ql = res.reach[qi] + (np.arange(rep.size) - np.repeat(np.cumsum(levels) - levels, levels))
        qkey = self._key(ec[rep], ql, res.path[qi, ql])
        # …plus one per sub_kind the resource is good at.
        good = [np.flatnonzero((res.skills[qi] >> s) & 1) for s in range(N_SUB)]
        g_at = np.concatenate(good)
        g_sub = np.repeat(np.arange(N_SUB), [a.size for a in good])
        found = []
        for skilled, pools, qidx, keys in (
            (False, self.need_pools.only(usable), np.arange(qi.size), qkey),
            (True, self.need_sub_pools.only(usable), g_at, qkey[g_at] * N_SUB + g_sub),
        ):
            starts, ends = pools.segments(keys)
            q_res, q_level = qi[qidx], ql[qidx]

            def feasible(q, at, pools=pools, skilled=skilled, q_res=q_res, q_level=q_level):
                i = q_res[q]
                level = q_level[q]
                j = pools.items[at]
                ok = self._fits(j, i)
                deeper = np.minimum(level + 1, 3)
                ok &= (level == 3) | (needs.path[j, deeper] != res.path[i, deeper])
                if not skilled:
                    ok &= ((res.skills[i] >> needs.sub[j]) & 1) == 0
                return ok

            q, at = _walk(starts, ends, np.full(qidx.size, k, dtype=np.int64), feasible)
            found.append((q_res[q], pools.items[at], 3 - q_level[q], np.int64(0 if skilled else 1)))
        i = np.concatenate([f[0] for f in found])
        j = np.concatenate([f[1] for f in found])
        distance = np.concatenate([f[2] for f in found])
        skill = np.concatenate([np.full(f[0].size, f[3]) for f in found])
        order = np.lexsort((j, skill, distance, needs.rank[j], i))
        i, j = i[order], j[order]
        first = np.searchsorted(i, i, side="left")
        keep = np.arange(i.size) - first < k
        return j[keep], i[keep]

    def spread(self, res_idx: np.ndarray, k: int, usable: np.ndarray, exclude: np.ndarray):
        """k needs for each resource in res_idx, among the usable needs it can reach, spread out: the
        resources sharing a pool (category × the area they reach) take successive slices of the pool's needs
        (in priority order) instead of all taking the same first ones. Used to widen the candidates, where
        reaching many different needs matters more than reaching the very best."""
        res = self.resources
        take = contains(unique(res_idx), res.entry_res)
        ec, qi = res.entry_cat[take], res.entry_res[take]
        level = res.reach[qi]
        key = self._key(ec, level, res.path[qi, level])
        order = np.lexsort((qi, res.expiry[qi], key))
        key, qi = key[order], qi[order]
        position = np.arange(key.size) - np.searchsorted(key, key, side="left")
        pools = self.need_pools.only(usable)
        starts, ends = pools.segments(key)
        size = ends - starts
        offset = np.where(size > 0, (position * k) % np.maximum(size, 1), 0)

        def feasible(q, at):
            return self._fits(pools.items[at], qi[q], exclude)

        want = np.full(key.size, k, dtype=np.int64)
        q1, at1 = _walk(starts + offset, ends, want, feasible)
        want -= np.bincount(q1, minlength=key.size)
        q2, at2 = _walk(starts, starts + offset, want, feasible)  # wrap around
        q = np.concatenate([q1, q2])
        return pools.items[np.concatenate([at1, at2])], qi[q]


def pair_terms(needs: NeedTable, res: ResourceTable, j: np.ndarray, i: np.ndarray) -> dict[str, np.ndarray]:
    same = (needs.path[j, 1:] == res.path[i, 1:]).sum(axis=1)
    return {
        "urgency": needs.urgency[j],
        "waited_days": needs.waited[j],
        "distance": 3 - same,
        "skill_fit": 1 - ((res.skills[i] >> needs.sub[j]) & 1),
        "expiry_days": res.expiry[i],
    }
