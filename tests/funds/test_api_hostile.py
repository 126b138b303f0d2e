"""Funds and donations over the API under hostile input: strict ids, no existence oracle, normalised keys,
tampered cursors, and the idempotency rules a client relies on."""

import base64
import json

import pytest
from rest_framework.test import APIClient

from charity.models import IdempotencyRecord
from charity.services import Actor, create_api_key
from funds.models import Account, Donation
from tests.factories import OrganizationFactory
from tests.funds.test_api import counts, donation_body

pytestmark = pytest.mark.django_db


def post(client, body, **headers):
    return client.post("/api/v1/donations/", body, format="json", **headers)


def key_client(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


# --- ids in the body are JSON integers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "literal",
    [
        "{pk}.9",
        "{pk}.5",
        "{pk}e0",
        "{pk}E0",
        "{pk}.0",
        '"{pk}"',
        "true",
        "[{pk}]",
        '{{"id": {pk}}}',
        "-1",
        "0",
        "9223372036854775808",
        "100000000000000000000",
        "1e400",
        "-1.7976931348623155e+308",
    ],
)
def test_a_fund_id_that_is_not_a_json_integer_is_refused(hub_api, fund, literal):
    raw = json.dumps({**donation_body(fund), "fund": "FUND"}).replace('"FUND"', literal.format(pk=fund.pk))
    before = counts()
    response = hub_api.post("/api/v1/donations/", raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "fund" in response.json()["fields"]
    assert counts() == before


def test_a_restricted_fund_id_of_2_9_is_refused(hub_api, fund, named_fund):
    before = counts()
    response = post(
        hub_api, donation_body(fund, restriction="named_fund", restricted_fund=named_fund.pk + 0.9)
    )
    assert response.status_code == 400
    assert "restricted_fund" in response.json()["fields"]
    assert counts() == before


def test_an_integer_fund_id_is_taken(hub_api, fund):
    assert post(hub_api, donation_body(fund)).status_code == 201


def test_a_restricted_fund_out_of_scope_looks_like_one_that_does_not_exist(
    hub_api, fund, other_fund, english
):
    from funds.models import Fund
    from tests.factories import FundFactory

    far_named = FundFactory(
        name="大龙冠名基金",
        kind=Fund.Kind.NAMED,
        parent=other_fund,
        community=other_fund.community,
        host=other_fund.host,
        named_after="某人",
    )
    body = donation_body(fund, restriction="named_fund")
    far = post(hub_api, {**body, "restricted_fund": far_named.pk}, HTTP_ACCEPT_LANGUAGE="en")
    absent = post(hub_api, {**body, "restricted_fund": 9_000_000}, HTTP_ACCEPT_LANGUAGE="en")
    assert far.status_code == absent.status_code == 400
    assert far.json() == absent.json()


# --- ids in the query string ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/v1/donations/", "fund"),
        ("/api/v1/funds/", "community"),
        ("/api/v1/funds/", "parent"),
        ("/api/v1/funds/", "host"),
        ("/api/v1/committees/", "fund"),
    ],
)
@pytest.mark.parametrize(
    "value", ["99999999999999999999", "-1.7976931348623155e+308", "1.5", "abc", "1e0", "-1"]
)
def test_a_query_string_id_that_is_not_plain_digits_is_400(hub_api, fund, path, param, value):
    response = hub_api.get(path, {param: value})
    assert response.status_code == 400, response.content
    assert param in response.json()["fields"]


@pytest.mark.parametrize(
    ("path", "param", "foreign"),
    [
        ("/api/v1/donations/", "fund", "other_fund"),
        ("/api/v1/funds/", "community", "dalong"),
        ("/api/v1/funds/", "parent", "other_fund"),
    ],
)
def test_a_query_string_id_out_of_scope_looks_like_one_that_does_not_exist(
    hub_api, fund, other_fund, dalong, give, path, param, foreign
):
    give(other_fund, 100)
    foreign_id = {"other_fund": other_fund, "dalong": dalong}[foreign].pk
    unknown = hub_api.get(path, {param: 9_000_000})
    out_of_scope = hub_api.get(path, {param: foreign_id})
    assert unknown.status_code == out_of_scope.status_code == 200
    assert unknown.json() == out_of_scope.json() and unknown.json()["count"] == 0


def test_the_fund_filter_still_filters(hub_api, fund, named_fund, give):
    give(fund, 100)
    give(named_fund, 200)
    rows = hub_api.get("/api/v1/donations/", {"fund": named_fund.pk}).json()["results"]
    assert [r["amount_fen"] for r in rows] == [200]
    rows = hub_api.get("/api/v1/funds/", {"parent": fund.pk}).json()["results"]
    assert [r["id"] for r in rows] == [named_fund.pk]


# --- ledger cursor --------------------------------------------------------------------------------------


