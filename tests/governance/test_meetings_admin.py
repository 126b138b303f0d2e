"""Coordination meetings and action items in the admin, in Chinese: every save through the services, refusals
on the form with nothing changed, scoped to the user's areas, the overdue-items board, flat changelists."""

# ruff: noqa: F811  (the fixtures imported from meetings_world are the tests' arguments)

import datetime

import pytest
from django.utils import timezone

from charity.errors import ForbiddenError
from charity.models import AuditAction, AuditEvent
from governance import services
from governance.models import ActionItem, ActionProgress, Decision, Meeting
from tests.factories import OrganizationFactory

from .meetings_world import (  # noqa: F401  (fixtures)
    action_item,
    decide,
    district,
    gbg_actor,
    meeting_at,
    published_meeting,
    staff,
    street_office,
)

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
MEETINGS = "/admin/governance/meeting/"
ITEMS = "/admin/governance/actionitem/"


@pytest.fixture
def staff_client(client, community_staff):
    client.force_login(community_staff)
    return client


def inlines(**rows):
    """Management forms of the meeting page's three inlines, with new rows as {prefix: [fields…]}."""
    data = {}
    for prefix in ("agenda", "decisions", "opinions"):
        new = rows.get(prefix, [])
        data |= {
            f"{prefix}-TOTAL_FORMS": str(len(new)),
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
        for n, fields in enumerate(new):
            data |= {f"{prefix}-{n}-{k}": v for k, v in fields.items()}
    return data


def meeting_form(meeting, **extra):
    local = timezone.localtime(meeting.starts_at)
    return {
        "kind": meeting.kind,
        "title": meeting.title,
        "starts_at_0": f"{local:%Y-%m-%d}",
        "starts_at_1": f"{local:%H:%M:%S}",
        "place": meeting.place,
        "minutes": meeting.minutes,
        "public_minutes": meeting.public_minutes,
        **extra,
    }


def test_the_meeting_pages_render_in_chinese(staff_client, guanbeigou, gbg_actor):
    meeting = meeting_at(guanbeigou, gbg_actor)
    for url in (MEETINGS, f"{MEETINGS}add/", f"{MEETINGS}{meeting.pk}/change/", ITEMS, f"{ITEMS}overdue/"):
        response = staff_client.get(url, **ZH)
        assert response.status_code == 200, url
        assert 'lang="zh-hans"' in response.content.decode()


def test_a_meeting_added_in_the_admin_goes_through_the_service(staff_client, guanbeigou, street, dalong):
    page = staff_client.get(f"{MEETINGS}add/", **EN).content.decode()
    assert f'value="{guanbeigou.pk}"' in page
    assert f'value="{street.pk}"' not in page and f'value="{dalong.pk}"' not in page  # only their areas
    starts = timezone.localtime() + datetime.timedelta(days=2)
    response = staff_client.post(
        f"{MEETINGS}add/",
        {
            "area": guanbeigou.pk,
            "kind": "regular",
            "title": "社区工作例会",
            "starts_at_0": f"{starts:%Y-%m-%d}",
            "starts_at_1": "14:00:00",
            "place": "议事厅",
        },
        **EN,
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    meeting = Meeting.objects.get()
    assert AuditEvent.objects.filter(action=AuditAction.MEETING_CREATED, object_id=str(meeting.pk)).exists()


def test_decisions_minutes_and_publication_through_the_meeting_page(staff_client, guanbeigou, gbg_actor):
    meeting = meeting_at(guanbeigou, gbg_actor, starts_at=timezone.now() - datetime.timedelta(hours=3))
    url = f"{MEETINGS}{meeting.pk}/change/"
    form = meeting_form(meeting, minutes="内部记录", public_minutes="会议决定修复楼道照明。", publish="on")
    response = staff_client.post(url, form | inlines(decisions=[{"text": "修复楼道照明。"}]), **EN)
    assert response.status_code == 302, response.content.decode()[:3000]
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.PUBLISHED and meeting.decisions.get().text == "修复楼道照明。"
    page = staff_client.get(url, **EN).content.decode()
    assert 'name="_save"' not in page  # read-only once published
    refused = staff_client.post(url, meeting_form(meeting, title="改标题") | inlines(), **EN)
    assert refused.status_code == 403
    assert Meeting.objects.get(pk=meeting.pk).title == meeting.title


def test_a_phone_number_in_a_decision_is_shown_on_the_form_and_nothing_is_saved(
    staff_client, guanbeigou, gbg_actor
):
    meeting = meeting_at(guanbeigou, gbg_actor, starts_at=timezone.now() - datetime.timedelta(hours=3))
    before = AuditEvent.objects.count()
    response = staff_client.post(
        f"{MEETINGS}{meeting.pk}/change/",
        meeting_form(meeting, minutes="新的内部记录") | inlines(decisions=[{"text": "有事联系 13900001111"}]),
        **EN,
    )
    assert response.status_code == 200
    assert "this text is published: leave it out" in response.content.decode()
    assert not Decision.objects.exists() and Meeting.objects.get(pk=meeting.pk).minutes == ""
    assert AuditEvent.objects.count() == before


def test_another_communitys_meeting_and_item_are_absent(client, outsider, guanbeigou, gbg_actor, hub):
    meeting = meeting_at(guanbeigou, gbg_actor)
    item = action_item(decide(meeting, gbg_actor), gbg_actor, owner_organization=hub)
    client.force_login(outsider)
    assert client.get(f"{MEETINGS}{meeting.pk}/change/").status_code == 404
    assert client.get(f"{ITEMS}{item.pk}/change/").status_code == 404
    assert meeting.title not in client.get(MEETINGS).content.decode()
    assert item.title not in client.get(f"{ITEMS}overdue/").content.decode()


def item_form(decision, owner=None, due_on=None, **extra):
    due = due_on or timezone.localdate() + datetime.timedelta(days=10)
    return {
        "decision": decision.pk,
        "title": "修复楼道照明",
        "description": "",
        "owner_organization": owner.pk if owner else "",
        "owner_person": "",
        "due_on": f"{due:%Y-%m-%d}",
        **extra,
    }


def test_an_action_item_due_in_the_past_or_without_an_owner_is_refused_on_the_form(
    staff_client, guanbeigou, gbg_actor, hub
):
    decision = decide(meeting_at(guanbeigou, gbg_actor), gbg_actor)
    before = AuditEvent.objects.count()
    past = staff_client.post(
        f"{ITEMS}add/", item_form(decision, hub, timezone.localdate() - datetime.timedelta(days=3)), **EN
    )
    assert past.status_code == 200 and "has already passed" in past.content.decode()
    nobody = staff_client.post(f"{ITEMS}add/", item_form(decision), **EN)
    assert nobody.status_code == 200 and "Name who owns this action item" in nobody.content.decode()
    assert not ActionItem.objects.exists() and AuditEvent.objects.count() == before
    created = staff_client.post(f"{ITEMS}add/", item_form(decision, hub), **EN)
    assert created.status_code == 302 and ActionItem.objects.get().owner_organization == hub


def test_progress_is_added_inline_through_the_service(staff_client, guanbeigou, gbg_actor, hub):
    item = action_item(
        decide(meeting_at(guanbeigou, gbg_actor), gbg_actor), gbg_actor, owner_organization=hub
    )
    response = staff_client.post(
        f"{ITEMS}{item.pk}/change/",
        {
            "progress-TOTAL_FORMS": "1",
            "progress-INITIAL_FORMS": "0",
            "progress-MIN_NUM_FORMS": "0",
            "progress-MAX_NUM_FORMS": "1000",
            "progress-0-noted_on": f"{timezone.localdate():%Y-%m-%d}",
            "progress-0-note": "施工队已进场。",
            "progress-0-to_status": "in_progress",
        },
        **EN,
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    item.refresh_from_db()
    assert item.status == "in_progress" and ActionProgress.objects.get().note == "施工队已进场。"
    assert AuditEvent.objects.filter(action=AuditAction.ACTION_ITEM_UPDATED).count() == 1


def test_the_overdue_board_groups_by_level_oldest_first(
    client, street_staff, guanbeigou, street, gbg_actor, hub, dalong, outsider
):
    decision = decide(meeting_at(guanbeigou, gbg_actor), gbg_actor)
    today = timezone.localdate()
    newer = action_item(decision, gbg_actor, owner_organization=hub, title="较新的逾期事项")
    older = action_item(decision, gbg_actor, owner_organization=hub, title="最早的逾期事项")
    escalated = action_item(decision, gbg_actor, owner_organization=hub, title="已上报街道的事项")
    ActionItem.objects.filter(pk=newer.pk).update(due_on=today - datetime.timedelta(days=2))
    ActionItem.objects.filter(pk=older.pk).update(due_on=today - datetime.timedelta(days=9))
    ActionItem.objects.filter(pk=escalated.pk).update(due_on=today - datetime.timedelta(days=30), area=street)
    client.force_login(street_staff)
    page = client.get(f"{ITEMS}overdue/", **EN).content.decode()
    assert page.index("Street (town)") < page.index("Community (village)")
    assert page.index("已上报街道的事项") < page.index("最早的逾期事项") < page.index("较新的逾期事项")
    assert "/committees/meetings/calendar/" in page  # the user's own feed address


def fill(area, n, owner):
    now = timezone.now()
    meetings = Meeting.objects.bulk_create(
        Meeting(area=area, kind="regular", title=f"例会{i}", starts_at=now) for i in range(n)
    )
    decisions = Decision.objects.bulk_create(Decision(meeting=m, text="决定") for m in meetings)
    ActionItem.objects.bulk_create(
        ActionItem(
            decision=d,
            area=area,
            title="事项",
            owner_organization=owner,
            due_on=now.date() - datetime.timedelta(days=3),
        )
        for d in decisions
    )


def test_changelists_and_the_board_run_as_many_queries_for_500_rows_as_for_one(
    staff_client, guanbeigou, hub, count_queries
):
    def counts():
        return tuple(
            count_queries(lambda u=url: staff_client.get(u)) for url in (MEETINGS, ITEMS, f"{ITEMS}overdue/")
        )

    fill(guanbeigou, 1, hub)
    staff_client.get(MEETINGS)
    one = counts()
    fill(guanbeigou, 499, hub)
    assert counts() == one


def test_an_escalated_item_is_read_below_but_progressed_above(
    client, community_staff, street, guanbeigou, gbg_actor
):
    item = action_item(
        decide(meeting_at(guanbeigou, gbg_actor), gbg_actor),
        gbg_actor,
        owner_organization=OrganizationFactory(area=guanbeigou),
    )
    ActionItem.objects.filter(pk=item.pk).update(area=street, escalations=1)
    client.force_login(community_staff)
    page = client.get(f"{ITEMS}{item.pk}/change/", **EN)
    assert page.status_code == 200 and 'name="progress-0-note"' not in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    with pytest.raises(ForbiddenError) as refused:  # and the service says why
        services.update_action_item(item=item, note="x", actor=staff(community_staff))
    assert "escalated to" in str(refused.value.message) or "示例街道" in str(refused.value.message)
