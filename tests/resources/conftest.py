import datetime

import pytest
from django.utils import timezone

from charity.models import AuditEvent
from charity.services import Actor
from resources import services
from resources.models import Resource
from tests.factories import PersonFactory, UserFactory

SYSTEM = Actor.system(AuditEvent.Surface.COMMAND)


def staff_actor(user):
    return Actor(surface=AuditEvent.Surface.ADMIN, user=user)


def portal_actor(person):
    return Actor(surface=AuditEvent.Surface.PORTAL, user=person.user)


def make_resource(community, *, owner=None, actor=SYSTEM, **fields):
    """A resource offered through the service (the system acts unless told otherwise)."""
    if owner is None:
        owner = PersonFactory(community=community)
    key = "owner_organization" if owner.__class__.__name__ == "Organization" else "owner_person"
    fields.setdefault("kind", Resource.Kind.GOODS)
    fields.setdefault("title", "棉被")
    fields.setdefault("quantity", 1)
    return services.offer_resource(actor=actor, community=community, **{key: owner}, **fields)


def make_tool(community, copies=1, **fields):
    return make_resource(
        community, kind=Resource.Kind.TOOL, title=fields.pop("title", "电钻"), quantity=copies, **fields
    )


def make_item(community, quantity=1, **fields):
    return make_resource(community, kind=Resource.Kind.GOODS, for_exchange=True, quantity=quantity, **fields)


def neighbour(community, name="邻居", n=[0]):  # noqa: B006 - a counter for unique logins
    n[0] += 1
    return PersonFactory(name=f"{name}{n[0]}", community=community, user=UserFactory(username=f"nb{n[0]}x"))


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def yesterday(today):
    return today - datetime.timedelta(days=1)
