import pytest
from django.core.management import call_command

from needs.models import Need, Offer

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_needs_for_both_communities_across_statuses(settings):
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    needs = Need.objects.all()
    assert {n.community.name for n in needs} == {"大龙社区", "官北沟社区"}
    statuses = {n.status for n in needs}
    assert {"submitted", "published", "matched", "in_progress", "met", "declined"} <= statuses
    assert all(n.is_illustrative for n in needs)
    summaries = " ".join(n.summary for n in needs)
    for word in ("扶手", "乒乓球", "监控", "棉被", "心理辅导"):
        assert word in summaries
    assert Offer.objects.filter(need__posted_by__mobile="13800138000").exists()
    count = needs.count()
    call_command("seed_demo", verbosity=0)
    assert Need.objects.count() == count
