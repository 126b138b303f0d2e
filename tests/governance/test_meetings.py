"""Coordination meetings and action items through the services: who may convene where, the record and its
publication, action items and their progress, and the daily chase with its escalation chain (frozen clock)."""

# ruff: noqa: F811  (the fixtures imported from meetings_world are the tests' arguments)

import datetime

import pytest
import time_machine
from django.utils import timezone, translation

from charity.errors import ForbiddenError, NotFoundError
from charity.models import AuditAction, AuditEvent, Notification
from governance import services
from governance.models import ActionItem, ActionProgress, AgendaItem, Escalation, Meeting
from governance.tasks import chase_action_items
from tests.factories import OrganizationFactory

from .meetings_world import (  # noqa: F401  (fixtures)
    action_item,
    at,
    city,
    city_staff,
    decide,
    district,
    district_staff,
    gbg_actor,
    meeting_at,
    owner,
    published_meeting,
    staff,
    street_office,
)

S = ActionItem.Status
Src = AgendaItem.Source


def state():
    """What a refused change must leave as it was."""
    return (
        list(Meeting.objects.order_by("id").values()),
        list(ActionItem.objects.order_by("id").values()),
        AgendaItem.objects.count(),
        ActionProgress.objects.count(),
        Escalation.objects.count(),
        AuditEvent.objects.count(),
    )


def english_message(exc) -> str:
    with translation.override("en"):
        return str(exc.message)


# --- convening ---------------------------------------------------------------------------------------------


def test_staff_convene_a_meeting_at_their_level_and_it_is_audited(guanbeigou, gbg_actor, street_office):
    meeting = meeting_at(guanbeigou, gbg_actor, place="社区议事厅", participant_organizations=[street_office])
    assert meeting.status == Meeting.Status.PLANNED and meeting.area == guanbeigou
    assert list(meeting.participant_organizations.all()) == [street_office]  # the office above takes part
    event = AuditEvent.objects.get(action=AuditAction.MEETING_CREATED)
    assert event.object_id == str(meeting.pk) and event.area == guanbeigou


def test_a_meeting_at_a_level_above_the_users_area_is_refused_by_name(guanbeigou, street, gbg_actor):
    before = state()
    with pytest.raises(services.MeetingAboveYourArea) as refused, translation.override("en"):
        meeting_at(street, gbg_actor, title="街道重点事项会议")
    assert refused.value.status == 403 and refused.value.field == "area"
    assert "is above the areas you work in" in english_message(refused.value)
    assert street.name in english_message(refused.value)
    assert state() == before


def test_a_meeting_in_another_community_looks_absent(dalong, gbg_actor):
    before = state()
    with pytest.raises(NotFoundError):
        meeting_at(dalong, gbg_actor)
    assert state() == before


def test_a_viewer_and_a_key_cannot_convene(guanbeigou, community_viewer, hub):
    from charity.services import Actor

    with pytest.raises(ForbiddenError):
        meeting_at(guanbeigou, staff(community_viewer))
    with pytest.raises(ForbiddenError):
        meeting_at(guanbeigou, Actor(surface="api", organization=hub))
    assert not Meeting.objects.exists()


def test_a_meeting_without_a_title_or_with_an_unknown_kind_is_refused(guanbeigou, gbg_actor):
    before = state()
    with pytest.raises(services.MeetingError) as no_title:
        meeting_at(guanbeigou, gbg_actor, title="  ")
    with pytest.raises(services.MeetingError) as bad_kind:
        meeting_at(guanbeigou, gbg_actor, kind="party")
    assert no_title.value.code == "title_required" and bad_kind.value.code == "invalid_kind"
    assert state() == before


def test_an_organisation_of_another_city_cannot_take_part(guanbeigou, dalong, gbg_actor):
    elsewhere = OrganizationFactory(name="大龙社区居民委员会", area=dalong)
    with pytest.raises(services.MeetingError) as refused:
        meeting_at(guanbeigou, gbg_actor, participant_organizations=[elsewhere])
    assert refused.value.code == "organization_out_of_reach"
    assert not Meeting.objects.exists()