def cursor(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


@pytest.mark.parametrize(
    "raw", ["p=abc", "p=", "p=1.5", "p=-1", "p=99999999999999999999", "o=abc", "r=x", "p=1\x00"]
)
def test_a_tampered_ledger_cursor_is_404_invalid_cursor(hub_api, fund, give, raw):
    give(fund, 100)
    response = hub_api.get(f"/api/v1/funds/{fund.pk}/entries/", {"cursor": cursor(raw)})
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize("value", ["%%%", ""])
def test_a_cursor_that_is_not_base64_is_404_invalid_cursor(hub_api, fund, value):
    response = hub_api.get(f"/api/v1/funds/{fund.pk}/entries/", {"cursor": value})
    assert response.status_code == 404 and response.json()["code"] == "invalid_cursor"


def test_a_genuine_cursor_still_pages(hub_api, fund, give):
    for _ in range(3):
        give(fund, 100)
    page = hub_api.get(f"/api/v1/funds/{fund.pk}/entries/?page_size=4").json()
    assert len(hub_api.get(page["next"]).json()["results"]) == 2


@pytest.mark.parametrize("value", ["abc", "0", "0.0", "501"])
def test_a_bad_ledger_page_size_is_400(hub_api, fund, value):
    response = hub_api.get(f"/api/v1/funds/{fund.pk}/entries/", {"page_size": value})
    assert response.status_code == 400 and "page_size" in response.json()["fields"]


# --- normalised identifiers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    ["ZW\u200b123", "ZW123\u200d", "\ufeffZW123", "ＺＷ１２３", " ZW123 ", "Z\u2060W123", "ZW\x00123"],
)
def test_an_invisible_or_full_width_variant_of_a_receipt_number_is_a_duplicate(hub_api, fund, variant):
    assert post(hub_api, donation_body(fund, receipt_no="ZW123")).status_code == 201
    before = counts()
    response = post(hub_api, donation_body(fund, receipt_no=variant))
    assert response.status_code == 409 and response.json()["code"] == "duplicate_receipt"
    assert counts() == before


def test_a_receipt_number_is_stored_normalised(hub_api, fund):
    body = post(hub_api, donation_body(fund, receipt_no="ＺＷ\u200b１２３")).json()
    assert body["receipt_no"] == "ZW123"


def test_invisible_variants_of_a_purpose_are_one_purpose(hub_api, fund, hub_key):
    for i, purpose in enumerate(["助老", "助老\u200b", "助\u200d老", "\u2060助老", " 助老\x07"]):
        response = post(
            hub_api, donation_body(fund, receipt_no=f"P-{i}", restriction="purpose", purpose=purpose)
        )
        assert response.status_code == 201, response.content
        assert response.json()["purpose"] == "助老"
    assert list(
        Account.objects.filter(fund=fund, kind=Account.Kind.RESTRICTED).values_list("purpose", flat=True)
    ) == ["助老"]
    assert hub_api.get(f"/api/v1/funds/{fund.pk}/").json()["restricted_by_purpose"] == {"助老": 50000}


def test_a_nul_byte_in_the_body_is_removed_like_any_control_character(hub_api, fund):
    body = donation_body(
        fund, donor_name="张\x00建国", receipt_no="JQ\x00-1", restriction="purpose", purpose="助\x00老"
    )
    response = post(hub_api, body)
    assert response.status_code == 201, response.content
    donation = Donation.objects.get()
    assert (donation.donor_name, donation.receipt_no, donation.purpose) == ("张建国", "JQ-1", "助老")


def test_the_service_stores_keys_normalised_and_text_without_invisible_characters(fund, give):
    """The admin and the statement import call the service directly: it normalises for them too."""
    donation = give(
        fund,
        100,
        receipt_no="ＺＷ\x00１２３",
        donor_name="张\x00建国\u200b",
        restriction="purpose",
        purpose="助\u200d老",
    )
    donation.refresh_from_db()
    assert (donation.receipt_no, donation.donor_name, donation.purpose) == ("ZW123", "张建国", "助老")
    from funds.services import DuplicateReceipt

    with pytest.raises(DuplicateReceipt):
        give(fund, 100, receipt_no="ZW\u200b123")


# --- Idempotency-Key ------------------------------------------------------------------------------------


def test_a_refused_request_leaves_its_idempotency_key_for_the_corrected_retry(hub_api, fund):
    bad = post(hub_api, donation_body(fund, amount_fen=0), HTTP_IDEMPOTENCY_KEY="k-retry")
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    good = post(hub_api, donation_body(fund), HTTP_IDEMPOTENCY_KEY="k-retry")
    assert good.status_code == 201, good.content
    assert "Idempotent-Replayed" not in good
    assert Donation.objects.count() == 1


