"""The event's check-in QR code: a signed token, never a guessable id.

The token is `django.core.signing` over {event id, end of the event} with its own salt, so it cannot be
made without SECRET_KEY, cannot be replayed for another event and stops working when the event ends. The
poster (admin) shows it as a QR code of the self-check-in page's full URL; scanning it with a phone's
camera opens that page, where a signed-up, logged-in person checks in.
"""

from __future__ import annotations

import datetime

import segno
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from charity.errors import DomainError

SALT = "volunteers.event-check-in"


class TokenError(DomainError):
    code = "invalid_check_in_code"


def make_token(event) -> str:
    """The signed token of `event`'s check-in code, valid until the event ends."""
    return signing.dumps({"e": event.pk, "x": int(event.ends_at.timestamp())}, salt=SALT, compress=False)


def read_token(token, *, now: datetime.datetime | None = None) -> int:
    """The event id a token carries; TokenError when it is forged, damaged or its event has ended."""
    if not isinstance(token, str) or not token or len(token) > 300:
        raise TokenError(_("This check-in code is not valid. Scan the code on the event's poster again."))
    try:
        payload = signing.loads(token, salt=SALT)
        event_id, until = int(payload["e"]), int(payload["x"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise TokenError(
            _("This check-in code is not valid. Scan the code on the event's poster again.")
        ) from None
    now = now or timezone.now()
    if now.timestamp() >= until:
        raise TokenError(
            _("This check-in code has expired: the event is over."), code="check_in_code_expired"
        )
    return event_id


def check_in_path(event) -> str:
    return reverse("volunteers:event_self_check_in", args=[make_token(event)])


def qr_svg(url: str, *, scale: int = 8) -> str:
    """The QR code of `url` as an inline SVG element (medium error correction, survives a crumpled print)."""
    return segno.make(url, error="m", micro=False).svg_inline(scale=scale, border=4, dark="#000")