# --- the record and its publication ------------------------------------------------------------------------


def test_minutes_are_published_once_approved_and_never_changed_afterwards(guanbeigou, gbg_actor):
    meeting, decision = published_meeting(guanbeigou, gbg_actor)
    assert meeting.status == Meeting.Status.PUBLISHED and meeting.minutes_approved_at is not None
    assert AuditEvent.objects.filter(action=AuditAction.MINUTES_PUBLISHED, object_id=str(meeting.pk)).exists()
    before = state()
    for change in (
        lambda: services.record_minutes(meeting=meeting, minutes="改", public_minutes="改", actor=gbg_actor),
        lambda: services.record_decision(meeting=meeting, text="补充一项决定", actor=gbg_actor),
        lambda: services.add_agenda_item(meeting=meeting, title="补充议题", actor=gbg_actor),
        lambda: services.update_meeting(meeting=meeting, title="新标题", actor=gbg_actor),
    ):
        with pytest.raises(services.MinutesPublished) as refused:
            change()
        assert refused.value.status == 409
        assert "never changed afterwards" in english_message(refused.value)
    assert state() == before
    # The decisions are still followed up after publication.
    action_item(decision, gbg_actor, owner_organization=OrganizationFactory(area=guanbeigou))


def test_minutes_cannot_be_published_without_the_text_for_publication(guanbeigou, gbg_actor):
    meeting = meeting_at(guanbeigou, gbg_actor, starts_at=timezone.now() - datetime.timedelta(hours=2))
    services.record_minutes(meeting=meeting, minutes="内部记录", public_minutes="", actor=gbg_actor)
    with pytest.raises(services.MeetingError) as refused:
        services.publish_minutes(meeting=meeting, actor=gbg_actor)
    assert refused.value.code == "public_minutes_required" and refused.value.field == "public_minutes"
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.HELD


def test_minutes_for_publication_refuse_a_phone_number(guanbeigou, gbg_actor):
    meeting = meeting_at(guanbeigou, gbg_actor, starts_at=timezone.now() - datetime.timedelta(hours=2))
    before = state()
    with pytest.raises(services.MeetingError) as refused:
        services.record_minutes(
            meeting=meeting, minutes="", public_minutes="联系王阿姨 13900001111", actor=gbg_actor
        )
    assert refused.value.field == "public_minutes" and "published" in english_message(refused.value)
    assert state() == before


def test_minutes_of_a_meeting_not_yet_held_are_refused(guanbeigou, gbg_actor):
    meeting = meeting_at(guanbeigou, gbg_actor)
    with pytest.raises(services.MeetingWrongStatus) as refused:
        services.record_minutes(meeting=meeting, minutes="x", public_minutes="x", actor=gbg_actor)
    assert refused.value.code == "not_held_yet"


def test_an_opinion_is_kept_verbatim_with_who_gave_it(guanbeigou, gbg_actor, street_office):
    meeting = meeting_at(guanbeigou, gbg_actor)
    with pytest.raises(services.MeetingError) as nobody:
        services.record_meeting_opinion(meeting=meeting, text="同意。", actor=gbg_actor)
    assert nobody.value.code == "speaker_required"
    opinion = services.record_meeting_opinion(
        meeting=meeting, text="同意，请按期完成。", speaker_organization=street_office, actor=gbg_actor
    )
    assert opinion.text == "同意，请按期完成。" and opinion.speaker_organization == street_office


# --- action items ------------------------------------------------------------------------------------------


def test_an_action_item_follows_a_decision_with_an_owner_and_a_due_date(guanbeigou, gbg_actor, hub):
    decision = decide(meeting_at(guanbeigou, gbg_actor), gbg_actor)
    item = action_item(decision, gbg_actor, owner_organization=hub)
    assert item.area == guanbeigou and item.status == S.OPEN and item.owner_organization == hub
    assert AuditEvent.objects.filter(action=AuditAction.ACTION_ITEM_CREATED, object_id=str(item.pk)).exists()


