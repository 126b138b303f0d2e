"""An organisation key's API answers served from the cache until something they show is written
(charity.public_pages.cached_api_read)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from charity import public_pages
from charity.models import Area, AuditAction, AuditEvent, Organization
from charity.services import Actor, create_api_key, record_audit, revoke_api_key
from funds import services as fund_services
from tests.factories import FundFactory, OrganizationFactory

SYSTEM = Actor.system(AuditEvent.Surface.COMMAND)
DONATIONS = "/api/v1/donations/?page_size=50"


@pytest.fixture(autouse=True)
def _cached(settings):
    settings.API_CACHE_SECONDS = 300


@pytest.fixture
def street_key(guanbeigou, street):
    """A hub serving the whole street: its reads must see a change in any community below."""
    org = OrganizationFactory(name="街道枢纽", type=Organization.Type.HUB, area=guanbeigou)
    org.served_areas.add(street)
    api_key, key = create_api_key(organization=org, name="street", actor=SYSTEM)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    client.api_key = api_key
    return client


@pytest.fixture
def fund(guanbeigou):
    return FundFactory(name="官北沟社区慈善基金", community=guanbeigou)


def give(fund, amount_fen, receipt):
    return fund_services.post_donation(
        fund=fund,
        amount_fen=amount_fen,
        actor=SYSTEM,
        receipt_no=receipt,
        channel="resident",
        received_on=datetime.date(2026, 3, 1),
    )


def amounts(response):
    assert response.status_code == 200, response.content
    return [row["amount_fen"] for row in response.json()["results"]]


def read_without_queries(client, path=DONATIONS):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    return response, len(queries)


def test_a_repeated_read_is_served_without_touching_the_database(street_key, fund):
    give(fund, 100, "R-1")
    first = street_key.get(DONATIONS)
    again, queries = read_without_queries(street_key)
    assert amounts(again) == amounts(first) == [100]
    assert queries == 0


def test_a_donation_below_the_keys_area_shows_at_the_next_read(street_key, fund):
    give(fund, 100, "R-1")
    assert amounts(street_key.get(DONATIONS)) == [100]
    give(fund, 250, "R-2")  # in a community under the street the key serves
    assert sorted(amounts(street_key.get(DONATIONS))) == [100, 250]


def test_a_donation_elsewhere_keeps_the_answer(street_key, fund, dalong):
    give(fund, 100, "R-1")
    street_key.get(DONATIONS)
    give(FundFactory(name="大龙社区慈善基金", community=dalong), 999, "D-1")
    again, queries = read_without_queries(street_key)
    assert amounts(again) == [100] and queries == 0


def test_a_city_wide_change_throws_every_answer_away(street_key, fund, guanbeigou):
    give(fund, 100, "R-1")
    street_key.get(DONATIONS)
    record_audit(actor=SYSTEM, action=AuditAction.FUND_CHANGED, obj=fund, area=guanbeigou, summary="renamed")
    _again, queries = read_without_queries(street_key)
    assert queries > 0


def test_two_organisations_never_share_an_answer(street_key, hub_api, fund, dalong):
    give(fund, 100, "R-1")
    assert amounts(street_key.get(DONATIONS)) == [100]
    other = OrganizationFactory(name="大龙枢纽", type=Organization.Type.HUB, area=dalong)
    other.served_areas.add(dalong)
    _api_key, key = create_api_key(organization=other, name="dalong", actor=SYSTEM)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert amounts(client.get(DONATIONS)) == []
    assert amounts(hub_api.get(DONATIONS)) == [100]


def test_languages_are_kept_apart(street_key, fund):
    give(fund, 100, "R-1")
    zh = street_key.get("/api/v1/donations/?page_size=x", HTTP_ACCEPT_LANGUAGE="zh-hans")
    en = street_key.get("/api/v1/donations/?page_size=x", HTTP_ACCEPT_LANGUAGE="en")
    assert zh.status_code == en.status_code == 400
    assert zh.json()["message"] != en.json()["message"]
    assert street_key.get(DONATIONS, HTTP_ACCEPT_LANGUAGE="en").status_code == 200
    detail = street_key.get("/api/v1/funds/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert street_key.get("/api/v1/funds/", HTTP_ACCEPT_LANGUAGE="zh-hans").json() is not None
    assert detail["results"]


def test_staff_reads_are_never_cached(client, fund, community_staff):
    give(fund, 100, "R-1")
    client.force_login(community_staff)
    client.get(DONATIONS)
    _again, queries = read_without_queries(client)
    assert queries > 0


def test_a_revoked_key_is_refused_although_its_answer_is_cached(street_key, fund, community_manager):
    from charity.api_auth import verified_keys

    give(fund, 100, "R-1")
    street_key.get(DONATIONS)
    revoke_api_key(
        api_key=street_key.api_key, actor=Actor(surface=AuditEvent.Surface.ADMIN, user=community_manager)
    )
    verified_keys.clear()  # the documented delay (VERIFIED_KEY_SECONDS) has passed
    assert street_key.get(DONATIONS).status_code in (401, 403)


def test_writes_only_some_callers_see_bump_the_apis_version():
    """A need's consent withdrawn changes no public page, but does change what a hub organisation reads."""
    event = AuditEvent(action=AuditAction.NEED_CONSENT_WITHDRAWN)
    assert public_pages._scopes_of(event) == [public_pages._API]
    assert public_pages._scopes_of(AuditEvent(action=AuditAction.LOGGED_IN)) == []


def test_a_community_change_bumps_the_community_and_every_area_above_it(guanbeigou):
    event = AuditEvent(action=AuditAction.DONATION_POSTED, area=guanbeigou)
    scopes = public_pages._scopes_of(event)
    assert scopes[0] == guanbeigou.pk
    assert scopes[1:] == [f"tree:{a.path}" for a in [*Area.objects.get_ancestors(guanbeigou), guanbeigou]]


def test_an_error_is_not_cached(street_key, fund):
    assert street_key.get("/api/v1/donations/987654/").status_code == 404
    give(fund, 100, "R-1")
    assert amounts(street_key.get(DONATIONS)) == [100]
