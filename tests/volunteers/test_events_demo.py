"""The events demo: Guanbeigou's Together series with sign-ups and a waiting list, Dalong's team events."""

import pytest

from charity import demo as charity_demo
from charity.models import AuditEvent, Notification
from volunteers import demo_events, demo_volunteers
from volunteers.models import Event, EventSeries, Signup

pytestmark = pytest.mark.django_db
S = Signup.Status


def seed():
    charity_demo.seed()
    demo_volunteers.seed()
    demo_events.seed()


def test_the_demo_adds_the_together_series_and_dalongs_events_once():
    seed()
    together = EventSeries.objects.get(community__name="官北沟社区", name="一起")
    kinds = set(Event.objects.filter(series=together).values_list("kind", flat=True))
    assert kinds == {"charity_market", "free_clinic", "first_aid_training", "online_class"}
    training = Event.objects.get(title="一起·急救培训")
    statuses = list(
        Signup.objects.filter(event=training, role=None).order_by("pk").values_list("status", flat=True)
    )
    assert statuses.count(S.WAITING) >= 1 and statuses.count(S.OFFERED) == 1
    assert statuses.count(S.CONFIRMED) + statuses.count(S.OFFERED) == training.capacity
    market = Event.objects.get(title="一起·公益集市")
    served = Signup.objects.filter(event=market, role__isnull=False, checked_out_at__isnull=False)
    assert served.count() >= 2 and all(s.volunteer_id for s in served)
    assert Event.objects.filter(community__name="大龙社区").count() == 6
    assert Event.objects.filter(
        community__name="大龙社区", is_risky=True, insurance_recorded_at__isnull=False
    ).exists()
    assert Signup.objects.filter(event__community__name="大龙社区", role__isnull=False).exists()
    counts = (
        Event.objects.count(),
        Signup.objects.count(),
        AuditEvent.objects.count(),
        Notification.objects.count(),
    )
    seed()
    assert (
        Event.objects.count(),
        Signup.objects.count(),
        AuditEvent.objects.count(),
        Notification.objects.count(),
    ) == counts
