"""Personas (STYLE.md): community staff, street staff, committee member, resident, hub organisation with an
API key, and an outsider from another community. Service markers skip with a reason when absent."""

import os

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from charity.models import Area, Organization, StaffAssignment
from charity.services import Actor, create_api_key
from tests.factories import (
    OrganizationFactory,
    PersonFactory,
    StaffUserFactory,
    UserFactory,
    assign,
    community,
)


def pytest_collection_modifyitems(config, items):
    available = {
        "postgres": settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        "redis": bool(os.environ.get("REDIS_URL")),
        "browser": os.path.exists(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")),
    }
    reasons = {
        "postgres": "needs PostgreSQL: set DATABASE_URL=postgres://…",
        "redis": "needs Redis: set REDIS_URL=redis://…",
        "browser": "needs Chromium at /usr/bin/chromium (apt-get install chromium)",
    }
    # CI sets REQUIRE_SERVICES so that a missing service fails the run instead of skipping quietly.
    required = {s.strip() for s in os.environ.get("REQUIRE_SERVICES", "").split(",") if s.strip()}
    missing = sorted(s for s in required if not available.get(s, False))
    if missing:
        raise pytest.UsageError(f"REQUIRE_SERVICES lists {', '.join(missing)}, which this run does not have")
    for item in items:
        for service, ok in available.items():
            if service in item.keywords and not ok:
                item.add_marker(pytest.mark.skip(reason=reasons[service]))


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()  # throttling counters must not leak between tests
    yield


@pytest.fixture
def english():
    """Assert on the English source messages (the default language is Chinese)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def guanbeigou(db):
    return community("酒泉市", "肃州区", "示例街道", "官北沟社区")


@pytest.fixture
def dalong(db):
    return community("广州市", "番禺区", "石碁镇", "大龙社区")


@pytest.fixture
def street(guanbeigou):
    return Area.objects.get_parent(guanbeigou)


@pytest.fixture
def community_staff(guanbeigou):
    return assign(StaffUserFactory(username="staff_gbg"), guanbeigou, StaffAssignment.Role.STAFF)


@pytest.fixture
def community_viewer(guanbeigou):
    return assign(StaffUserFactory(username="viewer_gbg"), guanbeigou, StaffAssignment.Role.VIEWER)


@pytest.fixture
def community_manager(guanbeigou):
    return assign(StaffUserFactory(username="manager_gbg"), guanbeigou, StaffAssignment.Role.MANAGER)


@pytest.fixture
def street_staff(street):
    return assign(StaffUserFactory(username="staff_street"), street, StaffAssignment.Role.MANAGER)


@pytest.fixture
def outsider(dalong):
    """Staff of another community."""
    return assign(StaffUserFactory(username="staff_dalong"), dalong, StaffAssignment.Role.MANAGER)


@pytest.fixture
def resident(guanbeigou):
    user = UserFactory(username="13900000001")
    return PersonFactory(name="王阿姨", mobile="13900000001", community=guanbeigou, user=user)


@pytest.fixture
def committee_member(guanbeigou):
    return PersonFactory(name="李委员", community=guanbeigou)


@pytest.fixture
def hub(guanbeigou):
    org = OrganizationFactory(name="祯祥社", type=Organization.Type.HUB, area=guanbeigou)
    org.served_areas.add(guanbeigou)
    return org


@pytest.fixture
def hub_key(hub):
    _api_key, key = create_api_key(organization=hub, name="hub system", actor=Actor.system())
    return key


@pytest.fixture
def outside_org_key(dalong):
    org = OrganizationFactory(name="大龙枢纽", type=Organization.Type.HUB, area=dalong)
    org.served_areas.add(dalong)
    _api_key, key = create_api_key(organization=org, name="other", actor=Actor.system())
    return key


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def hub_api(hub_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {hub_key}")
    return client
