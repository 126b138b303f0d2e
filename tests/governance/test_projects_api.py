"""Service projects over the API: who reads and writes what (other community 404, the hub's key only on its
own projects, a resident's session 403, anonymous 401), refusals with the field at fault and nothing changed,
Idempotency-Key, flat query counts for 1 or 500 projects, and the schema."""

# ruff: noqa: F811  (the fixtures imported from project_world are the tests' arguments)

import json

import pytest
from rest_framework.test import APIClient

from governance.models import Milestone, ProgressReport, Project

from .project_world import (  # noqa: F401  (fixtures)
    days,
    gbg_resident,
    lead,
    many_projects,
    other_hub,
    other_hub_key,
    plan,
    resident_actor,
    running,
    staff,
    today,
)

URL = "/api/v1/projects/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def post(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **EN, **headers)


def client_for(user=None, key=None):
    client = APIClient()
    if user is not None:
        client.force_login(user)
    if key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def body(guanbeigou, **fields):
    return {
        "community": guanbeigou.pk,
        "title": "“一起”社区公益服务",
        "summary": "每月一次公益市集、义诊和急救培训。",
        "goals": "一年内举办 12 次活动。",
        "beneficiary_groups": "社区老年人和儿童",
        "target_beneficiaries": 300,
        "budget_fen": 2_000_000,
        "evaluation_criteria": ["举办 12 次活动", "居民满意度 4 分以上"],
        "starts_on": str(days(10)),
        "ends_on": str(days(400)),
        "milestones": [{"title": "第一次市集", "due_on": str(days(40))}],
        **fields,
    }


@pytest.fixture
def project(guanbeigou, community_staff, lead):
    return running(staff(community_staff), guanbeigou, lead, starts_on=days(-100))


# --- reading -----------------------------------------------------------------------------------------------


def test_staff_read_their_projects_with_the_disclosure_calendar(community_staff, project):
    answer = client_for(community_staff).get(URL)
    assert answer.status_code == 200
    row = answer.json()["results"][0]
    assert row["title"] == project.title and row["status"] == "running"
    assert row["lead_organization"]["name"] == "祯祥社"
    assert row["evaluation_criteria"] == ["举办 12 次活动", "培训 100 名居民", "居民满意度 4 分以上"]
    assert [m["title"] for m in row["milestones"]] == ["第一次公益市集", "急救培训结业"]
    first = row["disclosure_calendar"][0]
    # It started 100 days ago: the first progress disclosure was due ten days ago.
    assert (first["kind"], first["status"], first["disclosure"]) == ("progress", "overdue", None)


def test_other_communities_projects_are_absent(outsider, project, outside_org_key):
    for client in (client_for(outsider), client_for(key=outside_org_key)):
        assert client.get(URL).json()["results"] == []
        assert client.get(f"{URL}{project.pk}/").status_code == 404
        answer = post(client, f"{URL}{project.pk}/progress/", {"text": "进展"})
        assert answer.status_code == 404
    assert not ProgressReport.objects.exists()


def test_a_residents_session_is_refused_and_anonymous_must_authenticate(gbg_resident, project):
    resident_actor(gbg_resident)
    assert client_for(gbg_resident.user).get(URL).status_code == 403
    assert (
        post(client_for(gbg_resident.user), f"{URL}{project.pk}/progress/", {"text": "x"}).status_code == 403
    )
    assert APIClient().get(URL).status_code == 401
    assert post(APIClient(), f"{URL}{project.pk}/progress/", {"text": "x"}).status_code == 401
    assert not ProgressReport.objects.exists()


def test_list_queries_are_flat_for_one_or_five_hundred_projects(
    community_staff, guanbeigou, lead, count_queries, django_assert_max_num_queries
):
    many_projects(guanbeigou, lead, 1)
    client = client_for(community_staff)
    one = count_queries(lambda: client.get(URL, {"page_size": 500}))
    many_projects(guanbeigou, lead, 499)
    with django_assert_max_num_queries(one):
        answer = client.get(URL, {"page_size": 500})
    assert len(answer.json()["results"]) == 500


def test_filters(community_staff, guanbeigou, lead, project):
    client = client_for(community_staff)
    assert len(client.get(URL, {"status": "running"}).json()["results"]) == 1
    assert client.get(URL, {"status": "ended"}).json()["results"] == []
    assert len(client.get(URL, {"community": guanbeigou.pk}).json()["results"]) == 1
    assert client.get(URL, {"lead_organization": lead.pk + 1000}).json()["results"] == []
    assert client.get(URL, {"community": ""}, **EN).status_code == 400


# --- planning ----------------------------------------------------------------------------------------------


def test_staff_plan_a_project(community_staff, guanbeigou, lead):
    answer = post(client_for(community_staff), URL, body(guanbeigou, lead_organization=lead.pk))
    assert answer.status_code == 201, answer.json()
    data = answer.json()
    assert data["status"] == "planned" and data["evaluation_criteria"] == [
        "举办 12 次活动",
        "居民满意度 4 分以上",
    ]
    assert Milestone.objects.get(project_id=data["id"]).title == "第一次市集"


def test_the_hubs_key_plans_as_the_lead_organisation(hub_api, guanbeigou, hub):
    answer = post(hub_api, URL, body(guanbeigou))
    assert answer.status_code == 201, answer.json()
    assert answer.json()["lead_organization"]["id"] == hub.pk


