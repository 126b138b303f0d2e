"""GET|POST /api/v1/service-records/ and POST …/{id}/confirm/: scope, filters, errors, idempotency, privacy,
query counts."""

import datetime
import json

import pytest
from django.utils import timezone

from charity import crypto
from charity.models import AuditAction, AuditEvent
from tests.factories import PersonFactory
from tests.volunteers.factories import make_record, make_volunteer
from volunteers.models import ServiceRecord

pytestmark = pytest.mark.django_db
URL = "/api/v1/service-records/"


@pytest.fixture(autouse=True)
def _both_roots(dalong, guanbeigou):
    guanbeigou.refresh_from_db()


@pytest.fixture
def volunteer(guanbeigou):
    return make_volunteer(PersonFactory(name="张志愿", community=guanbeigou))


def post(client, data, url=URL, **headers):
    return client.post(url, json.dumps(data), content_type="application/json", **headers)


def at(days_ago, hour):
    day = timezone.localdate() - datetime.timedelta(days=days_ago)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour))).isoformat()


def body(volunteer, community, **extra):
    return {
        "volunteer_number": volunteer.number,
        "community": community.pk,
        "content": "一起·公益集市 引导",
        "started_at": at(2, 9),
        "ended_at": at(2, 11),
        **extra,
    }


def test_a_hub_records_hours_as_organiser_and_confirms_them(hub_api, hub, volunteer, guanbeigou):
    response = post(hub_api, body(volunteer, guanbeigou))
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["volunteer"] == volunteer.number and data["organizer"]["id"] == hub.pk
    assert data["minutes"] == 120 and data["hours"] == "2" and data["status"] == "submitted"
    confirmed = post(hub_api, {}, url=f"{URL}{data['id']}/confirm/")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    again = post(hub_api, {}, url=f"{URL}{data['id']}/confirm/")
    assert again.status_code == 409 and again.json()["code"] == "already_decided"
    assert AuditEvent.objects.get(action=AuditAction.SERVICE_CONFIRMED).surface == "api"


@pytest.mark.parametrize(
    "extra, code, field",
    [
        ({"minutes": 0}, "hours_zero", "minutes"),
        ({"minutes": -30}, "hours_zero", "minutes"),
        ({"minutes": 25 * 60}, "hours_day_limit", "minutes"),
        ({"minutes": 20}, "hours_quarter", "minutes"),
        ({"minutes": "lots"}, "invalid_hours", "minutes"),
        ({"started_at": at(-1, 9), "ended_at": at(-1, 11)}, "hours_future", "ended_at"),
        ({"ended_at": at(2, 8)}, "hours_order", "ended_at"),
        ({"volunteer_number": "NOPE"}, "invalid", "volunteer_number"),
        ({"content": ""}, "invalid", "content"),
    ],
)
def test_bad_input_is_refused_with_the_field_and_nothing_changes(
    hub_api, volunteer, guanbeigou, extra, code, field
):
    response = post(hub_api, body(volunteer, guanbeigou, **extra))
    assert response.status_code == 400, response.json()
    data = response.json()
    assert data["code"] == code and field in data["fields"], data
    assert not ServiceRecord.objects.exists()


def test_overlap_is_a_conflict(hub_api, volunteer, guanbeigou):
    assert post(hub_api, body(volunteer, guanbeigou)).status_code == 201
    response = post(hub_api, body(volunteer, guanbeigou, started_at=at(2, 10), ended_at=at(2, 12)))
    assert response.status_code == 409 and response.json()["code"] == "hours_overlap"
    assert ServiceRecord.objects.count() == 1


def test_out_of_scope_community_and_volunteer_look_absent(hub_api, guanbeigou, dalong):
    theirs = make_volunteer(area=dalong)
    response = post(hub_api, body(theirs, guanbeigou))
    assert response.status_code == 400 and "volunteer_number" in response.json()["fields"]
    response = post(hub_api, body(make_volunteer(area=guanbeigou), dalong))
    assert response.status_code == 400 and "community" in response.json()["fields"]
    record = make_record(theirs, days_ago=4)
    assert hub_api.get(f"{URL}{record.pk}/").status_code == 404
    assert post(hub_api, {}, url=f"{URL}{record.pk}/confirm/").status_code == 404
    record.refresh_from_db()
    assert record.status == "confirmed"  # as built; untouched


def test_idempotency_key_makes_a_retry_safe(hub_api, volunteer, guanbeigou):
    first = post(hub_api, body(volunteer, guanbeigou), HTTP_IDEMPOTENCY_KEY="h-1")
    again = post(hub_api, body(volunteer, guanbeigou), HTTP_IDEMPOTENCY_KEY="h-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert ServiceRecord.objects.count() == 1


def test_list_filters_and_never_an_id_number(hub_api, hub, volunteer, guanbeigou, dalong):
    mine = make_record(volunteer, organizer=hub, days_ago=3)
    make_record(volunteer, organizer=hub, days_ago=30)
    make_record(make_volunteer(area=dalong), days_ago=3)
    rows = hub_api.get(URL).json()["results"]
    assert len(rows) == 2
    day = (timezone.localdate() - datetime.timedelta(days=3)).isoformat()
    rows = hub_api.get(URL, {"date_after": day, "date_before": day, "community": guanbeigou.pk}).json()
    assert [r["id"] for r in rows["results"]] == [mine.pk]
    raw = hub_api.get(URL).content.decode()
    id_number = crypto.decrypt(volunteer.id_ciphertext)
    assert id_number not in raw and volunteer.id_ciphertext not in raw and "张志愿" not in raw


def test_list_runs_as_many_queries_for_500_rows_as_for_one(
    hub_api, volunteer, guanbeigou, hub, count_queries
):
    def add(n, offset):
        start = timezone.now() - datetime.timedelta(days=600)
        ServiceRecord.objects.bulk_create(
            ServiceRecord(
                volunteer=volunteer,
                organizer=hub,
                community=guanbeigou,
                content="服务",
                started_at=start + datetime.timedelta(hours=2 * (i + offset)),
                ended_at=start + datetime.timedelta(hours=2 * (i + offset) + 1),
                minutes=60,
                source="organiser",
            )
            for i in range(n)
        )

    def show():
        assert hub_api.get(URL, {"page_size": 500}).status_code == 200

    add(1, 0)
    show()
    one = count_queries(show)
    add(499, 1)
    show()
    assert count_queries(show) == one
