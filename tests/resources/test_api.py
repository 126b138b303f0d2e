"""GET|POST /api/v1/resources/ and GET /api/v1/loans/: scope, filters, errors, idempotency, query counts."""

import datetime
import json

import pytest
from django.utils import timezone

from charity.models import AuditAction, AuditEvent
from resources import services
from resources.models import Loan, Resource
from tests.factories import PersonFactory

from .conftest import SYSTEM, make_item, make_resource, make_tool, neighbour

pytestmark = pytest.mark.django_db


def post(client, body, **headers):
    return client.post("/api/v1/resources/", json.dumps(body), content_type="application/json", **headers)


def body(community, **extra):
    return {
        "kind": "goods",
        "title": "冬季棉被",
        "community": community.pk,
        "quantity": 20,
        "unit": "床",
        **extra,
    }


def test_a_hub_offers_a_resource_as_itself(hub_api, hub, guanbeigou):
    response = post(hub_api, body(guanbeigou, categories=["elderly"], reach="street"))
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["owner_organization"] == {"id": hub.pk, "name": hub.name}
    assert data["categories"] == ["elderly"] and data["free"] == 20 and data["offered_by"] == "organization"
    assert AuditEvent.objects.get(action=AuditAction.RESOURCE_OFFERED).surface == "api"


