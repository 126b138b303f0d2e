"""Reads of volunteers and community leaders, each with its joins, in a fixed number of queries.

- `list_volunteers(scope)`: volunteers of the communities in scope, with person, community and teams.
- `leader_path(person)`: a leader's path — how they were found, the trainings they attended (events of a
  kind in Event.TRAINING_KINDS where their sign-up was checked in), the responsibilities they took on, the
  people they brought in (Person.recruited_by) with the confirmed hours each served, and the events they
  organised (by their organisation, or as an event organiser) — "one brings many" (以一带多). Six queries
  whatever the numbers.
- `leaders_with_reach(queryset)`: leader profiles annotated with the counts the leaders' list shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from charity.models import Organization, Person
from charity.scoping import Scope

from .models import Event, LeaderProfile, LeaderRole, ServiceRecord, Signup, Volunteer

CONFIRMED = ServiceRecord.Status.CONFIRMED


def with_details(queryset: QuerySet[Volunteer]) -> QuerySet[Volunteer]:
    return queryset.select_related("person", "person__community").prefetch_related(
        Prefetch("teams", queryset=Organization.objects.order_by("name", "id").only("id", "name"))
    )


def list_volunteers(scope: Scope) -> QuerySet[Volunteer]:
    """Volunteers of the communities in `scope` (staff, API key), by number."""
    return with_details(scope.filter(Volunteer.objects.all(), "person__community")).order_by("number")


def volunteer_of(person: Person) -> Volunteer | None:
    return with_details(Volunteer.objects.filter(person=person)).first()


def confirmed_minutes(volunteer: Volunteer) -> int:
    total = ServiceRecord.objects.filter(volunteer=volunteer, status=CONFIRMED).aggregate(m=Sum("minutes"))
    return total["m"] or 0


def _confirmed_minutes_of_person() -> Subquery:
    """A subquery: the confirmed minutes served by the person of the outer row (through their volunteer)."""
    return Subquery(
        ServiceRecord.objects.filter(volunteer__person=OuterRef("pk"), status=CONFIRMED)
        .values("volunteer__person")
        .annotate(total=Sum("minutes"))
        .values("total")[:1],
        output_field=IntegerField(),
    )


@dataclass
class LeaderPath:
    person: Person
    profile: LeaderProfile | None
    trainings: list[Signup] = field(default_factory=list)
    roles: list[LeaderRole] = field(default_factory=list)
    recruits: list[Person] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @property
    def recruit_count(self) -> int:
        return len(self.recruits)

    @property
    def recruits_volunteering(self) -> int:
        return sum(1 for r in self.recruits if r.volunteer_number)

    @property
    def recruit_minutes(self) -> int:
        return sum(r.confirmed_minutes for r in self.recruits)

    @property
    def recruit_hours(self) -> Decimal:
        return Decimal(self.recruit_minutes) / 60

    @property
    def event_count(self) -> int:
        return len(self.events)

    @property
    def people_reached(self) -> int:
        """People who attended (were checked in at) the events the leader organised."""
        return sum(e.attended for e in self.events)


def leader_path(person: Person) -> LeaderPath:
    """The path of `person` as a community leader, in six queries (see the module docstring)."""
    person = Person.objects.select_related("community", "organization", "leader_profile__marked_by").get(
        pk=person.pk
    )
    profile = getattr(person, "leader_profile", None) if hasattr(person, "leader_profile") else None
    trainings = list(
        Signup.objects.filter(
            person=person, event__kind__in=Event.TRAINING_KINDS, checked_in_at__isnull=False
        )
        .select_related("event", "event__organizer")
        .order_by("event__starts_at", "id")
    )
    roles = list(
        LeaderRole.objects.filter(person=person)
        .select_related("organization", "event")
        .order_by("-started_on", "-id")
    )
    recruits = list(
        Person.objects.filter(recruited_by=person)
        .annotate(
            confirmed_minutes=Coalesce(_confirmed_minutes_of_person(), 0),
            volunteer_number=Subquery(Volunteer.objects.filter(person=OuterRef("pk")).values("number")[:1]),
        )
        .order_by("name", "id")
    )
    for recruit in recruits:
        recruit.confirmed_hours = Decimal(recruit.confirmed_minutes) / 60
    organised = Q(leader_roles__person=person, leader_roles__kind=LeaderRole.Kind.EVENT_ORGANISER)
    if person.organization_id:
        organised |= Q(organizer_id=person.organization_id)
    event_ids = Event.objects.filter(organised).values("pk")
    events = list(
        Event.objects.filter(pk__in=event_ids)
        .select_related("organizer", "series")
        .annotate(attended=Count("signups", filter=Q(signups__checked_in_at__isnull=False)))
        .order_by("-starts_at", "-id")
    )
    return LeaderPath(
        person=person, profile=profile, trainings=trainings, roles=roles, recruits=recruits, events=events
    )


def leaders_with_reach(queryset: QuerySet[LeaderProfile]) -> QuerySet[LeaderProfile]:
    """Leader profiles with `recruit_count`, `recruit_minutes` (their recruits' confirmed minutes) and
    `role_count`, for the leaders' list: subqueries, so the list costs the same for 1 or 500 leaders."""
    recruit_minutes = Subquery(
        ServiceRecord.objects.filter(volunteer__person__recruited_by=OuterRef("person_id"), status=CONFIRMED)
        .values("volunteer__person__recruited_by")
        .annotate(total=Sum("minutes"))
        .values("total")[:1],
        output_field=IntegerField(),
    )
    recruit_count = Subquery(
        Person.objects.filter(recruited_by=OuterRef("person_id"))
        .values("recruited_by")
        .annotate(n=Count("pk"))
        .values("n")[:1],
        output_field=IntegerField(),
    )
    role_count = Subquery(
        LeaderRole.objects.filter(person=OuterRef("person_id"))
        .values("person")
        .annotate(n=Count("pk"))
        .values("n")[:1],
        output_field=IntegerField(),
    )
    return queryset.select_related("person", "person__community").annotate(
        recruit_count=Coalesce(recruit_count, 0),
        recruit_minutes=Coalesce(recruit_minutes, 0),
        role_count=Coalesce(role_count, 0),
    )
