"""The tool library: one borrower per copy, a first-come waiting list, renewals, returns, overdue notices."""

import datetime

import pytest
from django.utils import timezone

from charity.errors import ConflictError, DomainError, NotFoundError
from charity.models import AuditAction, AuditEvent, Notification, NotificationKind
from resources import services, tasks
from resources.models import Loan, Resource, WaitlistEntry

from .conftest import make_tool, neighbour, portal_actor, staff_actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(community_staff):
    return staff_actor(community_staff)


def test_lending_the_last_copy_then_another_is_refused(guanbeigou, desk, english):
    drill = make_tool(guanbeigou, copies=1)
    first, second = neighbour(guanbeigou), neighbour(guanbeigou)
    loan = services.lend_tool(resource=drill, borrower=first, actor=desk, condition="完好")
    assert loan.condition_at_lend == "完好"
    with pytest.raises(ConflictError) as caught:
        services.lend_tool(resource=drill, borrower=second, actor=desk)
    assert caught.value.code == "tool_out"
    assert "waiting list" in str(caught.value.message)
    drill.refresh_from_db()
    assert drill.taken == 1 and Loan.objects.count() == 1


def test_a_tool_already_out_offers_the_waiting_list(guanbeigou, desk):
    drill = make_tool(guanbeigou)
    first, second = neighbour(guanbeigou), neighbour(guanbeigou)
    services.lend_tool(resource=drill, borrower=first, actor=desk)
    entry = services.lend_tool(resource=drill, borrower=second, actor=desk, wait_if_out=True)
    assert isinstance(entry, WaitlistEntry) and entry.status == WaitlistEntry.Status.WAITING


def test_copies_are_the_quantity(guanbeigou, desk):
    ladder = make_tool(guanbeigou, copies=2, title="梯子")
    a, b, c = (neighbour(guanbeigou) for _ in range(3))
    services.lend_tool(resource=ladder, borrower=a, actor=desk)
    services.lend_tool(resource=ladder, borrower=b, actor=desk)
    with pytest.raises(ConflictError):
        services.lend_tool(resource=ladder, borrower=c, actor=desk)


def test_one_open_loan_per_borrower(guanbeigou, desk):
    ladder = make_tool(guanbeigou, copies=2)
    a = neighbour(guanbeigou)
    services.lend_tool(resource=ladder, borrower=a, actor=desk)
    with pytest.raises(ConflictError) as caught:
        services.lend_tool(resource=ladder, borrower=a, actor=desk)
    assert caught.value.code == "already_borrowed"
    ladder.refresh_from_db()
    assert ladder.taken == 1


def test_return_tells_the_first_waiting_and_holds_the_copy_for_them(guanbeigou, desk):
    drill = make_tool(guanbeigou)
    a, b, c = (neighbour(guanbeigou) for _ in range(3))
    loan = services.lend_tool(resource=drill, borrower=a, actor=desk)
    services.join_waitlist(resource=drill, person=b, actor=portal_actor(b))
    services.join_waitlist(resource=drill, person=c, actor=portal_actor(c))
    services.return_tool(loan=loan, actor=desk, condition="钻头有磨损")
    loan.refresh_from_db()
    assert loan.returned_at is not None and loan.condition_at_return == "钻头有磨损"
    told = Notification.objects.get(kind=NotificationKind.WAITLIST_READY)
    assert told.person == b
    assert not Notification.objects.filter(person=c).exists()
    # The copy is held for b: c cannot take it at the desk, b can.
    with pytest.raises(ConflictError):
        services.lend_tool(resource=drill, borrower=c, actor=desk)
    services.lend_tool(resource=drill, borrower=b, actor=desk)
    assert WaitlistEntry.objects.get(person=b).status == WaitlistEntry.Status.SERVED
    with pytest.raises(ConflictError) as caught:
        services.return_tool(loan=loan, actor=desk)
    assert caught.value.code == "already_returned"


def test_leaving_when_told_passes_the_turn_on(guanbeigou, desk):
    drill = make_tool(guanbeigou)
    a, b, c = (neighbour(guanbeigou) for _ in range(3))
    loan = services.lend_tool(resource=drill, borrower=a, actor=desk)
    entry_b = services.join_waitlist(resource=drill, person=b, actor=portal_actor(b))
    services.join_waitlist(resource=drill, person=c, actor=portal_actor(c))
    services.return_tool(loan=loan, actor=desk)
    services.leave_waitlist(entry=entry_b, actor=portal_actor(b))
    assert Notification.objects.filter(person=c, kind=NotificationKind.WAITLIST_READY).count() == 1


def test_one_place_per_person_per_tool(guanbeigou, desk):
    drill = make_tool(guanbeigou)
    a, b = neighbour(guanbeigou), neighbour(guanbeigou)
    services.lend_tool(resource=drill, borrower=a, actor=desk)
    services.join_waitlist(resource=drill, person=b, actor=portal_actor(b))
    with pytest.raises(ConflictError) as caught:
        services.join_waitlist(resource=drill, person=b, actor=portal_actor(b))
    assert caught.value.code == "already_waiting"
    assert WaitlistEntry.objects.count() == 1
    with pytest.raises(ConflictError):  # the borrower does not queue for what they hold
        services.join_waitlist(resource=drill, person=a, actor=portal_actor(a))


