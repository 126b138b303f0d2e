"""/api/schema/ keeps its document per language and format (charity/api_schema_view.py): the kept answer is
the one a fresh build gives, the second request builds nothing, and nothing a caller can vary without bound is
kept."""

from unittest import mock

import pytest
from django.test import override_settings

from charity.api_schema_view import SchemaView

pytestmark = pytest.mark.django_db

URL = "/api/schema/"


@pytest.fixture(autouse=True)
def _nothing_kept():
    SchemaView._documents.clear()
    yield
    SchemaView._documents.clear()


@pytest.fixture
def builds():
    """Counts the document's builds."""
    generator = SchemaView.generator_class
    with mock.patch.object(generator, "get_schema", autospec=True, side_effect=generator.get_schema) as spy:
        yield spy


def answer(response):
    return response.content, response["Content-Type"], response["Content-Disposition"]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("query", ["", "?format=json", "?format=yaml"])
def test_the_kept_document_is_the_one_a_fresh_build_gives_and_is_built_once(client, builds, language, query):
    first = client.get(URL + query, HTTP_ACCEPT_LANGUAGE=language)
    second = client.get(URL + query, HTTP_ACCEPT_LANGUAGE=language)
    assert first.status_code == second.status_code == 200
    assert builds.call_count == 1
    assert answer(second) == answer(first)
    SchemaView._documents.clear()
    fresh = client.get(URL + query, HTTP_ACCEPT_LANGUAGE=language)
    assert answer(fresh) == answer(second) and builds.call_count == 2
    assert second["Content-Language"] == language


def test_each_language_and_format_has_its_own_document(client):
    zh = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans")
    en = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    json = client.get(URL + "?format=json", HTTP_ACCEPT_LANGUAGE="en")
    assert zh.content != en.content and en.content != json.content
    assert json["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert "/api/schema/" not in json.json()["paths"]  # the view stays out of its own document
    assert client.get(URL + "?lang=en", HTTP_ACCEPT_LANGUAGE="zh-hans").content == en.content


@pytest.mark.parametrize(
    "query, headers",
    [
        ("?lang=xx", {}),
        ("?version=9", {}),
        ("?anything=1", {}),
        ("", {"HTTP_ACCEPT": "application/vnd.oai.openapi;whatever=1"}),
    ],
)
def test_what_a_caller_can_vary_without_bound_is_answered_but_not_kept(client, builds, query, headers):
    for _ in range(2):
        assert client.get(URL + query, **headers).status_code == 200
    assert builds.call_count == 2 and SchemaView._documents == {}


def test_a_changed_setting_forgets_the_kept_documents(client):
    client.get(URL)
    assert SchemaView._documents
    with override_settings(API_THROTTLE_RATE="10/min"):
        assert SchemaView._documents == {}
