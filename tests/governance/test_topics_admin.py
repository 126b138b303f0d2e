# ruff: noqa: F811  (the fixtures imported from topic_world are the tests' arguments)
"""Topics' moderation in the admin: the queue (open topics, the most supported first; comments to hide),
the decisions (answer, merge, turn into a project, hide), each through governance.topics, scoped to the
staff member's areas: elsewhere is 404, a viewer is refused, a refusal is shown with nothing changed."""

import pytest
from django.test import Client
from django.utils import translation

from charity.models import AuditEvent
from governance import topics
from governance.models import Project, Topic, TopicComment, TopicSupport

from .topic_world import (  # noqa: F401  (fixtures)
    EN,
    as_resident,
    neighbours,
    project_fields,
    raise_one,
    staff,
    stranger,
    topic,
)

pytestmark = pytest.mark.django_db
TS = Topic.Status
LIST = "/admin/governance/topic/"


def client_for(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


def step_url(topic, step):
    return f"{LIST}{topic.pk}/step/{step}/"


def snapshot(topic):
    return (
        list(Topic.objects.filter(pk=topic.pk).values()),
        list(TopicSupport.objects.order_by("id").values_list("topic_id", "person_id")),
        Project.objects.count(),
        AuditEvent.objects.count(),
    )


def test_the_queue_shows_open_topics_most_supported_first_in_chinese(
    community_staff, topic, neighbours, staff, stranger
):
    garden = raise_one(neighbours[0], title="共享菜园")
    for person in neighbours[1:]:
        topics.support_topic(topic=garden, actor=as_resident(person))
    answered = raise_one(neighbours[1], title="楼道灯")
    for person in (neighbours[0], neighbours[2]):
        topics.support_topic(topic=answered, actor=as_resident(person))
    topics.answer_topic(topic=answered, answer="已修好", actor=staff)
    raise_one(stranger, title="大龙乒乓球队")
    response = client_for(community_staff).get(LIST)  # the default language: Chinese
    html = response.content.decode()
    assert response.status_code == 200 and 'lang="zh-hans"' in html and "选择" in html
    with translation.override("zh-hans"):
        if translation.gettext("topics") != "topics":  # once the lead merged /work/tr/topics.json
            assert "议题" in html
    assert html.index("共享菜园") < html.index(topic.title) < html.index("楼道灯")
    assert "大龙乒乓球队" not in html  # another community's


def test_staff_elsewhere_get_404_and_a_viewer_cannot_decide(topic, outsider, community_viewer):
    other = client_for(outsider)
    assert other.get(f"{LIST}{topic.pk}/change/").status_code == 404
    assert other.get(step_url(topic, "answer")).status_code == 404
    viewer = client_for(community_viewer)
    assert viewer.get(f"{LIST}{topic.pk}/change/").status_code == 200
    before = snapshot(topic)
    assert viewer.post(step_url(topic, "answer"), {"answer": "好"}).status_code == 403
    assert snapshot(topic) == before


def test_staff_answer_a_topic_in_the_admin(community_staff, topic):
    client = client_for(community_staff)
    page = client.get(f"{LIST}{topic.pk}/change/", **EN).content.decode()
    for step, title in (("answer", "Answer the topic"), ("project", "Turn into a service project")):
        assert f'<a href="{step_url(topic, step)}">{title}</a>' in page
    before = snapshot(topic)
    refused = client.post(step_url(topic, "answer"), {"answer": "  "}, **EN)
    assert refused.status_code == 200 and "Write the answer residents will read." in refused.content.decode()
    assert snapshot(topic) == before
    response = client.post(step_url(topic, "answer"), {"answer": "周三晚上活动室可用。"})
    assert response.status_code == 302
    topic.refresh_from_db()
    assert (topic.status, topic.answer) == (TS.ANSWERED, "周三晚上活动室可用。")


def test_staff_merge_two_topics_in_the_admin(community_staff, topic, neighbours):
    other = raise_one(neighbours[0], title="广场舞需要音响")
    topics.support_topic(topic=topic, actor=as_resident(neighbours[1]))
    client = client_for(community_staff)
    form = client.get(step_url(topic, "merge")).content.decode()
    assert f'value="{other.pk}"' in form and f'value="{topic.pk}"' not in form
    assert client.post(step_url(topic, "merge"), {"into": other.pk}).status_code == 302
    topic.refresh_from_db()
    assert topic.merged_into == other
    assert set(TopicSupport.objects.filter(topic=other).values_list("person__name", flat=True)) == {
        "王阿姨",
        "李奶奶",
    }


def test_staff_turn_a_topic_into_a_project_in_the_admin(community_staff, topic, neighbours, hub):
    topics.support_topic(topic=topic, actor=as_resident(neighbours[0]))
    client = client_for(community_staff)
    form = client.get(step_url(topic, "project")).content.decode()
    assert topic.title in form and hub.name in form
    data = {
        "lead_organization": hub.pk,
        "project_title": "“一起”广场舞队",
        "summary": "每周三次排练。",
        "goals": "组建 30 人舞蹈队。",
        "beneficiary_groups": "中老年居民",
        "target_beneficiaries": 30,
        "budget_yuan": "3000.00",
        "evaluation_criteria": "30 名队员",
        "starts_on": "2026-07-01",
        "ends_on": "2026-06-01",  # before the start: refused, nothing changed
        "milestones": "2026-07-15, 第一次排练",
    }
    before = snapshot(topic)
    refused = client.post(step_url(topic, "project"), data, **EN)
    assert refused.status_code == 200 and snapshot(topic) == before
    bad_milestone = client.post(step_url(topic, "project"), {**data, "milestones": "下周, 排练"}, **EN)
    assert "Write each milestone as" in bad_milestone.content.decode() and snapshot(topic) == before
    response = client.post(step_url(topic, "project"), {**data, "ends_on": "2026-12-31"})
    assert response.status_code == 302
    topic.refresh_from_db()
    project = topic.project
    assert (topic.status, project.budget_fen, project.milestones.count()) == (TS.PROJECT, 300_000, 1)
    assert set(project.followers.values_list("name", flat=True)) == {"王阿姨", "张大爷"}


def test_staff_hide_a_topic_and_a_comment_with_a_reason(community_staff, topic, neighbours):
    comment = topics.comment_on_topic(topic=topic, text="低价装修找我", actor=as_resident(neighbours[0]))
    client = client_for(community_staff)
    queue = client.get("/admin/governance/topiccomment/?hidden=no").content.decode()
    hide_url = f"{LIST}{topic.pk}/comments/{comment.pk}/hide/"
    assert "低价装修找我" in queue and hide_url in queue
    refused = client.post(hide_url, {"reason": ""}, **EN)
    assert "Say why: the reason is kept on the record." in refused.content.decode()
    assert client.post(hide_url, {"reason": "广告"}).status_code == 302
    comment.refresh_from_db()
    assert comment.hidden_reason == "广告"
    assert client.post(step_url(topic, "hide"), {"reason": "重复"}).status_code == 302
    topic.refresh_from_db()
    assert topic.status == TS.HIDDEN
    assert (
        client_for(community_staff).get(f"{LIST}{topic.pk}/change/").status_code == 200
    )  # staff still see it


def test_staff_raise_a_topic_for_a_resident_in_the_admin(community_staff, resident, guanbeigou, stranger):
    client = client_for(community_staff)
    data = {
        "community": guanbeigou.pk,
        "title": "楼道加装扶手",
        "description": "居民会上几位老人提出。",
        "category": "elderly",
        "raised_by": resident.pk,
    }
    refused = client.post(f"{LIST}add/", {**data, "title": ""}, **EN)
    assert refused.status_code == 200 and not Topic.objects.exists()
    other = client.post(f"{LIST}add/", {**data, "raised_by": stranger.pk})  # not offered: out of scope
    assert other.status_code == 200 and not Topic.objects.exists()
    assert client.post(f"{LIST}add/", data).status_code == 302
    topic = Topic.objects.get()
    assert (topic.raised_by, topic.raised_by_staff) == (resident, community_staff)


def test_the_changelists_run_as_many_queries_for_500_topics_as_for_1(
    community_staff, topic, neighbours, guanbeigou, count_queries
):
    client = client_for(community_staff)
    client.get(LIST)
    one = [count_queries(lambda p=p: client.get(p)) for p in (LIST, "/admin/governance/topiccomment/")]
    rows = Topic.objects.bulk_create(
        Topic(community=guanbeigou, title=f"议题{n}", description="想要", category="other")
        for n in range(499)
    )
    TopicSupport.objects.bulk_create(TopicSupport(topic=t, person=p) for t in rows[:100] for p in neighbours)
    TopicComment.objects.bulk_create(TopicComment(topic=t, person=neighbours[0], text="好") for t in rows)
    many = [count_queries(lambda p=p: client.get(p)) for p in (LIST, "/admin/governance/topiccomment/")]
    assert many == one, "a topics changelist runs more queries for more rows"


def test_staff_enter_a_paper_sheet_and_link_a_topic_to_an_existing_project(
    community_staff, topic, neighbours, staff, hub
):
    client = client_for(community_staff)
    form = client.get(step_url(topic, "paper_supports")).content.decode()
    assert neighbours[0].name in form and neighbours[0].mobile not in form
    people = [p.pk for p in neighbours[:2]]
    assert client.post(step_url(topic, "paper_supports"), {"people": people}).status_code == 302
    assert TopicSupport.objects.filter(topic=topic).count() == 2
    other = raise_one(neighbours[2], title="读书角")
    project = topics.turn_into_project(topic=other, actor=staff, **project_fields(hub))
    assert client.post(step_url(topic, "existing_project"), {"project": project.pk}).status_code == 302
    topic.refresh_from_db()
    assert topic.project == project
    assert set(project.followers.values_list("name", flat=True)) == {"王阿姨", "张大爷", "李奶奶", "赵叔叔"}
