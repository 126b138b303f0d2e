"""Community leaders (社区能人): found → trained → given responsibility, and "one brings many"."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from charity.errors import ConflictError, ForbiddenError, NotFoundError
from charity.models import AuditEvent, Organization, Person
from charity.services import Actor
from tests.factories import OrganizationFactory, PersonFactory
from tests.volunteers.factories import make_event, make_volunteer
from volunteers import selectors, services
from volunteers.models import Event, LeaderProfile, LeaderRole, ServiceRecord, Signup
from volunteers.services.registration import VolunteerError

pytestmark = pytest.mark.django_db


def staff(user):
    return Actor(surface="admin", user=user)


def served(volunteer, minutes, *, status="confirmed", days_ago=10, organizer=None):
    start = timezone.now() - datetime.timedelta(days=days_ago)
    organizer = organizer or OrganizationFactory(area=volunteer.person.community)
    return ServiceRecord.objects.create(
        volunteer=volunteer,
        organizer=organizer,
        community=volunteer.person.community,
        content="陪伴老人",
        started_at=start,
        ended_at=start + datetime.timedelta(minutes=minutes),
        minutes=minutes,
        status=status,
        source="organiser",
        rejection_reason="重复" if status == "rejected" else "",
    )


def attended(person, event, checked_in=True):
    return Signup.objects.create(
        event=event,
        person=person,
        status="confirmed",
        checked_in_at=event.starts_at if checked_in else None,
    )


@pytest.fixture
def leader(guanbeigou):
    org = OrganizationFactory(area=guanbeigou, type=Organization.Type.VOLUNTEER_TEAM, name="舞蹈队")
    return PersonFactory(community=guanbeigou, name="刘能人", organization=org)


@pytest.fixture
def world(guanbeigou, leader, community_staff):
    """A leader found at an event, trained twice, leading a team, who brought in three people."""
    services.mark_leader(
        person=leader, found_through="event", found_note="公益集市上主动帮忙", actor=staff(community_staff)
    )
    training = make_event(
        guanbeigou, kind=Event.Kind.TRAINING, title="骨干培训", starts_in=-datetime.timedelta(days=30)
    )
    first_aid = make_event(
        guanbeigou,
        kind=Event.Kind.FIRST_AID_TRAINING,
        title="急救培训",
        starts_in=-datetime.timedelta(days=20),
    )
    market = make_event(
        guanbeigou, kind=Event.Kind.CHARITY_MARKET, title="公益集市", starts_in=-datetime.timedelta(days=10)
    )
    attended(leader, training)
    attended(leader, first_aid)
    attended(leader, market)  # not a training
    skipped = make_event(
        guanbeigou, kind=Event.Kind.TRAINING, title="没来的培训", starts_in=-datetime.timedelta(days=5)
    )
    attended(leader, skipped, checked_in=False)  # signed up, never checked in
    services.record_leader_role(
        person=leader, kind="team_lead", organization=leader.organization, actor=staff(community_staff)
    )
    own_event = make_event(
        guanbeigou, organizer=leader.organization, title="广场舞会", starts_in=-datetime.timedelta(days=3)
    )
    recruits = [PersonFactory(community=guanbeigou, recruited_by=leader) for _ in range(3)]
    v1 = make_volunteer(recruits[0])
    v2 = make_volunteer(recruits[1])
    served(v1, 120)
    served(v1, 60)
    served(v2, 90)
    served(v2, 600, status="submitted")  # not confirmed: does not count
    for r in recruits:
        attended(r, own_event)
    return {"training": training, "first_aid": first_aid, "own_event": own_event, "recruits": recruits}


def test_mark_leader_sets_the_flag_and_audits(leader, community_staff, english):
    profile = services.mark_leader(person=leader, found_through="survey", actor=staff(community_staff))
    leader.refresh_from_db()
    assert leader.is_leader and profile.found_on == timezone.localdate()
    assert AuditEvent.objects.filter(action="leader.marked", object_id=str(profile.pk)).exists()
    with pytest.raises(ConflictError):
        services.mark_leader(person=leader, found_through="survey", actor=staff(community_staff))


def test_leader_bad_input(leader, community_staff, community_viewer, outsider, english):
    with pytest.raises(VolunteerError):
        services.mark_leader(person=leader, found_through="magic", actor=staff(community_staff))
    with pytest.raises(VolunteerError, match="future"):
        services.mark_leader(
            person=leader,
            found_through="survey",
            found_on=timezone.localdate() + datetime.timedelta(days=1),
            actor=staff(community_staff),
        )
    with pytest.raises(VolunteerError, match="At most 500"):
        services.mark_leader(
            person=leader, found_through="survey", found_note="长" * 501, actor=staff(community_staff)
        )
    with pytest.raises(ForbiddenError):
        services.mark_leader(person=leader, found_through="survey", actor=staff(community_viewer))
    with pytest.raises(NotFoundError):
        services.mark_leader(person=leader, found_through="survey", actor=staff(outsider))
    with pytest.raises(VolunteerError, match="first"):
        services.record_leader_role(
            person=leader, kind="team_lead", organization=leader.organization, actor=staff(community_staff)
        )
    assert not LeaderProfile.objects.exists() and not Person.objects.get(pk=leader.pk).is_leader


def test_roles_record_and_end(leader, community_staff, english):
    services.mark_leader(person=leader, found_through="referral", actor=staff(community_staff))
    with pytest.raises(VolunteerError, match="event they organised"):
        services.record_leader_role(person=leader, kind="event_organiser", actor=staff(community_staff))
    with pytest.raises(VolunteerError, match="on or after"):
        services.record_leader_role(
            person=leader,
            kind="committee_member",
            started_on=datetime.date(2026, 3, 1),
            ended_on=datetime.date(2026, 2, 1),
            actor=staff(community_staff),
        )
    role = services.record_leader_role(
        person=leader,
        kind="committee_member",
        started_on=datetime.date(2026, 1, 1),
        actor=staff(community_staff),
    )
    services.end_leader_role(role=role, actor=staff(community_staff))
    assert LeaderRole.objects.get().ended_on == timezone.localdate()
    with pytest.raises(ConflictError):
        services.end_leader_role(role=role, actor=staff(community_staff))
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"leader.marked", "leader.role_recorded", "leader.role_ended"} <= actions


def test_the_path_and_one_brings_many(world, leader):
    path = selectors.leader_path(leader)
    assert path.profile.found_through == "event"
    assert [s.event.title for s in path.trainings] == ["骨干培训", "急救培训"]
    assert [r.kind for r in path.roles] == ["team_lead"]
    assert path.recruit_count == 3 and path.recruits_volunteering == 2
    assert path.recruit_minutes == 270 and path.recruit_hours == 4.5
    assert [e.title for e in path.events] == ["广场舞会"] and path.people_reached == 3


def test_the_path_costs_a_fixed_number_of_queries(
    world, leader, guanbeigou, django_assert_num_queries, count_queries
):
    one = count_queries(lambda: selectors.leader_path(leader))
    for _ in range(20):
        r = PersonFactory(community=guanbeigou, recruited_by=leader)
        served(make_volunteer(r), 30)
        attended(r, world["own_event"])
    for i in range(5):
        attended(
            leader,
            make_event(
                guanbeigou,
                kind=Event.Kind.TRAINING,
                title=f"培训{i}",
                starts_in=-datetime.timedelta(days=40 + i),
            ),
        )
    assert count_queries(lambda: selectors.leader_path(leader)) == one <= 6


def test_leaders_page_in_the_admin(client, world, leader, community_staff, count_queries):
    client.force_login(community_staff)
    profile = LeaderProfile.objects.get()
    listing = client.get(reverse("admin:volunteers_leaderprofile_changelist"))
    assert listing.status_code == 200 and "刘能人" in listing.content.decode()
    page = client.get(
        reverse("admin:volunteers_leaderprofile_reach", args=[profile.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    html = page.content.decode()
    assert page.status_code == 200
    for text in ("骨干培训", "急救培训", "广场舞会", "One brings many", "4.5", "公益集市上主动帮忙"):
        assert text in html, text
    assert "没来的培训" not in html
    url = reverse("admin:volunteers_leaderprofile_changelist")
    one = count_queries(lambda: client.get(url))
    for _ in range(30):
        services.mark_leader(
            person=PersonFactory(community=leader.community),
            found_through="survey",
            actor=staff(community_staff),
        )
    assert count_queries(lambda: client.get(url)) == one


def test_leader_pages_are_scoped(client, world, outsider):
    client.force_login(outsider)
    profile = LeaderProfile.objects.get()
    assert client.get(reverse("admin:volunteers_leaderprofile_reach", args=[profile.pk])).status_code == 404
    assert client.get(reverse("admin:volunteers_leaderprofile_change", args=[profile.pk])).status_code == 404


def test_mark_and_record_through_the_admin(client, leader, community_staff, guanbeigou):
    client.force_login(community_staff)
    response = client.post(
        reverse("admin:volunteers_leaderprofile_add"),
        {"person": leader.pk, "found_through": "survey", "found_note": "问卷", "found_on": "2026-01-05"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Person.objects.get(pk=leader.pk).is_leader
    response = client.post(
        reverse("admin:volunteers_leaderrole_add"),
        {
            "person": leader.pk,
            "kind": "committee_member",
            "note": "居务监督委员会",
            "started_on": "2026-02-01",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    role = LeaderRole.objects.get()
    response = client.post(
        reverse("admin:volunteers_leaderrole_change", args=[role.pk]), {"ended_on": "2026-03-01"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert LeaderRole.objects.get().ended_on == datetime.date(2026, 3, 1)


def test_html_in_notes_is_shown_as_text(client, leader, community_staff):
    services.mark_leader(
        person=leader,
        found_through="other",
        found_note="<script>alert(1)</script>",
        actor=staff(community_staff),
    )
    client.force_login(community_staff)
    profile = LeaderProfile.objects.get()
    html = client.get(reverse("admin:volunteers_leaderprofile_reach", args=[profile.pk])).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_responsibilities_list_is_flat(client, leader, community_staff, guanbeigou, count_queries):
    services.mark_leader(person=leader, found_through="survey", actor=staff(community_staff))
    services.record_leader_role(person=leader, kind="committee_member", actor=staff(community_staff))
    client.force_login(community_staff)
    url = reverse("admin:volunteers_leaderrole_changelist")
    one = count_queries(lambda: client.get(url))
    team = OrganizationFactory(area=guanbeigou, type=Organization.Type.VOLUNTEER_TEAM)
    for _ in range(40):
        services.record_leader_role(
            person=leader, kind="team_lead", organization=team, actor=staff(community_staff)
        )
    assert count_queries(lambda: client.get(url)) == one
