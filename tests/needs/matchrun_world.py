"""A small city for the matching-run tests: areas through treebeard, needs and resources straight with the
ORM (the run reads the tables; the registries' services are tested elsewhere)."""

import datetime
import random

from django.utils import timezone

from charity.models import Area, Category, Organization
from needs.models import Match, MatchRun, Need
from resources.models import AvailabilitySlot, Resource
from resources.services import reach_area

R = Resource.Reach


class City:
    """城南市: districts A and B, two streets each, two communities a street (all names illustrative)."""

    def __init__(self, districts: int = 2, streets: int = 2, communities: int = 2, name: str = "城南市"):
        self.city = Area.objects.add_root({"name": name, "level": Area.Level.CITY})
        self.districts, self.streets, self.communities = [], [], []
        for d in range(districts):
            district = Area.objects.add_child(
                self.city, {"name": f"{name}{'ABCDEFGHIJ'[d]}区", "level": Area.Level.DISTRICT}
            )
            self.districts.append(district)
            for s in range(streets):
                street = Area.objects.add_child(
                    Area.objects.get(pk=district.pk),
                    {"name": f"{district.name}{s + 1}街道", "level": Area.Level.STREET},
                )
                self.streets.append(street)
                for c in range(communities):
                    self.communities.append(
                        Area.objects.add_child(
                            Area.objects.get(pk=street.pk),
                            {"name": f"{street.name}{c + 1}社区", "level": Area.Level.COMMUNITY},
                        )
                    )
        self.city.refresh_from_db()
        # A test on a real worker flushes the tables, the migration's categories with them.
        for code, zh in (("elderly", "助老"), ("disability", "助残"), ("children", "助学")):
            Category.objects.get_or_create(code=code, defaults={"name_zh": zh, "name_en": code})
        self.categories = list(Category.objects.order_by("sort_order", "code")[:3])
        self.org = Organization.objects.create(
            name=f"{name}爱心商户", type=Organization.Type.MERCHANT, area=self.communities[0]
        )
        self._n = 0

    def fresh(self, area: Area) -> Area:
        return Area.objects.get(pk=area.pk)

    def in_district(self, district: Area) -> list[Area]:
        return [c for c in self.communities if c.path.startswith(self.fresh(district).path)]

    def need(
        self, community: Area, *, category=None, quantity=1, urgency="routine", waited=0, **extra
    ) -> Need:
        self._n += 1
        published = timezone.now() - datetime.timedelta(days=waited)
        return Need.objects.create(
            community=community,
            category=category or self.categories[0],
            sub_kind=extra.pop("sub_kind", Need.SubKind.CLOTHING),
            summary=extra.pop("summary", f"为老人准备过冬的棉被（第{self._n}件）"),
            quantity=quantity,
            urgency=urgency,
            source=Need.Source.STAFF,
            status=extra.pop("status", Need.Status.PUBLISHED),
            published_at=published,
            **extra,
        )

    def resource(
        self,
        community: Area,
        *,
        reach=R.COMMUNITY,
        kind=Resource.Kind.GOODS,
        categories=None,
        quantity=1,
        slots=(),
        **extra,
    ) -> Resource:
        self._n += 1
        community = self.fresh(community)
        resource = Resource.objects.create(
            kind=kind,
            owner_organization=self.org,
            title=extra.pop("title", f"棉被{self._n}"),
            quantity=quantity,
            community=community,
            reach=reach,
            reach_area=reach_area(community, reach),
            available_from=extra.pop("available_from", timezone.localdate() - datetime.timedelta(days=1)),
            **extra,
        )
        resource.categories.set(categories if categories is not None else [self.categories[0]])
        for weekday in slots:
            AvailabilitySlot.objects.create(
                resource=resource, weekday=weekday, start_time=datetime.time(9), end_time=datetime.time(12)
            )
        return resource

    def random_fill(
        self, seed: int, *, needs: int, resources: int, reaches=(R.COMMUNITY, R.STREET, R.DISTRICT)
    ):
        """Needs and resources at random (a seeded generator): urgencies, waits, quantities, reaches."""
        rng = random.Random(seed)
        for _ in range(needs):
            self.need(
                rng.choice(self.communities),
                category=rng.choice(self.categories),
                quantity=rng.randint(1, 4),
                urgency=rng.choice(Need.Urgency.values),
                waited=rng.randint(0, 60),
            )
        for _ in range(resources):
            self.resource(
                rng.choice(self.communities),
                reach=rng.choice(reaches),
                categories=rng.sample(self.categories, rng.randint(1, 2)),
                quantity=rng.randint(1, 5),
            )


def proposed(**filters) -> set[tuple[int, int, int]]:
    """(need, resource, quantity) of the proposed matches."""
    return set(
        Match.objects.filter(status=Match.Status.PROPOSED, **filters).values_list(
            "need_id", "resource_id", "quantity"
        )
    )


def as_set(proposals) -> set[tuple[int, int, int]]:
    return {(p.need_id, p.resource_id, p.quantity) for p in proposals}


def running_run(area: Area, **fields) -> MatchRun:
    fields.setdefault("trigger", MatchRun.Trigger.STAFF)
    fields.setdefault("status", MatchRun.Status.RUNNING)
    return MatchRun.objects.create(night=timezone.localdate(), area=area, partition="area", **fields)


def bulk_fill(city: City, seed: int, *, needs: int, resources: int, within=None) -> None:
    """Many rows at once (bulk_create): needs and goods across `within` (default: every community)."""
    rng = random.Random(seed)
    communities = [city.fresh(c) for c in (within or city.communities)]
    reach_of = {}
    for community in communities:
        for reach in (R.COMMUNITY, R.STREET, R.DISTRICT):
            reach_of[community.pk, reach] = reach_area(community, reach)
    now = timezone.now()
    Need.objects.bulk_create(
        Need(
            community=rng.choice(communities),
            category=rng.choice(city.categories),
            sub_kind=Need.SubKind.CLOTHING,
            summary=f"批量需求{i}",
            quantity=rng.randint(1, 4),
            urgency=rng.choice(Need.Urgency.values),
            source=Need.Source.STAFF,
            status=Need.Status.PUBLISHED,
            published_at=now - datetime.timedelta(days=rng.randint(0, 90)),
        )
        for i in range(needs)
    )
    made = []
    for i in range(resources):
        community = rng.choice(communities)
        reach = rng.choice([R.COMMUNITY, R.STREET, R.DISTRICT])
        made.append(
            Resource(
                kind=Resource.Kind.GOODS,
                owner_organization=city.org,
                title=f"批量物资{i}",
                quantity=rng.randint(1, 5),
                community=community,
                reach=reach,
                reach_area=reach_of[community.pk, reach],
                available_from=timezone.localdate() - datetime.timedelta(days=1),
            )
        )
    made = Resource.objects.bulk_create(made)
    Through = Resource.categories.through
    Through.objects.bulk_create(
        Through(resource_id=r.pk, category_id=category.pk)
        for r in made
        for category in rng.sample(city.categories, rng.randint(1, 2))
    )
