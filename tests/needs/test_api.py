"""GET|POST /api/v1/needs/: scoped, sensitive details only to the organisations a live consent names."""

import json
import logging

import pytest

from charity.api_auth import verified_keys
from charity.models import AuditAction, AuditEvent
from charity.services import Actor
from needs import services
from needs.models import Need, NeedSensitiveDetails

from .conftest import SECRET_PHONE, SECRETS, copies_of, need_input

pytestmark = pytest.mark.django_db
URL = "/api/v1/needs/"


def body(community, **extra):
    return {
        "community": community.pk,
        "category": "elderly",
        "sub_kind": "housing",
        "summary": "为3户高龄独居老人的楼梯加装扶手",
        "quantity": 3,
        "unit": "处",
        "urgency": "soon",
        "beneficiary_count": 3,
        **extra,
    }


def post(client, data, **headers):
    return client.post(URL, json.dumps(data), content_type="application/json", **headers)


def test_a_hub_key_registers_a_need_for_review(hub_api, guanbeigou, hub):
    response = post(hub_api, body(guanbeigou))
    assert response.status_code == 201, response.json()
    need = Need.objects.get(pk=response.json()["id"])
    assert need.status == "submitted" and need.source == "api" and need.source_organization == hub
    assert response.json()["sensitive"] is None


def test_idempotency_key_makes_a_retry_create_nothing(hub_api, guanbeigou):
    first = post(hub_api, body(guanbeigou), HTTP_IDEMPOTENCY_KEY="need-1")
    again = post(hub_api, body(guanbeigou), HTTP_IDEMPOTENCY_KEY="need-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and Need.objects.count() == 1


def test_another_community_is_refused_like_a_missing_one(hub_api, dalong):
    theirs = post(hub_api, body(dalong))
    nowhere = post(hub_api, {**body(dalong), "community": 987654321})
    assert theirs.status_code == nowhere.status_code == 400
    assert theirs.json() == nowhere.json()
    assert Need.objects.count() == 0


def test_another_communitys_need_is_404(hub_api, dalong, category, outsider):
    need = services.submit_need(
        data=need_input(dalong, category), source="staff", actor=Actor("admin", user=outsider)
    )
    response = hub_api.get(f"{URL}{need.pk}/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert hub_api.get(URL).json()["results"] == []


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"summary": "电话13812345678"}, "mobile_in_public_text"),
        ({"quantity": 0}, "invalid"),
        ({"quantity": -1}, "invalid"),
        ({"needed_by": "2020-01-01"}, "needed_by_in_past"),
        ({"sensitive": {"phone": SECRET_PHONE}}, "sensitive_without_legal_basis"),
        ({"summary": "x" * 501}, "invalid"),
        ({"category": "no-such"}, "invalid"),
    ],
)
def test_bad_input_gets_code_message_fields_and_changes_nothing(hub_api, guanbeigou, extra, code):
    response = post(hub_api, body(guanbeigou, **extra))
    assert response.status_code == 400, response.content
    data = response.json()
    assert data["code"] == code and data["message"] and data.get("fields")
    assert Need.objects.count() == 0 and NeedSensitiveDetails.objects.count() == 0
    for secret in SECRETS:
        assert secret not in response.content.decode()


def test_a_5mb_description_is_refused_not_a_500(hub_api, guanbeigou):
    response = post(hub_api, body(guanbeigou, description="长" * 5_000_000))
    assert response.status_code in (400, 413)
    assert "code" in response.json()
    assert Need.objects.count() == 0


def test_html_is_returned_as_text(hub_api, guanbeigou):
    response = post(hub_api, body(guanbeigou, summary="<script>alert(1)</script>扶手"))
    assert response.status_code == 201
    assert response.json()["summary"] == "<script>alert(1)</script>扶手"


def test_sensitive_details_go_back_only_to_the_named_organisation_until_withdrawn(
    hub_api, guanbeigou, hub, staff_actor, api, outside_org_key
):
    consent = {"basis": "consent", "given_by": "beneficiary", "publish_summary": True, "share_with": [hub.pk]}
    response = post(hub_api, body(guanbeigou, sensitive={"phone": SECRET_PHONE}, legal_basis=consent))
    assert response.status_code == 201, response.json()
    need_id = response.json()["id"]
    listed = hub_api.get(URL).json()["results"]
    assert listed[0]["sensitive"]["phone"] == SECRET_PHONE
    assert AuditEvent.objects.filter(
        action=AuditAction.NEED_SENSITIVE_VIEWED, actor_organization=hub
    ).exists()
    # A staff session never gets them through the API.
    staff_client = api
    staff_client.force_login(staff_actor.user)
    assert SECRET_PHONE not in staff_client.get(URL).content.decode()
    services.withdraw_consent(need=Need.objects.get(pk=need_id), actor=staff_actor)
    after = hub_api.get(f"{URL}{need_id}/")
    assert after.status_code == 200 and after.json()["sensitive"] is None
    assert SECRET_PHONE not in hub_api.get(URL).content.decode()


