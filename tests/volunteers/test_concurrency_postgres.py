"""Real concurrency on PostgreSQL: fifty residents signing up at once for twenty places, then cancellations.

Every sign-up, cancellation and promotion locks the Event row first (volunteers.services.events), so the
places are counted and taken one transaction at a time, in the order the transactions reached the lock.
"""

import pytest

from tests.concurrency import at_once as run_at_once
from tests.factories import community
from tests.volunteers.factories import make_event
from volunteers import services
from volunteers.models import Signup

from .events_support import portal_actor, resident_of, volunteer_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
S = Signup.Status


def at_once(actions):
    """A sign-up's outcome is its status (confirmed or waiting); anything else its class name."""
    return run_at_once(
        actions, outcome=lambda result: result.status if isinstance(result, Signup) else type(result).__name__
    )


def _in_arrival_order(signups):
    """Arrival is the order the transactions took the event's lock: the id, and the insert time with it."""
    by_id = [s.pk for s in sorted(signups, key=lambda s: s.pk)]
    by_time = [s.pk for s in sorted(signups, key=lambda s: (s.created_at, s.pk))]
    return by_id == by_time


def test_fifty_sign_ups_for_twenty_places_give_twenty_places_and_thirty_waiting_in_order():
    here = community()
    event = make_event(here, capacity=20)
    people = [resident_of(here) for _ in range(50)]

    outcomes = at_once(
        [lambda p=p: services.sign_up(event=event, person=p, actor=portal_actor(p)) for p in people]
    )

    assert outcomes == sorted([S.CONFIRMED] * 20 + [S.WAITING] * 30)
    signups = list(Signup.objects.filter(event=event).order_by("pk"))
    assert _in_arrival_order(signups)
    # The first twenty to arrive hold the places; the thirty after them wait, numbered 1…30 in arrival order.
    assert [s.status for s in signups] == [S.CONFIRMED] * 20 + [S.WAITING] * 30
    assert [services.waiting_position(s) for s in signups[20:]] == list(range(1, 31))

    # Five cancel at once: the first five waiting are offered the places, in order; the rest move up.
    leaving = signups[:5]
    outcomes = at_once(
        [lambda s=s: services.cancel_signup(signup=s, actor=portal_actor(s.person)) for s in leaving]
    )
    assert outcomes == [S.CANCELLED] * 5
    after = {s.pk: s for s in Signup.objects.filter(event=event)}
    assert [after[s.pk].status for s in signups[20:25]] == [S.OFFERED] * 5
    assert [after[s.pk].status for s in signups[25:]] == [S.WAITING] * 25
    assert [services.waiting_position(after[s.pk]) for s in signups[25:]] == list(range(1, 26))
    assert Signup.objects.filter(event=event, status__in=(S.CONFIRMED, S.OFFERED)).count() == 20

    # The same person twice at once: one sign-up.
    twice = leaving[0].person  # cancelled above: free to sign up again, once
    outcomes = at_once([lambda: services.sign_up(event=event, person=twice, actor=portal_actor(twice))] * 2)
    assert outcomes == sorted(["already_signed_up", S.WAITING])


def test_a_volunteer_role_fills_exactly_under_concurrency():
    here = community()
    event = make_event(here, capacity=0, roles=[("引导", 3)])
    role = event.roles.get()
    volunteers = [volunteer_of(here) for _ in range(10)]

    outcomes = at_once(
        [
            lambda v=v: services.sign_up(
                event=event, person=v.person, role=role, actor=portal_actor(v.person)
            )
            for v in volunteers
        ]
    )

    assert outcomes == sorted([S.CONFIRMED] * 3 + [S.WAITING] * 7)
    assert Signup.objects.filter(role=role, status=S.CONFIRMED).count() == 3


def test_the_offer_task_run_twice_at_once_lapses_and_offers_once():
    import datetime

    from django.utils import timezone

    from charity.models import Notification

    here = community()
    event = make_event(here, capacity=1)
    a, b, c = (
        services.sign_up(event=event, person=p, actor=portal_actor(p))
        for p in [resident_of(here) for _ in range(3)]
    )
    services.cancel_signup(signup=a, actor=portal_actor(a.person))
    later = timezone.now() + datetime.timedelta(hours=25)

    outcomes = at_once([lambda: services.expire_offers(now=later)] * 2)

    assert outcomes == ["int", "int"]
    b.refresh_from_db()
    c.refresh_from_db()
    assert (b.status, c.status) == (S.LAPSED, S.OFFERED)
    assert Notification.objects.filter(person=c.person).count() == 1
