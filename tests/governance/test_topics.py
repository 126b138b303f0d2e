# ruff: noqa: F811  (the fixtures imported from topic_world are the tests' arguments)
"""Residents' topics through the services (governance.topics): raising, supporting once, commenting, staff
moderation, answering, merging and turning a topic into a project. Every refusal is a clear message and
changes nothing."""

import pytest

from charity.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from charity.models import AuditAction, AuditEvent, Notification, NotificationKind, StaffAssignment
from charity.services import Actor, RateLimitedError
from governance import services, topics
from governance.models import Project, Topic, TopicComment, TopicSupport
from tests.factories import PersonFactory, StaffUserFactory, assign

from .topic_world import (  # noqa: F401 (fixtures)
    as_resident,
    as_staff,
    neighbours,
    project_fields,
    raise_one,
    staff,
    stranger,
    topic,
)

pytestmark = pytest.mark.django_db
TS = Topic.Status


def audits(action):
    return AuditEvent.objects.filter(action=action)


def news(person):
    return list(
        Notification.objects.filter(person=person, kind=NotificationKind.TOPIC_NEWS).values_list(
            "text", flat=True
        )
    )


def test_the_services_are_exported_from_governance_services():
    assert services.support_topic is topics.support_topic
    assert services.turn_into_project is topics.turn_into_project


# --- raising ------------------------------------------------------------------------------------------------


def test_a_resident_raises_a_topic_in_their_community(resident, guanbeigou):
    topic = raise_one(
        resident, title="  社区读书角  ", description="想在活动室设一个读书角。", category="culture_sports"
    )
    assert (topic.community, topic.title, topic.status) == (guanbeigou, "社区读书角", TS.OPEN)
    assert topic.raised_by == resident and topic.raised_by_staff is None
    event = audits(AuditAction.TOPIC_RAISED).get()
    assert (event.area, event.surface, event.object_id) == (guanbeigou, "portal", str(topic.pk))


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"title": "   "}, "title_required", "title"),
        ({"title": "舞" * 101}, "too_long", "title"),
        ({"description": ""}, "description_required", "description"),
        ({"description": "好" * 2001}, "too_long", "description"),
        ({"description": "有意者请打 139 0000 0001 联系我"}, "mobile_in_public_text", "description"),
        ({"category": "music"}, "category_required", "category"),
        ({"category": ""}, "category_required", "category"),
    ],
)
def test_bad_input_raises_nothing_and_says_what_is_wrong(resident, english, fields, code, field):
    with pytest.raises(DomainError) as caught:
        raise_one(resident, **fields)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert str(caught.value.message)  # a sentence, not just a code
    assert not Topic.objects.exists() and not audits(AuditAction.TOPIC_RAISED).exists()


def test_the_too_long_message_says_how_long(resident, english):
    with pytest.raises(DomainError) as caught:
        raise_one(resident, title="舞" * 101)
    assert str(caught.value.message) == "This text is too long: at most 100 characters, this one has 101."


def test_a_resident_of_another_community_cannot_raise_a_topic_there(stranger, guanbeigou, english):
    with pytest.raises(ForbiddenError) as caught:
        raise_one(stranger, community=guanbeigou)
    assert caught.value.code == "other_community"
    assert "官北沟社区" in str(caught.value.message)
    assert not Topic.objects.exists()


def test_a_login_without_a_resident_record_is_asked_to_log_in_as_a_resident(community_staff, guanbeigou):
    with pytest.raises(ForbiddenError) as caught:
        topics.raise_topic(
            community=guanbeigou,
            title="读书角",
            description="想要一个读书角。",
            category="culture_sports",
            actor=Actor(surface=AuditEvent.Surface.PORTAL, user=community_staff),
        )
    assert caught.value.code == "login_required"


def test_a_resident_raises_at_most_the_daily_limit(resident, settings, english):
    settings.TOPICS_PER_DAY = 2
    raise_one(resident, title="一")
    raise_one(resident, title="二")
    with pytest.raises(RateLimitedError) as caught:
        raise_one(resident, title="三")
    assert caught.value.status == 429
    assert "2 topics" in str(caught.value.message)
    assert Topic.objects.count() == 2


