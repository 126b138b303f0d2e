"""Real concurrency on PostgreSQL: the last units of an exchange item and the last copy of a tool."""

import pytest

from resources import services
from resources.models import Claim, Loan, Resource, WaitlistEntry
from tests.concurrency import at_once
from tests.factories import StaffUserFactory, assign, community

from .conftest import make_item, make_tool, neighbour, portal_actor, staff_actor

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_thirty_residents_claiming_the_last_ten_units_get_exactly_ten_claims():
    here = community()
    item = make_item(here, quantity=10, title="冬被")
    residents = [neighbour(here) for _ in range(30)]

    outcomes = at_once(
        [lambda p=p: services.claim_item(resource=item, person=p, actor=portal_actor(p)) for p in residents]
    )

    assert outcomes == ["Claim"] * 10 + ["item_gone"] * 20
    item.refresh_from_db()
    assert item.taken == 10 and item.status == Resource.Status.RESERVED
    assert Claim.objects.filter(resource=item).count() == 10


def test_two_borrowers_for_the_last_copy_get_one_loan_and_one_waiting_place():
    here = community()
    desk = staff_actor(assign(StaffUserFactory(username="desk"), here))
    drill = make_tool(here, copies=1)
    first, second = neighbour(here), neighbour(here)

    outcomes = at_once(
        [
            lambda p=p: services.lend_tool(resource=drill, borrower=p, actor=desk, wait_if_out=True)
            for p in (first, second)
        ]
    )

    assert outcomes == ["Loan", "WaitlistEntry"]
    drill.refresh_from_db()
    assert drill.taken == 1
    assert Loan.objects.count() == 1 and WaitlistEntry.objects.count() == 1
