"""The OpenAPI schema tells the truth: the errors each operation answers, the server's rules, JSON only, and
the same document whichever database the server runs on."""

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("get", "post", "put", "patch", "delete")


def test_openapi_schema_generates_without_warnings(tmp_path, db):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in ("/api/v1/funds/", "/api/v1/donations/", "/api/v1/committees/", "/api/v1/organizations/"):
        assert path in text


def generate(tmp_path, name: str, database_url: str | None) -> str:
    """The schema as `manage.py spectacular` writes it, in a fresh process with that DATABASE_URL.

    Generating needs no connection, so a PostgreSQL URL nobody listens on is enough to load that backend.
    """
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url:
        env["DATABASE_URL"] = database_url
    out = tmp_path / f"{name}.json"
    subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--format", "openapi-json", "--file", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return out.read_text()


@pytest.fixture(scope="module")
def sqlite_schema(tmp_path_factory) -> str:
    """The schema on the default database (SQLite), generated once for the module: each `manage.py` start-up
    costs a second or more."""
    return generate(tmp_path_factory.mktemp("schema"), "sqlite", None)


def test_the_schema_is_the_same_on_sqlite_and_postgresql(tmp_path, sqlite_schema):
    postgresql = generate(tmp_path, "postgresql", "postgres://nobody@127.0.0.1:9/schema")
    assert sqlite_schema == postgresql, "the schema depends on the database (see charity.api_schema)"


@pytest.fixture(scope="module")
def schema(sqlite_schema):
    return json.loads(sqlite_schema)


def operations(schema):
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_every_operation_documents_its_errors_with_the_error_body(schema):
    error = {"$ref": "#/components/schemas/Error"}
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {"code", "message", "fields"}
    for path, method, operation in operations(schema):
        expected = {"400", "401", "403", "404", "413", "429"}
        if method == "post":
            expected |= {"409", "415"}
        documented = set(operation["responses"])
        assert expected <= documented, f"{method.upper()} {path} lacks {expected - documented}"
        for status in expected:
            response = operation["responses"][status]
            assert response["content"]["application/json"]["schema"] == error, (method, path, status)
            assert response["description"], (method, path, status)
        assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_operations_are_described_for_integrators_not_by_docstrings(schema):
    import charity.api
    import charity.api_common
    import funds.api
    import governance.api

    docstrings = set()
    for module in (charity.api, charity.api_common, funds.api, governance.api):
        for _name, obj in inspect.getmembers(module):
            for thing in (obj, *vars(obj).values()) if inspect.isclass(obj) else (obj,):
                doc = inspect.getdoc(thing) if callable(thing) or inspect.isclass(thing) else None
                if doc:
                    docstrings.add(doc.strip())
    for path, method, operation in operations(schema):
        assert operation.get("summary") and operation.get("description"), f"{method.upper()} {path}"
        assert operation["description"].strip() not in docstrings, f"{method.upper()} {path}: a docstring"
    assert "REST API for hub organisations" in schema["info"]["description"]


def test_request_bodies_are_json_only(schema):
    bodies = [op["requestBody"] for _p, _m, op in operations(schema) if "requestBody" in op]
    assert bodies
    for body in bodies:
        assert set(body["content"]) == {"application/json"}


def test_page_size_is_an_integer_from_1_to_500_on_every_list(schema):
    lists = [
        (path, op) for path, method, op in operations(schema) if method == "get" and path[-5:] != "{id}/"
    ]
    seen = 0
    for path, operation in lists:
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "page_size":
                seen += 1
                assert parameter["schema"] == {"type": "integer", "minimum": 1, "maximum": 500}, path
    assert seen >= 6


def test_ids_are_integers_in_paths_query_strings_and_bodies(schema):
    for path, _method, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" or parameter["name"] in ("fund", "area", "within", "hub", "parent"):
                assert parameter["schema"]["type"] == "integer", (path, parameter)
                assert parameter["schema"]["minimum"] == 1, (path, parameter)
    body = schema["components"]["schemas"]["DonationCreateRequest"]["properties"]
    assert body["fund"]["type"] == "integer" and body["restricted_fund"]["type"] == "integer"


def test_the_donation_rules_are_in_the_schema(schema):
    body = schema["components"]["schemas"]["DonationCreateRequest"]
    properties = body["properties"]
    assert set(body["required"]) == {"fund", "amount_fen", "channel"}
    assert properties["amount_fen"]["minimum"] == 1
    assert properties["amount_fen"]["maximum"] == 10_000_000_000 * 100
    assert properties["receipt_no"]["maxLength"] == 64
    assert "receipt_waived" in properties["receipt_no"]["description"]
    assert properties["purpose"]["maxLength"] == 200
    operation = schema["paths"]["/api/v1/donations/"]["post"]
    for code in ("receipt_required", "invalid_restriction", "duplicate_receipt", "invalid_date"):
        assert code in operation["description"], code
    header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and header["schema"]["maxLength"] == 255
    assert header["schema"]["minLength"] == 1
    refund = schema["components"]["schemas"]["RefundRequest"]["properties"]["reason"]
    assert refund["maxLength"] == 300 and refund["pattern"]


@pytest.mark.django_db
def test_the_schema_examples_of_a_donation_are_accepted(schema, hub_key, guanbeigou):
    from rest_framework.test import APIClient

    from charity.models import Area, Organization
    from tests.factories import FundFactory, OrganizationFactory

    host = OrganizationFactory(
        type=Organization.Type.CHARITY_FEDERATION, area=Area.objects.get(path=guanbeigou.path[:4])
    )
    fund = FundFactory(community=guanbeigou, host=host)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {hub_key}")
    examples = schema["paths"]["/api/v1/donations/"]["post"]["requestBody"]["content"]["application/json"][
        "examples"
    ]
    assert len(examples) >= 3
    for name, example in examples.items():
        response = client.post("/api/v1/donations/", {**example["value"], "fund": fund.pk}, format="json")
        assert response.status_code == 201, (name, response.content)