def test_staff_raise_a_topic_for_a_resident_who_asked_on_paper(staff, resident, guanbeigou):
    topic = topics.raise_topic(
        community=guanbeigou,
        title="楼道加装扶手",
        description="几位老人在居民会上提出。",
        category="elderly",
        actor=staff,
        on_behalf_of=resident,
    )
    assert topic.raised_by == resident and topic.raised_by_staff == staff.user


def test_staff_of_another_community_cannot_raise_a_topic_here(outsider, guanbeigou):
    with pytest.raises(NotFoundError):
        topics.raise_topic(
            community=guanbeigou,
            title="读书角",
            description="想要读书角。",
            category="other",
            actor=as_staff(outsider),
        )
    assert not Topic.objects.exists()


def test_an_organisation_key_cannot_raise_or_support(hub, guanbeigou, topic):
    key = Actor(surface=AuditEvent.Surface.API, organization=hub)
    with pytest.raises(ForbiddenError):
        topics.raise_topic(
            community=guanbeigou, title="读书角", description="想要。", category="other", actor=key
        )
    with pytest.raises(ForbiddenError):
        topics.support_topic(topic=topic, actor=Actor(surface=AuditEvent.Surface.PORTAL, organization=hub))


# --- supporting ---------------------------------------------------------------------------------------------


def test_a_neighbour_supports_a_topic_once(topic, neighbours, english):
    topics.support_topic(topic=topic, actor=as_resident(neighbours[0]))
    with pytest.raises(ConflictError) as caught:
        topics.support_topic(topic=topic, actor=as_resident(neighbours[0]))
    assert (caught.value.code, str(caught.value.message)) == (
        "already_supported",
        "You already support this topic.",
    )
    assert TopicSupport.objects.filter(topic=topic).count() == 1
    assert audits(AuditAction.TOPIC_SUPPORTED).count() == 1


def test_a_resident_of_another_community_cannot_support(topic, stranger, english):
    with pytest.raises(ForbiddenError) as caught:
        topics.support_topic(topic=topic, actor=as_resident(stranger))
    assert caught.value.code == "other_community"
    assert str(caught.value.message) == "Only residents of 官北沟社区 take part in its topics."
    assert not TopicSupport.objects.exists()


def test_the_raiser_does_not_support_their_own_topic(topic, resident):
    with pytest.raises(ConflictError) as caught:
        topics.support_topic(topic=topic, actor=as_resident(resident))
    assert caught.value.code == "own_topic"
    assert not TopicSupport.objects.exists()


def test_a_hidden_topic_cannot_be_supported_and_looks_absent(topic, staff, neighbours):
    topics.hide_topic(topic=topic, reason="重复发布", actor=staff)
    with pytest.raises(NotFoundError):
        topics.support_topic(topic=topic, actor=as_resident(neighbours[0]))
    assert not TopicSupport.objects.exists()


def test_an_answered_topic_takes_no_more_support(topic, staff, neighbours, english):
    topics.answer_topic(topic=topic, answer="社区已安排周三晚上的活动室。", actor=staff)
    with pytest.raises(topics.TopicClosed) as caught:
        topics.support_topic(topic=topic, actor=as_resident(neighbours[0]))
    assert str(caught.value.message) == "This topic has been answered: it no longer takes support."
    assert not TopicSupport.objects.exists()


def test_a_resident_withdraws_their_support(topic, neighbours, english):
    actor = as_resident(neighbours[0])
    topics.support_topic(topic=topic, actor=actor)
    topics.withdraw_support(topic=topic, actor=actor)
    assert not TopicSupport.objects.exists()
    with pytest.raises(ConflictError) as caught:
        topics.withdraw_support(topic=topic, actor=actor)
    assert caught.value.code == "not_supported"
    assert audits(AuditAction.TOPIC_SUPPORT_WITHDRAWN).count() == 1


# --- comments -----------------------------------------------------------------------------------------------


