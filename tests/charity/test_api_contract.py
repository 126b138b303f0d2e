"""The API keeps its contract under hostile input: every answer is the {code, message, fields?} JSON body,
never a 500 and never an HTML page."""

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def assert_error_body(response, status, code=None):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) <= {"code", "message", "fields"} and body["message"], body
    if code is not None:
        assert body["code"] == code, body
    return body


# --- paths ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/",
        "/api/v1/",
        "/api/v1/nothing-here/",
        "/api/v2/funds/",
        "/api/v1/organizations/abc/",
        "/api/v1/organizations/99999999999999999999/",
        "/api/v1/organizations/1.5/",
    ],
)
def test_an_unrouted_api_path_answers_the_json_404(hub_api, path):
    assert_error_body(hub_api.get(path), 404, "not_found")


@pytest.mark.parametrize("debug", [True, False])
def test_a_post_without_the_trailing_slash_is_a_json_404_that_names_the_right_path(hub_api, debug):
    with override_settings(DEBUG=debug):
        response = hub_api.post("/api/v1/donations", {}, format="json")
    body = assert_error_body(response, 404, "not_found")
    assert "/api/v1/donations/" in body["message"]


def test_a_post_to_an_unrouted_path_with_a_session_is_the_json_404_not_the_csrf_page(community_staff):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(community_staff)
    assert_error_body(client.post("/api/v1/donations/%C2%84/refund/", {}, format="json"), 404, "not_found")


def test_a_get_without_the_trailing_slash_is_redirected_as_before(hub_api):
    response = hub_api.get("/api/v1/areas")
    assert response.status_code == 301 and response["Location"].endswith("/api/v1/areas/")


# --- content types and OPTIONS --------------------------------------------------------------------------


def test_a_form_encoded_post_is_415_with_the_error_body(hub_api):
    response = hub_api.post("/api/v1/donations/", {"fund": 1, "amount_fen": 100})  # multipart by default
    assert_error_body(response, 415, "unsupported_media_type")
    response = hub_api.post(
        "/api/v1/donations/", "fund=1&amount_fen=100", content_type="application/x-www-form-urlencoded"
    )
    assert_error_body(response, 415, "unsupported_media_type")


def test_options_does_not_describe_the_read_fields_as_the_request_body(hub_api):
    response = hub_api.options("/api/v1/donations/")
    assert response.status_code == 200
    body = response.json()
    assert "actions" not in body, "OPTIONS described DonationSerializer (the response) as the POST body"
    assert body["schema"] == "/api/schema/"
    assert "POST" in response["Allow"]
    assert "description" not in body, "internal docstrings are not for integrators"


# --- malformed JSON -------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_json_nested_too_deep_is_refused_with_400(hub_api, depth):
    body = "[" * depth + "]" * depth
    response = hub_api.post("/api/v1/donations/", body, content_type="application/json")
    message = assert_error_body(response, 400, "parse_error")["message"]
    assert "32" in message


def test_json_nested_inside_a_string_is_not_mistaken_for_depth(hub_api):
    text = "[{" * 100 + '\\"'
    response = hub_api.post(
        "/api/v1/donations/", '{"donor_name": "' + text + '"}', content_type="application/json"
    )
    assert_error_body(response, 400, "invalid")  # the body parsed; its fields are what is wrong


def test_malformed_json_is_400_parse_error(hub_api):
    assert_error_body(
        hub_api.post("/api/v1/donations/", "{]", content_type="application/json"), 400, "parse_error"
    )


@pytest.mark.parametrize("idempotency_key", [None, "k-surrogate"])
def test_a_lone_surrogate_in_the_body_is_refused_with_400(hub_api, idempotency_key):
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    response = hub_api.post(
        "/api/v1/donations/",
        '{"fund": 1, "amount_fen": 100, "channel": "resident", "donor_name": "\\ud800"}',
        content_type="application/json",
        **headers,
    )
    assert_error_body(response, 400, "parse_error")


def test_a_lone_surrogate_in_a_key_of_the_body_is_refused_with_400(hub_api):
    response = hub_api.post("/api/v1/donations/", '{"\\udfff": 1}', content_type="application/json")
    assert_error_body(response, 400, "parse_error")


