"""The second-hand exchange: first come first served, one claim per resident, hand-over, expiry."""

import datetime

import pytest
from django.utils import timezone

from charity.errors import ConflictError, NotFoundError
from charity.models import AuditAction, AuditEvent, Notification, NotificationKind
from resources import services, tasks
from resources.models import Claim, Resource
from tests.factories import community

from .conftest import SYSTEM, make_item, neighbour, portal_actor, staff_actor

pytestmark = pytest.mark.django_db


def claim(item, person):
    return services.claim_item(resource=item, person=person, actor=portal_actor(person))


def test_claims_up_to_the_quantity_then_it_is_gone(guanbeigou, english):
    item = make_item(guanbeigou, quantity=2)
    a, b, c = (neighbour(guanbeigou) for _ in range(3))
    claim(item, a)
    claim(item, b)
    item.refresh_from_db()
    assert item.taken == 2 and item.status == Resource.Status.RESERVED
    with pytest.raises(ConflictError) as caught:
        claim(item, c)
    assert caught.value.code == "item_gone"
    assert "all been claimed" in str(caught.value.message)
    assert Claim.objects.count() == 2
    assert AuditEvent.objects.filter(action=AuditAction.ITEM_CLAIMED).count() == 2


def test_claiming_twice_is_refused_and_takes_nothing(guanbeigou):
    item = make_item(guanbeigou, quantity=5)
    a = neighbour(guanbeigou)
    claim(item, a)
    with pytest.raises(ConflictError) as caught:
        claim(item, a)
    assert caught.value.code == "already_claimed"
    item.refresh_from_db()
    assert item.taken == 1 and Claim.objects.count() == 1


def test_the_giver_cannot_claim_their_own(guanbeigou):
    giver = neighbour(guanbeigou)
    item = make_item(guanbeigou, owner=giver)
    with pytest.raises(ConflictError):
        claim(item, giver)


def test_out_of_reach_is_not_found(guanbeigou):
    item = make_item(guanbeigou)
    far = neighbour(community("广州市", "番禺区", "石碁镇", "大龙社区"))
    with pytest.raises(NotFoundError):
        claim(item, far)
    item.refresh_from_db()
    assert item.taken == 0


def test_claiming_for_someone_else_needs_staff(guanbeigou):
    item = make_item(guanbeigou)
    a, b = neighbour(guanbeigou), neighbour(guanbeigou)
    with pytest.raises(NotFoundError):
        services.claim_item(resource=item, person=b, actor=portal_actor(a))


def test_hand_over_tells_the_claimant_and_uses_the_item_up(guanbeigou):
    giver = neighbour(guanbeigou)
    item = make_item(guanbeigou, owner=giver, quantity=1)
    a = neighbour(guanbeigou)
    row = claim(item, a)
    services.hand_over_claim(claim=row, actor=portal_actor(giver))
    item.refresh_from_db()
    assert item.status == Resource.Status.USED_UP
    assert Notification.objects.get(person=a).kind == NotificationKind.CLAIM_STATUS
    with pytest.raises(ConflictError):
        services.hand_over_claim(claim=row, actor=portal_actor(giver))
    assert Notification.objects.filter(person=a).count() == 1


def test_only_the_giver_or_staff_confirm_the_hand_over(guanbeigou, community_staff):
    item = make_item(guanbeigou, quantity=2)
    a, b = neighbour(guanbeigou), neighbour(guanbeigou)
    row = claim(item, a)
    with pytest.raises(NotFoundError):
        services.hand_over_claim(claim=row, actor=portal_actor(b))
    with pytest.raises(NotFoundError):  # not even the claimant
        services.hand_over_claim(claim=row, actor=portal_actor(a))
    services.hand_over_claim(claim=row, actor=staff_actor(community_staff))


def test_cancelling_frees_the_unit(guanbeigou):
    item = make_item(guanbeigou, quantity=1)
    a, b = neighbour(guanbeigou), neighbour(guanbeigou)
    row = claim(item, a)
    services.cancel_claim(claim=row, actor=portal_actor(a))
    item.refresh_from_db()
    assert item.taken == 0 and item.status == Resource.Status.AVAILABLE
    claim(item, b)
    with pytest.raises(ConflictError):  # b took the freed unit
        claim(item, a)


def test_expiry_run_twice_tells_the_giver_once(guanbeigou):
    giver = neighbour(guanbeigou)
    today = timezone.localdate()
    old = make_item(
        guanbeigou,
        owner=giver,
        title="旧书",
        available_from=today - datetime.timedelta(days=30),
        available_until=today - datetime.timedelta(days=1),
    )
    current = make_item(guanbeigou, owner=giver, title="椅子", available_until=today)
    assert tasks.expire_exchange_items.delay().get() == 1
    assert tasks.expire_exchange_items.delay().get() == 0
    old.refresh_from_db()
    current.refresh_from_db()
    assert old.status == Resource.Status.EXPIRED and current.status == Resource.Status.AVAILABLE
    assert Notification.objects.filter(person=giver, kind=NotificationKind.ITEM_EXPIRED).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.ITEM_EXPIRED).count() == 1
    with pytest.raises(ConflictError):
        claim(old, neighbour(guanbeigou))


def test_a_claim_made_before_expiry_can_still_be_handed_over(guanbeigou):
    giver = neighbour(guanbeigou)
    today = timezone.localdate()
    item = make_item(guanbeigou, owner=giver, quantity=3, available_until=today)
    row = claim(item, neighbour(guanbeigou))
    services.expire_exchange_items(actor=SYSTEM, today=today + datetime.timedelta(days=1))
    services.hand_over_claim(claim=row, actor=portal_actor(giver))
    assert Claim.objects.get().status == Claim.Status.HANDED_OVER