def test_renewal_only_while_nobody_waits(guanbeigou, desk):
    drill = make_tool(guanbeigou)
    a, b = neighbour(guanbeigou), neighbour(guanbeigou)
    loan = services.lend_tool(resource=drill, borrower=a, actor=desk)
    due = loan.due
    loan = services.renew_loan(loan=loan, actor=portal_actor(a))
    assert loan.due == due + datetime.timedelta(days=services.LOAN_DAYS) and loan.renewals == 1
    services.join_waitlist(resource=drill, person=b, actor=portal_actor(b))
    with pytest.raises(ConflictError) as caught:
        services.renew_loan(loan=loan, actor=portal_actor(a))
    assert caught.value.code == "someone_waiting"
    loan.refresh_from_db()
    assert loan.renewals == 1


def test_someone_else_cannot_renew_my_loan(guanbeigou, desk):
    drill = make_tool(guanbeigou)
    a, b = neighbour(guanbeigou), neighbour(guanbeigou)
    loan = services.lend_tool(resource=drill, borrower=a, actor=desk)
    with pytest.raises(NotFoundError):
        services.renew_loan(loan=loan, actor=portal_actor(b))


def test_outsider_cannot_lend(guanbeigou, outsider):
    drill = make_tool(guanbeigou)
    with pytest.raises(NotFoundError):
        services.lend_tool(resource=drill, borrower=neighbour(guanbeigou), actor=staff_actor(outsider))
    assert not Loan.objects.exists()


def test_only_tools_are_lent(guanbeigou, desk):
    from .conftest import make_resource

    blankets = make_resource(guanbeigou)
    with pytest.raises(DomainError):
        services.lend_tool(resource=blankets, borrower=neighbour(guanbeigou), actor=desk)


def test_bad_due_date_and_notes(guanbeigou, desk):
    drill = make_tool(guanbeigou)
    a = neighbour(guanbeigou)
    with pytest.raises(DomainError) as caught:
        services.lend_tool(
            resource=drill, borrower=a, actor=desk, due=timezone.localdate() - datetime.timedelta(days=1)
        )
    assert caught.value.field == "due"
    with pytest.raises(DomainError) as caught:
        services.lend_tool(resource=drill, borrower=a, actor=desk, condition="x" * 5_000_000)
    assert caught.value.field == "condition"
    drill.refresh_from_db()
    assert drill.taken == 0 and not Loan.objects.exists()


def test_overdue_task_run_twice_tells_once(guanbeigou, desk):
    drill = make_tool(guanbeigou)
    a = neighbour(guanbeigou)
    loan = services.lend_tool(resource=drill, borrower=a, actor=desk)
    Loan.objects.filter(pk=loan.pk).update(
        start=timezone.localdate() - datetime.timedelta(days=20),
        due=timezone.localdate() - datetime.timedelta(days=2),
    )
    assert tasks.mark_overdue_loans.delay().get() == 1
    assert tasks.mark_overdue_loans.delay().get() == 0
    assert Notification.objects.filter(person=a, kind=NotificationKind.LOAN_OVERDUE).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.LOAN_OVERDUE).count() == 1
    loan.refresh_from_db()
    assert loan.overdue_since == timezone.localdate()


def test_overdue_notice_is_sent_even_if_the_mark_was_lost(guanbeigou, desk):
    """The key alone keeps a repeated notice out: clearing the mark and re-running tells nobody again."""
    drill = make_tool(guanbeigou)
    a = neighbour(guanbeigou)
    loan = services.lend_tool(resource=drill, borrower=a, actor=desk)
    Loan.objects.filter(pk=loan.pk).update(
        start=timezone.localdate() - datetime.timedelta(days=20),
        due=timezone.localdate() - datetime.timedelta(days=2),
    )
    services.mark_overdue_loans(actor=desk)
    Loan.objects.filter(pk=loan.pk).update(overdue_since=None)
    services.mark_overdue_loans(actor=desk)
    assert Notification.objects.filter(person=a, kind=NotificationKind.LOAN_OVERDUE).count() == 1


def test_returned_and_on_time_loans_are_not_overdue(guanbeigou, desk):
    drill = make_tool(guanbeigou, copies=2)
    a, b = neighbour(guanbeigou), neighbour(guanbeigou)
    returned = services.lend_tool(resource=drill, borrower=a, actor=desk)
    services.lend_tool(resource=drill, borrower=b, actor=desk)
    services.return_tool(loan=returned, actor=desk)
    Loan.objects.filter(pk=returned.pk).update(
        start=timezone.localdate() - datetime.timedelta(days=20),
        due=timezone.localdate() - datetime.timedelta(days=2),
    )
    assert services.mark_overdue_loans(actor=desk) == 0
    assert not Notification.objects.filter(kind=NotificationKind.LOAN_OVERDUE).exists()


def test_a_tool_with_copies_out_cannot_be_withdrawn(guanbeigou, desk):
    drill = make_tool(guanbeigou)
    services.lend_tool(resource=drill, borrower=neighbour(guanbeigou), actor=desk)
    with pytest.raises(ConflictError):
        services.set_resource_status(resource=drill, status=Resource.Status.WITHDRAWN, actor=desk)
