"""Webhooks of hub organisations: registering (scope, address checks, SSRF), the events, the signed
delivery to a real receiver, retries with backoff, idempotency, resend (needs/webhooks.py)."""

import datetime
import json
import logging
import socket

import pytest
import time_machine
from django.utils import timezone

from charity import crypto
from charity.errors import ConflictError, ForbiddenError, NotFoundError
from charity.models import AuditAction, AuditEvent, Organization
from charity.services import Actor
from needs import services, webhooks
from needs.models import Match, MatchRun, Need, NeedSensitiveDetails, WebhookDelivery, WebhookEndpoint
from needs.services import LegalBasisInput
from needs.tasks import deliver_webhook, send_due_webhooks
from resources.models import Resource
from resources.services import offer_resource
from tests.factories import OrganizationFactory, PersonFactory

from .conftest import SECRETS, SENSITIVE, need_input
from .webhook_world import *  # noqa: F403 - the shared webhook fixtures
from .webhook_world import documented_receiver

pytestmark = pytest.mark.django_db
PUBLIC_IP = "93.184.216.34"


def fake_dns(monkeypatch, answers: dict[str, list[str]]):
    """Resolve the named hosts to the given addresses (no network in tests); others as usual."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in answers[host]]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def publish(need, staff_actor, capture):
    with capture(execute=True):
        services.publish_need(need=need, actor=staff_actor)


# --- registering --------------------------------------------------------------------------------------


def test_staff_register_a_webhook_and_get_its_secret_once(hub, staff_actor, receiver, community_staff):
    endpoint, secret = webhooks.create_endpoint(actor=staff_actor, organization=hub, url=receiver.url)
    assert len(secret) >= 40
    assert secret not in endpoint.secret_ciphertext
    assert crypto.decrypt(endpoint.secret_ciphertext) == secret
    assert endpoint.is_active and endpoint.created_by == community_staff
    event = AuditEvent.objects.get(action=AuditAction.WEBHOOK_CREATED)
    assert event.object_id == str(endpoint.pk) and event.area_id == hub.area_id
    assert secret not in json.dumps(event.data) + event.summary


@pytest.mark.parametrize(
    "url, code",
    [
        ("", "url_required"),
        ("hooks.example.org/x", "url_not_https"),
        ("ftp://hooks.example.org/x", "url_not_https"),
        ("http://hooks.example.org/x", "url_not_https"),
        ("https://user:pw@hooks.example.org/x", "url_credentials"),
        ("https://hooks.example.org/x#part", "url_invalid"),
        ("https://hooks.example.org:99999/x", "url_invalid"),
        ("https:///x", "url_invalid"),
        ("https://hooks.example.org/" + "x" * 500, "url_too_long"),
        ("https://no-such-host.invalid/x", "url_unknown_host"),
    ],
)
def test_a_bad_address_is_refused_with_a_reason_and_nothing_is_written(
    hub, staff_actor, monkeypatch, settings, english, url, code
):
    settings.WEBHOOK_ALLOW_INSECURE = False
    fake_dns(monkeypatch, {"hooks.example.org": [PUBLIC_IP]})
    with pytest.raises(webhooks.WebhookError) as refused:
        webhooks.create_endpoint(actor=staff_actor, organization=hub, url=url)
    assert refused.value.code == code and refused.value.field == "url"
    assert str(refused.value.message)
    assert not WebhookEndpoint.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.WEBHOOK_CREATED).exists()


def test_a_public_https_address_is_accepted(hub, staff_actor, monkeypatch):
    fake_dns(monkeypatch, {"hooks.example.org": [PUBLIC_IP]})
    endpoint, _secret = webhooks.create_endpoint(
        actor=staff_actor, organization=hub, url="  https://hooks.example.org/charity  "
    )
    assert endpoint.url == "https://hooks.example.org/charity"


def test_http_is_refused_unless_allowed(hub, staff_actor, monkeypatch, settings, english):
    fake_dns(monkeypatch, {"hooks.example.org": [PUBLIC_IP]})
    settings.WEBHOOK_ALLOW_INSECURE = False
    with pytest.raises(webhooks.WebhookError, match="https://"):
        webhooks.create_endpoint(actor=staff_actor, organization=hub, url="http://hooks.example.org/x")
    settings.WEBHOOK_ALLOW_INSECURE = True
    assert webhooks.create_endpoint(actor=staff_actor, organization=hub, url="http://hooks.example.org/x")


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.1.10/hook",
        "https://172.16.0.1/hook",
        "https://100.64.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://0.0.0.0/hook",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://internal.example.org/hook",
        "https://mixed.example.org/hook",
    ],
)
def test_private_loopback_and_link_local_hosts_are_refused(
    hub, staff_actor, monkeypatch, settings, english, url
):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    fake_dns(
        monkeypatch, {"internal.example.org": ["10.0.0.7"], "mixed.example.org": [PUBLIC_IP, "127.0.0.1"]}
    )
    with pytest.raises(webhooks.WebhookError) as refused:
        webhooks.create_endpoint(actor=staff_actor, organization=hub, url=url)
    assert refused.value.code == "url_private"
    assert "private or local network" in str(refused.value.message)
    assert not WebhookEndpoint.objects.exists()


def test_the_same_active_address_twice_is_refused(hub, staff_actor, receiver, english):
    webhooks.create_endpoint(actor=staff_actor, organization=hub, url=receiver.url)
    with pytest.raises(webhooks.WebhookError, match="already has an active webhook"):
        webhooks.create_endpoint(actor=staff_actor, organization=hub, url=receiver.url)
    assert WebhookEndpoint.objects.count() == 1


def test_staff_of_another_area_a_viewer_and_a_key_cannot_register(
    hub, receiver, outsider, community_viewer, hub_actor
):
    with pytest.raises(NotFoundError):
        webhooks.create_endpoint(actor=Actor("admin", user=outsider), organization=hub, url=receiver.url)
    with pytest.raises(ForbiddenError):
        webhooks.create_endpoint(
            actor=Actor("admin", user=community_viewer), organization=hub, url=receiver.url
        )
    with pytest.raises(ForbiddenError):
        webhooks.create_endpoint(actor=hub_actor, organization=hub, url=receiver.url)
    assert not WebhookEndpoint.objects.exists()


def test_rotating_gives_a_new_secret_that_signs_from_then_on(
    endpoint, secret, staff_actor, org_need, receiver, django_capture_on_commit_callbacks
):
    new = webhooks.rotate_secret(actor=staff_actor, endpoint=endpoint)
    assert new != secret
    assert crypto.decrypt(WebhookEndpoint.objects.get(pk=endpoint.pk).secret_ciphertext) == new
    assert AuditEvent.objects.filter(action=AuditAction.WEBHOOK_SECRET_ROTATED).count() == 1
    publish(org_need, staff_actor, django_capture_on_commit_callbacks)
    verify = documented_receiver()["verify"]
    got = receiver.requests[-1]
    verify(new, got.headers["X-Charity-Timestamp"], got.headers["X-Charity-Signature"], got.body)
    with pytest.raises(Exception, match="signature"):
        verify(secret, got.headers["X-Charity-Timestamp"], got.headers["X-Charity-Signature"], got.body)


def test_outsider_cannot_rotate_deactivate_or_resend(endpoint, outsider, community_viewer):
    for actor in (Actor("admin", user=outsider),):
        with pytest.raises(NotFoundError):
            webhooks.rotate_secret(actor=actor, endpoint=endpoint)
        with pytest.raises(NotFoundError):
            webhooks.deactivate_endpoint(actor=actor, endpoint=endpoint)
    with pytest.raises(ForbiddenError):
        webhooks.rotate_secret(actor=Actor("admin", user=community_viewer), endpoint=endpoint)
    endpoint.refresh_from_db()
    assert endpoint.is_active


def test_a_deactivated_webhook_gets_nothing_and_cannot_be_rotated(
    endpoint, staff_actor, org_need, receiver, django_capture_on_commit_callbacks, english
):
    webhooks.deactivate_endpoint(actor=staff_actor, endpoint=endpoint)
    assert AuditEvent.objects.filter(action=AuditAction.WEBHOOK_DEACTIVATED).count() == 1
    with pytest.raises(ConflictError, match="deactivated"):
        webhooks.deactivate_endpoint(actor=staff_actor, endpoint=endpoint)
    with pytest.raises(ConflictError, match="deactivated"):
        webhooks.rotate_secret(actor=staff_actor, endpoint=endpoint)
    publish(org_need, staff_actor, django_capture_on_commit_callbacks)
    assert not WebhookDelivery.objects.exists()
    assert receiver.requests == []


# --- events ---------------------------------------------------------------------------------------------


def test_a_status_change_of_an_organisations_need_is_delivered_signed(
    endpoint, secret, org_need, staff_actor, receiver, django_capture_on_commit_callbacks
):
    publish(org_need, staff_actor, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "need.status_changed"
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.attempts == 1 and delivery.last_status_code == 204 and delivery.delivered_at
    [got] = receiver.requests
    assert got.path == "/charity-webhook?team=7"
    assert got.headers["X-Charity-Event"] == "need.status_changed"
    assert got.headers["X-Charity-Delivery"] == str(delivery.event_id)
    assert got.headers["Content-Type"] == "application/json; charset=utf-8"
    assert got.headers["X-Charity-Signature"] == webhooks.sign(
        secret, int(got.headers["X-Charity-Timestamp"]), got.body
    )
    documented_receiver()["verify"](
        secret, got.headers["X-Charity-Timestamp"], got.headers["X-Charity-Signature"], got.body
    )
    notice = json.loads(got.body)
    assert notice["id"] == str(delivery.event_id)
    assert notice["data"]["need"] == {
        "id": org_need.pk,
        "community": org_need.community_id,
        "category": "elderly",
        "status": "published",
        "previous_status": "submitted",
        "urgency": "soon",
        "quantity": 3,
        "unit": "处",
        "needed_by": org_need.needed_by.isoformat(),
    }


def test_expiry_and_withdrawal_are_status_changes_too(
    endpoint, org_need, staff_actor, hub_actor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        Need.objects.filter(pk=org_need.pk).update(
            needed_by=timezone.localdate() - datetime.timedelta(days=1)
        )
        assert services.expire_needs() == 1
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.payload["data"]["need"]["status"] == "expired"
    assert delivery.payload["data"]["need"]["previous_status"] == "submitted"


def test_a_need_posted_by_a_resident_notifies_no_one(
    endpoint, post_need, staff_actor, receiver, django_capture_on_commit_callbacks
):
    need = post_need()
    publish(need, staff_actor, django_capture_on_commit_callbacks)
    assert not WebhookDelivery.objects.exists()
    assert receiver.requests == []


def test_another_organisations_webhook_hears_nothing_of_this_need(
    org_need, staff_actor, receiver, guanbeigou, django_capture_on_commit_callbacks
):
    other = OrganizationFactory(name="另一枢纽", type=Organization.Type.HUB, area=guanbeigou)
    webhooks.create_endpoint(actor=staff_actor, organization=other, url=receiver.url)
    publish(org_need, staff_actor, django_capture_on_commit_callbacks)
    assert not WebhookDelivery.objects.exists()


def test_a_rolled_back_change_sends_nothing(endpoint, org_need, staff_actor, receiver):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        services.publish_need(need=org_need, actor=staff_actor)
        assert WebhookDelivery.objects.count() == 1
        raise RuntimeError("rolled back")
    assert not WebhookDelivery.objects.exists()
    assert receiver.requests == []


def test_the_payload_holds_no_personal_data_of_the_household(
    endpoint, guanbeigou, category, hub, hub_actor, staff_actor, receiver, django_capture_on_commit_callbacks
):
    need = services.submit_need(
        data=need_input(guanbeigou, category, summary="为一位独居老人的家里加装扶手"),
        source=Need.Source.API,
        actor=hub_actor,
        sensitive=SENSITIVE,
        basis=LegalBasisInput(
            basis=NeedSensitiveDetails.LegalBasis.CONSENT,
            given_by=NeedSensitiveDetails.GivenBy.BENEFICIARY,
            publish_summary=True,
            share_with=[hub],
        ),
    )
    publish(need, staff_actor, django_capture_on_commit_callbacks)
    [got] = receiver.requests
    body = got.body.decode("utf-8") + json.dumps(got.headers, ensure_ascii=False)
    for secret_detail in (*SECRETS, "独居老人"):
        assert secret_detail not in body


# --- matches --------------------------------------------------------------------------------------------


@pytest.fixture
def blanket_owner(guanbeigou):
    return PersonFactory(name="李商户", mobile="13900000099", community=guanbeigou)


@pytest.fixture
def match(org_need, guanbeigou, category, blanket_owner):
    blankets = offer_resource(
        actor=Actor.system(),
        kind=Resource.Kind.GOODS,
        title="李商户的20条棉被",
        quantity=20,
        unit="条",
        community=guanbeigou,
        owner_person=blanket_owner,
        categories=[category],
        available_from=timezone.localdate(),
    )
    run = MatchRun.objects.create(night=timezone.localdate(), area=guanbeigou, trigger=MatchRun.Trigger.STAFF)
    return Match.objects.create(run=run, need=org_need, resource=blankets, quantity=3, cost=10)


def move(match, status, **fields):
    Match.objects.filter(pk=match.pk).update(status=status, **fields)
    match.refresh_from_db()
    return webhooks.match_changed(match)


def test_an_accepted_match_is_delivered_once_without_the_owners_name(
    endpoint, match, receiver, blanket_owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = move(match, Match.Status.ACCEPTED, decided_at=timezone.now())
        assert move(match, Match.Status.ACCEPTED) == []  # a second call for the same status: nothing
    assert delivery.event == "match.accepted"
    [got] = receiver.requests
    data = json.loads(got.body)["data"]
    assert data["match"]["id"] == match.pk and data["match"]["status"] == "accepted"
    assert data["match"]["quantity"] == 3
    assert data["resource"] == {"id": match.resource_id, "kind": "goods", "unit": "条"}
    assert data["need"]["id"] == match.need_id
    text = got.body.decode("utf-8")
    for personal in (blanket_owner.name, blanket_owner.mobile, "李商户", "棉被"):
        assert personal not in text


def test_a_fulfilled_accepted_match_is_a_change(endpoint, match):
    move(match, Match.Status.ACCEPTED)
    [changed] = move(match, Match.Status.FULFILLED, fulfilled_quantity=2, fulfilled_at=timezone.now())
    assert changed.event == "match.changed"
    assert changed.payload["data"]["match"]["status"] == "fulfilled"
    assert changed.payload["data"]["match"]["fulfilled_quantity"] == 2


def test_a_match_declined_while_proposed_is_not_news(endpoint, match):
    assert move(match, Match.Status.DECLINED) == []
    assert move(match, Match.Status.PROPOSED) == []
    assert not WebhookDelivery.objects.exists()


def test_an_accepted_match_that_expires_is_a_change(endpoint, match):
    move(match, Match.Status.ACCEPTED)
    [changed] = move(match, Match.Status.EXPIRED)
    assert changed.event == "match.changed" and changed.payload["data"]["match"]["status"] == "expired"


# --- delivery: retries, backoff, idempotency ------------------------------------------------------------


def test_failures_are_retried_with_backoff_then_marked_failed(
    endpoint, org_need, staff_actor, receiver, django_capture_on_commit_callbacks
):
    receiver.answers = [500, 503, 502]
    publish(org_need, staff_actor, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (1, 500, "http_status: 500")
    first_wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 60 * 0.8 - 2 <= first_wait <= 60 * 1.2

    assert send_due_webhooks() == 0  # not due yet: nothing sent
    assert len(receiver.requests) == 1

    with time_machine.travel(delivery.next_attempt_at + webhooks.SWEEP_GRACE + datetime.timedelta(seconds=1)):
        assert send_due_webhooks() == 1
        delivery.refresh_from_db()
        assert (delivery.attempts, delivery.last_status_code) == (2, 503)
        second_wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
        assert 300 * 0.8 - 2 <= second_wait <= 300 * 1.2
    with time_machine.travel(delivery.next_attempt_at + webhooks.SWEEP_GRACE + datetime.timedelta(seconds=1)):
        assert send_due_webhooks() == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED  # WEBHOOK_MAX_ATTEMPTS = 3 in these tests
    assert (delivery.attempts, delivery.last_status_code, delivery.next_attempt_at) == (3, 502, None)
    assert len(receiver.requests) == 3
    # every attempt was signed anew, with the same event id
    assert len({r.headers["X-Charity-Delivery"] for r in receiver.requests}) == 1
    with time_machine.travel(timezone.now() + datetime.timedelta(days=2)):
        assert send_due_webhooks() == 0
    assert len(receiver.requests) == 3


def test_on_a_worker_the_task_schedules_its_own_retry_with_the_backoff(
    endpoint, org_need, staff_actor, receiver, monkeypatch
):
    receiver.answers = [500]
    services.publish_need(need=org_need, actor=staff_actor)  # the on-commit task is not run here
    delivery = WebhookDelivery.objects.get()
    scheduled = {}

    class Retry(Exception):
        pass

    def retry(**kwargs):
        scheduled.update(kwargs)
        return Retry()

    monkeypatch.setattr(deliver_webhook, "retry", retry)
    deliver_webhook.push_request(is_eager=False, called_directly=False)
    try:
        with pytest.raises(Retry):
            deliver_webhook.run(delivery.pk, 0)
    finally:
        deliver_webhook.pop_request()
    assert scheduled["args"] == [delivery.pk] and scheduled["kwargs"] == {"attempt": 1}
    assert 48 <= scheduled["countdown"] <= 72


def test_a_redirect_is_not_followed(
    endpoint, org_need, staff_actor, receiver, django_capture_on_commit_callbacks
):
    receiver.answers = [302]
    publish(org_need, staff_actor, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_error == "redirect_not_followed: 302" and delivery.status == "pending"
    assert len(receiver.requests) == 1


def test_a_slow_receiver_times_out(
    endpoint, org_need, staff_actor, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    receiver.delay = 1.5
    publish(org_need, staff_actor, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_error == "timeout" and delivery.last_status_code is None


def test_a_refused_connection_is_recorded(
    endpoint, org_need, staff_actor, receiver, django_capture_on_commit_callbacks
):
    receiver.close()
    publish(org_need, staff_actor, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_error.startswith("connection_error: ") and delivery.status == "pending"


def test_a_duplicate_task_for_a_delivered_notice_sends_nothing(
    endpoint, org_need, staff_actor, receiver, django_capture_on_commit_callbacks
):
    publish(org_need, staff_actor, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered"
    assert deliver_webhook.delay(delivery.pk, 0).get() == "skipped"
    assert deliver_webhook.delay(delivery.pk).get() == "skipped"
    assert webhooks.attempt_delivery(delivery.pk).status == "skipped"
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def test_the_same_attempt_twice_is_sent_once(endpoint, org_need, staff_actor, receiver):
    receiver.answers = [500]
    services.publish_need(need=org_need, actor=staff_actor)
    delivery = WebhookDelivery.objects.get()
    assert webhooks.attempt_delivery(delivery.pk, attempt=0).status == "pending"
    assert webhooks.attempt_delivery(delivery.pk, attempt=0).status == "skipped"  # the duplicate
    assert webhooks.attempt_delivery(delivery.pk).status == "skipped"  # the sweep: not due yet
    assert len(receiver.requests) == 1


def test_a_deactivated_webhooks_waiting_notice_fails_unsent(endpoint, org_need, staff_actor, receiver):
    services.publish_need(need=org_need, actor=staff_actor)
    webhooks.deactivate_endpoint(actor=staff_actor, endpoint=endpoint)
    delivery = WebhookDelivery.objects.get()
    assert webhooks.attempt_delivery(delivery.pk, attempt=0).status == "failed"
    delivery.refresh_from_db()
    assert delivery.last_error == "endpoint_inactive"
    assert receiver.requests == []


def test_an_address_repointed_to_a_private_network_is_refused_when_sending(
    hub, staff_actor, org_need, receiver, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    fake_dns(monkeypatch, {"hooks.example.org": [PUBLIC_IP]})
    webhooks.create_endpoint(
        actor=staff_actor, organization=hub, url=f"http://hooks.example.org:{receiver.port}/hook"
    )
    fake_dns(monkeypatch, {"hooks.example.org": ["127.0.0.1"]})  # DNS rebinding
    publish(org_need, staff_actor, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_error == "blocked_address" and delivery.status == "pending"
    assert receiver.requests == []


def test_the_connection_goes_to_the_address_that_was_checked(
    hub, staff_actor, org_need, receiver, monkeypatch, django_capture_on_commit_callbacks
):
    fake_dns(monkeypatch, {"hooks.example.org": ["127.0.0.1"]})  # allowed here (WEBHOOK_ALLOW_PRIVATE)
    webhooks.create_endpoint(
        actor=staff_actor, organization=hub, url=f"http://hooks.example.org:{receiver.port}/hook"
    )
    publish(org_need, staff_actor, django_capture_on_commit_callbacks)
    [got] = receiver.requests
    assert got.headers["Host"] == f"hooks.example.org:{receiver.port}"
    assert WebhookDelivery.objects.get().status == "delivered"


def test_the_log_and_the_application_log_hold_no_secret(
    endpoint, secret, org_need, staff_actor, receiver, caplog, django_capture_on_commit_callbacks
):
    receiver.answers = [500]
    with caplog.at_level(logging.DEBUG):
        publish(org_need, staff_actor, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    signature = receiver.requests[0].headers["X-Charity-Signature"]
    stored = json.dumps([delivery.payload, delivery.last_error])
    assert secret not in stored and signature.split("=", 1)[1] not in stored
    assert "webhook delivery" in caplog.text
    assert secret not in caplog.text and signature not in caplog.text
    assert "team=7" not in caplog.text  # the address (its query may carry a token) is not logged


def test_an_unreadable_secret_fails_without_sending(endpoint, org_need, staff_actor, receiver):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret_ciphertext="gAAAAAbroken")
    services.publish_need(need=org_need, actor=staff_actor)
    delivery = WebhookDelivery.objects.get()
    assert webhooks.attempt_delivery(delivery.pk, attempt=0).status == "failed"
    assert WebhookDelivery.objects.get().last_error == "secret_unreadable"
    assert receiver.requests == []


# --- resend ---------------------------------------------------------------------------------------------


def test_resending_a_delivered_notice_sends_it_again_with_the_same_event_id(
    endpoint, secret, org_need, staff_actor, receiver, django_capture_on_commit_callbacks
):
    publish(org_need, staff_actor, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    with (
        time_machine.travel(timezone.now() + datetime.timedelta(minutes=10)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        webhooks.resend_delivery(actor=staff_actor, delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 1
    first, again = receiver.requests
    assert first.body == again.body
    assert first.headers["X-Charity-Delivery"] == again.headers["X-Charity-Delivery"]
    assert int(again.headers["X-Charity-Timestamp"]) >= int(first.headers["X-Charity-Timestamp"]) + 590
    event = AuditEvent.objects.get(action=AuditAction.WEBHOOK_RESENT)
    assert event.data["before"]["status"] == "delivered" and event.area_id == endpoint.organization.area_id


def test_resending_a_failed_notice_starts_a_new_series(
    endpoint, org_need, staff_actor, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.answers = [500]
    publish(org_need, staff_actor, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.resend_delivery(actor=staff_actor, delivery=delivery)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 1, "")


def test_a_waiting_notice_cannot_be_resent_and_outsiders_cannot_resend(
    endpoint, org_need, staff_actor, outsider, community_viewer, english
):
    services.publish_need(need=org_need, actor=staff_actor)
    delivery = WebhookDelivery.objects.get()
    with pytest.raises(ConflictError, match="still waiting"):
        webhooks.resend_delivery(actor=staff_actor, delivery=delivery)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed")
    with pytest.raises(NotFoundError):
        webhooks.resend_delivery(actor=Actor("admin", user=outsider), delivery=delivery)
    with pytest.raises(ForbiddenError):
        webhooks.resend_delivery(actor=Actor("admin", user=community_viewer), delivery=delivery)
    assert not AuditEvent.objects.filter(action=AuditAction.WEBHOOK_RESENT).exists()
    assert WebhookDelivery.objects.get().status == "failed"
