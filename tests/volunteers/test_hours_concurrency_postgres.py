"""Real concurrency on PostgreSQL: overlapping hours for one volunteer sent at the same moment, and one
issuer's register numbered without gaps or doubles under concurrent issuing."""

import datetime

import pytest
from django.utils import timezone

from charity.models import AuditEvent, Organization
from charity.services import Actor
from tests.concurrency import at_once
from tests.factories import OrganizationFactory, StaffUserFactory, assign, community
from tests.volunteers.factories import make_record, make_volunteer
from volunteers import services
from volunteers.models import Certificate, ServiceRecord

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_ten_overlapping_entries_at_once_record_one():
    here = community()
    desk = Actor(surface=AuditEvent.Surface.ADMIN, user=assign(StaffUserFactory(username="desk_h"), here))
    committee = OrganizationFactory(area=here, type=Organization.Type.NEIGHBOURHOOD_COMMITTEE)
    volunteer = make_volunteer(area=here)
    day = timezone.localdate() - datetime.timedelta(days=2)
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time(9)))

    def enter(i):
        return services.record_service(
            volunteer=volunteer,
            organizer=committee,
            community=here,
            content=f"值班{i}",
            started_at=start + datetime.timedelta(minutes=15 * i),
            ended_at=start + datetime.timedelta(hours=3),
            source="organiser",
            actor=desk,
        )

    outcomes = at_once([lambda i=i: enter(i) for i in range(10)])
    assert outcomes == ["ServiceRecord"] + ["hours_overlap"] * 9
    assert ServiceRecord.objects.filter(volunteer=volunteer).count() == 1


def test_concurrent_certificates_of_one_issuer_take_consecutive_numbers():
    here = community()
    desk = Actor(surface=AuditEvent.Surface.ADMIN, user=assign(StaffUserFactory(username="desk_c"), here))
    issuer = OrganizationFactory(area=here, type=Organization.Type.VOLUNTEER_TEAM)
    volunteers = [make_volunteer(area=here) for _ in range(6)]
    records = [make_record(v, organizer=issuer) for v in volunteers]

    outcomes = at_once(
        [
            lambda v=v, r=r: services.issue_certificate(
                volunteer=v,
                issuer=issuer,
                records=[r],
                person_in_charge="李",
                handler="王",
                contact="1",
                actor=desk,
            )
            for v, r in zip(volunteers, records, strict=True)
        ]
    )
    assert outcomes == ["Certificate"] * 6
    assert sorted(Certificate.objects.filter(issuer=issuer).values_list("sequence", flat=True)) == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]
