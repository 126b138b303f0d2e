"""The demo's coordination meetings: Guanbeigou's city, district, street and community meetings, with action
items one of which is overdue and one escalated from the community to the street; seeded twice, the same."""

import pytest
from django.apps import apps
from django.utils import timezone

from charity import demo as charity_demo
from governance import demo_meetings
from governance.models import ActionItem, AgendaItem, Escalation, Meeting

pytestmark = pytest.mark.django_db


def counts():
    return {m._meta.label: m.objects.count() for m in apps.get_app_config("governance").get_models()} | {
        "charity.AuditEvent": apps.get_model("charity", "AuditEvent").objects.count()
    }


def test_the_demo_meetings_cover_four_levels_with_an_overdue_and_an_escalated_item():
    charity_demo.seed()
    demo_meetings.seed()
    levels = set(Meeting.objects.values_list("area__level", flat=True))
    assert levels == {"city", "district", "street", "community"}
    today = timezone.localdate()
    community = Meeting.objects.get(title="官北沟社区工作例会")
    assert community.status == Meeting.Status.PUBLISHED and community.area.name == "官北沟社区"
    items = ActionItem.objects.filter(decision__meeting=community)
    overdue = items.filter(status__in=ActionItem.OPEN_STATUSES, due_on__lt=today, escalations=0)
    assert overdue.count() == 1 and overdue.get().overdue_since is not None
    escalated = items.get(escalations=1)
    assert escalated.area.name == "示例街道" and escalated.overdue_since is not None
    assert Escalation.objects.get(item=escalated).from_area == community.area
    street_meeting = Meeting.objects.get(title="示例街道重点事项会议")
    assert street_meeting.status == Meeting.Status.PLANNED and street_meeting.starts_at > timezone.now()
    assert street_meeting.agenda.get(action_item=escalated).source == AgendaItem.Source.ESCALATED
    assert items.filter(status="done").exists()


def test_seeding_the_meetings_twice_changes_nothing():
    charity_demo.seed()
    demo_meetings.seed()
    first = counts()
    demo_meetings.seed()
    assert counts() == first
