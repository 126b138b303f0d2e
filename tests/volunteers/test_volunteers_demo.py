"""demo_volunteers: Dalong's counselling and dance volunteer teams with a leader who brought people in, and
Guanbeigou's volunteers for the "Together" events; idempotent; every person invented; no real ID number."""

import pytest

from charity import demo as charity_demo
from charity.models import Organization
from volunteers import demo_volunteers, selectors
from volunteers.models import LeaderProfile, LeaderRole, Volunteer

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent_and_invented():
    charity_demo.seed()
    demo_volunteers.seed()
    counts = (Volunteer.objects.count(), LeaderProfile.objects.count(), LeaderRole.objects.count())
    assert counts[0] >= 19 and counts[1] == 3 and counts[2] == 3
    demo_volunteers.seed()
    assert (Volunteer.objects.count(), LeaderProfile.objects.count(), LeaderRole.objects.count()) == counts
    assert not Volunteer.objects.filter(person__is_illustrative=False).exists()
    teams = Organization.objects.filter(type=Organization.Type.VOLUNTEER_TEAM, team_volunteers__isnull=False)
    assert {"凤凰花志愿服务队", "大龙社区舞蹈志愿服务队", "官北沟心理咨询志愿服务队"} <= set(
        teams.values_list("name", flat=True)
    )
    # One brings many: Dalong's first leader brought in the counselling volunteers.
    leader = LeaderProfile.objects.get(person__community__name="大龙社区", found_through="event").person
    path = selectors.leader_path(leader)
    assert path.recruit_count >= 4 and path.recruits_volunteering >= 4
    assert [r.kind for r in path.roles] == ["team_lead"]
    # A minor registered with a guardian's consent.
    assert Volunteer.objects.exclude(guardian_name="").filter(guardian_consent_at__isnull=False).count() == 1


def test_demo_id_numbers_use_no_real_region():
    number = demo_volunteers.demo_id_number("大龙社区", __import__("datetime").date(1980, 1, 1), 1)
    assert number.startswith("449999") and len(number) == 18
