"""Reads of matches used by the review queue, the API and "my page"."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from charity.models import Area, Person

from .match_reasons import DISTANCE_CODES, distance_code
from .models import Match


def matches_with_details() -> QuerySet[Match]:
    """Matches with what a list shows of them: need (community, category), resource (community), run."""
    return Match.objects.select_related(
        "need", "need__community", "need__category", "resource", "resource__community", "run", "run__area"
    )


# Where the households are, seen from the resident who offered the resource (farthest wins).
_PLACE_WORDS = {
    "same_community": _("in your community"),
    "same_street": _("in your street"),
    "same_district": _("in your district"),
    "same_city": _("in your city"),
}
_LEVEL_DISTANCE = {
    Area.Level.COMMUNITY: "same_community",
    Area.Level.STREET: "same_street",
    Area.Level.DISTRICT: "same_district",
    Area.Level.CITY: "same_city",
}
MATCHED_STATUSES = (Match.Status.ACCEPTED, Match.Status.FULFILLED)


@dataclass(frozen=True)
class MatchedResource:
    """What became of one resource a resident offered: how many households it was matched to, and where."""

    resource_id: int
    title: str
    households: int
    place: str  # one of the distance codes

    @property
    def sentence(self) -> str:
        return ngettext(
            "Your “%(title)s” was matched to %(n)d household %(place)s.",
            "Your “%(title)s” was matched to %(n)d households %(place)s.",
            self.households,
        ) % {"title": self.title, "n": self.households, "place": _PLACE_WORDS[self.place]}


def _common_path(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[: n - n % Area.steplen]


def list_my_matched_resources(person: Person) -> list[MatchedResource]:
    """The resources `person` offered that were matched (accepted or delivered), newest first, each with
    the number of households (distinct needs) and the farthest place among them. Nothing about the
    households themselves. At most two queries, however many matches."""
    rows = list(
        Match.objects.filter(resource__owner_person=person, status__in=MATCHED_STATUSES)
        .order_by("-resource__created_at", "-resource_id", "need_id")
        .values_list(
            "resource_id",
            "resource__title",
            "need_id",
            "reasons",
            "resource__community__path",
            "need__community__path",
        )
    )
    # The engine's distance code says how far each match went; a match without one is placed by the
    # deepest area the two communities share (one query for all of them).
    unplaced = {
        _common_path(own, theirs)
        for _r, _t, _n, reasons, own, theirs in rows
        if distance_code(reasons) is None and own and theirs
    }
    levels = dict(Area.objects.filter(path__in=unplaced).values_list("path", "level")) if unplaced else {}
    order: list[int] = []
    titles: dict[int, str] = {}
    needs: dict[int, set[int]] = {}
    farthest: dict[int, int] = {}
    for resource_id, title, need_id, reasons, own, theirs in rows:
        if resource_id not in titles:
            order.append(resource_id)
            titles[resource_id] = title
            needs[resource_id] = set()
            farthest[resource_id] = 0
        needs[resource_id].add(need_id)
        code = distance_code(reasons) or _LEVEL_DISTANCE.get(
            levels.get(_common_path(own or "", theirs or "")), "same_city"
        )
        farthest[resource_id] = max(farthest[resource_id], DISTANCE_CODES.index(code))
    return [
        MatchedResource(
            resource_id=pk,
            title=titles[pk],
            households=len(needs[pk]),
            place=DISTANCE_CODES[farthest[pk]],
        )
        for pk in order
    ]
