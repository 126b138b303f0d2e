# ruff: noqa: F811  (the fixtures imported from topic_world are the tests' arguments)
"""Residents' topics on the portal: a community's topics, raising one, supporting (once, and only as a
resident of the community), comments, the staff's answer and the project it became. Every refusal is said on
the page and changes nothing; no resident is named."""

import pytest
from django.test import Client

from governance import topics
from governance.models import Topic, TopicComment, TopicSupport

from .topic_world import (  # noqa: F401  (fixtures)
    EN,
    as_resident,
    client_of,
    main,
    neighbours,
    project_fields,
    raise_one,
    staff,
    stranger,
    topic,
)

pytestmark = pytest.mark.django_db
TS = Topic.Status


def url(topic, action=""):
    return f"/committees/topics/{topic.pk}/{action + '/' if action else ''}"


def test_the_community_page_links_to_its_topics(guanbeigou):
    html = Client().get(f"/communities/{guanbeigou.pk}/", **EN).content.decode()
    assert f'href="/committees/community/{guanbeigou.pk}/topics/"' in html


def test_a_residents_home_page_links_to_their_communitys_topics(resident, guanbeigou):
    html = client_of(resident).get("/", **EN).content.decode()
    assert f'href="/committees/community/{guanbeigou.pk}/topics/"' in html


def test_the_list_shows_the_most_supported_first_and_never_a_hidden_topic(
    resident, neighbours, staff, guanbeigou
):
    quiet = raise_one(resident, title="社区读书角")
    popular = raise_one(neighbours[0], title="共享菜园")
    hidden = raise_one(neighbours[1], title="卖保健品的广告")
    answered = raise_one(neighbours[2], title="楼道灯坏了")
    for person in (resident, neighbours[1], neighbours[2]):
        topics.support_topic(topic=popular, actor=as_resident(person))
    topics.support_topic(topic=answered, actor=as_resident(resident))
    topics.support_topic(topic=answered, actor=as_resident(neighbours[0]))
    topics.answer_topic(topic=answered, answer="物业已修好。", actor=staff)
    topics.hide_topic(topic=hidden, reason="广告", actor=staff)

    page = main(Client().get(f"/committees/community/{guanbeigou.pk}/topics/", **EN))
    assert page.index("共享菜园") < page.index("社区读书角") < page.index("楼道灯坏了")  # open ones first
    assert "3</b> neighbours support this" in page
    assert "卖保健品的广告" not in page
    newest = main(Client().get(f"/committees/community/{guanbeigou.pk}/topics/new/", **EN))
    assert newest.index("社区读书角") > newest.index("共享菜园")  # the newest first
    assert quiet.title in newest and "卖保健品的广告" not in newest


def test_an_unknown_community_is_404(street):
    assert Client().get(f"/committees/community/{street.pk}/topics/").status_code == 404
    assert Client().get("/committees/community/999999/topics/").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(topic, guanbeigou):
    raise_page = Client().get(f"/committees/community/{guanbeigou.pk}/topics/raise/")
    assert raise_page.status_code == 302 and raise_page["Location"].startswith("/accounts/login/")
    response = Client().post(url(topic, "support"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not TopicSupport.objects.exists()
    page = main(Client().get(url(topic), **EN))
    assert "Log in to support" in page and "Log in to comment" in page


def test_a_resident_raises_a_topic_on_a_phone(resident, guanbeigou):
    client = client_of(resident)
    form = client.get(f"/committees/community/{guanbeigou.pk}/topics/raise/", **EN)
    assert form.status_code == 200 and 'name="title"' in form.content.decode()
    response = client.post(
        f"/committees/community/{guanbeigou.pk}/topics/raise/",
        {"title": "办一个老年合唱团", "description": "每周二下午在活动室唱歌。", "category": "elderly"},
        follow=True,
        **EN,
    )
    topic = Topic.objects.get()
    assert response.redirect_chain[-1][0] == url(topic)
    page = main(response)
    assert "办一个老年合唱团" in page and "Your topic is up" in page
    assert "You raised this topic" in page and "I support this" not in page
    assert resident.name not in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": "", "description": "想要", "category": "other"}, "Give the topic a short title."),
        (
            {"title": "舞" * 101, "description": "想要", "category": "other"},
            "This text is too long: at most 100 characters, this one has 101.",
        ),
        (
            {"title": "合唱团", "description": "联系 13912345678", "category": "other"},
            "This looks like a mobile number.",
        ),
        ({"title": "合唱团", "description": "想要", "category": ""}, "Choose what the topic is about."),
    ],
)
def test_bad_input_on_the_form_is_said_beside_the_field_and_nothing_is_raised(
    resident, guanbeigou, data, message
):
    response = client_of(resident).post(f"/committees/community/{guanbeigou.pk}/topics/raise/", data, **EN)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Topic.objects.exists()


def test_a_resident_of_another_community_is_told_and_nothing_is_raised(stranger, guanbeigou):
    client = client_of(stranger)
    page = client.get(f"/committees/community/{guanbeigou.pk}/topics/raise/", **EN).content.decode()
    assert "Only residents of 官北沟社区 can raise topics here." in page and 'name="title"' not in page
    response = client.post(
        f"/committees/community/{guanbeigou.pk}/topics/raise/",
        {"title": "合唱团", "description": "想要", "category": "other"},
        **EN,
    )
    assert response.status_code == 403 and not Topic.objects.exists()


