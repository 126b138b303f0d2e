"""The Guanbeigou chain (city → district → street → community) with staff at each level and a hub that owns
action items: shared by the tests of coordination meetings (services, API, admin, portal, feed)."""

import datetime
import zoneinfo

import pytest
from django.utils import timezone

from charity.models import Area, AuditEvent, Organization, StaffAssignment
from charity.services import Actor
from governance import services
from tests.factories import OrganizationFactory, PersonFactory, StaffUserFactory, assign

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(year, month, day, hour=9):
    return datetime.datetime(year, month, day, hour, tzinfo=SHANGHAI)


def staff(user) -> Actor:
    return Actor(surface=AuditEvent.Surface.ADMIN, user=user)


@pytest.fixture
def district(street):
    return Area.objects.get_parent(street)


@pytest.fixture
def city(district):
    return Area.objects.get_parent(district)


@pytest.fixture
def district_staff(district):
    return assign(StaffUserFactory(username="staff_district"), district, StaffAssignment.Role.STAFF)


@pytest.fixture
def city_staff(city):
    return assign(StaffUserFactory(username="staff_city"), city, StaffAssignment.Role.STAFF)


@pytest.fixture
def gbg_actor(community_staff):
    return staff(community_staff)


@pytest.fixture
def street_office(street):
    return OrganizationFactory(name="示例街道办事处", type=Organization.Type.STREET_OFFICE, area=street)


@pytest.fixture
def owner(guanbeigou):
    """A resident who owns action items (and so is told when one runs late)."""
    return PersonFactory(name="张建国", mobile="13900000077", community=guanbeigou)


def meeting_at(area, actor, *, starts_at=None, title="社区工作例会", kind="regular", **fields):
    return services.create_meeting(
        area=area,
        kind=kind,
        title=title,
        starts_at=starts_at or timezone.now() + datetime.timedelta(days=7),
        actor=actor,
        **fields,
    )


def decide(meeting, actor, text="加装楼道照明，由枢纽组织牵头落实。"):
    return services.record_decision(meeting=meeting, text=text, actor=actor)


def action_item(decision, actor, *, due_on=None, title="楼道照明安装", **owners):
    if not owners:
        owners = {"owner_organization": decision.meeting.area.organizations.first()}
    return services.create_action_item(
        decision=decision,
        title=title,
        due_on=due_on or timezone.localdate() + datetime.timedelta(days=10),
        actor=actor,
        **owners,
    )


def published_meeting(
    area, actor, *, text="加装楼道照明。", title="社区工作例会", minutes="内部记录：张三发言。"
):
    """A meeting held an hour ago, with a decision, its minutes approved and published."""
    meeting = meeting_at(area, actor, starts_at=timezone.now() - datetime.timedelta(hours=1), title=title)
    decision = decide(meeting, actor, text)
    services.record_minutes(
        meeting=meeting, minutes=minutes, public_minutes="会议通报了楼道照明进展。", actor=actor
    )
    services.publish_minutes(meeting=meeting, actor=actor)
    meeting.refresh_from_db()
    return meeting, decision
