"""Daily tasks of the tool library and the exchange: thin and idempotent (run twice, tell once)."""

from celery import shared_task

from charity.models import AuditEvent
from charity.services import Actor

from . import services


@shared_task(name="resources.tasks.mark_overdue_loans")
def mark_overdue_loans() -> int:
    """Mark loans past their due date and tell each borrower once (8:00, Shanghai: not a night-time text)."""
    return services.mark_overdue_loans(actor=Actor.system(surface=AuditEvent.Surface.TASK))


@shared_task(name="resources.tasks.expire_exchange_items")
def expire_exchange_items() -> int:
    """Close exchange items past their last day and tell each giver once."""
    return services.expire_exchange_items(actor=Actor.system(surface=AuditEvent.Surface.TASK))
