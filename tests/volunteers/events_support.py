"""Helpers shared by the events, sign-up and check-in tests (E's slice of issue 11)."""

import datetime

from django.utils import timezone

from charity.models import AuditEvent
from charity.services import Actor
from tests.factories import PersonFactory, UserFactory
from tests.volunteers.factories import make_event, make_volunteer

SYSTEM = Actor.system(AuditEvent.Surface.COMMAND)
_n = [0]


def staff_actor(user):
    return Actor(surface=AuditEvent.Surface.ADMIN, user=user)


def portal_actor(person):
    return Actor(surface=AuditEvent.Surface.PORTAL, user=person.user)


def key_actor(organization):
    return Actor(surface=AuditEvent.Surface.API, organization=organization)


def resident_of(area, name="居民"):
    """A resident with a login (opaque username, like every resident's)."""
    _n[0] += 1
    return PersonFactory(name=f"{name}{_n[0]}", community=area, user=UserFactory(username=f"ev{_n[0]}x"))


def volunteer_of(area, *, birth_date=datetime.date(1985, 3, 1), **fields):
    person = resident_of(area, "志愿者")
    return make_volunteer(person, birth_date=birth_date, **fields)


def running_event(area, **fields):
    """An event that started an hour ago and ends in two (check-in is open)."""
    fields.setdefault("signup_deadline", timezone.now() + datetime.timedelta(hours=1))
    fields.setdefault("cancellation_cutoff", timezone.now() - datetime.timedelta(hours=2))
    return make_event(area, starts_in=-datetime.timedelta(hours=1), hours=3, **fields)


def many_events(area, n, *, person=None, organizer=None):
    """`n` events in bulk, each with two roles, a confirmed and a waiting participant (and, when given,
    `person` signed up or waiting), for the query-count tests."""
    from charity.models import Organization, Person
    from tests.factories import OrganizationFactory
    from volunteers.models import Event, Signup, VolunteerRole

    organizer = organizer or OrganizationFactory(area=area, type=Organization.Type.HUB)
    starts = timezone.now() + datetime.timedelta(days=3)
    events = Event.objects.bulk_create(
        Event(
            community=area,
            organizer=organizer,
            kind=Event.Kind.SERVICE_ACTIVITY,
            title=f"批量活动{i}",
            place="广场",
            starts_at=starts + datetime.timedelta(minutes=i),
            ends_at=starts + datetime.timedelta(minutes=i, hours=2),
            capacity=1,
            signup_deadline=starts,
            cancellation_cutoff=starts,
        )
        for i in range(n)
    )
    VolunteerRole.objects.bulk_create(
        VolunteerRole(event=e, name=name, capacity=1) for e in events for name in ("引导", "摄影")
    )
    people = Person.objects.bulk_create(
        Person(name=f"批量{i}", community=area, mobile=f"135{_n[0]:03d}{i:05d}") for i in range(2 * n)
    )
    _n[0] += 1
    rows = []
    for i, event in enumerate(events):
        rows.append(Signup(event=event, person=people[2 * i], status=Signup.Status.CONFIRMED))
        rows.append(Signup(event=event, person=people[2 * i + 1], status=Signup.Status.WAITING))
        if person is not None:
            rows.append(Signup(event=event, person=person, status=Signup.Status.WAITING))
    Signup.objects.bulk_create(rows)
    return events
