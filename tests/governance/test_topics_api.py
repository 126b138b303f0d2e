# ruff: noqa: F811  (the fixtures imported from topic_world are the tests' arguments)
"""`GET /api/v1/topics/`: scoped like every list (another community's topic is 404), hidden topics and
comments never in an answer, support counts in the same query, filters refused when malformed, and as many
queries for 500 topics as for 1."""

import pytest
from rest_framework.test import APIClient

from governance import topics
from governance.models import Topic, TopicComment, TopicSupport

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
URL = "/api/v1/topics/"


@pytest.fixture
def staff_api(community_staff):
    client = APIClient()
    client.force_login(community_staff)
    return client


@pytest.fixture
def outside_api(outside_org_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {outside_org_key}")
    return client


@pytest.fixture
def dalong_topic(stranger):
    return raise_one(stranger, title="大龙乒乓球队")


def test_staff_and_a_hub_read_the_topics_of_their_areas_only(
    staff_api, hub_api, topic, neighbours, dalong_topic
):
    topics.support_topic(topic=topic, actor=as_resident(neighbours[0]))
    topics.comment_on_topic(topic=topic, text="我来教", actor=as_resident(neighbours[1]))
    for client in (staff_api, hub_api):
        body = client.get(URL).json()
        assert [row["id"] for row in body["results"]] == [topic.pk]
        row = body["results"][0]
        assert (row["title"], row["status"], row["support_count"], row["comment_count"]) == (
            topic.title,
            "open",
            1,
            1,
        )
        assert row["raised_by"] == "resident" and "comments" not in row
        assert client.get(f"{URL}{dalong_topic.pk}/").status_code == 404


def test_a_key_of_another_area_sees_nothing_here(outside_api, topic, dalong_topic):
    assert [row["id"] for row in outside_api.get(URL).json()["results"]] == [dalong_topic.pk]
    response = outside_api.get(f"{URL}{topic.pk}/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert outside_api.get(URL, {"community": topic.community_id}).json()["results"] == []


def test_residents_and_anonymous_callers_are_refused(api, resident, topic):
    assert api.get(URL).status_code == 401
    api.force_login(resident.user)
    assert api.get(URL).status_code == 403
    assert api.get(f"{URL}{topic.pk}/").status_code == 403


def test_the_api_reads_only(hub_api, staff_api, topic):
    for client in (hub_api, staff_api):
        assert client.post(URL, {"title": "x"}, format="json").status_code == 405
        assert client.patch(f"{URL}{topic.pk}/", {"title": "x"}, format="json").status_code == 405


def test_hidden_topics_and_comments_are_never_in_an_answer(staff_api, topic, neighbours, staff):
    shown = topics.comment_on_topic(topic=topic, text="支持", actor=as_resident(neighbours[0]))
    spam = topics.comment_on_topic(topic=topic, text="低价装修找我", actor=as_resident(neighbours[1]))
    topics.hide_comment(comment=spam, reason="广告", actor=staff)
    detail = staff_api.get(f"{URL}{topic.pk}/").json()
    assert [c["text"] for c in detail["comments"]] == ["支持"] and detail["comment_count"] == 1
    assert set(detail["comments"][0]) == {"id", "text", "created_at"}  # no author
    assert shown.pk == detail["comments"][0]["id"]
    hidden = raise_one(neighbours[2], title="广告帖")
    topics.hide_topic(topic=hidden, reason="广告", actor=staff)
    assert staff_api.get(f"{URL}{hidden.pk}/").status_code == 404
    assert [row["id"] for row in staff_api.get(URL).json()["results"]] == [topic.pk]
    refused = staff_api.get(URL, {"status": "hidden"}, **EN)
    assert refused.status_code == 400 and "status" in refused.json()["fields"]


def test_filters_and_the_order_by_support(staff_api, topic, neighbours, staff, hub):
    garden = raise_one(neighbours[0], title="共享菜园", category="environment")
    for person in neighbours[1:]:
        topics.support_topic(topic=garden, actor=as_resident(person))
    answered = raise_one(neighbours[1], title="楼道灯")
    topics.answer_topic(topic=answered, answer="已修好", actor=staff)
    project = raise_one(neighbours[2], title="乒乓球台")
    topics.turn_into_project(topic=project, actor=staff, **project_fields(hub, title="乒乓球角"))

    def ids(**params):
        return [row["id"] for row in staff_api.get(URL, params).json()["results"]]

    assert ids() == [project.pk, answered.pk, garden.pk, topic.pk]  # newest first
    assert ids(order="support")[0] == garden.pk
    assert ids(category="environment") == [garden.pk]
    assert ids(status="answered") == [answered.pk]
    row = staff_api.get(f"{URL}{project.pk}/").json()
    assert row["status"] == "project" and row["project_title"] == "乒乓球角"
    assert ids(community=topic.community_id) == ids()
    for bad in ({"community": "x"}, {"category": "music"}, {"order": "random"}, {"status": ""}):
        assert staff_api.get(URL, bad).status_code == 400


def test_the_list_runs_as_many_queries_for_500_topics_as_for_1(
    staff_api, hub_api, topic, neighbours, guanbeigou, count_queries
):
    hub_api.get(URL)  # the key's first request verifies it (and keeps it verified for a few seconds)
    one = [count_queries(lambda c=c: c.get(URL)) for c in (staff_api, hub_api)]
    rows = Topic.objects.bulk_create(
        Topic(community=guanbeigou, title=f"议题{n}", description="想要", category="other")
        for n in range(499)
    )
    TopicSupport.objects.bulk_create(TopicSupport(topic=t, person=p) for t in rows[:100] for p in neighbours)
    TopicComment.objects.bulk_create(
        TopicComment(topic=t, person=neighbours[0], text="好") for t in rows[:100]
    )
    many = [count_queries(lambda c=c: c.get(URL, {"page_size": 500})) for c in (staff_api, hub_api)]
    assert many == one, "the topics list runs more queries for more topics"
    body = staff_api.get(URL, {"page_size": 500, "order": "support"}).json()
    assert len(body["results"]) == 500 and body["results"][0]["support_count"] == 3


def test_the_schema_describes_the_topics(staff_api):
    schema = staff_api.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/topics/" in schema and "support_count" in schema
