"""Webhooks for hub organisations: signed notices of accepted matches and of the needs they posted.

Staff of an organisation's area register an address for it (`create_endpoint`); the shared secret is shown
once and kept encrypted at rest (charity.crypto). `match_changed` and `need_status_changed` write one
`WebhookDelivery` per active endpoint of the organisation that posted the need and, once the transaction
commits, the Celery task `needs.tasks.deliver_webhook` posts it (`attempt_delivery`). docs/webhooks.md is
the receiving side's guide.

Signature: `X-Charity-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` keyed with the secret,
and `X-Charity-Timestamp` (Unix seconds) so a receiver refuses a replayed notice (REPLAY_WINDOW_SECONDS).
`X-Charity-Delivery` is the delivery's event id, for the receiver's de-duplication.

Delivery: at most WEBHOOK_TIMEOUT_SECONDS per attempt, 2xx is delivered, anything else is retried after
RETRY_DELAYS (with jitter) until WEBHOOK_MAX_ATTEMPTS, then failed. An attempt is claimed by a
compare-and-set on the attempt counter, so a task delivered twice sends once and a delivered row is never
sent again. The host is resolved and checked again at every attempt, and the connection goes to the very
address that was checked (no second lookup an attacker's DNS could answer differently): no private,
loopback or link-local address unless WEBHOOK_ALLOW_PRIVATE. Redirects are not followed.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import random
import secrets
import socket
import ssl
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from charity import crypto
from charity.errors import ConflictError, DomainError
from charity.models import Area, AuditAction, Organization
from charity.services import Actor, record_audit, require_staff

from .models import Match, Need, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger("needs.webhooks")

EVENT_MATCH_ACCEPTED = "match.accepted"
# An accepted match that then was fulfilled, declined or expired: sent to the endpoints that were told of
# its acceptance (a match declined while only proposed was never news to the organisation).
EVENT_MATCH_CHANGED = "match.changed"
EVENT_NEED_STATUS_CHANGED = "need.status_changed"
EVENTS = {
    EVENT_MATCH_ACCEPTED: _("match accepted"),
    EVENT_MATCH_CHANGED: _("accepted match fulfilled, declined or expired"),
    EVENT_NEED_STATUS_CHANGED: _("need's status changed"),
}
MATCH_CHANGED_STATUSES = (Match.Status.FULFILLED, Match.Status.DECLINED, Match.Status.EXPIRED)

DELIVERY_TASK = "needs.tasks.deliver_webhook"
HEADER_TIMESTAMP = "X-Charity-Timestamp"
HEADER_SIGNATURE = "X-Charity-Signature"
HEADER_EVENT = "X-Charity-Event"
HEADER_DELIVERY = "X-Charity-Delivery"
SIGNATURE_VERSION = "v1"
# What docs/webhooks.md tells receivers: refuse a timestamp further than this from their clock.
REPLAY_WINDOW_SECONDS = 300
USER_AGENT = "CommunityCharity-Webhooks/1"

# Seconds before the 2nd, 3rd, … attempt (1 min, 5 min, 30 min, 2 h, 12 h; the last repeats), each moved
# by up to ±JITTER so that endpoints that failed together are not all retried in the same second.
RETRY_DELAYS = (60, 300, 1800, 7200, 43200)
JITTER = 0.2
# An attempt in progress holds its row this long past the timeout; a worker that died mid-attempt leaves it
# to the sweep (`due_delivery_ids`) once the hold ends.
HOLD_MARGIN = datetime.timedelta(seconds=60)
# The sweep leaves a due row this long to the retry the task scheduled itself.
SWEEP_GRACE = datetime.timedelta(minutes=2)
SWEEP_BATCH = 500

URL_MAX = WebhookEndpoint._meta.get_field("url").max_length
ERROR_MAX = WebhookDelivery._meta.get_field("last_error").max_length

# How the log's error codes read to staff (the stored code stays the same in every language).
ERROR_LABELS = {
    "http_status": _("the receiver answered with an error"),
    "redirect_not_followed": _("the receiver answered with a redirect (not followed)"),
    "timeout": _("the receiver did not answer in time"),
    "dns_error": _("the host name could not be found"),
    "blocked_address": _("the host leads to a private or local network address"),
    "tls_error": _("the secure connection failed (certificate or TLS)"),
    "connection_error": _("the connection failed"),
    "bad_response": _("the receiver's answer could not be read"),
    "endpoint_inactive": _("the webhook was deactivated"),
    "secret_unreadable": _("the secret cannot be read with the current keys: rotate it"),
}


class WebhookError(DomainError):
    code = "webhook_invalid"


# --- the address ----------------------------------------------------------------------------------------


class _AddressRefused(Exception):
    """The host resolves to an address notices may not go to (private, loopback, link-local…)."""


def _effective(ip: ipaddress.IPv4Address | ipaddress.IPv6Address):
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), which is where a packet would end up."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in ipaddress.IPv6Network("64:ff9b::/96"):
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def is_public_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether `ip` is on the public internet (not private, loopback, link-local, shared, reserved…)."""
    ip = _effective(ip)
    return ip.is_global and not ip.is_multicast


