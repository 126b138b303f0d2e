"""Who may see what. Every surface (admin, API, portal staff views, exports) asks these functions.

A staff user sees the areas they are assigned to and everything under them; an organisation's API key
sees the areas its organisation serves and everything under them. Out of scope is 404, never 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet

from .models import Area, Organization, OrganizationAPIKey, StaffAssignment


@dataclass(frozen=True)
class Scope:
    """A set of area subtrees, as the materialized paths of their roots. `everything` for superusers."""

    paths: tuple[str, ...] = ()
    everything: bool = False

    def q(self, prefix: str = "") -> Q:
        """A filter for rows whose area (reached through `prefix`, e.g. "community__") is in scope."""
        if self.everything:
            return Q()
        if not self.paths:
            return Q(pk__in=[])
        return reduce(or_, (Q(**{f"{prefix}path__startswith": p}) for p in self.paths))

    def areas(self) -> QuerySet[Area]:
        return Area.objects.filter(self.q())

    def contains(self, area: Area | None) -> bool:
        if area is None:
            return False
        return self.everything or any(area.path.startswith(p) for p in self.paths)

    def filter(self, queryset: QuerySet, area_field: str) -> QuerySet:
        """Keep the rows of `queryset` whose `area_field` (an FK to Area) lies in scope."""
        return queryset.filter(self.q(f"{area_field}__")) if not self.everything else queryset


def _roots(paths) -> tuple[str, ...]:
    """Drop paths already covered by an ancestor path, so queries stay short."""
    kept: list[str] = []
    for p in sorted(set(paths)):
        if not any(p.startswith(k) for k in kept):
            kept.append(p)
    return tuple(kept)


def scope_for_user(user, *, min_role: str = StaffAssignment.Role.VIEWER) -> Scope:
    """Return the areas `user` may see (or, with min_role, act in) as staff."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Scope()
    if user.is_superuser:
        return Scope(everything=True)
    cache_key = f"_scope_{min_role}"
    cached = getattr(user, cache_key, None)
    if cached is None:
        # One query for all of the user's roles (an admin page asks for several ranks), kept on the user
        # object as the scopes are: for one request.
        assignments = getattr(user, "_scope_assignments", None)
        if assignments is None:
            assignments = list(StaffAssignment.objects.filter(user=user).values_list("role", "area__path"))
            user._scope_assignments = assignments
        rank = StaffAssignment.RANK[min_role]
        cached = Scope(
            paths=_roots(path for role, path in assignments if StaffAssignment.RANK.get(role, 0) >= rank)
        )
        setattr(user, cache_key, cached)
    return cached


def scope_for_organization(organization: Organization) -> Scope:
    """Return the areas an organisation's API key may act in: the areas it serves, and below."""
    paths = organization.served_areas.values_list("path", flat=True)
    return Scope(paths=_roots(paths))


def scope_for_request(request, *, min_role: str = StaffAssignment.Role.VIEWER) -> Scope:
    """The scope of whoever made this request: an organisation API key, else the logged-in staff user.

    `min_role` applies to staff (e.g. STAFF to record money); a key acts in all the areas its
    organisation serves.
    """
    cache_attr = f"_charity_scope_{min_role}"
    cached = getattr(request, cache_attr, None)
    if cached is not None:
        return cached
    auth = getattr(request, "auth", None)
    if isinstance(auth, OrganizationAPIKey):
        # The API's authentication reads a key's scope with the key and trusts both for a few seconds.
        scope = getattr(auth, "verified_scope", None) or scope_for_organization(auth.organization)
    else:
        scope = scope_for_user(getattr(request, "user", None), min_role=min_role)
    setattr(request, cache_attr, scope)
    return scope


def visible_areas(user) -> QuerySet[Area]:
    """Which areas may this user see: the one answer the admin, the API, the portal and exports use."""
    return scope_for_user(user).areas()


def role_in_area(user, area: Area) -> str | None:
    """The highest role `user` holds over `area` (through it or an ancestor), or None."""
    if user.is_superuser:
        return StaffAssignment.Role.MANAGER
    best = None
    for assignment in StaffAssignment.objects.filter(user=user).select_related("area"):
        if area.path.startswith(assignment.area.path) and (
            best is None or StaffAssignment.RANK[assignment.role] > StaffAssignment.RANK[best]
        ):
            best = assignment.role
    return best
