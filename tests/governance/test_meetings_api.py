"""Coordination meetings and action items over the API: who reads what, the writes and their refusals (a clear
message, nothing changed), scoping (another community's rows are absent), Idempotency-Key, flat queries."""

# ruff: noqa: F811  (the fixtures imported from meetings_world are the tests' arguments)

import datetime
import json

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from charity.models import AuditEvent
from governance.models import (
    ActionItem,
    ActionProgress,
    AgendaItem,
    Decision,
    Escalation,
    Meeting,
    MeetingOpinion,
)
from tests.factories import OrganizationFactory

from .meetings_world import (  # noqa: F401  (fixtures)
    action_item,
    decide,
    gbg_actor,
    meeting_at,
    published_meeting,
    street_office,
)

MEETINGS = "/api/v1/meetings/"
ITEMS = "/api/v1/action-items/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def send(client, method, url, body, **headers):
    return getattr(client, method)(url, json.dumps(body), content_type="application/json", **EN, **headers)


def session(user):
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def staff_api(community_staff):
    return session(community_staff)


@pytest.fixture
def other_key_api(outside_org_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {outside_org_key}")
    return client


@pytest.fixture
def world(guanbeigou, gbg_actor, hub):
    """A published meeting of 官北沟社区 with two action items: one the hub owns, one another group owns."""
    meeting, decision = published_meeting(guanbeigou, gbg_actor, minutes="内部：王阿姨家漏水。")
    own = action_item(decision, gbg_actor, owner_organization=hub, title="楼道照明安装")
    other = action_item(
        decision, gbg_actor, owner_organization=OrganizationFactory(area=guanbeigou), title="宣传"
    )
    return meeting, decision, own, other


def state():
    return (
        list(Meeting.objects.order_by("id").values()),
        list(ActionItem.objects.order_by("id").values()),
        ActionProgress.objects.count(),
        AgendaItem.objects.count(),
        AuditEvent.objects.count(),
    )


# --- reading -----------------------------------------------------------------------------------------------


def test_staff_read_meetings_with_their_record_and_items_with_their_follow_up(staff_api, world):
    meeting, decision, own, _other = world
    body = staff_api.get(MEETINGS).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert (
        row["id"] == meeting.pk and row["status"] == "published" and row["minutes"] == "内部：王阿姨家漏水。"
    )
    assert row["decisions"][0]["action_items"] == sorted([own.pk, world[3].pk])
    items = staff_api.get(ITEMS).json()["results"]
    assert {i["id"] for i in items} == {own.pk, world[3].pk}
    first = next(i for i in items if i["id"] == own.pk)
    assert (
        first["meeting"]["id"] == meeting.pk
        and first["owner_organization"]["id"] == own.owner_organization_id
    )
    assert first["overdue"] is False and first["progress"] == [] and first["area"]["level"] == "community"


def test_a_key_reads_its_areas_meetings_without_the_internal_minutes(hub_api, world):
    row = hub_api.get(MEETINGS).json()["results"][0]
    assert row["minutes"] is None and row["public_minutes"] == "会议通报了楼道照明进展。"
    assert "王阿姨" not in json.dumps(hub_api.get(MEETINGS).json(), ensure_ascii=False)


def test_another_community_sees_nothing_and_its_ids_are_absent(outsider, other_key_api, world):
    meeting, _decision, own, _other = world
    outsider_api = session(outsider)
    for client in (outsider_api, other_key_api):
        assert client.get(MEETINGS).json()["count"] == 0
        assert client.get(ITEMS).json()["count"] == 0
        assert client.get(f"{MEETINGS}{meeting.pk}/").status_code == 404
        assert client.get(f"{ITEMS}{own.pk}/").status_code == 404


def test_a_resident_session_is_refused_and_anonymous_must_authenticate(resident, api, world):
    meeting, _decision, own, _other = world
    resident_api = session(resident.user)
    for url in (MEETINGS, ITEMS, f"{ITEMS}{own.pk}/"):
        assert resident_api.get(url).status_code == 403
        assert api.get(url).status_code == 401
    assert send(resident_api, "patch", f"{ITEMS}{own.pk}/", {"note": "x"}).status_code == 403
    assert send(api, "patch", f"{ITEMS}{own.pk}/", {"note": "x"}).status_code == 401


def test_filters_overdue_and_meeting(staff_api, world, guanbeigou, gbg_actor, hub):
    meeting, _decision, own, _other = world
    ActionItem.objects.filter(pk=own.pk).update(due_on=timezone.localdate() - datetime.timedelta(days=2))
    overdue = staff_api.get(ITEMS, {"overdue": "true"}).json()["results"]
    assert [i["id"] for i in overdue] == [own.pk] and overdue[0]["overdue"] is True
    assert staff_api.get(ITEMS, {"meeting": meeting.pk + 1000}).json()["count"] == 0
    assert staff_api.get(MEETINGS, {"level": "street"}).json()["count"] == 0
    assert staff_api.get(MEETINGS, {"area": ""}).status_code == 400


# --- writing -----------------------------------------------------------------------------------------------


def meeting_body(area, **extra):
    starts = (timezone.localtime() + datetime.timedelta(days=3)).replace(microsecond=0)
    return {
        "area": area.pk,
        "kind": "regular",
        "title": "社区工作例会",
        "starts_at": starts.isoformat(),
        **extra,
    }


def test_staff_plan_a_meeting_and_a_retry_with_the_same_key_plans_it_once(staff_api, guanbeigou):
    body = meeting_body(guanbeigou, agenda=["楼道照明", "公益市集"])
    first = send(staff_api, "post", MEETINGS, body, HTTP_IDEMPOTENCY_KEY="m-1")
    assert first.status_code == 201, first.content
    assert [a["title"] for a in first.json()["agenda"]] == ["楼道照明", "公益市集"]
    again = send(staff_api, "post", MEETINGS, body, HTTP_IDEMPOTENCY_KEY="m-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert Meeting.objects.count() == 1


def test_a_meeting_above_the_users_area_is_refused_with_a_clear_message(staff_api, street):
    before = state()
    response = send(staff_api, "post", MEETINGS, meeting_body(street))
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "meeting_above_your_area" and "above the areas you work in" in body["message"]
    assert list(body["fields"]) == ["area"]
    assert state() == before


def test_a_meeting_elsewhere_reads_as_no_such_area(staff_api, dalong):
    response = send(staff_api, "post", MEETINGS, meeting_body(dalong))
    assert response.status_code == 400 and "area" in response.json()["fields"]
    assert not Meeting.objects.exists()


def test_a_key_and_a_viewer_cannot_plan_meetings(hub_api, community_viewer, guanbeigou):
    assert send(hub_api, "post", MEETINGS, meeting_body(guanbeigou)).status_code == 403
    assert send(session(community_viewer), "post", MEETINGS, meeting_body(guanbeigou)).status_code == 403
    assert not Meeting.objects.exists()


def item_body(decision, owner, **extra):
    due = timezone.localdate() + datetime.timedelta(days=14)
    return {
        "decision": decision.pk,
        "title": "修复楼道照明",
        "owner_organization": owner.pk,
        "due_on": due.isoformat(),
        **extra,
    }


def test_staff_create_an_action_item(staff_api, world, hub):
    _meeting, decision, _own, _other = world
    response = send(staff_api, "post", ITEMS, item_body(decision, hub), HTTP_IDEMPOTENCY_KEY="i-1")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "open" and response.json()["area"]["name"] == "官北沟社区"


def test_an_action_item_due_in_the_past_is_400_and_nothing_changes(staff_api, world, hub):
    _meeting, decision, _own, _other = world
    before = state()
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    response = send(staff_api, "post", ITEMS, item_body(decision, hub, due_on=yesterday))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "due_in_past" and "has already passed" in body["fields"]["due_on"][0]
    assert state() == before


def test_an_action_item_without_an_owner_is_400_and_nothing_changes(staff_api, world, hub):
    _meeting, decision, _own, _other = world
    before = state()
    body = item_body(decision, hub)
    del body["owner_organization"]
    response = send(staff_api, "post", ITEMS, body)
    assert response.status_code == 400 and response.json()["code"] == "owner_required"
    assert "Name who owns this action item" in response.json()["message"]
    assert state() == before


def test_the_hub_key_updates_the_items_it_owns_and_no_other(hub_api, other_key_api, world):
    _meeting, _decision, own, other = world
    response = send(hub_api, "patch", f"{ITEMS}{own.pk}/", {"note": "灯具已采购。", "status": "in_progress"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "in_progress"
    assert response.json()["progress"][0]["by_organization"]["name"] == "祯祥社"
    before = state()
    refused = send(hub_api, "patch", f"{ITEMS}{other.pk}/", {"note": "不是我的"})
    assert refused.status_code == 403
    cancel = send(hub_api, "patch", f"{ITEMS}{own.pk}/", {"note": "不做了", "status": "cancelled"})
    assert cancel.status_code == 403
    assert send(other_key_api, "patch", f"{ITEMS}{own.pk}/", {"note": "x"}).status_code == 404
    assert state() == before


def test_staff_close_an_item_and_nothing_more_is_recorded_on_it(staff_api, world):
    _meeting, _decision, own, _other = world
    done = send(staff_api, "patch", f"{ITEMS}{own.pk}/", {"note": "全部装好。", "status": "done"})
    assert done.status_code == 200 and done.json()["closed_at"]
    again = send(staff_api, "patch", f"{ITEMS}{own.pk}/", {"note": "再记一笔"})
    assert again.status_code == 409 and again.json()["code"] == "action_item_closed"


def test_a_viewer_cannot_update_and_put_is_not_offered(community_viewer, staff_api, world):
    _meeting, _decision, own, _other = world
    assert send(session(community_viewer), "patch", f"{ITEMS}{own.pk}/", {"note": "x"}).status_code == 403
    assert send(staff_api, "put", f"{ITEMS}{own.pk}/", {"note": "x"}).status_code == 405


# --- query counts ------------------------------------------------------------------------------------------


def fill(area, n, owner):
    """`n` meetings, each with an agenda item, a decision, an opinion and an action item with a progress note
    and an escalation: every relation the lists read."""
    now = timezone.now()
    meetings = Meeting.objects.bulk_create(
        Meeting(area=area, kind="regular", title=f"例会{i}", starts_at=now, status="published")
        for i in range(n)
    )
    decisions = Decision.objects.bulk_create(Decision(meeting=m, text="决定") for m in meetings)
    items = ActionItem.objects.bulk_create(
        ActionItem(decision=d, area=area, title="事项", owner_organization=owner, due_on=now.date())
        for d in decisions
    )
    AgendaItem.objects.bulk_create(
        AgendaItem(meeting=m, title="议题", action_item=i) for m, i in zip(meetings, items, strict=True)
    )
    MeetingOpinion.objects.bulk_create(
        MeetingOpinion(meeting=m, text="同意", speaker_organization=owner) for m in meetings
    )
    ActionProgress.objects.bulk_create(
        ActionProgress(item=i, noted_on=now.date(), note="进展", by_organization=owner) for i in items
    )
    Escalation.objects.bulk_create(
        Escalation(item=i, from_area=area, to_area=area, overdue_days=15) for i in items
    )
    Participant = Meeting.participant_organizations.through
    Participant.objects.bulk_create(Participant(meeting=m, organization=owner) for m in meetings)


def test_the_lists_run_as_many_queries_for_500_rows_as_for_one(
    staff_api, hub_api, guanbeigou, hub, count_queries, monkeypatch
):
    # The key stays verified through the test (filling 499 rows outlasts the usual five seconds).
    monkeypatch.setattr("charity.api_auth.VERIFIED_KEY_SECONDS", 3600)

    def counts():
        return tuple(
            count_queries(lambda c=client, u=url: c.get(u, {"page_size": 500}))
            for client in (staff_api, hub_api)
            for url in (MEETINGS, ITEMS)
        )

    fill(guanbeigou, 1, hub)
    staff_api.get(MEETINGS), hub_api.get(MEETINGS)  # warm up (the session's and the key's first read)
    one = counts()
    fill(guanbeigou, 499, hub)
    assert staff_api.get(ITEMS, {"page_size": 500}).json()["count"] == 500
    assert counts() == one