def _resolve(host: str, port: int) -> list[str]:
    """The addresses of `host`, every one of them allowed, in the resolver's order; raise _AddressRefused
    when any is not (a host with one private address among public ones is refused as a whole)."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not settings.WEBHOOK_ALLOW_PRIVATE:
        for address in addresses:
            if not is_public_address(ipaddress.ip_address(address.split("%", 1)[0])):
                raise _AddressRefused(host)
    return addresses


def check_url(url: str) -> str:
    """Return `url` stripped if notices may be sent to it; raise WebhookError (field "url") saying why not.

    https only (http too when WEBHOOK_ALLOW_INSECURE); no user name or password in it; a host that resolves,
    only to public addresses unless WEBHOOK_ALLOW_PRIVATE.
    """
    url = (url or "").strip()
    if not url:
        raise WebhookError(_("Enter the address the notices are sent to."), code="url_required", field="url")
    if len(url) > URL_MAX:
        raise WebhookError(
            _("The address is too long: at most %(max)d characters.") % {"max": URL_MAX},
            code="url_too_long",
            field="url",
        )
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise WebhookError(_("The address may not contain spaces."), code="url_invalid", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookError(
            _("The port in the address is not valid."), code="url_invalid", field="url"
        ) from None
    allowed = ("https", "http") if settings.WEBHOOK_ALLOW_INSECURE else ("https",)
    if parts.scheme.lower() not in allowed:
        raise WebhookError(
            _("The address must start with https://, so that the notices travel encrypted."),
            code="url_not_https",
            field="url",
        )
    if not parts.hostname:
        raise WebhookError(
            _("Enter a full web address, e.g. https://example.org/charity-webhook."),
            code="url_invalid",
            field="url",
        )
    if parts.username is not None or parts.password is not None:
        raise WebhookError(
            _(
                "Leave the user name and password out of the address: the notices are signed with the "
                "webhook's secret instead."
            ),
            code="url_credentials",
            field="url",
        )
    if parts.fragment:
        raise WebhookError(
            _("Remove the part after “#” from the address: it is never sent."),
            code="url_invalid",
            field="url",
        )
    host = parts.hostname
    default_port = 443 if parts.scheme.lower() == "https" else 80
    try:
        _resolve(host, port or default_port)
    except _AddressRefused:
        raise WebhookError(
            _(
                "%(host)s leads to a private or local network address: notices are only sent to addresses "
                "on the internet."
            )
            % {"host": host},
            code="url_private",
            field="url",
        ) from None
    except (OSError, UnicodeError):
        raise WebhookError(
            _("The host name %(host)s could not be found: check the address.") % {"host": host},
            code="url_unknown_host",
            field="url",
        ) from None
    return url


# --- endpoints: register, rotate, deactivate -------------------------------------------------------------


def _fresh_area(organization: Organization) -> Area:
    return Area.objects.get(pk=organization.area_id)


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def create_endpoint(*, actor: Actor, organization: Organization, url: str) -> tuple[WebhookEndpoint, str]:
    """Register `url` for `organization`; return the endpoint and its secret, which is shown only once.

    Staff of the organisation's area (NotFoundError outside it, ForbiddenError for a viewer or an API key);
    WebhookError for an address notices may not go to, or one the organisation already has.
    """
    require_staff(actor, _fresh_area(organization))
    url = check_url(url)
    secret = _new_secret()
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        if WebhookEndpoint.objects.filter(organization=organization, url=url, is_active=True).exists():
            raise WebhookError(
                _("%(org)s already has an active webhook at this address.") % {"org": organization.name},
                code="url_duplicate",
                field="url",
            )
        endpoint = WebhookEndpoint.objects.create(
            organization=organization,
            url=url,
            secret_ciphertext=crypto.encrypt(secret),
            created_by=actor.user if actor.user_id else None,
        )
        record_audit(
            actor=actor,
            action=AuditAction.WEBHOOK_CREATED,
            obj=endpoint,
            area=organization.area,
            summary=f"{organization.name}: {_host(url)}",
            data={"organization": organization.pk, "host": _host(url)},
        )
    return endpoint, secret


def _locked_active(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    current = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk).first()
    if current is None or not current.is_active:
        raise ConflictError(
            _("This webhook is deactivated: register the address again to send notices to it."),
            code="webhook_inactive",
        )
    return current


def rotate_secret(*, actor: Actor, endpoint: WebhookEndpoint) -> str:
    """Give `endpoint` a new secret and return it (shown once); the old one stops signing at once.

    Staff of the organisation's area; ConflictError for a deactivated endpoint.
    """
    organization = endpoint.organization
    require_staff(actor, _fresh_area(organization))
    secret = _new_secret()
    with transaction.atomic():
        current = _locked_active(endpoint)
        current.secret_ciphertext = crypto.encrypt(secret)
        current.save(update_fields=["secret_ciphertext"])
        record_audit(
            actor=actor,
            action=AuditAction.WEBHOOK_SECRET_ROTATED,
            obj=current,
            area=organization.area,
            summary=f"{organization.name}: {_host(current.url)}",
        )
    endpoint.secret_ciphertext = current.secret_ciphertext
    return secret


def deactivate_endpoint(*, actor: Actor, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Stop sending to `endpoint` for good; its waiting deliveries fail without being sent.

    Staff of the organisation's area; ConflictError when it is deactivated already.
    """
    organization = endpoint.organization
    require_staff(actor, _fresh_area(organization))
    with transaction.atomic():
        current = _locked_active(endpoint)
        current.is_active = False
        current.save(update_fields=["is_active"])
        record_audit(
            actor=actor,
            action=AuditAction.WEBHOOK_DEACTIVATED,
            obj=current,
            area=organization.area,
            summary=f"{organization.name}: {_host(current.url)}",
        )
    endpoint.is_active = False
    return endpoint


