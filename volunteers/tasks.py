"""Celery tasks of volunteers and events: thin, idempotent wrappers around `volunteers.services`."""

from celery import shared_task

from charity.models import AuditEvent
from charity.services import Actor

from . import services


@shared_task(name="volunteers.tasks.expire_signup_offers")
def expire_signup_offers() -> int:
    """Lapse waiting-list offers not confirmed in time and offer each place to the next in line.

    Every 15 minutes (CELERY_BEAT_SCHEDULE); run twice, it lapses and tells nobody twice.
    """
    return services.expire_offers(actor=Actor.system(surface=AuditEvent.Surface.TASK))
