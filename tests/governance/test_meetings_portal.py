"""Coordination meetings on the portal (published minutes only, what happened to each decision, no private
details) and the iCalendar feed of a level's meetings and due dates for its staff."""

# ruff: noqa: F811  (the fixtures imported from meetings_world are the tests' arguments)

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from governance import services
from governance.models import ActionItem
from governance.views_meetings import calendar_path
from tests.factories import PersonFactory

from .meetings_world import (  # noqa: F401  (fixtures)
    action_item,
    decide,
    gbg_actor,
    meeting_at,
    published_meeting,
    staff,
    street_office,
)

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def record(guanbeigou, street, gbg_actor, street_staff, hub):
    """A published community meeting whose decision is followed up (with progress), a published street
    meeting, and a community meeting still held (its minutes not approved)."""
    meeting, decision = published_meeting(
        guanbeigou, gbg_actor, text="修复楼道照明。", minutes="内部：王阿姨 13900001111 家门口灯坏了。"
    )
    item = action_item(decision, gbg_actor, owner_organization=hub, title="修复楼道照明")
    services.update_action_item(item=item, note="灯具已采购。", status="in_progress", actor=gbg_actor)
    private = action_item(
        decision, gbg_actor, owner_person=PersonFactory(name="赵秘密", community=guanbeigou)
    )
    street_meeting, _ = published_meeting(
        street, staff(street_staff), title="街道重点事项会议", text="街道决定"
    )
    held = meeting_at(
        guanbeigou, gbg_actor, starts_at=timezone.now() - datetime.timedelta(hours=5), title="未公开"
    )
    services.record_minutes(meeting=held, minutes="未批准", public_minutes="未批准的纪要", actor=gbg_actor)
    return meeting, item, private, street_meeting, held


def test_a_community_lists_its_published_meetings_and_those_above_it(client, guanbeigou, record):
    meeting, _item, _private, street_meeting, held = record
    page = client.get(reverse("governance:community_meetings", args=[guanbeigou.pk]), **EN).content.decode()
    assert meeting.title in page and street_meeting.title in page
    assert held.title not in page  # minutes not approved yet: not published


def test_a_meeting_page_shows_what_happened_to_each_decision_and_nothing_private(client, record):
    meeting, item, _private, _street, _held = record
    page = client.get(reverse("governance:meeting", args=[meeting.pk]), **EN).content.decode()
    assert "会议通报了楼道照明进展。" in page and "修复楼道照明。" in page
    assert item.title in page and "灯具已采购。" in page and "祯祥社" in page
    assert "followed up by a named person" in page
    for secret in ("王阿姨", "13900001111", "内部", "赵秘密"):
        assert secret not in page, secret


def test_a_meeting_not_published_is_absent(client, record):
    _meeting, _item, _private, _street, held = record
    assert client.get(reverse("governance:meeting", args=[held.pk])).status_code == 404
    assert client.get(reverse("governance:meeting", args=[999999])).status_code == 404


def test_an_escalated_item_says_where_it_went(client, record, street):
    meeting, item, _private, _street, _held = record
    ActionItem.objects.filter(pk=item.pk).update(due_on=timezone.localdate() - datetime.timedelta(days=20))
    services.mark_overdue_and_escalate()
    page = client.get(reverse("governance:meeting", args=[meeting.pk]), **EN).content.decode()
    assert f"Overdue, passed to {street.name} to follow up" in page and "overdue" in page


def test_the_community_page_links_to_its_meetings(client, guanbeigou):
    page = client.get(reverse("portal:community", args=[guanbeigou.pk])).content.decode()
    assert reverse("governance:community_meetings", args=[guanbeigou.pk]) in page


def test_the_pages_render_in_chinese_on_a_phone_sized_page(client, guanbeigou, record):
    meeting = record[0]
    for url in (
        reverse("governance:community_meetings", args=[guanbeigou.pk]),
        reverse("governance:meeting", args=[meeting.pk]),
    ):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        body = response.content.decode()
        assert response.status_code == 200 and 'lang="zh-CN"' in body and 'name="viewport"' in body


def test_the_portal_lists_stay_flat(client, guanbeigou, gbg_actor, hub, count_queries):
    def counts():
        return (
            count_queries(lambda: client.get(reverse("governance:community_meetings", args=[guanbeigou.pk]))),
            count_queries(lambda: client.get(reverse("governance:meeting", args=[meeting.pk]))),
        )

    meeting, decision = published_meeting(guanbeigou, gbg_actor)
    action_item(decision, gbg_actor, owner_organization=hub)
    one = counts()
    for n in range(5):
        published_meeting(guanbeigou, gbg_actor, title=f"例会{n}")
        item = action_item(decision, gbg_actor, owner_organization=hub, title=f"事项{n}")
        services.update_action_item(item=item, note="进展", actor=gbg_actor)
    assert counts() == one


# --- the calendar feed ---------------------------------------------------------------------------------


def test_the_feed_lists_the_levels_meetings_and_due_dates_in_rfc_5545(
    client, community_staff, guanbeigou, record
):
    meeting, item, _private, _street, _held = record
    response = client.get(calendar_path(community_staff, guanbeigou))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    assert response["Cache-Control"] == "private, no-store"
    body = response.content
    assert body.startswith(b"BEGIN:VCALENDAR\r\n") and body.endswith(b"END:VCALENDAR\r\n")
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    unfolded = body.decode().replace("\r\n ", "")
    assert f"UID:meeting-{meeting.pk}@" in unfolded and f"UID:action-item-{item.pk}@" in unfolded
    assert f"DTSTART;VALUE=DATE:{item.due_on:%Y%m%d}" in unfolded
    assert "街道重点事项会议" not in unfolded  # another level's meeting is not in this level's feed
    assert "赵秘密" not in unfolded  # a person owner is never named


def test_the_feed_answers_only_its_token_and_a_user_who_still_sees_the_area(
    client, community_staff, outsider, guanbeigou, dalong, record
):
    good = calendar_path(community_staff, guanbeigou)
    assert client.get(good[:-8] + "0000.ics").status_code == 404  # a wrong token
    assert client.get(calendar_path(outsider, guanbeigou)).status_code == 404  # out of the user's sight
    assert client.get(calendar_path(community_staff, dalong)).status_code == 404
    community_staff.set_password("a-new-password-2026")
    community_staff.save()
    assert client.get(good).status_code == 404  # a new password retires the old address
    assert client.get(calendar_path(community_staff, guanbeigou)).status_code == 200
    community_staff.staff_assignments.all().delete()
    assert client.get(calendar_path(community_staff, guanbeigou)).status_code == 404
