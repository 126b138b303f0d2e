"""docs/webhooks.md's receiver is what a hub organisation will copy: it must accept what the platform sends
and refuse what it must refuse (tampering, another secret, a replay outside the 5-minute window)."""

import datetime
import json
import shutil
import subprocess
import threading
import time
import urllib.request
from http.server import ThreadingHTTPServer

import pytest
import time_machine
from django.utils import timezone

from needs import webhooks
from needs.models import WebhookDelivery

from .webhook_world import *  # noqa: F403 - the shared webhook fixtures
from .webhook_world import DOC, documented_receiver

SECRET = "test-secret-not-a-real-one"
BODY = json.dumps({"event": "need.status_changed", "data": {"need": {"id": 1}}}).encode()


@pytest.fixture
def doc():
    return documented_receiver()


def test_the_documented_verifier_accepts_the_platforms_signature(doc):
    now = int(time.time())
    doc["verify"](SECRET, str(now), webhooks.sign(SECRET, now, BODY), BODY)
    # a later scheme version beside v1 is ignored, as the page promises
    doc["verify"](SECRET, str(now), "v2=abc," + webhooks.sign(SECRET, now, BODY), BODY)


@pytest.mark.parametrize(
    "change",
    [
        {"body": BODY + b" "},
        {"secret": "another-secret"},
        {"signature": "v1=" + "0" * 64},
        {"signature": ""},
        {"timestamp": ""},
        {"timestamp": "12ab"},
    ],
)
def test_the_documented_verifier_refuses_tampering(doc, change):
    now = int(time.time())
    signature = webhooks.sign(SECRET, now, BODY)
    args = {"secret": SECRET, "timestamp": str(now), "signature": signature, "body": BODY} | change
    with pytest.raises(doc["InvalidNotice"]):
        doc["verify"](args["secret"], args["timestamp"], args["signature"], args["body"])


def test_the_documented_verifier_refuses_a_replay_outside_five_minutes(doc):
    signed_at = int(time.time())
    signature = webhooks.sign(SECRET, signed_at, BODY)
    doc["verify"](SECRET, str(signed_at), signature, BODY, now=signed_at + 299)
    for now in (signed_at + 301, signed_at - 301, signed_at + 86400):
        with pytest.raises(doc["InvalidNotice"], match="window"):
            doc["verify"](SECRET, str(signed_at), signature, BODY, now=now)
    assert doc["TOLERANCE_SECONDS"] == webhooks.REPLAY_WINDOW_SECONDS


@pytest.fixture
def documented_server(doc):
    """The documented Receiver class served on 127.0.0.1, its handle() recording the notices."""
    handled = []
    doc["handle"] = handled.append
    server = ThreadingHTTPServer(("127.0.0.1", 0), doc["Receiver"])
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.005,), daemon=True).start()  # a quick shutdown()
    yield server, handled
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_the_documented_receiver_takes_a_real_notice_once_and_refuses_its_replay(
    doc,
    documented_server,
    hub,
    staff_actor,
    org_need,
    webhook_settings,
    django_capture_on_commit_callbacks,
):
    from needs import services

    server, handled = documented_server
    url = f"http://127.0.0.1:{server.server_address[1]}/charity-webhook"
    endpoint, secret = webhooks.create_endpoint(actor=staff_actor, organization=hub, url=url)
    doc["SECRET"] = secret
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_need(need=org_need, actor=staff_actor)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered" and delivery.last_status_code == 204
    assert [n["event"] for n in handled] == ["need.status_changed"]
    assert handled[0]["data"]["need"]["id"] == org_need.pk

    # A resend carries the same event id: acknowledged, not handled twice.
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.resend_delivery(actor=staff_actor, delivery=delivery)
    assert WebhookDelivery.objects.get().status == "delivered"
    assert len(handled) == 1

    # A captured notice replayed ten minutes later is refused (401), and then retried by nobody.
    body = webhooks.encode_payload(delivery.payload)
    signed_at = int(timezone.now().timestamp())
    headers = webhooks.signed_headers(
        secret=secret, body=body, event=delivery.event, event_id="replayed-id", timestamp=signed_at
    )
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=10)):
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 401
    assert len(handled) == 1


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_the_documented_openssl_line_computes_the_same_signature():
    timestamp = 1767580000
    body = '{"data":{},"event":"ping","id":"00000000-0000-0000-0000-000000000000"}'
    line = 'printf \'%s.%s\' "$ts" "$body" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d\' \' -f1'
    assert line in DOC.read_text(encoding="utf-8")  # the page still shows this very line
    out = subprocess.run(
        ["bash", "-c", line],
        env={"ts": str(timestamp), "body": body, "SECRET": SECRET, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert f"v1={out}" == webhooks.sign(SECRET, timestamp, body.encode())