# --- events ---------------------------------------------------------------------------------------------


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat()
    return value.isoformat()


def _need_data(need: Need) -> dict:
    """What a notice says of a need: ids, status, quantity and dates, never who it is for."""
    return {
        "id": need.pk,
        "community": need.community_id,
        "category": need.category.code,
        "status": need.status,
        "urgency": need.urgency,
        "quantity": need.quantity,
        "unit": need.unit,
        "needed_by": _iso(need.needed_by),
    }


def _envelope(*, event_id: uuid.UUID, event: str, data: dict) -> dict:
    return {"id": str(event_id), "event": event, "created_at": _iso(timezone.now()), "data": data}


def encode_payload(payload: dict) -> bytes:
    """The exact bytes sent and signed: compact, keys sorted, UTF-8 (Chinese stays readable)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def _active_endpoints(organization_id: int | None) -> list[WebhookEndpoint]:
    if not organization_id:
        return []
    return list(WebhookEndpoint.objects.filter(organization_id=organization_id, is_active=True))


def _schedule(delivery_id: int) -> None:
    import_string(DELIVERY_TASK).delay(delivery_id, 0)


def _queue(endpoints: list[WebhookEndpoint], event: str, data: dict) -> list[WebhookDelivery]:
    """One delivery per endpoint, sent after the commit (a broker that is down leaves them to the sweep)."""
    rows = []
    for endpoint in endpoints:
        event_id = uuid.uuid4()
        row = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event=event,
            event_id=event_id,
            payload=_envelope(event_id=event_id, event=event, data=data),
        )
        transaction.on_commit(lambda pk=row.pk: _schedule(pk), robust=True)
        rows.append(row)
    return rows


def need_status_changed(need: Need, old_status: str, new_status: str) -> list[WebhookDelivery]:
    """Queue `need.status_changed` for the endpoints of the organisation that posted `need` (none for a need
    a resident or staff posted). Call inside the transaction of the change (needs.services)."""
    if old_status == new_status:
        return []
    endpoints = _active_endpoints(need.source_organization_id)
    if not endpoints:
        return []
    data = {"need": _need_data(need) | {"status": new_status, "previous_status": old_status or None}}
    return _queue(endpoints, EVENT_NEED_STATUS_CHANGED, data)


def match_changed(match: Match) -> list[WebhookDelivery]:
    """Queue the notice of `match`'s new status for the endpoints of the organisation that posted its need:
    `match.accepted` when accepted; `match.changed` when fulfilled, declined or expired, to the endpoints
    that were told of its acceptance. Call after each transition, inside its transaction; a second call for
    the same status queues nothing."""
    if match.status == Match.Status.ACCEPTED:
        event = EVENT_MATCH_ACCEPTED
    elif match.status in MATCH_CHANGED_STATUSES:
        event = EVENT_MATCH_CHANGED
    else:
        return []
    need = match.need
    endpoints = _active_endpoints(need.source_organization_id)
    if not endpoints:
        return []
    sent = WebhookDelivery.objects.filter(endpoint__in=endpoints, payload__data__match__id=match.pk)
    already = set(
        sent.filter(event=event, payload__data__match__status=match.status).values_list(
            "endpoint_id", flat=True
        )
    )
    endpoints = [e for e in endpoints if e.pk not in already]
    if event == EVENT_MATCH_CHANGED:
        told = set(sent.filter(event=EVENT_MATCH_ACCEPTED).values_list("endpoint_id", flat=True))
        endpoints = [e for e in endpoints if e.pk in told]
    if not endpoints:
        return []
    resource = match.resource
    data = {
        "match": {
            "id": match.pk,
            "status": match.status,
            "quantity": match.quantity,
            "fulfilled_quantity": match.fulfilled_quantity,
            "decided_at": _iso(match.decided_at),
            "fulfilled_at": _iso(match.fulfilled_at),
        },
        "need": _need_data(need),
        "resource": {"id": resource.pk, "kind": resource.kind, "unit": resource.unit},
    }
    return _queue(endpoints, event, data)


# --- signing and sending --------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: `v1=` and the hex HMAC-SHA256 of "<timestamp>.<body>" under `secret`."""
    message = str(int(timestamp)).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def signed_headers(*, secret: str, body: bytes, event: str, event_id, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        HEADER_EVENT: event,
        HEADER_DELIVERY: str(event_id),
        HEADER_TIMESTAMP: str(int(timestamp)),
        HEADER_SIGNATURE: sign(secret, timestamp, body),
    }


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an address checked beforehand, whatever the host name would resolve to now."""

    def __init__(self, host, port, *, addresses, timeout):
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses

    def _open(self) -> socket.socket:
        error: OSError | None = None
        for address in self._addresses:
            try:
                return socket.create_connection((address, self.port), self.timeout)
            except OSError as exc:
                error = exc
        raise error or OSError("no address")

    def connect(self):
        self.sock = self._open()


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, *, addresses, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._addresses = addresses

    _open = _PinnedHTTPConnection._open

    def connect(self):
        # The certificate is checked against the host name (SNI too), not the address connected to.
        self.sock = self._context.wrap_socket(self._open(), server_hostname=self.host)


def _post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> int:
    """POST `body` to `url` through a checked address; return the answer's status code."""
    parts = urlsplit(url)
    https = parts.scheme.lower() == "https"
    port = parts.port or (443 if https else 80)
    addresses = _resolve(parts.hostname, port)
    connection_class = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
    connection = connection_class(parts.hostname, port, addresses=addresses, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(65536)  # the answer's body is not kept; read a little so the connection closes cleanly
        return response.status
    finally:
        connection.close()


@dataclass(frozen=True)
class Attempt:
    """What one call of `attempt_delivery` did: `status` is the row's status after it ("skipped" when
    there was nothing to do), `retry_in` the seconds until the next attempt when one is due."""

    status: str
    attempts: int
    retry_in: float | None = None


def backoff_seconds(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed attempt, with jitter."""
    base = RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)


def _finish(delivery: WebhookDelivery, **fields) -> None:
    fields.setdefault("next_attempt_at", None)
    if "last_error" in fields:
        fields["last_error"] = fields["last_error"][:ERROR_MAX]
    WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.PENDING).update(**fields)
    for name, value in fields.items():
        setattr(delivery, name, value)


def _send(endpoint: WebhookEndpoint, delivery: WebhookDelivery, secret: str) -> tuple[int | None, str]:
    """One POST: (status code or None, error code with a short detail, "" when 2xx). Never raises for the
    network; the detail names the kind of failure, never the secret, the signature or the body."""
    body = encode_payload(delivery.payload)
    timestamp = int(timezone.now().timestamp())
    headers = signed_headers(
        secret=secret, body=body, event=delivery.event, event_id=delivery.event_id, timestamp=timestamp
    )
    try:
        code = _post(endpoint.url, body, headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    except _AddressRefused:
        return None, "blocked_address"
    except TimeoutError:
        return None, "timeout"
    except socket.gaierror:
        return None, "dns_error"
    except ssl.SSLError as exc:
        return None, f"tls_error: {type(exc).__name__}"
    except http.client.HTTPException as exc:
        return None, f"bad_response: {type(exc).__name__}"
    except (OSError, UnicodeError, ValueError) as exc:
        return None, f"connection_error: {type(exc).__name__}"
    if 200 <= code < 300:
        return code, ""
    if 300 <= code < 400:
        return code, f"redirect_not_followed: {code}"
    return code, f"http_status: {code}"


def attempt_delivery(delivery_id: int, *, attempt: int | None = None) -> Attempt:
    """Make one attempt at sending a delivery and record it; return what happened.

    `attempt` is the number of attempts made before this one, as the scheduler saw it: the attempt is
    claimed only if the row is still pending with that count (without it, only if it is due), so a task
    delivered twice, or a sweep racing a scheduled retry, sends once; a delivered or failed row is never
    sent. Runs outside any transaction: the claim is committed before the request goes out.
    """
    now = timezone.now()
    pending = WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
    if attempt is not None:
        pending = pending.filter(attempts=attempt)
    else:
        pending = pending.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    hold = now + datetime.timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS) + HOLD_MARGIN
    if not pending.update(attempts=F("attempts") + 1, next_attempt_at=hold):
        return Attempt(status="skipped", attempts=attempt or 0)
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        _finish(delivery, status=WebhookDelivery.Status.FAILED, last_error="endpoint_inactive")
        return Attempt(status=delivery.status, attempts=delivery.attempts)
    try:
        secret = crypto.decrypt(endpoint.secret_ciphertext)
    except crypto.UnreadableError:
        _finish(delivery, status=WebhookDelivery.Status.FAILED, last_error="secret_unreadable")
        return Attempt(status=delivery.status, attempts=delivery.attempts)
    code, error = _send(endpoint, delivery, secret)
    if not error:
        _finish(
            delivery,
            status=WebhookDelivery.Status.DELIVERED,
            last_status_code=code,
            last_error="",
            delivered_at=timezone.now(),
        )
        retry_in = None
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        _finish(delivery, status=WebhookDelivery.Status.FAILED, last_status_code=code, last_error=error)
        retry_in = None
    else:
        retry_in = backoff_seconds(delivery.attempts)
        _finish(
            delivery,
            last_status_code=code,
            last_error=error,
            next_attempt_at=timezone.now() + datetime.timedelta(seconds=retry_in),
        )
    logger.info(
        "webhook delivery %s (%s) to endpoint %s, attempt %s: %s",
        delivery.pk,
        delivery.event,
        endpoint.pk,
        delivery.attempts,
        error or f"delivered ({code})",
    )
    return Attempt(status=delivery.status, attempts=delivery.attempts, retry_in=retry_in)


def due_delivery_ids(*, limit: int = SWEEP_BATCH) -> list[int]:
    """Pending deliveries whose attempt is overdue: the retries of tasks run in-process (no broker to wait
    on), of a worker that died mid-attempt, of a broker that was down at the commit."""
    cutoff = timezone.now() - SWEEP_GRACE
    return list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
        .filter(Q(next_attempt_at__lte=cutoff) | Q(next_attempt_at__isnull=True, created_at__lte=cutoff))
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )


# --- the log: resend ------------------------------------------------------------------------------------


def resend_delivery(*, actor: Actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivered or failed notice again, with the same event id (the receiver de-duplicates by it)
    and a new signature, as a fresh series of attempts.

    Staff of the organisation's area; ConflictError for a notice still waiting, or a deactivated webhook.
    """
    organization = delivery.endpoint.organization
    require_staff(actor, _fresh_area(organization))
    with transaction.atomic():
        current = (
            WebhookDelivery.objects.select_for_update()
            .select_related("endpoint")
            .filter(pk=delivery.pk)
            .first()
        )
        if current is None or current.status == WebhookDelivery.Status.PENDING:
            raise ConflictError(
                _("This notice is still waiting to be sent: it cannot be sent again yet."),
                code="delivery_pending",
            )
        if not current.endpoint.is_active:
            raise ConflictError(
                _("This webhook is deactivated: register the address again to send notices to it."),
                code="webhook_inactive",
            )
        before = {"status": current.status, "attempts": current.attempts, "code": current.last_status_code}
        WebhookDelivery.objects.filter(pk=current.pk).update(
            status=WebhookDelivery.Status.PENDING,
            attempts=0,
            last_status_code=None,
            last_error="",
            next_attempt_at=None,
            delivered_at=None,
        )
        record_audit(
            actor=actor,
            action=AuditAction.WEBHOOK_RESENT,
            obj=current,
            area=organization.area,
            summary=f"{organization.name}: {current.event} {current.event_id}",
            data={"event": current.event, "before": before},
        )
        transaction.on_commit(lambda: _schedule(current.pk), robust=True)
    current.refresh_from_db()
    return current
