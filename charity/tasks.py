"""Celery tasks of the core layer: thin and idempotent, so running one twice does nothing twice."""

import datetime

from celery import shared_task
from django.utils import timezone

from .models import IdempotencyRecord

# A client retries a request within minutes; a day is ample and keeps the table small.
IDEMPOTENCY_RETENTION = datetime.timedelta(hours=24)


@shared_task(name="charity.tasks.purge_idempotency_records")
def purge_idempotency_records() -> int:
    """Delete Idempotency-Key records older than 24 hours; return how many were deleted."""
    cutoff = timezone.now() - IDEMPOTENCY_RETENTION
    _total, per_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return per_model.get(IdempotencyRecord._meta.label, 0)
