"""Webhooks in the admin: register (the secret shown once), replace the secret, deactivate; the delivery log
with its filters and "send again" — all scoped to the staff member's areas (needs/admin_webhooks.py)."""

import pytest

from charity import crypto
from charity.models import AuditAction, AuditEvent, Organization
from needs import services, webhooks
from needs.models import WebhookDelivery, WebhookEndpoint
from tests.factories import OrganizationFactory

from .webhook_world import *  # noqa: F403 - the shared webhook fixtures

pytestmark = pytest.mark.django_db
ENDPOINTS = "/admin/needs/webhookendpoint/"
DELIVERIES = "/admin/needs/webhookdelivery/"


@pytest.fixture
def dalong_hub(dalong):
    org = OrganizationFactory(name="大龙枢纽", type=Organization.Type.HUB, area=dalong)
    org.served_areas.add(dalong)
    return org


@pytest.fixture
def dalong_delivery(dalong_hub, outsider, receiver, dalong, category):
    from charity.services import Actor

    from .conftest import need_input

    webhooks.create_endpoint(actor=Actor("admin", user=outsider), organization=dalong_hub, url=receiver.url)
    need = services.submit_need(
        data=need_input(dalong, category, summary="大龙社区乒乓球台维修"),
        source="api",
        actor=Actor("api", organization=dalong_hub),
    )
    services.publish_need(need=need, actor=Actor("admin", user=outsider))
    return WebhookDelivery.objects.get(endpoint__organization=dalong_hub)


def test_staff_register_a_webhook_and_see_its_secret_once(client, community_staff, hub, receiver):
    client.force_login(community_staff)
    assert client.get(f"{ENDPOINTS}add/").status_code == 200  # in zh-hans, the default
    response = client.post(f"{ENDPOINTS}add/", {"organization": hub.pk, "url": receiver.url})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    endpoint = WebhookEndpoint.objects.get()
    secret = crypto.decrypt(endpoint.secret_ciphertext)
    assert secret in response.content.decode()
    assert response.templates[0].name == "admin/needs/webhookendpoint/secret.html"
    assert (
        AuditEvent.objects.filter(action=AuditAction.WEBHOOK_CREATED, actor_user=community_staff).count() == 1
    )
    # never again: not on its page, not in the list, not in the log
    for url in (f"{ENDPOINTS}{endpoint.pk}/change/", ENDPOINTS, "/admin/charity/auditevent/"):
        page = client.get(url)
        assert page.status_code == 200 and secret not in page.content.decode()


