"""An event may belong to a service project of its own community (issue 13)."""

import datetime

import pytest
from django.utils import timezone

from charity.errors import DomainError
from charity.models import AuditEvent
from charity.services import Actor
from governance.projects import create_project
from tests.factories import OrganizationFactory, UserFactory, community
from tests.volunteers.factories import make_event
from volunteers import services

pytestmark = pytest.mark.django_db


def _project(area, actor):
    today = timezone.localdate()
    return create_project(
        actor=actor,
        community=area,
        lead_organization=OrganizationFactory(area=area),
        title="一起",
        summary="s",
        goals="g",
        beneficiary_groups="居民",
        target_beneficiaries=10,
        budget_fen=0,
        evaluation_criteria="c",
        starts_on=today,
        ends_on=today + datetime.timedelta(days=60),
    )


def test_an_event_joins_a_project_of_its_own_community_only():
    superuser = UserFactory(is_superuser=True, is_staff=True)
    actor = Actor(surface=AuditEvent.Surface.ADMIN, user=superuser)
    here, there = community(name="甲社区"), community(name="乙社区")
    mine, theirs = _project(here, actor), _project(there, actor)
    event = make_event(here)
    event.project = mine
    services.save_event(event=event, actor=actor)
    event.refresh_from_db()
    assert event.project == mine
    assert list(mine.events.all()) == [event]

    event.project = theirs
    with pytest.raises(DomainError) as refused:
        services.save_event(event=event, actor=actor)
    assert refused.value.field == "project"
    event.refresh_from_db()
    assert event.project == mine
