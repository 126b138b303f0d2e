"""Celery tasks of the core layer: thin and idempotent, so running one twice does nothing twice."""

import datetime

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import messaging
from .models import IdempotencyRecord, OneTimeCode, OutboxMessage

# A client retries a request within minutes; a day is ample and keeps the table small.
IDEMPOTENCY_RETENTION = datetime.timedelta(hours=24)


@shared_task(name="charity.tasks.purge_idempotency_records")
def purge_idempotency_records() -> int:
    """Delete Idempotency-Key records older than 24 hours; return how many were deleted."""
    cutoff = timezone.now() - IDEMPOTENCY_RETENTION
    _total, per_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return per_model.get(IdempotencyRecord._meta.label, 0)


# Long enough for the longest rate-limit window to count every request (settings: 1 day by default).
CODE_RETENTION = datetime.timedelta(days=1)


@shared_task(name="charity.tasks.deliver_message")
def deliver_message(message_id: int) -> bool:
    """Send one outbox message; running it twice sends it once (charity.messaging.deliver_message)."""
    return messaging.deliver_message(message_id)


@shared_task(name="charity.tasks.purge_codes_and_messages")
def purge_codes_and_messages() -> dict:
    """Delete one-time codes past every rate-limit window and delivered or failed messages past retention."""
    longest = max(
        [
            window
            for _n, window in settings.ONE_TIME_CODE_LIMITS_PER_NUMBER
            + settings.ONE_TIME_CODE_LIMITS_PER_ADDRESS
        ]
        + [CODE_RETENTION, settings.ONE_TIME_CODE_LIFETIME]
    )
    now = timezone.now()
    _total, codes = OneTimeCode.objects.filter(created_at__lt=now - longest).delete()
    _total, messages = OutboxMessage.objects.filter(
        created_at__lt=now - datetime.timedelta(days=settings.MESSAGE_RETENTION_DAYS),
        status__in=[OutboxMessage.Status.SENT, OutboxMessage.Status.FAILED],
    ).delete()
    return {
        "codes": codes.get(OneTimeCode._meta.label, 0),
        "messages": messages.get(OutboxMessage._meta.label, 0),
    }