def test_a_neighbour_comments(topic, neighbours):
    comment = topics.comment_on_topic(
        topic=topic, text="我可以教大家跳舞！", actor=as_resident(neighbours[0])
    )
    assert (comment.topic, comment.person, comment.text) == (topic, neighbours[0], "我可以教大家跳舞！")
    assert audits(AuditAction.TOPIC_COMMENTED).count() == 1


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "text_required"),
        ("  \u200b ", "text_required"),
        ("好" * 501, "too_long"),
        ("身份证 110101199003077777", "id_number_in_public_text"),
    ],
)
def test_a_bad_comment_is_refused_and_nothing_is_written(topic, neighbours, english, text, code):
    with pytest.raises(DomainError) as caught:
        topics.comment_on_topic(topic=topic, text=text, actor=as_resident(neighbours[0]))
    assert (caught.value.code, caught.value.field) == (code, "text")
    assert not TopicComment.objects.exists()


def test_commenting_on_a_hidden_topic_looks_absent(topic, staff, neighbours):
    topics.hide_topic(topic=topic, reason="广告", actor=staff)
    with pytest.raises(NotFoundError):
        topics.comment_on_topic(topic=topic, text="看看", actor=as_resident(neighbours[0]))
    assert not TopicComment.objects.exists()


def test_commenting_on_a_merged_topic_points_to_the_other_one(topic, resident, staff, neighbours, english):
    other = raise_one(neighbours[1], title="广场舞需要音响")
    topics.merge_topic(topic=topic, into=other, actor=staff)
    with pytest.raises(topics.TopicClosed) as caught:
        topics.comment_on_topic(topic=topic, text="支持", actor=as_resident(neighbours[0]))
    assert str(caught.value.message) == "This topic was merged into “广场舞需要音响”: take part there."


def test_comments_are_limited_per_hour(topic, neighbours, settings):
    settings.TOPIC_COMMENTS_PER_HOUR = 2
    actor = as_resident(neighbours[0])
    topics.comment_on_topic(topic=topic, text="一", actor=actor)
    topics.comment_on_topic(topic=topic, text="二", actor=actor)
    with pytest.raises(RateLimitedError):
        topics.comment_on_topic(topic=topic, text="三", actor=actor)
    assert TopicComment.objects.count() == 2
    # another resident is not held back by the first one's comments
    topics.comment_on_topic(topic=topic, text="四", actor=as_resident(neighbours[1]))


# --- moderation ---------------------------------------------------------------------------------------------


def test_staff_hide_a_comment_with_a_reason(topic, neighbours, staff, english):
    comment = topics.comment_on_topic(topic=topic, text="广告：低价装修", actor=as_resident(neighbours[0]))
    with pytest.raises(DomainError) as caught:
        topics.hide_comment(comment=comment, reason=" ", actor=staff)
    assert caught.value.code == "reason_required"
    topics.hide_comment(comment=comment, reason="广告", actor=staff)
    comment.refresh_from_db()
    assert comment.hidden_at is not None and comment.hidden_reason == "广告"
    assert comment.text == "广告：低价装修"  # hidden, never edited
    with pytest.raises(ConflictError):
        topics.hide_comment(comment=comment, reason="广告", actor=staff)
    event = audits(AuditAction.TOPIC_COMMENT_HIDDEN).get()
    assert event.data["reason"] == "广告"


def test_a_viewer_and_staff_elsewhere_cannot_moderate(topic, neighbours, community_viewer, outsider):
    comment = topics.comment_on_topic(topic=topic, text="看看", actor=as_resident(neighbours[0]))
    with pytest.raises(ForbiddenError):
        topics.hide_comment(comment=comment, reason="广告", actor=as_staff(community_viewer))
    for action in (
        lambda a: topics.hide_comment(comment=comment, reason="广告", actor=a),
        lambda a: topics.hide_topic(topic=topic, reason="广告", actor=a),
        lambda a: topics.answer_topic(topic=topic, answer="好", actor=a),
    ):
        with pytest.raises(NotFoundError):
            action(as_staff(outsider))
    comment.refresh_from_db()
    topic.refresh_from_db()
    assert comment.hidden_at is None and topic.status == TS.OPEN