def test_a_neighbour_supports_and_sees_it_and_a_second_tap_changes_nothing(topic, neighbours):
    client = client_of(neighbours[0])
    before = main(client.get(url(topic), **EN))
    assert "I support this" in before and "0</b> neighbours support this" in before
    response = client.post(url(topic, "support"), follow=True, **EN)
    page = main(response)
    assert "You support this topic." in page and "1</b> neighbour supports this" in page
    assert "Withdraw my support" in page and "I support this" not in page
    again = client.post(url(topic, "support"), **EN)
    assert again.status_code == 409 and "You already support this topic." in again.content.decode()
    assert TopicSupport.objects.count() == 1
    client.post(url(topic, "withdraw"), **EN)
    assert not TopicSupport.objects.exists()


def test_a_resident_of_another_community_cannot_support(topic, stranger):
    client = client_of(stranger)
    page = main(client.get(url(topic), **EN))
    assert "Only residents of 官北沟社区 can support its topics." in page and "I support this" not in page
    response = client.post(url(topic, "support"), **EN)
    assert response.status_code == 403
    assert "Only residents of 官北沟社区 take part in its topics." in response.content.decode()
    assert not TopicSupport.objects.exists()


def test_a_post_without_the_csrf_token_is_refused(topic, neighbours):
    client = Client(enforce_csrf_checks=True)
    client.force_login(neighbours[0].user)
    assert client.post(url(topic, "support")).status_code == 403
    assert not TopicSupport.objects.exists()


def test_comments_show_without_names_and_hidden_ones_not_at_all(topic, neighbours, staff):
    client = client_of(neighbours[0])
    response = client.post(url(topic, "comment"), {"text": "我家有旧音响可以捐出来"}, follow=True, **EN)
    page = main(response)
    assert "我家有旧音响可以捐出来" in page and "You" in page and neighbours[0].name not in page
    shown = topics.comment_on_topic(topic=topic, text="周末也可以跳", actor=as_resident(neighbours[1]))
    spam = topics.comment_on_topic(topic=topic, text="低价装修找我", actor=as_resident(neighbours[2]))
    topics.hide_comment(comment=spam, reason="广告", actor=staff)
    page = main(Client().get(url(topic), **EN))
    assert shown.text in page and "A resident" in page
    assert "低价装修找我" not in page and "广告" not in page
    assert neighbours[1].name not in page


def test_a_bad_comment_is_refused_on_the_page(topic, neighbours):
    client = client_of(neighbours[0])
    empty = client.post(url(topic, "comment"), {"text": "  "}, **EN)
    assert empty.status_code == 400 and "Write your comment first." in empty.content.decode()
    huge = client.post(url(topic, "comment"), {"text": "好" * 501}, **EN)
    assert huge.status_code == 400 and "at most 500 characters" in huge.content.decode()
    assert not TopicComment.objects.exists()


def test_a_hidden_topic_is_404_and_takes_nothing(topic, neighbours, staff):
    topics.hide_topic(topic=topic, reason="广告", actor=staff)
    client = client_of(neighbours[0])
    assert Client().get(url(topic)).status_code == 404
    assert client.post(url(topic, "support")).status_code == 404
    assert client.post(url(topic, "comment"), {"text": "看看"}).status_code == 404
    assert not TopicSupport.objects.exists() and not TopicComment.objects.exists()


def test_the_answer_and_the_project_it_became_are_on_the_page(topic, neighbours, staff, hub):
    topics.support_topic(topic=topic, actor=as_resident(neighbours[0]))
    topics.answer_topic(topic=topic, answer="社区同意提供小广场和音响。", actor=staff)
    page = main(Client().get(url(topic), **EN))
    assert "The community's answer" in page and "社区同意提供小广场和音响。" in page
    assert "I support this" not in page
    project = topics.turn_into_project(topic=topic, actor=staff, **project_fields(hub))
    page = main(Client().get(url(topic), **EN))
    assert "It became a project" in page and project.title in page


def test_the_merged_topic_points_to_the_other(topic, neighbours, staff):
    other = raise_one(neighbours[0], title="广场舞需要音响")
    topics.merge_topic(topic=topic, into=other, actor=staff)
    page = main(Client().get(url(topic), **EN))
    assert f'href="{url(other)}"' in page
    assert topic.title in main(Client().get(url(other), **EN))  # "topics merged into this one"


def test_the_lists_run_as_many_queries_for_500_topics_as_for_1(
    resident, neighbours, guanbeigou, count_queries
):
    raise_one(resident)
    client = client_of(neighbours[0])
    path = f"/committees/community/{guanbeigou.pk}/topics/"
    one = count_queries(lambda: client.get(path))
    rows = Topic.objects.bulk_create(
        Topic(community=guanbeigou, title=f"议题{n}", description="想要", category="other")
        for n in range(500)
    )
    TopicSupport.objects.bulk_create(TopicSupport(topic=t, person=p) for t in rows[:50] for p in neighbours)
    TopicComment.objects.bulk_create(
        TopicComment(topic=t, person=neighbours[0], text="好") for t in rows[:50]
    )
    many = count_queries(lambda: client.get(path))
    assert many == one, "the topic list runs more queries for more topics"
    assert count_queries(lambda: client.get(path + "new/")) == one
