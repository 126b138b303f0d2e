import pytest
from django.core.management import call_command

from needs.models import Need, Offer
from tests.demo_data import seeded_once

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """seed_demo run once on the empty database for the module (a second or more each run); each test reads
    it and seeds again in a savepoint of its own (pytest-django's `db`), rolled back after it."""
    with seeded_once(django_db_blocker):
        yield


def test_seed_demo_adds_needs_for_both_communities_across_statuses(settings, seeded):
    settings.DEBUG = True
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


def test_seed_demo_leaves_a_runs_proposals_with_reasons_for_both_communities(settings, seeded):
    from needs.match_reasons import reasons_in_words
    from needs.models import Match, MatchRun

    settings.DEBUG = True
    proposed = Match.objects.filter(status=Match.Status.PROPOSED).select_related(
        "need__community", "resource"
    )
    by_community = {}
    for match in proposed:
        by_community.setdefault(match.need.community.name, []).append(
            (match.need.summary, match.resource.title, reasons_in_words(match.reasons))
        )
    assert set(by_community) == {"大龙社区", "官北沟社区"}
    pairs = {(c, need, resource) for c, rows in by_community.items() for need, resource, _why in rows}
    # The merchant's blankets go to the winter needs of elderly residents, the counsellor's time to a family.
    assert ("大龙社区", "冬季为独居老人送棉被", "冬季棉被 20 床") in pairs
    assert ("官北沟社区", "今冬为社区独居老人送厚棉被", "冬季棉被 20 床") in pairs
    assert ("官北沟社区", "一户困难家庭需要每周一次的心理辅导", "家庭心理咨询（社工）") in pairs
    for rows in by_community.values():
        for _need, _resource, reasons in rows:
            assert "同一社区" in reasons or "same community" in reasons, reasons
    assert any("心理辅导" in r or "counselling" in r for rows in by_community.values() for _n, _t, r in rows)
    runs = MatchRun.objects.filter(trigger=MatchRun.Trigger.COMMAND, status=MatchRun.Status.DONE).count()
    assert runs == 2

    # Seeding again runs nothing more: one set of open proposals.
    count = proposed.count()
    call_command("seed_demo", verbosity=0)
    assert Match.objects.filter(status=Match.Status.PROPOSED).count() == count
    assert MatchRun.objects.count() == runs
