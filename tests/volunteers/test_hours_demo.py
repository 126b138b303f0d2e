"""The hours demo: a year of Dalong's team hours, Guanbeigou's Together hours, one certificate issued and one
revoked; run twice, made once. Runs after the volunteers and events demos (whatever they made)."""

import datetime

import pytest
from django.utils import timezone

from charity import demo as charity_demo
from volunteers import demo
from volunteers.models import Certificate, ServiceRecord

pytestmark = pytest.mark.django_db


def counts():
    return (
        ServiceRecord.objects.count(),
        ServiceRecord.objects.filter(status="confirmed").count(),
        Certificate.objects.count(),
        Certificate.objects.filter(revoked_at__isnull=False).count(),
    )


def test_hours_demo_once_with_a_year_of_team_hours_and_two_certificates():
    charity_demo.seed()
    demo.seed()
    for team in ("凤凰花志愿服务队", "大龙社区舞蹈队"):
        confirmed = ServiceRecord.objects.filter(organizer__name=team, status="confirmed")
        assert confirmed.values("volunteer").distinct().count() >= 4
        days = [timezone.localtime(r.started_at).date() for r in confirmed]
        assert min(days) <= timezone.localdate() - datetime.timedelta(days=330)
    assert ServiceRecord.objects.filter(community__name="官北沟社区", event__isnull=False).exists()
    first = counts()
    assert first[2] == 2 and first[3] == 1
    genuine = Certificate.objects.get(revoked_at__isnull=True)
    assert genuine.total_minutes == sum(r.minutes for r in genuine.records.all())
    assert all(r.status == "confirmed" for r in genuine.records.all())
    demo.seed()
    assert counts() == first