def test_a_key_cannot_plan_for_another_lead(hub_api, guanbeigou, other_hub):
    answer = post(hub_api, URL, body(guanbeigou, lead_organization=other_hub.pk))
    assert answer.status_code == 403
    assert answer.json()["code"] == "lead_must_be_key_owner"
    assert not Project.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"title": ""}, "title", "title_required"),
        ({"summary": "电话 13812345678"}, "summary", None),
        ({"budget_fen": 1.5}, "budget_fen", "invalid"),
        ({"target_beneficiaries": 0}, "target_beneficiaries", "invalid_number"),
        ({"evaluation_criteria": []}, "evaluation_criteria", "evaluation_criteria_required"),
        ({"evaluation_criteria": 3}, "evaluation_criteria", "invalid"),
        ({"ends_on": "2020-01-01"}, "ends_on", "ends_before_start"),
        ({"starts_on": "2026-02-30"}, "starts_on", "invalid"),
        (
            {"milestones": [{"title": "太晚", "due_on": "2099-01-01"}]},
            "milestones",
            "milestone_outside_project",
        ),
    ],
)
def test_bad_plans_name_the_field_and_change_nothing(community_staff, guanbeigou, lead, fields, field, code):
    answer = post(client_for(community_staff), URL, body(guanbeigou, lead_organization=lead.pk, **fields))
    assert answer.status_code == 400, answer.json()
    error = answer.json()
    assert field in error["fields"], error
    if code is not None:
        assert error["code"] == code
    assert not Project.objects.exists()


def test_a_community_outside_the_scope_reads_as_absent(outsider, guanbeigou, lead):
    answer = post(client_for(outsider), URL, body(guanbeigou, lead_organization=lead.pk))
    assert answer.status_code == 400
    assert answer.json()["fields"]["community"] == ["There is no such id among those you may use here."]


def test_creating_is_idempotent(community_staff, guanbeigou, lead):
    client = client_for(community_staff)
    first = post(client, URL, body(guanbeigou, lead_organization=lead.pk), HTTP_IDEMPOTENCY_KEY="plan-1")
    again = post(client, URL, body(guanbeigou, lead_organization=lead.pk), HTTP_IDEMPOTENCY_KEY="plan-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    changed = post(
        client,
        URL,
        body(guanbeigou, lead_organization=lead.pk, title="另一个"),
        HTTP_IDEMPOTENCY_KEY="plan-1",
    )
    assert changed.status_code == 409
    assert Project.objects.count() == 1


# --- progress ----------------------------------------------------------------------------------------------


def test_the_lead_organisations_key_reports_progress(hub_api, project):
    milestone = project.milestones.order_by("due_on").first()
    answer = post(
        hub_api,
        f"{URL}{project.pk}/progress/",
        {"text": "第一次市集来了 120 人。", "milestone": milestone.pk, "people_reached": 120},
    )
    assert answer.status_code == 201, answer.json()
    report = ProgressReport.objects.get()
    assert (report.milestone, report.people_reached, report.reported_on) == (milestone, 120, today())
    assert report.by_organization == project.lead_organization


def test_another_organisations_key_gets_403_on_a_project_it_can_read(project, other_hub_key):
    client = client_for(key=other_hub_key)
    assert client.get(f"{URL}{project.pk}/").status_code == 200  # it serves the community
    answer = post(client, f"{URL}{project.pk}/progress/", {"text": "冒名报告"})
    assert answer.status_code == 403  # not "absent": it reads the project
    assert answer.json()["code"] == "not_lead_organization"
    assert not ProgressReport.objects.exists()


def test_the_hubs_key_reports_only_on_projects_it_leads(hub_api, guanbeigou, community_staff, other_hub):
    theirs = running(staff(community_staff), guanbeigou, other_hub, title="志愿服务队的项目")
    assert post(hub_api, f"{URL}{theirs.pk}/progress/", {"text": "不是我的"}).status_code == 403
    assert not ProgressReport.objects.exists()


def test_a_viewer_is_refused_planning_not_told_the_community_is_absent(community_viewer, guanbeigou, hub):
    # The viewer reads 官北沟社区 and its hub: 403 from the service, not "no such id" from the fields.
    answer = post(client_for(community_viewer), URL, body(guanbeigou, lead_organization=hub.pk))
    assert answer.status_code == 403, answer.json()
    assert not Project.objects.exists()


def test_a_viewer_cannot_report(community_viewer, project):
    answer = post(client_for(community_viewer), f"{URL}{project.pk}/progress/", {"text": "进展"})
    assert answer.status_code == 403
    assert not ProgressReport.objects.exists()


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"text": ""}, 400, "text"),
        ({"text": "进展", "reported_on": "2999-01-01"}, 400, "reported_on"),
        ({"text": "进展", "people_reached": -1}, 400, "people_reached"),
        ({"text": "进展", "milestone": 999999}, 400, "milestone"),
        ({"text": 5}, 400, "text"),
    ],
)
def test_bad_progress_names_the_field(community_staff, project, payload, status, field):
    answer = post(client_for(community_staff), f"{URL}{project.pk}/progress/", payload)
    assert answer.status_code == status
    assert field in answer.json()["fields"]
    assert not ProgressReport.objects.exists()


def test_progress_on_a_planned_project_is_a_conflict(community_staff, guanbeigou, lead):
    planned = plan(staff(community_staff), guanbeigou, lead)
    answer = post(client_for(community_staff), f"{URL}{planned.pk}/progress/", {"text": "进展"})
    assert answer.status_code == 409
    assert "while the project runs" in answer.json()["message"]


def test_the_schema_documents_the_routes(client, db):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    for path in ("", "{id}/", "{id}/progress/"):
        assert f"/api/v1/projects/{path}" in paths, path
    progress = paths["/api/v1/projects/{id}/progress/"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in progress["parameters"])