def test_idempotency_key_makes_a_retry_safe(hub_api, guanbeigou):
    first = post(hub_api, body(guanbeigou), HTTP_IDEMPOTENCY_KEY="k-1")
    again = post(hub_api, body(guanbeigou), HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Resource.objects.count() == 1
    other = post(hub_api, body(guanbeigou, quantity=3), HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": 1.5}, "quantity"),
        ({"available_from": "2026-05-02", "available_until": "2026-05-01"}, "available_until"),
        ({"description": "长" * 3000}, "description"),
        ({"kind": "venue", "slots": [{"weekday": 5, "start_time": "12:00", "end_time": "09:00"}]}, "slots"),
        ({"kind": "money_pledge"}, "amount_fen"),
        ({"categories": ["no-such"]}, "categories"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(hub_api, guanbeigou, extra, field):
    response = post(hub_api, body(guanbeigou, **extra))
    assert response.status_code == 400, response.content
    data = response.json()
    assert data["code"] and data["message"] and field in data["fields"]
    assert not Resource.objects.exists()


def test_a_5_mb_description_is_refused_cleanly(hub_api, guanbeigou):
    response = post(hub_api, body(guanbeigou, description="x" * (5 * 1024 * 1024)))
    assert response.status_code in (400, 413)
    assert {"code", "message"} <= response.json().keys()
    assert not Resource.objects.exists()


def test_html_is_returned_as_text(hub_api, guanbeigou):
    response = post(hub_api, body(guanbeigou, title="<script>alert(1)</script>"))
    assert response.json()["title"] == "<script>alert(1)</script>"
    assert response["Content-Type"].startswith("application/json")


def test_another_communitys_resource_is_404_and_absent_from_the_list(hub_api, guanbeigou, dalong):
    ours = make_resource(guanbeigou)
    theirs = make_resource(dalong)
    assert hub_api.get(f"/api/v1/resources/{theirs.pk}/").status_code == 404
    ids = [r["id"] for r in hub_api.get("/api/v1/resources/").json()["results"]]
    assert ids == [ours.pk]
    response = post(hub_api, body(dalong))
    assert response.status_code == 400 and "community" in response.json()["fields"]
    assert Resource.objects.count() == 2


def test_residents_are_never_named(hub_api, guanbeigou):
    person = PersonFactory(name="赵师傅", community=guanbeigou)
    make_resource(guanbeigou, owner=person, kind=Resource.Kind.SKILL, title="修水电")
    text = hub_api.get("/api/v1/resources/").content.decode()
    assert "赵师傅" not in text and person.mobile not in text


def test_filters(hub_api, guanbeigou):
    today = timezone.localdate()
    make_tool(guanbeigou, title="电钻")
    make_item(guanbeigou, title="旧书", available_until=today)
    make_resource(
        guanbeigou, title="场地", kind=Resource.Kind.VENUE, available_from=today + datetime.timedelta(days=3)
    )

    def titles(query):
        return {r["title"] for r in hub_api.get(f"/api/v1/resources/?{query}").json()["results"]}

    assert titles("kind=tool") == {"电钻"}
    assert titles("for_exchange=true") == {"旧书"}
    assert titles(f"available_on={today.isoformat()}") == {"电钻", "旧书"}
    assert titles(f"community={guanbeigou.pk}&status=available") == {"电钻", "旧书", "场地"}
    assert hub_api.get("/api/v1/resources/?kind=").status_code == 400


def test_loans_list_scope_and_state(hub_api, guanbeigou, dalong, community_staff):
    from .conftest import staff_actor

    drill = make_tool(guanbeigou)
    far_drill = make_tool(dalong)
    a = neighbour(guanbeigou)
    loan = services.lend_tool(resource=drill, borrower=a, actor=staff_actor(community_staff))
    services.lend_tool(resource=far_drill, borrower=neighbour(dalong), actor=SYSTEM)
    Loan.objects.filter(pk=loan.pk).update(
        start=timezone.localdate() - datetime.timedelta(days=20),
        due=timezone.localdate() - datetime.timedelta(days=1),
    )
    rows = hub_api.get("/api/v1/loans/").json()["results"]
    assert [r["id"] for r in rows] == [loan.pk] and rows[0]["late"] is True
    assert a.name not in json.dumps(rows, ensure_ascii=False)
    assert len(hub_api.get("/api/v1/loans/?state=late").json()["results"]) == 1
    assert hub_api.get("/api/v1/loans/?state=returned").json()["results"] == []


def test_anonymous_and_residents_are_refused(api, resident):
    assert api.get("/api/v1/resources/").status_code == 401
    api.force_login(resident.user)
    assert api.get("/api/v1/loans/").status_code == 403


@pytest.mark.parametrize("path", ["/api/v1/resources/?page_size=500", "/api/v1/loans/?page_size=500"])
def test_lists_run_as_many_queries_for_500_rows_as_for_one(hub_api, guanbeigou, path, count_queries):
    from charity.models import Category
    from resources.models import AvailabilitySlot

    elderly = Category.objects.get(code="elderly")

    def add(n):
        tools = [
            Resource(
                kind=Resource.Kind.TOOL,
                title=f"工具{i}",
                quantity=2,
                community=guanbeigou,
                reach=Resource.Reach.COMMUNITY,
                reach_area=guanbeigou,
                available_from=timezone.localdate(),
                owner_person=PersonFactory(community=guanbeigou),
            )
            for i in range(n)
        ]
        Resource.objects.bulk_create(tools)
        for tool in tools:
            tool.categories.add(elderly)
        AvailabilitySlot.objects.bulk_create(
            AvailabilitySlot(resource=t, weekday=1, start_time=datetime.time(9), end_time=datetime.time(10))
            for t in tools
        )
        Loan.objects.bulk_create(
            Loan(resource=t, borrower=t.owner_person, start=timezone.localdate(), due=timezone.localdate())
            for t in tools
        )

    def show():
        assert hub_api.get(path).status_code == 200

    add(1)
    show()
    one = count_queries(show)
    add(499)
    show()  # warm again: a slow machine may outlast the verified key's and the count's few seconds
    assert count_queries(show) == one


def test_slot_times_are_hh_mm_in_and_out(hub_api, guanbeigou):
    """The schema says "HH:MM" (a pattern, not `format: time`, which wants a UTC offset): both ways."""
    slots = [{"weekday": 5, "start_time": "09:00", "end_time": "19:30"}]
    response = post(hub_api, body(guanbeigou, kind="venue", quantity=1, slots=slots))
    assert response.status_code == 201, response.json()
    assert response.json()["slots"] == slots
    listed = hub_api.get("/api/v1/resources/").json()["results"][0]["slots"]
    assert listed == slots


@pytest.mark.parametrize("value", ["9:00", "09:00:00", "24:00", "09:60", "０９:００", 900, "09:00Z"])
def test_a_slot_time_not_hh_mm_is_refused_under_its_dotted_path(hub_api, guanbeigou, value):
    slots = [
        {"weekday": 1, "start_time": "09:00", "end_time": "10:00"},
        {"weekday": 5, "start_time": "09:00", "end_time": value},
    ]
    response = post(hub_api, body(guanbeigou, kind="venue", quantity=1, slots=slots))
    assert response.status_code == 400, response.content
    data = response.json()
    # The documented error shape: each field a list of messages, nested fields as dotted paths.
    assert data["code"] == "invalid" and list(data["fields"]) == ["slots.1.end_time"]
    assert all(isinstance(m, str) for m in data["fields"]["slots.1.end_time"])
    assert not Resource.objects.exists()


def test_nested_slot_errors_are_flattened(hub_api, guanbeigou):
    slots = [{"weekday": 9}]
    response = post(hub_api, body(guanbeigou, kind="venue", quantity=1, slots=slots))
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {"slots.0.weekday", "slots.0.start_time", "slots.0.end_time"}
    assert all(isinstance(v, list) and all(isinstance(m, str) for m in v) for v in fields.values())


@pytest.mark.parametrize("value", ["null", "1", "True", "yes", "maybe"])
def test_a_boolean_filter_takes_true_or_false_only(hub_api, guanbeigou, value):
    make_item(guanbeigou, title="旧书")
    response = hub_api.get(f"/api/v1/resources/?for_exchange={value}")
    assert response.status_code == 400, response.content
    assert "for_exchange" in response.json()["fields"]
    assert len(hub_api.get("/api/v1/resources/?for_exchange=true").json()["results"]) == 1
    assert hub_api.get("/api/v1/resources/?for_exchange=false").json()["results"] == []


def test_a_nul_in_a_category_code_is_a_400_not_a_database_error(hub_api, guanbeigou):
    response = post(hub_api, body(guanbeigou, categories=["eld\u0000erly"]))
    assert response.status_code == 400 and "categories" in response.json()["fields"]
    assert not Resource.objects.exists()