def test_another_organisation_with_the_same_idempotency_key_gets_its_own_result(
    hub_api, fund, dalong, other_fund
):
    org_b = OrganizationFactory(name="大龙枢纽", area=dalong)
    org_b.served_areas.add(dalong)
    _api_key, key_b = create_api_key(organization=org_b, name="b", actor=Actor.system())
    client_b = key_client(key_b)
    first_a = post(hub_api, donation_body(fund), HTTP_IDEMPOTENCY_KEY="shared-key")
    assert first_a.status_code == 201
    # B sends A's key value — with A's body, and with its own: never A's response.
    with_a_body = post(client_b, donation_body(fund), HTTP_IDEMPOTENCY_KEY="shared-key")
    assert with_a_body.status_code == 400 and "fund" in with_a_body.json()["fields"]
    own = post(client_b, donation_body(other_fund, receipt_no="B-1"), HTTP_IDEMPOTENCY_KEY="shared-key")
    assert own.status_code == 201, own.content
    assert "Idempotent-Replayed" not in own
    assert own.json()["id"] != first_a.json()["id"] and own.json()["fund"] == other_fund.pk
    assert Donation.objects.count() == 2


def test_a_staff_user_and_a_key_do_not_share_idempotency_records(hub_api, fund, community_staff):
    first = post(hub_api, donation_body(fund), HTTP_IDEMPOTENCY_KEY="k-same")
    staff = APIClient()
    staff.force_login(community_staff)
    second = post(staff, donation_body(fund, receipt_no="JQ-0002"), HTTP_IDEMPOTENCY_KEY="k-same")
    assert second.status_code == 201 and second.json()["id"] != first.json()["id"]


@pytest.mark.parametrize("variant", ["k\u200b-norm", "ｋ-norm", "k-norm\x00", " k-norm "])
def test_an_idempotency_key_is_normalised(hub_api, fund, variant):
    first = post(hub_api, donation_body(fund), HTTP_IDEMPOTENCY_KEY="k-norm")
    again = post(hub_api, donation_body(fund), HTTP_IDEMPOTENCY_KEY=variant)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Donation.objects.count() == 1


