"""The demo's residents' topics: both communities, with supporters and comments, one answered in each; the
Guanbeigou topic taken up by the "Together" project once that project exists; seeded twice, the same."""

import datetime

import pytest

from charity import demo as charity_demo
from charity.models import AuditEvent, Organization
from charity.services import Actor
from governance import demo_topics, services
from governance.models import Topic, TopicComment, TopicSupport

pytestmark = pytest.mark.django_db
TS = Topic.Status


def counts():
    return (Topic.objects.count(), TopicSupport.objects.count(), TopicComment.objects.count())


def test_the_demo_topics_fill_both_communities_and_seeding_twice_changes_nothing():
    charity_demo.seed()
    assert demo_topics.seed() == len(demo_topics.TOPICS)
    for community in ("官北沟社区", "大龙社区"):
        rows = Topic.objects.filter(community__name=community)
        assert rows.count() >= 2
        assert rows.filter(status=TS.ANSWERED).count() == 1
        assert TopicSupport.objects.filter(topic__community__name=community).count() >= 5
        assert TopicComment.objects.filter(topic__community__name=community).exists()
        assert all(t.raised_by_id for t in rows)
    assert Topic.objects.get(title="每月办一次公益市集和义诊").status == TS.OPEN  # no "Together" project yet
    before = counts()
    assert demo_topics.seed() == 0
    assert counts() == before


def test_the_together_topic_links_to_the_together_project_once_it_exists():
    people = charity_demo.seed()["people"]["guanbeigou"]
    demo_topics.seed()
    topic = Topic.objects.get(title="每月办一次公益市集和义诊")
    community = topic.community
    hub = Organization.objects.get(name="祯祥社")
    project = services.create_project(
        actor=Actor.system(AuditEvent.Surface.COMMAND),
        community=community,
        lead_organization=hub,
        title="“一起”社区公益服务",
        summary="每月一次公益市集、义诊和公益讲座。",
        goals="一年举办 12 次活动。",
        beneficiary_groups="社区居民",
        target_beneficiaries=500,
        budget_fen=3_000_000,
        evaluation_criteria="举办 12 次活动",
        starts_on=datetime.date(2026, 1, 1),
        ends_on=datetime.date(2026, 12, 31),
    )
    demo_topics.seed()
    topic.refresh_from_db()
    assert (topic.status, topic.project) == (TS.PROJECT, project)
    followers = set(project.followers.all())
    assert topic.raised_by in followers and people[2] in followers
    assert len(followers) == 1 + topic.supports.count()
    demo_topics.seed()
    assert project.followers.count() == len(followers)
