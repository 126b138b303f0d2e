"""Messages to people's mobile numbers: one service sends everything a person receives (DESIGN.md §3).

`send_message` records the message in the outbox and, once the transaction commits, a Celery task
(`charity.tasks.deliver_message`) hands it to the backend named by the MESSAGE_BACKEND setting. A backend is
any class with one method, `send(mobile, text)`, that raises on failure (docs/messages.md). Never put
sensitive details in a message: a need, a health or ID detail, an amount — only what the person may read on
a lock screen.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import OutboxMessage
from .validators import mask_mobile, normalize_mobile

logger = logging.getLogger("charity.messaging")

DELIVERY_TASK = "charity.tasks.deliver_message"


class LogBackend:
    """The embedded default: writes each message to the log (the number masked), sends nothing.

    For development and demos only: the log then holds one-time codes. Production sets MESSAGE_BACKEND to an
    SMS provider's backend.
    """

    def send(self, mobile: str, text: str) -> None:
        logger.info("message to %s: %s", mask_mobile(mobile), text)


class MemoryBackend:
    """Keeps sent messages in `MemoryBackend.sent` as (mobile, text) pairs, for tests."""

    sent: list[tuple[str, str]] = []

    def send(self, mobile: str, text: str) -> None:
        self.sent.append((mobile, text))


def get_backend():
    """An instance of the backend named by MESSAGE_BACKEND."""
    return import_string(settings.MESSAGE_BACKEND)()


def send_message(*, mobile: str, kind: str, text: str, actor, secret: str = "") -> OutboxMessage:
    """Record a message to `mobile` in the outbox; deliver it from a Celery task after the commit.

    `secret` (a one-time code in `text`) is masked in the outbox once the message is delivered or has
    failed. Raises ValueError for an unknown kind or a malformed number (a programming error, not input).
    """
    if kind not in OutboxMessage.Kind.values:
        raise ValueError(f"unknown message kind {kind!r}: add it to OutboxMessage.Kind")
    mobile = normalize_mobile(mobile)
    text = str(text)
    if len(text) > OutboxMessage._meta.get_field("text").max_length:
        raise ValueError("a message is at most 500 characters")
    with transaction.atomic():
        message = OutboxMessage.objects.create(
            mobile=mobile,
            kind=kind,
            text=text,
            redacted_text=text.replace(secret, "*" * len(secret)) if secret else "",
            created_by=actor.user if getattr(actor, "user_id", None) else None,
        )
        # robust: a broker that is down must not turn a committed sign-up into an error page; the message
        # stays pending in the outbox and the failure is logged.
        transaction.on_commit(lambda: import_string(DELIVERY_TASK).delay(message.pk), robust=True)
    return message


def deliver_message(message_id: int) -> bool:
    """Send one outbox message through the backend; return True if this call sent it.

    Idempotent: the message is claimed by a compare-and-set from pending to sending, so a task that runs
    twice sends it once. A claimed message is never sent again (at most once: a stale code helps nobody; the
    person asks for a new one). A backend error marks it failed, with the error, and is logged.
    """
    claimed = OutboxMessage.objects.filter(pk=message_id, status=OutboxMessage.Status.PENDING).update(
        status=OutboxMessage.Status.SENDING
    )
    if not claimed:
        return False
    message = OutboxMessage.objects.get(pk=message_id)
    kept_text = message.redacted_text or message.text
    try:
        get_backend().send(message.mobile, message.text)
    except Exception as exc:  # any backend failure: record it, never lose the outbox row
        logger.exception("message %s to %s failed", message.pk, mask_mobile(message.mobile))
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=OutboxMessage.Status.FAILED,
            text=kept_text,
            last_error=f"{type(exc).__name__}: {exc}"[:300],
        )
        return False
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxMessage.Status.SENT, text=kept_text, sent_at=timezone.now()
    )
    return True