@pytest.mark.parametrize("key", ["", "\x00", "\u200b\u200b", "x" * 256, " " * 250 + "x" * 10])
def test_an_empty_or_long_idempotency_key_is_400(hub_api, fund, key):
    before = counts()
    response = post(hub_api, donation_body(fund), HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert counts() == before


def test_a_lone_surrogate_with_an_idempotency_key_is_400_and_records_nothing(hub_api, fund):
    before = counts()
    raw = json.dumps(donation_body(fund, donor_name="\ud800"))
    response = hub_api.post(
        "/api/v1/donations/", raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-sur"
    )
    assert response.status_code == 400
    assert counts() == before and not IdempotencyRecord.objects.exists()


# --- refunds --------------------------------------------------------------------------------------------


def refund(client, donation_id, **headers):
    return client.post(
        f"/api/v1/donations/{donation_id}/refund/", {"reason": "捐赠人要求退回"}, format="json", **headers
    )


def test_a_viewer_refunding_through_the_api_is_refused(hub_api, fund, community_viewer, give):
    donation = give(fund, 10000)
    client = APIClient()
    client.force_login(community_viewer)
    assert client.get(f"/api/v1/donations/{donation.pk}/").status_code == 200
    before = counts()
    response = refund(client, donation.pk)
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "permission_denied"
    assert counts() == before
    donation.refresh_from_db()
    assert not donation.is_refunded


def test_a_hub_key_cannot_refund_a_donation_staff_recorded(hub_api, fund, give):
    donation = give(fund, 10000)  # recorded by the system / staff, not by the hub
    before = counts()
    response = refund(hub_api, donation.pk)
    assert response.status_code == 403
    assert response.json()["code"] == "not_recorded_by_you"
    assert counts() == before


def test_a_hub_key_refunds_what_its_organisation_recorded(hub_api, hub, fund):
    donation_id = post(hub_api, donation_body(fund)).json()["id"]
    assert Donation.objects.get(pk=donation_id).recorded_by_organization == hub
    assert refund(hub_api, donation_id).status_code == 200


def test_another_key_of_the_same_organisation_may_refund_it(hub_api, hub, fund):
    donation_id = post(hub_api, donation_body(fund)).json()["id"]
    _api_key, second = create_api_key(organization=hub, name="second", actor=Actor.system())
    assert refund(key_client(second), donation_id).status_code == 200


def test_a_hub_key_cannot_refund_what_another_organisation_recorded(hub, fund, guanbeigou):
    other = OrganizationFactory(name="官北沟第二枢纽", area=guanbeigou)
    other.served_areas.add(guanbeigou)
    _api_key, other_key = create_api_key(organization=other, name="o", actor=Actor.system())
    donation_id = post(key_client(other_key), donation_body(fund)).json()["id"]
    _api_key, hub_key = create_api_key(organization=hub, name="h", actor=Actor.system())
    response = refund(key_client(hub_key), donation_id)
    assert response.status_code == 403 and response.json()["code"] == "not_recorded_by_you"


def test_staff_refund_a_donation_a_hub_recorded(hub_api, fund, community_staff):
    donation_id = post(hub_api, donation_body(fund)).json()["id"]
    staff = APIClient()
    staff.force_login(community_staff)
    assert refund(staff, donation_id).status_code == 200


def test_a_donation_recorded_by_staff_has_no_recording_organisation(fund, community_staff):
    staff = APIClient()
    staff.force_login(community_staff)
    donation_id = post(staff, donation_body(fund)).json()["id"]
    assert Donation.objects.get(pk=donation_id).recorded_by_organization is None


# --- donor names for API keys ---------------------------------------------------------------------------


@pytest.fixture
def donors(fund, give, guanbeigou):
    from tests.factories import PersonFactory

    consenting = PersonFactory(name="赵同意", community=guanbeigou)
    silent = PersonFactory(name="钱未同意", community=guanbeigou)
    rows = {
        "public": give(fund, 100, donor_name="孙公开", publish_name=True),
        "unpublished": give(fund, 100, donor_name="李不公开"),
        "anonymous": give(fund, 100, donor_name="周匿名", anonymous=True),
        "consenting": give(fund, 100, donor_person=consenting),
        "silent": give(fund, 100, donor_person=silent),
    }
    return rows, consenting, silent


def donor_names(client):
    return {r["id"]: r["donor"] for r in client.get("/api/v1/donations/").json()["results"]}


def test_a_hub_key_gets_donor_names_only_as_the_public_page_shows_them(hub_api, donors):
    rows, _consenting, _silent = donors
    names = donor_names(hub_api)
    assert names[rows["public"].pk] == "孙公开"
    for label in ("unpublished", "anonymous", "consenting", "silent"):
        assert names[rows[label].pk] is None, label
    assert hub_api.get(f"/api/v1/donations/{rows['anonymous'].pk}/").json()["donor"] is None


def test_a_hub_key_gets_the_name_of_a_donor_who_consented_to_that_organisation(hub_api, hub, donors):
    from charity.models import Consent

    rows, consenting, silent = donors
    Consent.objects.create(
        person=consenting, kind=Consent.Kind.SHARE_WITH_ORGANIZATION, organization=hub, text_version="1"
    )
    other_org = OrganizationFactory(name="别的组织")
    Consent.objects.create(
        person=silent, kind=Consent.Kind.SHARE_WITH_ORGANIZATION, organization=other_org, text_version="1"
    )
    names = donor_names(hub_api)
    assert names[rows["consenting"].pk] == "赵同意"
    assert names[rows["silent"].pk] is None, "consent to another organisation is not consent to this one"


def test_a_withdrawn_consent_hides_the_name_again(hub_api, hub, donors):
    from django.utils import timezone

    from charity.models import Consent

    rows, consenting, _silent = donors
    Consent.objects.create(
        person=consenting,
        kind=Consent.Kind.SHARE_WITH_ORGANIZATION,
        organization=hub,
        text_version="1",
        withdrawn_at=timezone.now(),
    )
    assert donor_names(hub_api)[rows["consenting"].pk] is None


def test_a_consent_to_the_organisation_does_not_reveal_an_anonymous_gift(hub_api, hub, fund, give):
    from charity.models import Consent
    from tests.factories import PersonFactory

    person = PersonFactory(name="吴匿名", community=fund.community)
    Consent.objects.create(
        person=person, kind=Consent.Kind.SHARE_WITH_ORGANIZATION, organization=hub, text_version="1"
    )
    donation = give(fund, 100, donor_person=person, anonymous=True)
    assert donor_names(hub_api)[donation.pk] is None


def test_staff_sessions_see_donor_names(community_staff, donors):
    rows, _consenting, _silent = donors
    client = APIClient()
    client.force_login(community_staff)
    names = donor_names(client)
    assert names[rows["anonymous"].pk] == "周匿名" and names[rows["silent"].pk] == "钱未同意"


def test_the_donor_list_for_a_key_uses_a_fixed_number_of_queries(
    hub_api, hub, fund, give, django_assert_max_num_queries
):
    from charity.models import Consent
    from tests.factories import PersonFactory

    for i in range(30):
        person = PersonFactory(name=f"捐赠人{i}", community=fund.community)
        Consent.objects.create(
            person=person, kind=Consent.Kind.SHARE_WITH_ORGANIZATION, organization=hub, text_version="1"
        )
        give(fund, 100, donor_person=person)
    hub_api.get("/api/v1/donations/")
    with django_assert_max_num_queries(7):
        assert len(hub_api.get("/api/v1/donations/").json()["results"]) == 30
