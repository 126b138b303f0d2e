"""Real concurrency on PostgreSQL: accepts racing for the last units of a resource, or for one need."""

import pytest

from charity.models import AuditAction, AuditEvent, StaffAssignment
from charity.services import Actor
from needs import matches
from needs.models import Match
from resources.models import Resource
from tests.concurrency import at_once
from tests.factories import StaffUserFactory, assign, community

from .match_world import blankets, make_need, make_run, propose

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def here():
    return community()


@pytest.fixture
def desk(here):
    user = assign(StaffUserFactory(username="review_desk"), here, StaffAssignment.Role.STAFF)
    return Actor(surface=AuditEvent.Surface.ADMIN, user=user)


def test_two_accepts_racing_for_the_last_units_give_exactly_one_acceptance(here, desk):
    resource = blankets(here, quantity=4)  # each wants 3 of the 4: one of them cannot have them
    run = make_run(here)
    contenders = [propose(make_need(here, quantity=3), resource, quantity=3, run=run) for _ in range(2)]

    outcomes = at_once([lambda m=m: matches.accept_match(match=m, actor=desk) for m in contenders])

    assert outcomes == ["Match", "resource_used_up"]
    resource.refresh_from_db()
    assert resource.taken == 3 and resource.status == Resource.Status.AVAILABLE
    assert sorted(Match.objects.values_list("status", flat=True)) == ["accepted", "proposed"]
    assert AuditEvent.objects.filter(action=AuditAction.MATCH_ACCEPTED).count() == 1


def test_ten_accepts_for_the_last_three_units_give_three_and_reserve_the_resource(here, desk):
    resource = blankets(here, quantity=3)
    run = make_run(here)
    contenders = [propose(make_need(here, quantity=1), resource, run=run) for _ in range(10)]

    outcomes = at_once([lambda m=m: matches.accept_match(match=m, actor=desk) for m in contenders])

    assert outcomes == ["Match"] * 3 + ["resource_used_up"] * 7
    resource.refresh_from_db()
    assert resource.taken == 3 and resource.status == Resource.Status.RESERVED
    assert Match.objects.filter(status="accepted").count() == 3


def test_two_accepts_for_one_need_that_wants_one_unit_give_one(here, desk):
    need = make_need(here, quantity=1)
    run = make_run(here)
    contenders = [propose(need, blankets(here), run=run) for _ in range(2)]

    outcomes = at_once([lambda m=m: matches.accept_match(match=m, actor=desk) for m in contenders])

    assert outcomes == ["Match", "need_covered"]
    assert sum(Resource.objects.values_list("taken", flat=True)) == 1
