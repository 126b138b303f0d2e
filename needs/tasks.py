"""Scheduled work of the needs registry (settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from . import services


@shared_task(name="needs.tasks.expire_needs")
def expire_needs() -> int:
    """Close needs past their needed-by date and tell their posters; running it twice does nothing twice."""
    return services.expire_needs()
