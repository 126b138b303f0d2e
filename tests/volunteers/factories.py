"""Volunteer and event rows built directly (no service): for tests that need one to exist.

Tests of registration, sign-up and hours go through `volunteers.services`; these only set the scene.
"""

import datetime
import itertools

from django.utils import timezone

from charity import crypto
from charity.models import Organization
from tests.factories import OrganizationFactory, PersonFactory, community
from volunteers.models import Event, Volunteer, VolunteerRole

_numbers = itertools.count(1)


def valid_resident_id(birth: datetime.date = datetime.date(1980, 5, 17), serial: int = 123) -> str:
    """An 18-character resident ID number with a correct check digit (GB 11643-1999)."""
    body = f"449999{birth:%Y%m%d}{serial:03d}"  # a region code no county has: never a real number
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


def make_volunteer(person=None, *, area=None, birth_date=datetime.date(1980, 5, 17), **fields) -> Volunteer:
    if person is None:
        person = PersonFactory(community=area or community())
    n = next(_numbers)
    id_number = fields.pop("id_number", valid_resident_id(birth_date, n % 1000))
    return Volunteer.objects.create(
        person=person,
        number=fields.pop("number", f"T{n:08d}"),
        id_type=fields.pop("id_type", Volunteer.IdType.RESIDENT_ID),
        id_ciphertext=crypto.encrypt(id_number),
        id_index=crypto.blind_index(id_number),
        birth_date=birth_date,
        source=fields.pop("source", Volunteer.Source.STAFF),
        **fields,
    )


def make_event(
    area=None, *, organizer=None, starts_in=datetime.timedelta(days=7), hours=3, roles=(), **fields
):
    """An open event starting `starts_in` from now; `roles` is [(name, capacity), …] of volunteer roles."""
    area = area or community()
    if organizer is None:
        organizer = OrganizationFactory(area=area, type=Organization.Type.NEIGHBOURHOOD_COMMITTEE)
    starts = timezone.now() + starts_in
    fields.setdefault("kind", Event.Kind.SERVICE_ACTIVITY)
    fields.setdefault("title", "一起·公益集市")
    fields.setdefault("place", "社区广场")
    fields.setdefault("capacity", 20)
    fields.setdefault("signup_deadline", starts - datetime.timedelta(hours=2))
    fields.setdefault("cancellation_cutoff", starts - datetime.timedelta(hours=4))
    event = Event.objects.create(
        community=area,
        organizer=organizer,
        starts_at=starts,
        ends_at=starts + datetime.timedelta(hours=hours),
        **fields,
    )
    for name, capacity in roles:
        VolunteerRole.objects.create(event=event, name=name, capacity=capacity)
    return event


def make_record(
    volunteer,
    *,
    organizer=None,
    community=None,
    days_ago=3,
    hour=9,
    hours=2,
    status="confirmed",
    event=None,
    content="心理疏导陪伴",
):
    """A service record built directly (H): `hours` from `hour` o'clock local time, `days_ago` days back."""
    from volunteers.models import ServiceRecord

    community = community or volunteer.person.community
    if organizer is None:
        organizer = OrganizationFactory(area=community, type=Organization.Type.NEIGHBOURHOOD_COMMITTEE)
    day = timezone.localdate() - datetime.timedelta(days=days_ago)
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))
    return ServiceRecord.objects.create(
        volunteer=volunteer,
        organizer=organizer,
        community=community,
        event=event,
        content=content,
        started_at=start,
        ended_at=start + datetime.timedelta(hours=hours),
        minutes=int(hours * 60),
        status=status,
        source=ServiceRecord.Source.ORGANISER,
        decided_at=timezone.now() if status != "submitted" else None,
        rejection_reason="不实" if status == "rejected" else "",
    )


def make_signup(event, person=None, *, role=None, status="confirmed", **fields):
    """A sign-up row built directly (a volunteer role needs the person's Volunteer: made if missing)."""
    from volunteers.models import Signup

    if person is None:
        person = PersonFactory(community=event.community)
    volunteer = fields.pop("volunteer", None)
    if role is not None and volunteer is None:
        volunteer = Volunteer.objects.filter(person=person).first() or make_volunteer(person)
    return Signup.objects.create(
        event=event, person=person, role=role, volunteer=volunteer, status=status, **fields
    )
