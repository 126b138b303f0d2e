"""Reads of the resources registry, each with its joins, scoped by the caller's areas or community."""

from __future__ import annotations

import datetime

from django.db.models import Count, Min, Prefetch, Q, QuerySet
from django.utils import timezone

from charity.models import Area, Category, Person
from charity.scoping import Scope

from .models import Claim, Loan, Resource, WaitlistEntry


def reach_paths(community: Area) -> list[str]:
    """The paths of `community` and every area above it: where a resource must reach to reach it."""
    return [community.path[: i * Area.steplen] for i in range(1, community.depth + 1)]


def with_details(queryset: QuerySet[Resource]) -> QuerySet[Resource]:
    return queryset.select_related("community", "owner_person", "owner_organization").prefetch_related(
        Prefetch("categories", queryset=Category.objects.order_by("sort_order", "code")), "slots"
    )


def list_resources_reaching(community: Area) -> QuerySet[Resource]:
    """Resources that may travel to `community`: one join on the indexed area path, `path IN (…)`."""
    return Resource.objects.filter(reach_area__path__in=reach_paths(community))


def list_resources(scope: Scope) -> QuerySet[Resource]:
    """Resources offered in the areas of `scope` (staff, API key)."""
    return with_details(scope.filter(Resource.objects.all(), "community"))


def list_open_exchange(community: Area) -> QuerySet[Resource]:
    """Exchange items a resident of `community` can still claim, or wait to be handed over."""
    today = timezone.localdate()
    return with_details(
        list_resources_reaching(community)
        .filter(for_exchange=True, status__in=[Resource.Status.AVAILABLE, Resource.Status.RESERVED])
        .filter(Q(available_until__isnull=True) | Q(available_until__gte=today))
        .order_by("-created_at", "-id")
    )


def list_tools(community: Area) -> QuerySet[Resource]:
    """Tools of the library that reach `community`, each with when the first copy lent out is due back
    (`next_due`) and how many are waiting (`waiting`)."""
    return with_details(
        list_resources_reaching(community)
        .filter(kind=Resource.Kind.TOOL, status=Resource.Status.AVAILABLE)
        .annotate(
            next_due=Min("loans__due", filter=Q(loans__returned_at__isnull=True)),
            waiting=Count("waitlist", filter=Q(waitlist__status__in=WaitlistEntry.ACTIVE), distinct=True),
        )
        .order_by("title", "id")
    )


def list_loans(scope: Scope) -> QuerySet[Loan]:
    return scope.filter(Loan.objects.all(), "resource__community").select_related(
        "resource", "resource__community", "borrower"
    )


def list_overdue_loans(scope: Scope, today: datetime.date | None = None) -> QuerySet[Loan]:
    today = today or timezone.localdate()
    return list_loans(scope).filter(returned_at__isnull=True, due__lt=today).order_by("due", "pk")


def list_my_resources(person: Person) -> QuerySet[Resource]:
    return with_details(Resource.objects.filter(owner_person=person)).prefetch_related(
        Prefetch(
            "claims",
            queryset=Claim.objects.filter(status=Claim.Status.CLAIMED).select_related("claimant"),
            to_attr="open_claims",
        )
    )


def list_my_loans(person: Person) -> QuerySet[Loan]:
    return Loan.objects.filter(borrower=person).select_related("resource").order_by("-start", "-id")


def list_my_waitlist(person: Person) -> QuerySet[WaitlistEntry]:
    return WaitlistEntry.objects.filter(person=person, status__in=WaitlistEntry.ACTIVE).select_related(
        "resource"
    )


def list_my_claims(person: Person) -> QuerySet[Claim]:
    return Claim.objects.filter(claimant=person).select_related("resource").order_by("-created_at", "-id")
