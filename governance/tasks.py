"""The allocation deadlines as Celery beat tasks: thin, and idempotent — run twice, the second run does
nothing (each service re-checks the row it locks; docs/allocation.md, "Deadlines")."""

from celery import shared_task

from . import services


@shared_task(name="governance.tasks.close_due_votes")
def close_due_votes() -> int:
    """Close every vote whose deadline has passed, storing its tally, rules and outcome."""
    return services.close_due_votes()


@shared_task(name="governance.tasks.end_due_notices")
def end_due_notices() -> int:
    """End the public notices that are over: payable, or under review while an objection is unanswered."""
    return services.end_due_notices()


@shared_task(name="governance.tasks.flag_overdue_reports")
def flag_overdue_reports() -> int:
    """Flag paid proposals unreported for 90 days and tell the committee, once."""
    return services.flag_overdue_reports()


@shared_task(name="governance.tasks.chase_action_items")
def chase_action_items() -> dict:
    """Mark overdue action items and tell their owners, once; escalate long-overdue ones a level up."""
    return services.mark_overdue_and_escalate()
