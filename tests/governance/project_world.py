"""Service projects of 官北沟社区 built through the services: shared by the service, API, admin and portal
tests of projects (tests/governance/test_projects*.py)."""

import datetime

import pytest
from django.utils import timezone

from charity.models import AuditEvent, Organization
from charity.services import Actor, create_api_key
from governance import services
from tests.factories import OrganizationFactory, PersonFactory, UserFactory

SYSTEM = Actor.system(AuditEvent.Surface.COMMAND)


def today():
    return timezone.localdate()


def days(n):
    return today() + datetime.timedelta(days=n)


def staff(user, surface=AuditEvent.Surface.ADMIN):
    return Actor(surface=surface, user=user)


def key_actor(organization):
    return Actor(surface=AuditEvent.Surface.API, organization=organization)


def resident_actor(person):
    """Give `person` a login (once) and return the actor that acts as them on the portal."""
    if person.user_id is None:
        person.user = UserFactory()
        person.save(update_fields=["user"])
    return Actor(surface=AuditEvent.Surface.PORTAL, user=person.user)


def plan(actor, community, lead, **fields):
    """A planned project with two milestones; any field may be overridden."""
    starts_on = fields.pop("starts_on", days(-30))
    ends_on = fields.pop("ends_on", days(300))
    values = {
        "title": "“一起”社区公益服务",
        "summary": "祯祥社牵头，每月一次公益市集、义诊和急救培训。",
        "goals": "一年内举办 12 次活动，培训 100 名居民掌握急救技能。",
        "beneficiary_groups": "社区老年人、儿童和困难家庭",
        "target_beneficiaries": 500,
        "budget_fen": 3_000_000,
        "evaluation_criteria": "举办 12 次活动\n培训 100 名居民\n居民满意度 4 分以上",
        "starts_on": starts_on,
        "ends_on": ends_on,
        "milestones": [("第一次公益市集", starts_on + datetime.timedelta(days=20)), ("急救培训结业", ends_on)]
        if isinstance(starts_on, datetime.date) and isinstance(ends_on, datetime.date)
        else [],
    }
    values.update(fields)
    return services.create_project(actor=actor, community=community, lead_organization=lead, **values)


def running(actor, community, lead, **fields):
    project = plan(actor, community, lead, **fields)
    return services.start_project(actor=actor, project=project)


def ended(actor, community, lead, **fields):
    project = running(actor, community, lead, **fields)
    return services.end_project(actor=actor, project=project)


@pytest.fixture
def lead(hub):
    return hub


@pytest.fixture
def other_hub(guanbeigou):
    """Another organisation serving 官北沟社区, with its own key: it leads nothing."""
    org = OrganizationFactory(name="官北沟志愿服务队", type=Organization.Type.VOLUNTEER_TEAM, area=guanbeigou)
    org.served_areas.add(guanbeigou)
    return org


@pytest.fixture
def other_hub_key(other_hub):
    _api_key, key = create_api_key(organization=other_hub, name="other hub", actor=Actor.system())
    return key


@pytest.fixture
def gbg_resident(guanbeigou):
    return PersonFactory(name="赵大爷", community=guanbeigou)


@pytest.fixture
def dalong_resident(dalong):
    return PersonFactory(name="陈伯", community=dalong)


def many_projects(community, lead, n, *, created_by=None):
    """`n` running projects with milestones, progress and a disclosure each, bulk-written (query counts)."""
    from governance.models import Disclosure, Milestone, ProgressReport, Project

    start = days(-200)
    projects = Project.objects.bulk_create(
        Project(
            community=community,
            lead_organization=lead,
            title=f"项目{i}",
            summary="简介",
            goals="目标",
            beneficiary_groups="居民",
            target_beneficiaries=10,
            budget_fen=100,
            evaluation_criteria="标准一\n标准二",
            starts_on=start,
            ends_on=days(200),
            status=Project.Status.RUNNING,
        )
        for i in range(n)
    )
    Milestone.objects.bulk_create(
        Milestone(project=p, title=f"节点{k}", due_on=start + datetime.timedelta(days=30 * k))
        for p in projects
        for k in (1, 2)
    )
    ProgressReport.objects.bulk_create(
        ProgressReport(project=p, reported_on=days(-10), text="进展") for p in projects
    )
    Disclosure.objects.bulk_create(
        Disclosure(project=p, kind="progress", period_start=start, period_end=days(-120), text="公开")
        for p in projects
    )
    return projects