def test_an_action_item_due_in_the_past_is_refused_and_nothing_changes(guanbeigou, gbg_actor, hub):
    decision = decide(meeting_at(guanbeigou, gbg_actor), gbg_actor)
    before = state()
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    with pytest.raises(services.ActionItemError) as refused, translation.override("en"):
        action_item(decision, gbg_actor, owner_organization=hub, due_on=yesterday)
    assert refused.value.code == "due_in_past" and refused.value.field == "due_on"
    assert "has already passed" in english_message(refused.value)
    assert state() == before


def test_an_action_item_without_an_owner_is_refused_and_nothing_changes(guanbeigou, gbg_actor):
    decision = decide(meeting_at(guanbeigou, gbg_actor), gbg_actor)
    before = state()
    with pytest.raises(services.ActionItemError) as refused:
        services.create_action_item(
            decision=decision, title="无人负责", due_on=timezone.localdate(), actor=gbg_actor
        )
    assert refused.value.code == "owner_required" and "Name who owns" in english_message(refused.value)
    assert state() == before


def test_progress_moves_forward_only_and_stops_when_done(guanbeigou, gbg_actor, hub):
    item = action_item(
        decide(meeting_at(guanbeigou, gbg_actor), gbg_actor), gbg_actor, owner_organization=hub
    )
    services.update_action_item(item=item, note="已联系施工队。", status=S.IN_PROGRESS, actor=gbg_actor)
    with pytest.raises(services.ActionItemError) as backwards:
        services.update_action_item(item=item, note="退回", status=S.OPEN, actor=gbg_actor)
    assert backwards.value.code == "status_backwards"
    services.update_action_item(item=item, note="全部装好。", status=S.DONE, actor=gbg_actor)
    item.refresh_from_db()
    assert item.status == S.DONE and item.closed_at is not None
    with pytest.raises(services.ActionItemClosed):
        services.update_action_item(item=item, note="再记一笔", actor=gbg_actor)
    assert [p.to_status for p in item.progress.order_by("id")] == [S.IN_PROGRESS, S.DONE]


def test_the_owner_key_reports_on_its_own_items_only(guanbeigou, gbg_actor, hub):
    from charity.services import Actor

    decision = decide(meeting_at(guanbeigou, gbg_actor), gbg_actor)
    own = action_item(decision, gbg_actor, owner_organization=hub)
    other = action_item(decision, gbg_actor, owner_organization=OrganizationFactory(area=guanbeigou))
    key = Actor(surface="api", organization=hub)
    progress = services.update_action_item(item=own, note="材料已采购。", status=S.IN_PROGRESS, actor=key)
    assert progress.by_organization == hub
    with pytest.raises(ForbiddenError):
        services.update_action_item(item=other, note="不是我的", actor=key)
    with pytest.raises(ForbiddenError):
        services.update_action_item(item=own, note="不做了", status=S.CANCELLED, actor=key)


# --- the daily chase: overdue, escalation ------------------------------------------------------------------