def test_hiding_a_topic_tells_its_raiser_why(topic, resident, staff):
    topics.hide_topic(topic=topic, reason="与已有议题重复", actor=staff)
    topic.refresh_from_db()
    assert (topic.status, topic.moderation_note) == (TS.HIDDEN, "与已有议题重复")
    assert any("与已有议题重复" in text for text in news(resident))


def test_staff_answer_a_topic_and_its_people_are_told_once(topic, resident, neighbours, staff):
    topics.support_topic(topic=topic, actor=as_resident(neighbours[0]))
    with pytest.raises(DomainError) as caught:
        topics.answer_topic(topic=topic, answer="", actor=staff)
    assert caught.value.code == "answer_required"
    topics.answer_topic(topic=topic, answer="周三晚上活动室可用。", actor=staff)
    topic.refresh_from_db()
    assert (topic.status, topic.answer) == (TS.ANSWERED, "周三晚上活动室可用。")
    assert topic.answered_at is not None
    assert len(news(resident)) == len(news(neighbours[0])) == 1
    assert news(neighbours[1]) == []
    with pytest.raises(topics.TopicClosed):
        topics.answer_topic(topic=topic, answer="再答一次", actor=staff)


# --- merging ------------------------------------------------------------------------------------------------


def test_merging_moves_supporters_over_without_duplicates(topic, resident, neighbours, staff, guanbeigou):
    zhang, li, zhao = neighbours
    other = raise_one(zhao, title="广场舞需要音响")
    topics.support_topic(topic=topic, actor=as_resident(zhang))
    topics.support_topic(topic=topic, actor=as_resident(li))
    topics.support_topic(topic=other, actor=as_resident(li))  # supports both: counted once
    topics.support_topic(topic=topic, actor=as_resident(zhao))  # the other's raiser: not added to it
    topics.merge_topic(topic=topic, into=other, actor=staff)

    topic.refresh_from_db()
    assert (topic.status, topic.merged_into) == (TS.MERGED, other)
    supporters = list(TopicSupport.objects.filter(topic=other).values_list("person__name", flat=True))
    assert sorted(supporters) == sorted(["李奶奶", "王阿姨", "张大爷"])  # the raiser of the merged one too
    assert audits(AuditAction.TOPIC_MERGED).get().data["supporters_moved"] == 2
    assert len(news(resident)) == len(news(zhang)) == 1


def test_merge_refusals_change_nothing(topic, neighbours, staff, dalong, english):
    elsewhere = raise_one(PersonFactory(community=dalong))
    closed = raise_one(neighbours[0], title="读书角")
    topics.answer_topic(topic=closed, answer="已安排", actor=staff)
    for into, code in (
        (topic, "merge_into_itself"),
        (elsewhere, "wrong_community"),
        (closed, "topic_closed"),
    ):
        with pytest.raises(DomainError) as caught:
            topics.merge_topic(topic=topic, into=into, actor=staff)
        assert caught.value.code == code
    topic.refresh_from_db()
    assert topic.status == TS.OPEN and topic.merged_into is None


# --- becoming a project -------------------------------------------------------------------------------------


def test_a_topic_becomes_a_project_whose_first_followers_are_its_supporters(
    topic, resident, neighbours, staff, hub
):
    for person in neighbours[:2]:
        topics.support_topic(topic=topic, actor=as_resident(person))
    project = topics.turn_into_project(topic=topic, actor=staff, **project_fields(hub))

    topic.refresh_from_db()
    assert (topic.status, topic.project) == (TS.PROJECT, project)
    assert project.community == topic.community and project.title == "“一起”广场舞队"
    assert set(project.followers.values_list("name", flat=True)) == {"王阿姨", "张大爷", "李奶奶"}
    assert audits(AuditAction.TOPIC_BECAME_PROJECT).get().data["project"] == project.pk
    assert len(news(resident)) == len(news(neighbours[0])) == 1 and news(neighbours[2]) == []
    with pytest.raises(topics.TopicClosed):
        topics.turn_into_project(topic=topic, actor=staff, **project_fields(hub, title="再来一次"))


