"""Celery tasks of the funds app: thin wrappers around services."""

from celery import shared_task

from charity.models import AuditEvent
from charity.services import Actor

from . import importing, services


@shared_task(name="funds.tasks.verify_ledger_nightly")
def verify_ledger_nightly() -> dict:
    """Check the whole ledger and record the result in the audit log (running it twice records two checks)."""
    report = services.record_ledger_check(actor=Actor.system(surface=AuditEvent.Surface.TASK))
    return report.as_dict()


@shared_task(name="funds.tasks.import_statement")
def import_statement(job: str) -> None:
    """Import a statement the admin started (funds.importing.run_import_job); running it twice does nothing
    twice."""
    importing.run_import_job(job)
