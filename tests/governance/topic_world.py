"""Residents' topics of 官北沟社区 built through the services: shared by the service, portal, API and admin
tests of topics (tests/governance/test_topics*.py)."""

import datetime

import pytest
from django.test import Client

from charity.models import AuditEvent
from charity.services import Actor
from governance import topics
from governance.models import Topic
from tests.factories import PersonFactory, UserFactory

SYSTEM = Actor.system(AuditEvent.Surface.COMMAND)
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def user_of(person):
    """Give `person` a login (once) and return it."""
    if person.user_id is None:
        person.user = UserFactory()
        person.save(update_fields=["user"])
    return person.user


def as_resident(person):
    return Actor(surface=AuditEvent.Surface.PORTAL, user=user_of(person))


def as_staff(user):
    return Actor(surface=AuditEvent.Surface.ADMIN, user=user)


def client_of(user_or_person, **kwargs):
    client = Client(**kwargs)
    user = user_of(user_or_person) if hasattr(user_or_person, "community_id") else user_or_person
    client.force_login(user)
    return client


def main(response) -> str:
    html = response.content.decode()
    return html[html.index("<main") : html.index("</main>")]


def raise_one(person, community=None, **fields):
    values = {
        "title": "成立社区广场舞队",
        "description": "晚饭后在小广场跳舞，希望社区提供音响和固定场地。",
        "category": Topic.Category.CULTURE_SPORTS,
    }
    values.update(fields)
    return topics.raise_topic(community=community or person.community, actor=as_resident(person), **values)


def project_fields(lead, **overrides):
    starts_on = datetime.date(2026, 7, 1)
    values = {
        "lead_organization": lead,
        "title": "“一起”广场舞队",
        "summary": "每周三次在小广场排练，祯祥社提供音响，社区提供场地。",
        "goals": "半年内组建 30 人的舞蹈队，在公益市集上演出。",
        "beneficiary_groups": "社区中老年居民",
        "target_beneficiaries": 30,
        "budget_fen": 300_000,
        "evaluation_criteria": "30 名队员\n演出 2 次",
        "starts_on": starts_on,
        "ends_on": datetime.date(2026, 12, 31),
        "milestones": [("第一次排练", datetime.date(2026, 7, 15))],
    }
    values.update(overrides)
    return values


@pytest.fixture
def neighbours(guanbeigou):
    """Three residents of 官北沟社区 with logins."""
    people = [
        PersonFactory(name=name, community=guanbeigou, mobile=f"1370000000{i}")
        for i, name in enumerate(("张大爷", "李奶奶", "赵叔叔"), start=1)
    ]
    for person in people:
        user_of(person)
    return people


@pytest.fixture
def stranger(dalong):
    """A resident of 大龙社区 with a login."""
    person = PersonFactory(name="陈阿婆", community=dalong, mobile="13700000009")
    user_of(person)
    return person


@pytest.fixture
def topic(resident):
    return raise_one(resident)


@pytest.fixture
def staff(community_staff):
    return as_staff(community_staff)