def test_the_escalation_chain_with_a_frozen_clock(
    settings, guanbeigou, street, district, gbg_actor, street_staff, district_staff, owner, hub
):
    settings.ACTION_ITEM_ESCALATE_DAYS = 14
    with time_machine.travel(at(2026, 3, 2), tick=False) as clock:
        meeting = meeting_at(guanbeigou, gbg_actor, starts_at=at(2026, 3, 2, 14))
        decision = decide(meeting, gbg_actor)
        item = action_item(decision, gbg_actor, due_on=datetime.date(2026, 3, 10), owner_person=owner)
        done = action_item(decision, gbg_actor, due_on=datetime.date(2026, 3, 10), owner_organization=hub)
        street_meeting = meeting_at(
            street, staff(street_staff), starts_at=at(2026, 4, 1), title="街道重点事项会议"
        )

        clock.move_to(at(2026, 3, 11, 7))
        assert services.mark_overdue_and_escalate() == {"overdue": 2, "escalated": 0}
        item.refresh_from_db()
        assert item.overdue_since == datetime.date(2026, 3, 11) and item.area == guanbeigou
        assert Notification.objects.filter(person=owner).count() == 1
        services.update_action_item(item=done, note="提前完成。", status=S.DONE, actor=gbg_actor)

        clock.move_to(at(2026, 3, 24, 7))  # overdue by 14 days: passed to the street
        assert services.mark_overdue_and_escalate()["escalated"] == 1
        item.refresh_from_db()
        assert item.area == street and item.escalations == 1
        entry = street_meeting.agenda.get(action_item=item)
        assert entry.source == Src.ESCALATED
        assert not street_meeting.agenda.filter(action_item=done).exists()  # done items stop escalating

        chase_action_items()  # the task run twice escalates once
        assert Escalation.objects.filter(item=item).count() == 1
        assert street_meeting.agenda.filter(action_item=item).count() == 1
        assert Notification.objects.filter(person=owner).count() == 2  # overdue, then escalated: once each

        clock.move_to(at(2026, 4, 6, 7))  # 13 days after the escalation: still the street's
        assert services.mark_overdue_and_escalate()["escalated"] == 0
        clock.move_to(at(2026, 4, 7, 7))  # 14 days: on to the district
        assert services.mark_overdue_and_escalate()["escalated"] == 1
        item.refresh_from_db()
        assert item.area == district and item.escalations == 2
        # No district meeting was planned: the next one created there starts with the item.
        district_meeting = meeting_at(
            district, staff(district_staff), title="区级进展跟进会", kind="follow_up"
        )
        assert district_meeting.agenda.get(action_item=item).source == Src.ESCALATED
        log = list(item.escalation_log.order_by("id").values_list("from_area", "to_area"))
        assert log == [(guanbeigou.pk, street.pk), (street.pk, district.pk)]
    assert ActionItem.objects.get(pk=done.pk).escalations == 0


def test_an_overdue_owner_is_told_once_however_often_the_task_runs(guanbeigou, gbg_actor, owner):
    with time_machine.travel(at(2026, 5, 1), tick=False) as clock:
        item = action_item(
            decide(meeting_at(guanbeigou, gbg_actor), gbg_actor),
            gbg_actor,
            owner_person=owner,
            due_on=datetime.date(2026, 5, 3),
        )
        clock.move_to(at(2026, 5, 4, 7))
        chase_action_items()
        chase_action_items()
    assert Notification.objects.filter(person=owner).count() == 1
    assert (
        AuditEvent.objects.filter(action=AuditAction.ACTION_ITEM_OVERDUE, object_id=str(item.pk)).count() == 1
    )


def test_the_city_has_no_level_above(city, city_staff, owner):
    city_actor = staff(city_staff)
    with time_machine.travel(at(2026, 6, 1), tick=False) as clock:
        item = action_item(
            decide(meeting_at(city, city_actor, title="市工作专班例会"), city_actor),
            city_actor,
            owner_person=owner,
            due_on=datetime.date(2026, 6, 2),
        )
        clock.move_to(at(2026, 9, 1))
        assert services.mark_overdue_and_escalate() == {"overdue": 1, "escalated": 0}
    assert ActionItem.objects.get(pk=item.pk).area == city


def test_a_follow_up_meeting_starts_with_the_open_items_of_the_earlier_ones(guanbeigou, gbg_actor, hub):
    first = meeting_at(guanbeigou, gbg_actor, starts_at=timezone.now() - datetime.timedelta(days=3))
    decision = decide(first, gbg_actor)
    still_open = action_item(decision, gbg_actor, owner_organization=hub, title="楼道照明")
    finished = action_item(decision, gbg_actor, owner_organization=hub, title="垃圾分类宣传")
    services.update_action_item(item=finished, note="宣传已完成。", status=S.DONE, actor=gbg_actor)
    follow_up = meeting_at(guanbeigou, gbg_actor, kind="follow_up", title="进展跟进会", agenda=["新议题"])
    agenda = list(follow_up.agenda.order_by("position"))
    assert [(a.title, a.source) for a in agenda] == [("楼道照明", Src.CARRIED_OVER), ("新议题", Src.PLANNED)]
    assert agenda[0].action_item == still_open
