"""Reads of coordination meetings and action items, each with its select_related/prefetch_related, so that a
list runs as many queries for 500 rows as for one (docs/coordination.md)."""

from __future__ import annotations

import datetime
from itertools import groupby

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from charity.models import Area, Organization, Person
from charity.scoping import Scope

from .models import ActionItem, ActionProgress, AgendaItem, Decision, Escalation, Meeting, MeetingOpinion

OPEN = tuple(ActionItem.OPEN_STATUSES)
LEVEL_RANK = {level: n for n, level in enumerate(Area.LEVEL_ORDER)}


def ancestor_paths(area: Area) -> list[str]:
    """The paths of `area` and of every area above it, city first."""
    return [area.path[: i * Area.steplen] for i in range(1, area.depth + 1)]


def _progress() -> Prefetch:
    return Prefetch(
        "progress",
        queryset=ActionProgress.objects.select_related("by_organization").order_by("noted_on", "id"),
    )


def _escalations() -> Prefetch:
    return Prefetch(
        "escalation_log",
        queryset=Escalation.objects.select_related("from_area", "to_area").order_by("escalated_at", "id"),
    )


def action_items_with_everything() -> QuerySet[ActionItem]:
    """Action items with their meeting, areas, owners, progress notes and escalations: a fixed number of
    queries however many."""
    return (
        ActionItem.objects.select_related(
            "area",
            "decision",
            "decision__meeting",
            "decision__meeting__area",
            "owner_person",
            "owner_organization",
        )
        .prefetch_related(_progress(), _escalations())
        .order_by("due_on", "id")
    )


def meetings_with_everything() -> QuerySet[Meeting]:
    """Meetings with their area, convenor, participants, agenda, decisions (with their action items) and
    opinions: a fixed number of queries however many."""
    return (
        Meeting.objects.select_related("area", "convenor_organization", "convenor_person")
        .prefetch_related(
            "participant_organizations",
            "participant_people",
            Prefetch(
                "agenda", queryset=AgendaItem.objects.select_related("action_item").order_by("position", "id")
            ),
            Prefetch(
                "decisions",
                queryset=Decision.objects.order_by("position", "id").prefetch_related(
                    Prefetch(
                        "action_items",
                        queryset=ActionItem.objects.select_related("area", "owner_organization").order_by(
                            "due_on", "id"
                        ),
                    )
                ),
            ),
            Prefetch(
                "opinions",
                queryset=MeetingOpinion.objects.select_related("speaker_person", "speaker_organization"),
            ),
        )
        .order_by("-starts_at", "-id")
    )


def in_scope_q(scope: Scope) -> Q:
    """Action items a scope sees: chased in it now, or decided by a meeting in it (an item escalated from a
    community is still that community's to read)."""
    if scope.everything:
        return Q()
    return scope.q("area__") | scope.q("decision__meeting__area__")


def is_overdue(item: ActionItem, today: datetime.date | None = None) -> bool:
    today = today or timezone.localdate()
    return item.status in OPEN and item.due_on < today


# --- the portal ---------------------------------------------------------------------------------------------


def list_public_meetings(community: Area) -> list[Meeting]:
    """The published meetings a community's residents read: its own and those of the street, district and
    city above it, newest first (at most 200): two queries."""
    return list(
        Meeting.objects.filter(status=Meeting.Status.PUBLISHED, area__path__in=ancestor_paths(community))
        .select_related("area")
        .prefetch_related(Prefetch("decisions", queryset=Decision.objects.only("id", "meeting_id")))
        .order_by("-starts_at", "-id")[:200]
    )


def get_public_meeting(pk: int) -> Meeting | None:
    """One published meeting with its decisions, their action items, progress notes and escalations, and the
    opinions given; None when it is absent or not published. A fixed number of queries."""
    return (
        Meeting.objects.filter(pk=pk, status=Meeting.Status.PUBLISHED)
        .select_related("area")
        .prefetch_related(
            Prefetch(
                "decisions",
                queryset=Decision.objects.order_by("position", "id").prefetch_related(
                    Prefetch(
                        "action_items",
                        queryset=ActionItem.objects.select_related("area", "owner_organization")
                        .prefetch_related(_progress(), _escalations())
                        .order_by("due_on", "id"),
                    )
                ),
            ),
            Prefetch("agenda", queryset=AgendaItem.objects.order_by("position", "id")),
            Prefetch("opinions", queryset=MeetingOpinion.objects.select_related("speaker_organization")),
        )
        .first()
    )


# --- the admin ----------------------------------------------------------------------------------------------


def overdue_board(
    scope: Scope, today: datetime.date | None = None
) -> list[tuple[str, str, list[ActionItem]]]:
    """Open items past their due date that `scope` sees, grouped by the level chasing them (city first) and
    oldest first within a level, as (level, level label, items). Two queries."""
    today = today or timezone.localdate()
    items = list(
        ActionItem.objects.filter(in_scope_q(scope), status__in=OPEN, due_on__lt=today)
        .select_related("area", "decision__meeting", "owner_person", "owner_organization")
        .order_by("due_on", "id")
    )
    for item in items:
        item.days_overdue = (today - item.due_on).days
    items.sort(key=lambda i: (LEVEL_RANK.get(i.area.level, 9), i.due_on, i.pk))
    return [
        (level, Area.Level(level).label, list(rows))
        for level, rows in groupby(items, key=lambda i: i.area.level)
    ]


def reachable_organizations(area: Area) -> QuerySet[Organization]:
    """The organisations a meeting at `area` may name: based at it, above it or below it, or serving there."""
    related = ancestor_paths(area)
    return (
        Organization.objects.filter(
            Q(area__path__in=related)
            | Q(area__path__startswith=area.path)
            | Q(served_areas__path__in=related)
            | Q(served_areas__path__startswith=area.path)
        )
        .distinct()
        .order_by("name")
    )


def reachable_organizations_for_scope(scope: Scope) -> QuerySet[Organization]:
    """The organisations the meetings a scope's staff keep may name: in the scope, or based above it."""
    if scope.everything:
        return Organization.objects.all()
    above = {p[: i * Area.steplen] for p in scope.paths for i in range(1, len(p) // Area.steplen + 1)}
    return Organization.objects.filter(scope.q("area__") | Q(area__path__in=above))


def reachable_people_for_scope(scope: Scope) -> QuerySet[Person]:
    """The people a scope's staff may name in their meetings: residents of the scope (a representative of
    an organisation above it is named through the organisation: no other community's resident is listed)."""
    if scope.everything:
        return Person.objects.all()
    return Person.objects.filter(scope.q("community__"))


# --- the calendar feed --------------------------------------------------------------------------------------

PAST_DAYS = 60
MAX_ENTRIES = 500


def calendar_entries(area: Area) -> tuple[list[Meeting], list[ActionItem]]:
    """A level's meetings from PAST_DAYS ago on, and the open action items chased there: two queries."""
    since = timezone.now() - datetime.timedelta(days=PAST_DAYS)
    meetings = list(
        Meeting.objects.filter(area=area, starts_at__gte=since)
        .select_related("area")
        .order_by("starts_at", "id")[:MAX_ENTRIES]
    )
    items = list(
        ActionItem.objects.filter(area=area, status__in=OPEN)
        .select_related("decision__meeting", "owner_organization")
        .order_by("due_on", "id")[:MAX_ENTRIES]
    )
    return meetings, items
