import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import FundFactory
from tests.governance.conftest import VALID, build_committee

RULES = [
    "quorum_numerator",
    "quorum_denominator",
    "approval_numerator",
    "approval_denominator",
    "high_approval_numerator",
    "high_approval_denominator",
    "high_amount_threshold_fen",
    "notice_days",
]


@pytest.fixture
def staff_api(api, community_staff):
    api.force_authenticate(community_staff)
    return api


def test_list_shows_committee_with_members_rules_and_issues(staff_api, gbg_committee):
    response = staff_api.get("/api/v1/committees/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert set(row) == {"id", "name", "fund", *RULES, "members", "composition_issues", "created_at"}
    assert row["name"] == "官北沟社区慈善基金管理委员会" and row["fund"] == gbg_committee.fund_id
    assert row["quorum_numerator"] == 2 and row["quorum_denominator"] == 3 and row["notice_days"] == 7
    assert row["composition_issues"] == []
    assert len(row["members"]) == 8
    assert set(row["members"][0]) == {
        "id",
        "person_name",
        "organization",
        "organization_name",
        "category",
        "role",
        "is_voting",
        "term_start",
        "term_end",
    }
    assert row["members"][0]["role"] == "chair"
    supervisor = [m for m in row["members"] if m["role"] == "supervisor"]
    assert len(supervisor) == 1 and supervisor[0]["is_voting"] is False


def test_api_never_shows_a_mobile_number(staff_api, gbg_committee):
    mobiles = [m.person.mobile for m in gbg_committee.memberships.select_related("person")]
    assert all(mobiles)
    text = json.dumps(staff_api.get(f"/api/v1/committees/{gbg_committee.pk}/").json())
    text += json.dumps(staff_api.get("/api/v1/committees/").json())
    assert not any(mobile in text for mobile in mobiles)
    assert "mobile" not in text


def test_detail_lists_composition_issues(staff_api, gbg_fund):
    committee = build_committee(gbg_fund, [s for s in VALID if s[1] != "supervisor"])
    response = staff_api.get(f"/api/v1/committees/{committee.pk}/")
    assert response.status_code == 200
    issues = response.json()["composition_issues"]
    assert [i["code"] for i in issues] == ["no_supervisor"]
    assert issues[0]["message"]


def test_hub_key_sees_committee_of_its_community(hub_api, gbg_committee):
    response = hub_api.get(f"/api/v1/committees/{gbg_committee.pk}/")
    assert response.status_code == 200
    assert response.json()["id"] == gbg_committee.pk


def test_filter_by_fund(staff_api, gbg_committee, guanbeigou):
    other = build_committee(FundFactory(name="第二基金", community=guanbeigou), VALID, name="第二委员会")
    ids = [r["id"] for r in staff_api.get(f"/api/v1/committees/?fund={other.fund_id}").json()["results"]]
    assert ids == [other.pk]
    assert staff_api.get("/api/v1/committees/?fund=999999").json()["count"] == 0


def test_outsider_staff_gets_404_and_an_empty_list(api, outsider, gbg_committee):
    api.force_authenticate(outsider)
    assert api.get(f"/api/v1/committees/{gbg_committee.pk}/").status_code == 404
    response = api.get("/api/v1/committees/")
    assert response.status_code == 200 and response.json()["count"] == 0
    assert api.get(f"/api/v1/committees/?fund={gbg_committee.fund_id}").json()["count"] == 0


def test_another_organisations_key_gets_404_and_an_empty_list(api, outside_org_key, gbg_committee):
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {outside_org_key}")
    assert api.get(f"/api/v1/committees/{gbg_committee.pk}/").status_code == 404
    assert api.get("/api/v1/committees/").json()["count"] == 0


def test_anonymous_is_refused(api, gbg_committee):
    assert api.get("/api/v1/committees/").status_code == 401
    assert api.get(f"/api/v1/committees/{gbg_committee.pk}/").status_code == 401


def test_resident_without_staff_role_is_refused(api, resident, gbg_committee):
    api.force_authenticate(resident.user)
    assert api.get("/api/v1/committees/").status_code == 403


def test_list_query_count_does_not_grow_with_committees(staff_api, guanbeigou):
    build_committee(FundFactory(name="基金0", community=guanbeigou), VALID, name="委员会0")
    staff_api.get("/api/v1/committees/")  # warm up: the caller's scope is cached on the user afterwards
    with CaptureQueriesContext(connection) as one:
        assert staff_api.get("/api/v1/committees/").json()["count"] == 1
    for i in range(1, 20):
        build_committee(FundFactory(name=f"基金{i}", community=guanbeigou), VALID, name=f"委员会{i}")
    with CaptureQueriesContext(connection) as twenty:
        assert staff_api.get("/api/v1/committees/").json()["count"] == 20
    assert len(twenty) == len(one)


def test_list_stays_within_a_fixed_query_budget(staff_api, guanbeigou, django_assert_max_num_queries):
    for i in range(20):
        build_committee(FundFactory(name=f"基金{i}", community=guanbeigou), VALID[:3], name=f"委员会{i}")
    with django_assert_max_num_queries(6):
        response = staff_api.get("/api/v1/committees/")
    assert response.json()["count"] == 20
