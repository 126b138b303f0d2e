"""Reusable read queries of the committee: who sits on it today, and what its composition lacks."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from charity.models import Area, Organization

from .models import CATEGORY_OF_ORGANIZATION_TYPE, Committee, Membership

MIN_VOTING_MEMBERS = 5
MIN_CATEGORIES = 4

ROLE_ORDER = {role: i for i, role in enumerate(Membership.Role.values)}
CATEGORY_ORDER = {category: i for i, category in enumerate(Membership.Category.values)}


def _current_q(on: datetime.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}term_start__lte": on}) & (
        Q(**{f"{prefix}term_end__isnull": True}) | Q(**{f"{prefix}term_end__gte": on})
    )


def _sort_key(membership: Membership):
    return (
        ROLE_ORDER[membership.role],
        CATEGORY_ORDER[membership.category],
        membership.person.name,
        membership.pk,
    )


def current_members(committee: Committee, on: datetime.date | None = None) -> list[Membership]:
    """Return the memberships serving on `on` (default: today, Shanghai time), chair first."""
    on = on or timezone.localdate()
    rows = Membership.objects.filter(_current_q(on), committee=committee).select_related(
        "person", "organization"
    )
    return sorted(rows, key=_sort_key)


def composition_issues(committee: Committee, members: Iterable[Membership] | None = None) -> list[dict]:
    """List what the committee's current composition lacks, as {code, message} warnings (not blockers).

    DOMAIN.md: an odd number of voting members, at least 5, from several stakeholder categories including
    residents, and at least one supervisor who does not vote.
    """
    members = list(current_members(committee) if members is None else members)
    voting = [m for m in members if m.is_voting]
    categories = {m.category for m in members}
    issues = []
    if len(voting) < MIN_VOTING_MEMBERS:
        issues.append(
            {
                "code": "too_few_voting_members",
                "message": _("The committee has %(n)d voting members; it needs at least %(min)d.")
                % {"n": len(voting), "min": MIN_VOTING_MEMBERS},
            }
        )
    if voting and len(voting) % 2 == 0:
        issues.append(
            {
                "code": "even_voting_members",
                "message": _(
                    "The committee has an even number of voting members (%(n)d); it needs an odd number "
                    "so that a vote cannot tie."
                )
                % {"n": len(voting)},
            }
        )
    if not any(m.role == Membership.Role.SUPERVISOR for m in members):
        issues.append(
            {
                "code": "no_supervisor",
                "message": _(
                    "The committee has no supervisor; at least one supervisor attends and is minuted."
                ),
            }
        )
    if Membership.Category.RESIDENT not in categories:
        issues.append(
            {
                "code": "no_resident",
                "message": _("No member represents the residents."),
            }
        )
    if len(categories) < MIN_CATEGORIES:
        issues.append(
            {
                "code": "too_few_categories",
                "message": _("The members come from %(n)d stakeholder categories; it needs at least %(min)d.")
                % {"n": len(categories), "min": MIN_CATEGORIES},
            }
        )
    return issues


def with_current_members(
    queryset: QuerySet[Committee], on: datetime.date | None = None
) -> QuerySet[Committee]:
    """Prefetch each committee's serving memberships (with people) into `current_memberships`."""
    on = on or timezone.localdate()
    return queryset.prefetch_related(
        Prefetch(
            "memberships",
            queryset=Membership.objects.filter(_current_q(on)).select_related("person", "organization"),
            to_attr="current_memberships",
        )
    )


def prefetched_members(committee: Committee) -> list[Membership]:
    """The serving memberships of a committee from `with_current_members`, chair first."""
    return sorted(committee.current_memberships, key=_sort_key)


def list_committees_for_api(queryset: QuerySet[Committee]) -> QuerySet[Committee]:
    """Committees with their fund and serving members: a fixed number of queries however many rows."""
    return with_current_members(queryset.select_related("fund"))


def get_public_committee(pk: int) -> Committee | None:
    """One committee for its public page, with fund, community and serving members, or None."""
    return with_current_members(
        Committee.objects.select_related("fund", "fund__community").filter(pk=pk)
    ).first()


def members_by_category(members: Iterable[Membership]) -> list[tuple[str, list[Membership]]]:
    """Group memberships by stakeholder category, in the glossary's order, as (label, members)."""
    groups: dict[str, list[Membership]] = {}
    for m in members:
        groups.setdefault(m.category, []).append(m)
    return [(Membership.Category(c).label, groups[c]) for c in Membership.Category.values if c in groups]


def eligible_organizations(community: Area) -> QuerySet[Organization]:
    """The organisations that may send a member to a community fund's committee.

    Those based at the community or above it (the street office, the host) and those that serve it.
    """
    ancestors = [community.path[: i * Area.steplen] for i in range(1, community.depth + 1)]
    return (
        Organization.objects.filter(Q(area__path__in=ancestors) | Q(served_areas__path__in=ancestors))
        .exclude(type__in=[t for t in Organization.Type.values if t not in CATEGORY_OF_ORGANIZATION_TYPE])
        .distinct()
        .order_by("name")
    )
