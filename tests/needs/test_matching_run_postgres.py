"""Two staff members start a matching run for the same area at the same moment (real row locks, PostgreSQL):
one run starts, the other is refused with a clear message."""

import pytest

from charity.models import AuditEvent, StaffAssignment
from charity.services import Actor
from needs import matching_run
from needs.models import MatchRun
from tests.concurrency import at_once
from tests.factories import StaffUserFactory, assign

from .matchrun_world import City

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_staff_runs_started_at_once_for_one_area_one_runs_one_is_refused():
    city = City()
    district = city.fresh(city.districts[0])
    starters = [
        Actor(AuditEvent.Surface.ADMIN, user=assign(StaffUserFactory(), district, StaffAssignment.Role.STAFF))
        for _ in range(2)
    ]
    outcomes = at_once([lambda a=a: matching_run.start_area_run(area=district, actor=a) for a in starters])
    assert outcomes == ["MatchRun", "run_in_progress"]
    assert MatchRun.objects.filter(status=MatchRun.Status.RUNNING).count() == 1


def test_a_run_for_a_street_and_one_for_its_district_at_once_one_is_refused():
    city = City()
    district, street = city.fresh(city.districts[0]), city.fresh(city.streets[0])
    actor = Actor(AuditEvent.Surface.COMMAND)
    for _ in range(3):
        MatchRun.objects.all().delete()
        outcomes = at_once(
            [
                lambda: matching_run.start_area_run(area=district, actor=actor),
                lambda: matching_run.start_area_run(area=street, actor=actor),
            ]
        )
        assert outcomes == ["MatchRun", "run_in_progress"]
        assert MatchRun.objects.count() == 1
