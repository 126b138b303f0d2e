"""What the webhook tests share: a real HTTP receiver in a thread, the documented verifier, a hub's need.

A test module takes the fixtures with `from .webhook_world import *`.
"""

from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from charity.models import AuditEvent
from charity.services import Actor
from needs import services, webhooks
from needs.models import Need

from .conftest import need_input

DOC = Path(django_settings.BASE_DIR) / "docs" / "webhooks.md"
# The fixtures a test module takes with `from .webhook_world import *`.
__all__ = [
    "endpoint",
    "endpoint_and_secret",
    "hub_actor",
    "org_need",
    "receiver",
    "secret",
    "webhook_settings",
]


def documented_receiver() -> dict:
    """The Python block of docs/webhooks.md, executed: its `verify`, `Receiver`, `seen_deliveries`…"""
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- receiver:start -->\s*```python\n(.*?)```\s*<!-- receiver:end -->", text, re.S)
    assert block, "docs/webhooks.md lost its receiver example"
    namespace: dict = {"__name__": "documented_receiver"}
    exec(compile(block[1], str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace


class Received:
    def __init__(self, path, headers, body):
        self.path, self.headers, self.body = path, headers, body


class LocalReceiver:
    """An HTTP server on 127.0.0.1 that records every request and answers from `answers` (then 204)."""

    def __init__(self, handler_class=None):
        self.requests: list[Received] = []
        self.answers: list[int] = []
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append(Received(self.path, dict(self.headers), body))
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.answers.pop(0) if receiver.answers else 204
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class or Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/charity-webhook?team=7"
        # How often the server looks for shutdown(): close() waits up to this long (with 0.05 s, 50 ms in
        # each test's teardown). Requests are answered as they come whatever it is.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.005,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook_settings(settings):
    """A receiver on this machine over http: what production refuses, allowed for the tests."""
    settings.WEBHOOK_ALLOW_INSECURE = True
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    return settings


@pytest.fixture
def receiver(webhook_settings):
    server = LocalReceiver()
    yield server
    server.close()


@pytest.fixture
def hub_actor(hub):
    return Actor(surface=AuditEvent.Surface.API, organization=hub)


@pytest.fixture
def org_need(guanbeigou, category, hub_actor):
    """A need the hub organisation sent through the API (status submitted)."""
    return services.submit_need(
        data=need_input(guanbeigou, category, summary="为3户高龄老人加装楼道扶手"),
        source=Need.Source.API,
        actor=hub_actor,
    )


@pytest.fixture
def endpoint_and_secret(hub, staff_actor, receiver):
    return webhooks.create_endpoint(actor=staff_actor, organization=hub, url=receiver.url)


@pytest.fixture
def endpoint(endpoint_and_secret):
    return endpoint_and_secret[0]


@pytest.fixture
def secret(endpoint_and_secret):
    return endpoint_and_secret[1]
