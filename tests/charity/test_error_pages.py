"""Error pages speak the portal's language and look, and lead back home; out of scope looks like absent."""

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.template import loader
from django.test import Client, RequestFactory
from django.views import defaults

from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

HOME_LINK = '<a class="button" href="/">'


def page(response) -> str:
    html = response.content.decode()
    assert 'href="/static/css/portal.css"' in html, "not in the portal's look"
    assert HOME_LINK in html, "no way back home"
    return html


def without_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_an_unknown_page_is_the_portals_404_in_chinese(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = page(response)
    assert '<html lang="zh-CN">' in html


def test_the_404_page_says_what_happened_and_reveals_nothing(client):
    response = client.get("/no-such-page/?q=13900000001", HTTP_ACCEPT_LANGUAGE="en")
    html = page(response)
    assert "This page does not exist" in html
    assert "13900000001" not in html and "no-such-page" not in html


@pytest.mark.parametrize("debug", [False, True])
def test_staff_opening_an_out_of_scope_person_see_the_same_page_as_for_no_person(
    client, outsider, guanbeigou, settings, debug
):
    settings.DEBUG = debug  # in debug mode too: the portal's page, not Django's technical one
    theirs = PersonFactory(name="王阿姨", community=guanbeigou)
    client.force_login(outsider)
    out_of_scope = client.get(f"/admin/charity/person/{theirs.pk}/change/", HTTP_ACCEPT_LANGUAGE="en")
    absent = client.get("/admin/charity/person/99999999/change/", HTTP_ACCEPT_LANGUAGE="en")
    assert out_of_scope.status_code == absent.status_code == 404
    assert without_tokens(page(out_of_scope)) == without_tokens(page(absent))
    assert "This page does not exist" in out_of_scope.content.decode()
    assert "王阿姨" not in out_of_scope.content.decode()
    assert 'href="/admin/"' in out_of_scope.content.decode(), "staff get a way back to the admin too"


def test_a_refused_page_is_the_portals_403(client, community_viewer):
    client.force_login(community_viewer)
    response = client.get("/admin/charity/organization/import/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert "You may not open this page" in page(response)


def test_the_403_page_shows_no_exception_text():
    request = RequestFactory().get("/")
    response = defaults.permission_denied(request, PermissionDenied("internal detail 42"))
    assert "internal detail 42" not in response.content.decode()


def test_a_form_without_its_csrf_token_gets_the_portals_csrf_page(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/accounts/login/", {"mobile": "13900000001", "password": "x"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 403
    html = page(response)
    assert "The form could not be sent" in html
    assert "CSRF verification failed" not in html


def test_a_request_for_another_host_gets_the_portals_400(client):
    response = client.get("/", HTTP_HOST="evil.example", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "This request could not be understood" in page(response)


def test_the_500_page_renders_without_a_request_or_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        html = loader.get_template("500.html").render()
        response = defaults.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert response.content.decode() == html
    assert 'href="/static/css/portal.css"' in html and HOME_LINK in html
    assert "csrfmiddlewaretoken" not in html and "/accounts/logout/" not in html


def test_an_unexpected_error_under_the_api_is_the_json_error_body(client, monkeypatch, settings):
    from charity import api

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(api.AreaViewSet, "list", explode)
    client.raise_request_exception = False
    settings.DEBUG = False
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_superuser("root", password="x"))
    response = client.get("/api/v1/areas/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "server_error" and "boom" not in response.content.decode()