def test_a_hub_not_named_in_the_consent_gets_no_details(hub_api, guanbeigou, hub, staff_actor):
    from charity.models import Organization
    from tests.factories import OrganizationFactory

    other = OrganizationFactory(name="另一枢纽", type=Organization.Type.HUB, area=guanbeigou)
    other.served_areas.add(guanbeigou)
    consent = {"basis": "consent", "given_by": "beneficiary", "share_with": [other.pk]}
    assert (
        post(hub_api, body(guanbeigou, sensitive={"phone": SECRET_PHONE}, legal_basis=consent)).status_code
        == 201
    )
    assert SECRET_PHONE not in hub_api.get(URL).content.decode()


def test_filters(hub_api, guanbeigou):
    post(hub_api, body(guanbeigou, urgency="urgent"))
    post(hub_api, body(guanbeigou, summary="乒乓球台更换球网", urgency="routine", category="culture"))
    assert len(hub_api.get(URL, {"urgency": "urgent"}).json()["results"]) == 1
    assert len(hub_api.get(URL, {"category": "culture"}).json()["results"]) == 1
    assert len(hub_api.get(URL, {"status": "submitted", "community": guanbeigou.pk}).json()["results"]) == 2
    assert hub_api.get(URL, {"community": "abc"}).status_code == 400


def test_no_sensitive_detail_in_log_lines(hub_api, guanbeigou, hub, caplog):
    caplog.set_level(logging.DEBUG)
    consent = {"basis": "consent", "given_by": "beneficiary", "share_with": [hub.pk]}
    post(hub_api, body(guanbeigou, sensitive={"phone": SECRET_PHONE, "name": "张秘密"}, legal_basis=consent))
    hub_api.get(URL)
    assert SECRET_PHONE not in caplog.text and "张秘密" not in caplog.text


def test_query_count_is_flat_for_1_and_500_needs(
    hub_api, guanbeigou, category, staff_actor, hub, count_queries
):
    need = services.submit_need(
        data=need_input(guanbeigou, category, summary="需求0000号：楼梯扶手维修"),
        source="staff",
        actor=staff_actor,
        sensitive={"phone": SECRET_PHONE},
        basis=services.LegalBasisInput(basis="consent", given_by="beneficiary", share_with=[hub]),
    )

    def listed():
        # Each count starts with the key unverified: it stays verified for VERIFIED_KEY_SECONDS (5 s), so
        # the second count would otherwise depend on how long making the rows took.
        verified_keys.clear()
        hub_api.get(URL, {"page_size": 500})

    one = count_queries(listed)
    copies_of(need, (f"需求{i:04d}号：楼梯扶手维修" for i in range(1, 500)))  # shared with the hub too
    many = count_queries(listed)
    assert one == many


def test_nested_errors_are_named_by_dotted_paths(hub_api, guanbeigou):
    """The documented error body: `fields` maps names to lists of messages, nested ones included."""
    data = body(guanbeigou, sensitive={"name": 12}, legal_basis={"basis": "nope", "share_with": [1, 0]})
    response = post(hub_api, data)
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {"sensitive.name", "legal_basis.basis", "legal_basis.share_with.1"}
    assert all(isinstance(v, list) and all(isinstance(m, str) for m in v) for v in fields.values())
    assert Need.objects.count() == 0


def test_the_fuzzer_knows_a_community_outside_the_scope_is_a_documented_400():
    """A schema-valid body naming a community outside the key's scope is 400 (an id no schema can bound):
    the operations say so, and the fuzz config binds `community` to real ones and expects that 400."""
    import tomllib
    from pathlib import Path

    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    config = tomllib.loads((Path(__file__).parents[2] / ".ci" / "schemathesis.toml").read_text())
    for path in ("/api/v1/needs/", "/api/v1/resources/"):
        operation = paths[path]["post"]
        assert (
            "400" in operation["responses"] and "`community` outside your scope" in operation["description"]
        )
        (entry,) = [o for o in config["operations"] if o.get("include-name") == f"POST {path}"]
        assert entry["parameters"]["body.community"]["dictionary"] == "communities"
        assert "400" in entry["checks"]["positive_data_acceptance"]["expected-statuses"]


def test_a_nul_in_the_category_code_is_a_400_not_a_database_error(hub_api, guanbeigou):
    response = post(hub_api, body(guanbeigou, category="eld\u0000erly"))
    assert response.status_code == 400 and "category" in response.json()["fields"]
    assert Need.objects.count() == 0


@pytest.mark.parametrize("field", ["beneficiary_count", "quantity"])
def test_a_number_past_any_community_need_is_refused_not_a_server_error(hub_api, guanbeigou, field):
    """Past PostgreSQL's integer (the fuzzer found it): 400 naming the field, nothing saved."""
    from needs.models import Need

    body = {
        "community": guanbeigou.pk,
        "category": "elderly",
        "sub_kind": "care",
        "summary": "两户独居老人需要陪伴",
    }
    body[field] = 3_365_511_779
    response = hub_api.post("/api/v1/needs/", body, format="json")
    assert response.status_code == 400 and field in response.json()["fields"]
    assert not Need.objects.exists()