# --- headers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["abc\x00def.secret", "\x00", "abcdefgh.\x00", "ａｂｃ.def", "abc def.ghi", "a" * 300 + ".b"],
)
def test_a_malformed_api_key_is_401_invalid_api_key(key, hub_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert_error_body(client.get("/api/v1/areas/"), 401, "invalid_api_key")


def test_a_nul_byte_in_the_key_does_not_break_the_next_request(hub_api, hub_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key abc\x00.def")
    assert client.get("/api/v1/areas/").status_code == 401
    assert hub_api.get("/api/v1/areas/").status_code == 200


# --- query strings --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/v1/areas/", "within"),
        ("/api/v1/organizations/", "area"),
        ("/api/v1/organizations/", "hub"),
    ],
)
@pytest.mark.parametrize(
    "value", ["abc", "1.5", "1e0", "-1", "+1", " 1", "１", "99999999999999999999", "-1.7976931348623155e+308"]
)
def test_an_id_in_the_query_string_is_plain_digits_or_400(hub_api, path, param, value):
    body = assert_error_body(hub_api.get(path, {param: value}), 400, "invalid")
    assert param in body["fields"]


@pytest.mark.parametrize(
    ("path", "param"),
    [("/api/v1/areas/", "within"), ("/api/v1/organizations/", "area"), ("/api/v1/organizations/", "hub")],
)
def test_an_unknown_id_and_an_id_out_of_scope_give_the_same_empty_list(hub_api, path, param, dalong):
    from tests.factories import OrganizationFactory

    far_hub = OrganizationFactory(name="大龙枢纽社", area=dalong)
    foreign = far_hub.pk if param == "hub" else dalong.pk
    unknown = hub_api.get(path, {param: 9_000_000})
    out_of_scope = hub_api.get(path, {param: foreign})
    assert unknown.status_code == out_of_scope.status_code == 200
    assert unknown.json() == out_of_scope.json()
    assert unknown.json()["count"] == 0


def test_an_ancestor_above_the_scope_is_out_of_scope_too(hub_api, hub, guanbeigou, street):
    """The street above the key's community is out of scope: filtering by it must not reveal it exists."""
    assert hub_api.get("/api/v1/organizations/", {"area": guanbeigou.pk}).json()["count"] == 1
    assert hub_api.get("/api/v1/organizations/", {"area": street.pk}).json()["count"] == 0
    assert hub_api.get("/api/v1/areas/", {"within": street.pk}).json()["count"] == 0


@pytest.mark.parametrize(
    "value", ["abc", "0", "0.0", "-1", "1.5", "501", "99999999999999999999", " 5", "５", ""]
)
def test_a_bad_page_size_is_400(hub_api, value):
    body = assert_error_body(hub_api.get("/api/v1/areas/", {"page_size": value}), 400, "invalid")
    assert "page_size" in body["fields"]


@pytest.mark.parametrize("value", ["1", "500"])
def test_page_size_from_1_to_500_is_taken(hub_api, value):
    assert hub_api.get("/api/v1/areas/", {"page_size": value}).status_code == 200


@pytest.mark.parametrize("value", ["abc", "0", "-1", "99999999999999999999"])
def test_a_bad_page_number_is_404(hub_api, value):
    assert_error_body(hub_api.get("/api/v1/areas/", {"page": value}), 404, "not_found")


def test_a_nul_byte_in_the_session_cookie_is_no_server_error(api):
    api.cookies["sessionid"] = "abcdefgh\x00ijklmnop"
    assert_error_body(api.get("/api/v1/areas/"), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/v1/areas/", "within"),
        ("/api/v1/areas/", "level"),
        ("/api/v1/areas/", "division_code"),
        ("/api/v1/organizations/", "type"),
        ("/api/v1/areas/", "page"),
    ],
)
def test_a_parameter_given_empty_is_400_not_ignored(hub_api, path, param):
    body = assert_error_body(hub_api.get(path, {param: ""}), 400, "invalid")
    assert param in body["fields"]
