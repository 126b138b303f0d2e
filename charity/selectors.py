"""Reusable read queries of the core structure layer."""

from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, QuerySet

from .models import Area, Organization


def list_communities() -> QuerySet[Area]:
    """Every community, with its chain of parents' names resolved in one query by the caller."""
    return Area.objects.filter(level=Area.Level.COMMUNITY).order_by("path")


def get_area_chain(area: Area) -> list[Area]:
    """The area and its ancestors, city first, in one query."""
    paths = [area.path[: i * Area.steplen] for i in range(1, area.depth + 1)]
    return list(Area.objects.filter(path__in=paths).order_by("depth"))


def list_organizations_serving(area: Area) -> QuerySet[Organization]:
    """Organisations based in `area` or serving it (or one of its ancestors), for its public pages."""
    paths = [area.path[: i * Area.steplen] for i in range(1, area.depth + 1)]
    # Clear Meta.ordering in both parts: SQLite refuses ORDER BY inside a compound statement.
    return (
        Organization.objects.filter(area=area)
        .order_by()
        .union(Organization.objects.filter(served_areas__path__in=paths).order_by())
        .order_by("type", "name")
    )


def list_organizations_for_api(queryset: QuerySet[Organization]) -> QuerySet[Organization]:
    return queryset.select_related("area", "hub").prefetch_related(
        Prefetch("served_areas", queryset=Area.objects.only("id"))
    )


def count_people_in(area: Area) -> int:
    return Area.objects.filter(path__startswith=area.path).aggregate(n=Count("people"))["n"]


def list_users_in_scope(scope, queryset=None):
    """Users who belong to `scope`: a person in it, or a staff role over an area in it (no one else's login
    is ever offered to staff, issue 7)."""
    queryset = get_user_model().objects.all() if queryset is None else queryset
    if scope.everything:
        return queryset
    in_scope = scope.q("person__community__") | scope.q("staff_assignments__area__")
    return queryset.filter(pk__in=get_user_model().objects.filter(in_scope).values("pk"))
