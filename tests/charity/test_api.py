"""The REST API for hub organisations: keys, scope, filters, errors, languages, limits, schema."""

import datetime
import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from charity.api_auth import PerClientThrottle
from charity.models import Area, Organization
from charity.services import Actor, create_api_key, revoke_api_key
from tests.factories import OrganizationFactory, community

CJK = re.compile(r"[\u4e00-\u9fff]")


def key_client(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def dance_team(guanbeigou, hub):
    return OrganizationFactory(name="官北沟舞蹈队", area=guanbeigou, hub=hub)


@pytest.fixture
def far_org(dalong):
    return OrganizationFactory(name="大龙志愿队", area=dalong)


# --- authentication -------------------------------------------------------------------------------------


def test_anonymous_gets_401_with_a_code(api):
    response = api.get("/api/v1/organizations/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Api-Key"


def test_a_resident_session_is_refused(api, resident):
    api.force_authenticate(resident.user)
    assert api.get("/api/v1/organizations/").status_code == 403


@pytest.mark.parametrize("header", ["Api-Key nodot", "Api-Key abc.def", "Api-Key ."])
def test_an_invalid_key_is_401_invalid_api_key(header, hub_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/areas/")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"


def test_a_right_prefix_with_a_wrong_secret_is_invalid(hub_key):
    prefix = hub_key.split(".")[0]
    response = key_client(f"{prefix}.wrongsecret").get("/api/v1/areas/")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"


def test_a_revoked_key_is_401_revoked_api_key(hub):
    api_key, key = create_api_key(organization=hub, name="old", actor=Actor.system())
    revoke_api_key(api_key=api_key, actor=Actor.system())
    response = key_client(key).get("/api/v1/areas/")
    assert response.status_code == 401
    assert response.json()["code"] == "revoked_api_key"


def test_an_expired_key_is_401_expired_api_key(hub):
    yesterday = timezone.now() - datetime.timedelta(days=1)
    _api_key, key = create_api_key(organization=hub, name="old", actor=Actor.system(), expiry_date=yesterday)
    response = key_client(key).get("/api/v1/areas/")
    assert response.status_code == 401
    assert response.json()["code"] == "expired_api_key"


# --- scope ----------------------------------------------------------------------------------------------


def test_hub_key_sees_only_the_areas_it_serves(hub_api, guanbeigou, dalong):
    response = hub_api.get("/api/v1/areas/")
    assert [a["name"] for a in response.json()["results"]] == ["官北沟社区"]
    assert hub_api.get(f"/api/v1/areas/{dalong.pk}/").status_code == 404


def test_hub_key_sees_only_organisations_in_the_areas_it_serves(hub_api, dance_team, far_org):
    response = hub_api.get("/api/v1/organizations/")
    assert response.status_code == 200
    assert sorted(o["name"] for o in response.json()["results"]) == ["官北沟舞蹈队", "祯祥社"]
    assert hub_api.get(f"/api/v1/organizations/{far_org.pk}/").status_code == 404


def test_another_organisations_key_gets_404_on_our_organisation(outside_org_key, dance_team):
    response = key_client(outside_org_key).get(f"/api/v1/organizations/{dance_team.pk}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_staff_session_sees_their_scope(api, community_staff, dance_team, far_org):
    api.force_login(community_staff)
    names = {o["name"] for o in api.get("/api/v1/organizations/").json()["results"]}
    assert names == {"官北沟舞蹈队", "祯祥社"}


def test_organisation_detail_shows_its_fields(hub_api, dance_team, hub, guanbeigou):
    body = hub_api.get(f"/api/v1/organizations/{dance_team.pk}/").json()
    assert body["name"] == "官北沟舞蹈队" and body["hub"] == hub.pk and body["area"] == guanbeigou.pk


# --- filters --------------------------------------------------------------------------------------------


def test_type_filter(hub_api, dance_team, hub):
    response = hub_api.get("/api/v1/organizations/", {"type": "hub"})
    assert [o["id"] for o in response.json()["results"]] == [hub.pk]


def test_area_filter_keeps_that_area_and_below(api, street_staff, guanbeigou):
    neighbour = community("酒泉市", "肃州区", "示例街道", "北关社区")
    OrganizationFactory(name="官北沟舞蹈队", area=guanbeigou)
    OrganizationFactory(name="北关合唱团", area=neighbour)
    api.force_login(street_staff)
    response = api.get("/api/v1/organizations/", {"area": neighbour.pk})
    assert [o["name"] for o in response.json()["results"]] == ["北关合唱团"]
    street = Area.objects.get_parent(neighbour)
    response = api.get("/api/v1/organizations/", {"area": street.pk})
    assert {o["name"] for o in response.json()["results"]} == {"官北沟舞蹈队", "北关合唱团"}


def test_unknown_area_in_filter_is_an_empty_list_like_one_out_of_scope(hub_api, dance_team, dalong):
    unknown = hub_api.get("/api/v1/organizations/", {"area": 999999})
    assert unknown.status_code == 200 and unknown.json()["count"] == 0
    assert hub_api.get("/api/v1/organizations/", {"area": dalong.pk}).json() == unknown.json()


def test_a_malformed_area_id_in_filter_is_400_with_a_translated_message(hub_api, dance_team):
    english = hub_api.get("/api/v1/organizations/", {"area": "1.5"}, HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 400
    assert english.json()["code"] == "invalid"
    assert "area" in english.json()["fields"]
    chinese = hub_api.get("/api/v1/organizations/", {"area": "1.5"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chinese.status_code == 400
    assert CJK.search(chinese.json()["fields"]["area"][0])
    assert CJK.search(chinese.json()["message"]), "the top-level message must be translated too"


def test_an_unknown_type_in_filter_is_400(hub_api):
    response = hub_api.get("/api/v1/organizations/", {"type": "spaceship"})
    assert response.status_code == 400
    assert "type" in response.json()["fields"]


# --- languages ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "chinese"),
    [
        ("en", False),
        ("en-US,en;q=0.9", False),
        ("zh-hans", True),
        ("zh-CN", True),
        ("xx-nonsense", True),
        ("", True),
    ],
)
def test_messages_follow_accept_language_and_fall_back_to_chinese(hub_api, accept, chinese):
    response = hub_api.get("/api/v1/organizations/999999/", HTTP_ACCEPT_LANGUAGE=accept)
    assert response.status_code == 404
    message = response.json()["message"]
    assert bool(CJK.search(message)) is chinese, message
    if not chinese:
        assert message == "Not found."


# --- limits ---------------------------------------------------------------------------------------------


def test_a_10_mb_body_is_refused_with_413(hub_api):
    response = hub_api.post(
        "/api/v1/organizations/",
        data=b"{" + b" " * (10 * 1024 * 1024) + b"}",
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_too_many_requests_get_429_throttled(hub_api, settings, monkeypatch):
    from django.core.cache import cache

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"client": "3/min"}}
    # SimpleRateThrottle copied the rates when DRF was imported; point the class at the new ones.
    monkeypatch.setattr(PerClientThrottle, "THROTTLE_RATES", {"client": "3/min"})
    cache.clear()
    codes = [hub_api.get("/api/v1/areas/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = hub_api.get("/api/v1/areas/")
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_each_key_has_its_own_throttle_budget(hub_api, outside_org_key, monkeypatch):
    monkeypatch.setattr(PerClientThrottle, "THROTTLE_RATES", {"client": "2/min"})
    assert [hub_api.get("/api/v1/areas/").status_code for _ in range(3)] == [200, 200, 429]
    assert key_client(outside_org_key).get("/api/v1/areas/").status_code == 200


# --- query count ----------------------------------------------------------------------------------------


def count_queries(client, url):
    # A key's first request also reads the key and its areas; its next ones, for a few seconds, do not.
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.json()["count"]


def test_organisation_list_uses_a_fixed_number_of_queries(hub_api, hub, guanbeigou):
    one, n = count_queries(hub_api, "/api/v1/organizations/")
    assert n == 1
    for i in range(29):
        org = OrganizationFactory(name=f"队伍{i:02d}", area=guanbeigou, hub=hub)
        org.served_areas.add(guanbeigou)
    thirty, n = count_queries(hub_api, "/api/v1/organizations/")
    assert n == 30
    assert thirty == one, f"{one} queries for 1 row, {thirty} for 30"


def test_area_list_uses_a_fixed_number_of_queries(api, street_staff, guanbeigou):
    api.force_login(street_staff)
    few, _n = count_queries(api, "/api/v1/areas/")
    for i in range(10):
        community("酒泉市", "肃州区", "示例街道", f"新社区{i}")
    many, n = count_queries(api, "/api/v1/areas/")
    assert n == 12
    assert many == few


# --- schema and docs ------------------------------------------------------------------------------------


def test_schema_is_openapi_3(api):
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/organizations/" in schema["paths"]
    assert "ApiKeyAuth" in schema["components"]["securitySchemes"]


def test_docs_render_with_local_assets_only(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    foreign = re.findall(r"""https?://(?!testserver[/:"'])[^\s"'<>]+""", html)
    assert foreign == [], f"the docs page loads from other hosts: {foreign}"
    assets = re.findall(r"""(?:src|href)=["']([^"']+\.(?:js|css))["']""", html)
    assert assets
    for asset in assets:
        # Served by whitenoise from the app's own static files (not collected in tests, so ask the finders).
        assert asset.startswith(settings.STATIC_URL) and finders.find(
            asset.removeprefix(settings.STATIC_URL)
        ), asset


def test_organisation_types_in_the_api_match_the_model(hub_api, hub):
    body = hub_api.get(f"/api/v1/organizations/{hub.pk}/").json()
    assert body["type"] == Organization.Type.HUB == "hub"