def test_a_project_refused_leaves_the_topic_open(topic, neighbours, staff, hub):
    topics.support_topic(topic=topic, actor=as_resident(neighbours[0]))
    fields = project_fields(hub, ends_on=project_fields(hub)["starts_on"].replace(year=2025))
    with pytest.raises(DomainError):
        topics.turn_into_project(topic=topic, actor=staff, **fields)
    topic.refresh_from_db()
    assert topic.status == TS.OPEN and topic.project is None
    assert not Project.objects.exists() and not audits(AuditAction.TOPIC_BECAME_PROJECT).exists()
    assert news(neighbours[0]) == []


def test_only_staff_of_the_community_turn_a_topic_into_a_project(topic, outsider, hub, guanbeigou):
    viewer = assign(StaffUserFactory(), guanbeigou, StaffAssignment.Role.VIEWER)
    with pytest.raises(ForbiddenError):
        topics.turn_into_project(topic=topic, actor=as_staff(viewer), **project_fields(hub))
    with pytest.raises(NotFoundError):
        topics.turn_into_project(topic=topic, actor=as_staff(outsider), **project_fields(hub))
    assert not Project.objects.exists()


# --- what staff enter for residents -------------------------------------------------------------------------


def test_staff_enter_supporters_from_a_paper_sheet_each_once(topic, resident, neighbours, staff, stranger):
    topics.support_topic(topic=topic, actor=as_resident(neighbours[0]))
    added = topics.record_supports(topic=topic, people=[resident, *neighbours, neighbours[1]], actor=staff)
    assert added == 2  # the raiser and the one who already supports it are skipped
    assert TopicSupport.objects.filter(topic=topic).count() == 3
    with pytest.raises(DomainError) as caught:
        topics.record_supports(topic=topic, people=[neighbours[2], stranger], actor=staff)
    assert caught.value.code == "wrong_person" and "陈阿婆" in str(caught.value.message)
    with pytest.raises(DomainError) as caught:
        topics.record_supports(topic=topic, people=[], actor=staff)
    assert caught.value.code == "people_required"
    with pytest.raises(NotFoundError):  # a resident holds no staff role here
        topics.record_supports(topic=topic, people=[neighbours[2]], actor=as_resident(neighbours[2]))
    assert TopicSupport.objects.filter(topic=topic).count() == 3


def test_staff_enter_a_comment_made_at_a_residents_meeting(topic, neighbours, staff, stranger):
    comment = topics.comment_on_topic(
        topic=topic, text="居民会上提出：要控制音量。", actor=staff, on_behalf_of=neighbours[0]
    )
    assert comment.person == neighbours[0]
    with pytest.raises(DomainError) as caught:
        topics.comment_on_topic(topic=topic, text="好", actor=staff, on_behalf_of=stranger)
    assert caught.value.code == "wrong_person"
    assert TopicComment.objects.count() == 1


def test_a_topic_taken_up_by_an_existing_project(topic, resident, neighbours, staff, hub, dalong):
    topics.support_topic(topic=topic, actor=as_resident(neighbours[0]))
    other = raise_one(neighbours[1], title="读书角")
    project = topics.turn_into_project(topic=other, actor=staff, **project_fields(hub))
    topics.attach_to_project(topic=topic, project=project, actor=staff)
    topic.refresh_from_db()
    assert (topic.status, topic.project) == (TS.PROJECT, project)
    assert set(project.followers.values_list("name", flat=True)) == {"王阿姨", "张大爷", "李奶奶"}
    assert len(news(resident)) == 1
    fresh = raise_one(neighbours[2], title="菜园")
    elsewhere = Project(community=dalong, pk=project.pk + 1000)
    with pytest.raises(DomainError) as caught:
        topics.attach_to_project(topic=fresh, project=elsewhere, actor=staff)
    assert caught.value.code == "wrong_project"
