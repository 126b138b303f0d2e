"""Scheduled work of the needs registry (settings.CELERY_BEAT_SCHEDULE)."""

import datetime
import logging

from celery import chord, group, shared_task
from django.utils import timezone

from . import matching_run, services, webhooks

log = logging.getLogger(__name__)


@shared_task(name="needs.tasks.expire_needs")
def expire_needs() -> int:
    """Close needs past their needed-by date and tell their posters; running it twice does nothing twice."""
    return services.expire_needs()


@shared_task(bind=True, name="needs.tasks.deliver_webhook", max_retries=None)
def deliver_webhook(self, delivery_id: int, attempt: int | None = None) -> str:
    """Make one attempt at a webhook notice (needs.webhooks.attempt_delivery) and, when it failed and
    attempts are left, retry after the backoff it chose. A duplicate of the task sends nothing twice.

    Run in-process (no broker) the retry is not waited for here: send_due_webhooks picks it up when due.
    """
    result = webhooks.attempt_delivery(delivery_id, attempt=attempt)
    if result.retry_in is not None and not (self.request.is_eager or self.request.called_directly):
        raise self.retry(args=[delivery_id], kwargs={"attempt": result.attempts}, countdown=result.retry_in)
    return result.status


@shared_task(name="needs.tasks.send_due_webhooks")
def send_due_webhooks() -> int:
    """Attempt the webhook notices whose retry is overdue; return how many were handed to deliver_webhook."""
    ids = webhooks.due_delivery_ids()
    for delivery_id in ids:
        deliver_webhook.delay(delivery_id)
    return len(ids)


# --- nightly need–resource matching (needs/matching_run.py, docs/matching.md) ---------------------------
# One task per district (a group), then the city-wide remainder in the chord's callback: a city-wide resource
# is only ever in the city partition, a district's own resources only in their district, so no unit is
# proposed twice. Each partition runs once per night however often it is delivered (MatchRun's unique
# constraint and the locked write); acks_late + reject_on_worker_lost put a task whose worker was killed back
# on the queue, and its next delivery does the partition again.

BUSY_RETRY_SECONDS = 60


@shared_task(name="needs.tasks.run_nightly_matching")
def run_nightly_matching(night: str | None = None) -> int:
    """Start the night's matching for every city: its district partitions, then its city partition.

    `night` (ISO date) defaults to today in Shanghai, the beat's time zone. Returns how many partitions."""
    night = night or timezone.localdate().isoformat()
    started = 0
    for city_id, districts in matching_run.begin_night():
        city = match_partition.si(night, city_id, matching_run.CITY)
        if districts:
            chord(group(match_partition.si(night, d, matching_run.DISTRICT) for d in districts))(city)
        else:
            city.delay()
        started += len(districts) + 1
    return started


@shared_task(
    bind=True,
    name="needs.tasks.match_partition",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=30,
)
def match_partition(self, night: str, area_id: int, partition: str) -> dict:
    """Run one partition of the night's matching, once (needs.matching_run.run_partition).

    While a run for an overlapping area is under way it tries again a minute later. Any other error is
    recorded on the run (failed) and reported, not raised: the city partition of a chord still runs."""
    day = datetime.date.fromisoformat(night)
    try:
        run = matching_run.run_partition(night=day, area_id=area_id, partition=partition)
    except matching_run.RunBusy as exc:
        if self.request.is_eager or self.request.called_directly:
            raise
        raise self.retry(exc=exc, countdown=BUSY_RETRY_SECONDS) from exc
    except Exception:
        log.exception("matching partition %s of area %s for %s failed", partition, area_id, night)
        return {"area": area_id, "partition": partition, "status": "failed"}
    if run is None:
        return {"area": area_id, "partition": partition, "status": "no_area"}
    return {"area": area_id, "partition": partition, "status": run.status, "run": run.pk}


@shared_task(bind=True, name="needs.tasks.run_area_matching", acks_late=True, reject_on_worker_lost=True)
def run_area_matching(self, run_id: int) -> str:
    """Do the run a staff member started for their area (needs.matching_run.execute_area_run), once."""
    run = matching_run.execute_area_run(run_id)
    return run.status if run is not None else "missing"
