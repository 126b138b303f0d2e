"""GET|POST /api/v1/events/ and POST /api/v1/events/{id}/signups/: scope, filters, errors, idempotency."""

import datetime
import json

import pytest
from django.utils import timezone

from charity.models import AuditAction, AuditEvent
from tests.factories import PersonFactory
from tests.volunteers.factories import make_event, make_signup
from volunteers.models import Event, EventSeries, Signup

from .events_support import many_events, resident_of

pytestmark = pytest.mark.django_db
S = Signup.Status


def post(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def event_body(community, **extra):
    starts = timezone.now() + datetime.timedelta(days=5)
    return {
        "community": community.pk,
        "kind": "free_clinic",
        "title": "一起·社区义诊",
        "place": "卫生服务站",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + datetime.timedelta(hours=3)).isoformat(),
        "capacity": 2,
        "roles": [{"name": "引导", "capacity": 1}],
        **extra,
    }


def test_a_hub_creates_an_event_as_itself(hub_api, hub, guanbeigou):
    body = event_body(guanbeigou)
    response = post(hub_api, "/api/v1/events/", body, HTTP_IDEMPOTENCY_KEY="e-1")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["organizer"] == {"id": hub.pk, "name": hub.name}
    assert data["places_left"] == 2 and data["roles"][0]["name"] == "引导" and data["roles"][0]["taken"] == 0
    again = post(hub_api, "/api/v1/events/", body, HTTP_IDEMPOTENCY_KEY="e-1")
    assert again.status_code == 201 and Event.objects.count() == 1
    assert AuditEvent.objects.get(action=AuditAction.EVENT_CREATED).surface == "api"


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"capacity": -1}, "capacity"),
        ({"capacity": 1.5}, "capacity"),
        ({"title": ""}, "title"),
        ({"kind": "rave"}, "kind"),
        ({"ends_at": "2020-01-01T00:00:00+08:00"}, "ends_at"),
        ({"roles": [{"name": "引导", "capacity": 0}]}, "capacity"),
        ({"is_risky": True}, "risk_notice"),
        ({"starts_at": "not a time"}, "starts_at"),
    ],
)
def test_bad_event_input_is_a_400_naming_the_field(hub_api, guanbeigou, extra, field):
    response = post(hub_api, "/api/v1/events/", event_body(guanbeigou, **extra))
    assert response.status_code == 400, response.content
    data = response.json()
    assert data["code"] and data["message"] and field in data["fields"]
    assert not Event.objects.exists()


def test_a_key_cannot_create_outside_its_communities(hub_api, dalong):
    response = post(hub_api, "/api/v1/events/", event_body(dalong))
    assert response.status_code == 400 and "community" in response.json()["fields"]
    assert not Event.objects.exists()