def test_a_bad_address_shows_on_the_form_and_nothing_is_saved(client, community_staff, hub, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    client.force_login(community_staff)
    response = client.post(
        f"{ENDPOINTS}add/",
        {"organization": hub.pk, "url": "https://127.0.0.1/hook"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "private or local network" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_replacing_the_secret_shows_the_new_one_once(client, community_staff, endpoint, secret):
    client.force_login(community_staff)
    change = client.get(f"{ENDPOINTS}{endpoint.pk}/change/")
    assert f"{ENDPOINTS}{endpoint.pk}/rotate/" in change.content.decode()
    assert client.get(f"{ENDPOINTS}{endpoint.pk}/rotate/").status_code == 200
    assert crypto.decrypt(WebhookEndpoint.objects.get().secret_ciphertext) == secret  # a GET changes nothing
    response = client.post(f"{ENDPOINTS}{endpoint.pk}/rotate/")
    new = crypto.decrypt(WebhookEndpoint.objects.get().secret_ciphertext)
    assert new != secret and new in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert AuditEvent.objects.filter(action=AuditAction.WEBHOOK_SECRET_ROTATED).count() == 1


def test_the_deactivate_action(client, community_staff, endpoint):
    client.force_login(community_staff)
    response = client.post(
        ENDPOINTS, {"action": "deactivate_webhooks", "_selected_action": [endpoint.pk], "index": "0"}
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert AuditEvent.objects.filter(action=AuditAction.WEBHOOK_DEACTIVATED).count() == 1


def test_staff_of_another_area_see_nothing_and_cannot_register(
    client, outsider, endpoint, hub, receiver, org_need, staff_actor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_need(need=org_need, actor=staff_actor)
    delivery = WebhookDelivery.objects.get()
    client.force_login(outsider)
    assert list(client.get(ENDPOINTS).context["cl"].result_list) == []
    assert list(client.get(DELIVERIES).context["cl"].result_list) == []
    assert client.get(f"{ENDPOINTS}{endpoint.pk}/change/").status_code == 404
    assert client.get(f"{ENDPOINTS}{endpoint.pk}/rotate/").status_code == 404
    assert client.post(f"{ENDPOINTS}{endpoint.pk}/rotate/").status_code == 404
    assert client.get(f"{DELIVERIES}{delivery.pk}/change/").status_code == 404
    # the add form does not offer the organisation, and a forged choice is refused
    assert hub.name not in client.get(f"{ENDPOINTS}add/").content.decode()
    response = client.post(f"{ENDPOINTS}add/", {"organization": hub.pk, "url": receiver.url})
    assert response.status_code == 200 and response.context["adminform"].form.errors
    # actions over ids outside their areas do nothing
    client.post(ENDPOINTS, {"action": "deactivate_webhooks", "_selected_action": [endpoint.pk], "index": "0"})
    client.post(DELIVERIES, {"action": "resend", "_selected_action": [delivery.pk], "index": "0"})
    endpoint.refresh_from_db()
    assert endpoint.is_active and WebhookEndpoint.objects.count() == 1
    assert not AuditEvent.objects.filter(action=AuditAction.WEBHOOK_RESENT).exists()
    assert crypto.decrypt(endpoint.secret_ciphertext) == crypto.decrypt(
        WebhookEndpoint.objects.get(pk=endpoint.pk).secret_ciphertext
    )


def test_a_viewer_looks_but_cannot_register_rotate_or_resend(
    client, community_viewer, endpoint, org_need, staff_actor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_need(need=org_need, actor=staff_actor)
    client.force_login(community_viewer)
    assert client.get(ENDPOINTS).status_code == 200
    assert client.get(f"{ENDPOINTS}add/").status_code == 403
    assert client.post(f"{ENDPOINTS}{endpoint.pk}/rotate/").status_code == 403
    log = client.get(DELIVERIES)
    assert log.status_code == 200 and log.context["action_form"] is None  # no "send again" for a viewer
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed")
    client.post(DELIVERIES, {"action": "resend", "_selected_action": [delivery.pk], "index": "0"})
    assert WebhookDelivery.objects.get().status == "failed"
    assert (
        not AuditEvent.objects.filter(action__startswith="webhook.")
        .exclude(action=AuditAction.WEBHOOK_CREATED)
        .exists()
    )


def test_the_delivery_log_filters_and_resends(
    client, community_staff, endpoint, org_need, staff_actor, receiver, django_capture_on_commit_callbacks
):
    receiver.answers = [500]
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_need(need=org_need, actor=staff_actor)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed")
    client.force_login(community_staff)

    page = client.get(DELIVERIES, HTTP_ACCEPT_LANGUAGE="en")
    assert "the receiver answered with an error" in page.content.decode()
    assert list(client.get(f"{DELIVERIES}?status__exact=failed").context["cl"].result_list) == [delivery]
    assert list(client.get(f"{DELIVERIES}?status__exact=delivered").context["cl"].result_list) == []
    assert list(client.get(f"{DELIVERIES}?event=need.status_changed").context["cl"].result_list) == [delivery]
    assert list(client.get(f"{DELIVERIES}?event=match.accepted").context["cl"].result_list) == []
    by_org = f"{DELIVERIES}?endpoint__organization__id__exact={endpoint.organization_id}"
    assert list(client.get(by_org).context["cl"].result_list) == [delivery]
    detail = client.get(f"{DELIVERIES}{delivery.pk}/change/")
    assert detail.status_code == 200 and str(delivery.event_id) in detail.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            DELIVERIES, {"action": "resend", "_selected_action": [delivery.pk], "index": "0"}
        )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and len(receiver.requests) == 2
    assert (
        AuditEvent.objects.filter(action=AuditAction.WEBHOOK_RESENT, actor_user=community_staff).count() == 1
    )


def test_the_delivery_log_runs_as_many_queries_for_many_rows_as_for_one(
    client, community_staff, endpoint, org_need, staff_actor, count_queries
):
    services.publish_need(need=org_need, actor=staff_actor)
    client.force_login(community_staff)
    client.get(DELIVERIES)  # warm the session and content types
    one = count_queries(lambda: client.get(DELIVERIES))
    for status in ("matched", "published", "matched", "in_progress"):
        services.change_need_status(need=org_need, to_status=status, actor=staff_actor)
    assert WebhookDelivery.objects.count() == 5
    many = count_queries(lambda: client.get(DELIVERIES))
    assert many == one
    client.get(ENDPOINTS)
    assert count_queries(lambda: client.get(ENDPOINTS)) == count_queries(lambda: client.get(ENDPOINTS))


def test_the_pages_render_in_chinese(client, community_staff, endpoint, dalong_delivery):
    client.force_login(community_staff)
    for url in (ENDPOINTS, f"{ENDPOINTS}add/", f"{ENDPOINTS}{endpoint.pk}/change/", DELIVERIES, "/admin/"):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert response.status_code == 200, url
        assert 'lang="zh-hans"' in response.content.decode()
    assert dalong_delivery.endpoint.organization.name not in client.get(DELIVERIES).content.decode()
