"""Matches for the review tests, written straight with the ORM (the nightly run is another module's)."""

import datetime

from django.utils import timezone

from charity.models import Area, AuditEvent, Category, Organization
from charity.services import Actor
from needs.models import Match, MatchRun, Need
from tests.factories import OrganizationFactory, PersonFactory, UserFactory
from tests.resources.conftest import make_resource

SYSTEM = Actor.system(AuditEvent.Surface.COMMAND)
REASONS = [["same_street", {}], ["urgency", {"level": "urgent"}], ["waited", {"days": 12}]]


def district_of(community: Area) -> Area:
    # Read afresh: adding an area renumbers the paths of those sorted after it (node_order_by = name).
    path = Area.objects.values_list("path", flat=True).get(pk=community.pk)
    return Area.objects.get(path=path[: 2 * Area.steplen])


def make_run(community: Area, *, night: datetime.date | None = None, **fields) -> MatchRun:
    night = night or timezone.localdate()
    fields.setdefault("trigger", MatchRun.Trigger.STAFF)
    fields.setdefault("status", MatchRun.Status.DONE)
    return MatchRun.objects.create(night=night, area=district_of(community), **fields)


def elderly() -> Category:
    """The 助老 category (a data migration's row; a transactional test's flush removes it, so made again)."""
    category, _created = Category.objects.get_or_create(
        code="elderly", defaults={"name_zh": "助老", "name_en": "Elderly care"}
    )
    return category


def make_need(community: Area, *, quantity: int | None = 3, source_organization=None, **extra) -> Need:
    """A published need of `community` (no personal detail in it)."""
    return Need.objects.create(
        community=community,
        category=extra.pop("category", None) or elderly(),
        sub_kind=extra.pop("sub_kind", Need.SubKind.CLOTHING),
        summary=extra.pop("summary", "为独居老人准备过冬的棉被"),
        quantity=quantity,
        unit=extra.pop("unit", "床"),
        urgency=extra.pop("urgency", Need.Urgency.URGENT),
        source=Need.Source.API if source_organization else Need.Source.STAFF,
        source_organization=source_organization,
        status=Need.Status.PUBLISHED,
        published_at=timezone.now(),
        **extra,
    )


def giver(community: Area, name: str = "热心居民", mobile: str | None = None):
    return PersonFactory(name=name, community=community, mobile=mobile, user=UserFactory())


def blankets(community: Area, *, owner=None, quantity: int = 20, title: str = "棉被", **fields):
    """A resource offered in `community` (a resident's unless `owner` says otherwise)."""
    return make_resource(
        community,
        owner=owner or giver(community),
        title=title,
        quantity=quantity,
        unit="床",
        categories=[elderly()],
        **fields,
    )


def propose(
    need: Need, resource, *, quantity: int = 1, run: MatchRun | None = None, cost: int = 100, **fields
):
    return Match.objects.create(
        run=run or make_run(need.community),
        need=need,
        resource=resource,
        quantity=quantity,
        cost=cost,
        cost_terms=fields.pop("cost_terms", {"urgency": 1, "waited_days": 12, "distance": 1}),
        reasons=fields.pop("reasons", REASONS),
        **fields,
    )


def organisation(community: Area, name: str, **fields) -> Organization:
    return OrganizationFactory(name=name, area=community, **fields)