def test_the_list_is_scoped_and_filtered(hub_api, guanbeigou, dalong):
    series = EventSeries.objects.create(
        community=guanbeigou, organizer=make_event(guanbeigou, title="集市").organizer, name="一起"
    )
    clinic = make_event(guanbeigou, title="义诊", series=series, kind="free_clinic")
    make_event(dalong, title="大龙舞蹈")
    titles = [e["title"] for e in hub_api.get("/api/v1/events/").json()["results"]]
    assert "大龙舞蹈" not in titles and {"集市", "义诊"} <= set(titles)
    assert [e["id"] for e in hub_api.get(f"/api/v1/events/?series={series.pk}").json()["results"]] == [
        clinic.pk
    ]
    assert [e["title"] for e in hub_api.get("/api/v1/events/?kind=free_clinic").json()["results"]] == ["义诊"]
    day = (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
    assert hub_api.get(f"/api/v1/events/?starts_after={day}").json()["results"] == []
    assert hub_api.get("/api/v1/events/?community=x").status_code == 400
    assert hub_api.get(f"/api/v1/events/?community={dalong.pk}").json()["results"] == []


def test_the_api_never_names_anyone(hub_api, guanbeigou):
    event = make_event(guanbeigou)
    person = resident_of(guanbeigou)
    make_signup(event, person)
    text = hub_api.get("/api/v1/events/").content.decode()
    assert person.name not in text and person.mobile not in text


def test_a_hub_signs_up_a_resident_by_mobile_or_id(hub_api, guanbeigou):
    event = make_event(guanbeigou, capacity=1)
    first = PersonFactory(community=guanbeigou, mobile="13812345678")
    second = resident_of(guanbeigou)
    url = f"/api/v1/events/{event.pk}/signups/"
    response = post(hub_api, url, {"mobile": "138 1234 5678"}, HTTP_IDEMPOTENCY_KEY="s-1")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "confirmed" and response.json()["position"] is None
    assert post(hub_api, url, {"mobile": "138 1234 5678"}, HTTP_IDEMPOTENCY_KEY="s-1").status_code == 201
    assert Signup.objects.filter(person=first).count() == 1
    response = post(hub_api, url, {"person": second.pk})
    assert (
        response.status_code == 201
        and response.json()["status"] == "waiting"
        and response.json()["position"] == 1
    )
    assert "name" not in response.json() and "mobile" not in response.json()
    assert AuditEvent.objects.filter(action=AuditAction.SIGNUP_CREATED, surface="api").count() == 2


@pytest.mark.parametrize(
    "body, status, code_or_field",
    [
        ({}, 400, "person"),
        ({"person": 1, "mobile": "13812345678"}, 400, "person"),
        ({"person": "1"}, 400, "person"),
        ({"person": 999999}, 400, "person"),
        ({"mobile": "12345"}, 400, "mobile"),
        ({"mobile": "13900000000"}, 400, "mobile"),
        ({"mobile": "13812345678", "participant_age": 9}, 400, "guardian_name"),
        ({"mobile": "13812345678", "participant_age": 4}, 400, "participant_age"),
        ({"mobile": "13812345678", "role": 999999}, 400, "role"),
        ({"mobile": "13812345678", "role": True}, 400, "role"),
        ({"mobile": "13812345678", "twice": True}, 409, "already_signed_up"),
        ({"mobile": "13812345678", "closed": True}, 409, "signup_closed"),
        ({"mobile": "13812345678", "risky": True}, 409, "insurance_missing"),
        ({"mobile": "13812345678", "not_volunteer": True}, 400, "not_a_volunteer"),
    ],
)
def test_bad_sign_ups_are_refused_clearly(hub_api, guanbeigou, body, status, code_or_field):
    event = make_event(guanbeigou, roles=[("引导", 2)])
    person = PersonFactory(community=guanbeigou, mobile="13812345678")
    body = dict(body)
    if body.pop("twice", False):
        make_signup(event, person)
    if body.pop("closed", False):
        Event.objects.filter(pk=event.pk).update(
            signup_deadline=timezone.now() - datetime.timedelta(minutes=1)
        )
    if body.pop("risky", False):
        Event.objects.filter(pk=event.pk).update(is_risky=True, risk_notice="登高")
        from tests.volunteers.factories import make_volunteer

        make_volunteer(person)
        body["role"] = event.roles.get().pk
    if body.pop("not_volunteer", False):
        body["role"] = event.roles.get().pk
    before = Signup.objects.count()
    response = post(hub_api, f"/api/v1/events/{event.pk}/signups/", body)
    assert response.status_code == status, response.content
    data = response.json()
    assert data["message"]
    assert code_or_field == data["code"] or code_or_field in (data.get("fields") or {})
    assert Signup.objects.count() == before


def test_a_resident_or_event_outside_the_hubs_communities_is_not_found(hub_api, guanbeigou, dalong):
    theirs = make_event(dalong)
    response = post(hub_api, f"/api/v1/events/{theirs.pk}/signups/", {"mobile": "13812345678"})
    assert response.status_code == 404
    ours = make_event(guanbeigou)
    outsider = PersonFactory(community=dalong, mobile="13712345678")
    response = post(hub_api, f"/api/v1/events/{ours.pk}/signups/", {"person": outsider.pk})
    assert response.status_code == 400 and "person" in response.json()["fields"]
    assert not Signup.objects.exists()


def test_the_events_list_runs_as_many_queries_for_500_rows_as_for_one(hub_api, guanbeigou, count_queries):
    def show():
        assert hub_api.get("/api/v1/events/?page_size=500").status_code == 200

    many_events(guanbeigou, 1)
    show()
    one = count_queries(show)
    many_events(guanbeigou, 499)
    show()  # warm again: the verified key and the count are cached a few seconds
    assert count_queries(show) == one
    assert len(hub_api.get("/api/v1/events/?page_size=500").json()["results"]) == 500
