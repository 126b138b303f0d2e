"""The admin's match review queue: the latest night's proposals of my areas, grouped by need, best first;
accept and decline in bulk through the services, each refused row told apart."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from charity.models import AuditAction, AuditEvent
from needs.models import Match, Need
from resources.models import Resource

from .match_world import blankets, make_need, make_run, propose

pytestmark = pytest.mark.django_db
QUEUE = "/admin/needs/match/"


def rows(response):
    assert response.status_code == 200, response.content[:500]
    return list(response.context["cl"].result_list)


def act(client, action, matches, **extra):
    data = {"action": action, "_selected_action": [m.pk for m in matches], "index": "0", **extra}
    return client.post(QUEUE, data)


def texts(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def queue(guanbeigou, dalong):
    """Tonight's proposals for two needs of 官北沟 (the counselling one is the better), one of last night's,
    and one of 大龙's."""
    tonight, last_night = (
        make_run(guanbeigou),
        make_run(guanbeigou, night=timezone.localdate() - datetime.timedelta(1)),
    )
    winter = make_need(guanbeigou, quantity=2, summary="为2户高龄老人准备过冬的棉被", urgency="urgent")
    family = make_need(guanbeigou, quantity=1, summary="困难家庭需要心理辅导", sub_kind="counselling")
    quilts = blankets(guanbeigou, quantity=5, title="棉被")
    duvets = blankets(guanbeigou, quantity=5, title="羽绒被")
    talk = blankets(guanbeigou, quantity=1, title="心理咨询师的时间")
    reasons = [["same_community", {}], ["urgency", {"level": "urgent"}], ["skill", {"skill": "counselling"}]]
    return {
        "winter_quilts": propose(winter, quilts, quantity=2, cost=500, run=tonight),
        "winter_duvets": propose(winter, duvets, quantity=2, cost=300, run=tonight),
        "family_talk": propose(family, talk, quantity=1, cost=100, run=tonight, reasons=reasons),
        "old": propose(make_need(guanbeigou), blankets(guanbeigou), cost=1, run=last_night),
        "far": propose(make_need(dalong), blankets(dalong), cost=1, run=make_run(dalong)),
        "tonight": tonight,
        "last_night": last_night,
    }


def test_the_queue_shows_tonights_proposals_of_my_areas_grouped_by_need_best_first_in_chinese(
    client, community_staff, queue
):
    client.force_login(community_staff)
    response = client.get(QUEUE)

    assert rows(response) == [queue["family_talk"], queue["winter_duvets"], queue["winter_quilts"]]
    page = response.content.decode()
    assert 'lang="zh-hans"' in page
    assert "困难家庭需要心理辅导" in page and "心理咨询师的时间" in page
    assert "很急" in page and "心理辅导" in page  # the reasons in words, in Chinese
    assert "为独居老人准备过冬的棉被" not in page  # last night's and 大龙's are not listed


def test_the_filters_show_every_run_one_run_and_one_status(client, community_staff, queue):
    client.force_login(community_staff)
    assert queue["old"] in rows(client.get(QUEUE, {"run": "all"}))
    assert queue["far"] not in rows(client.get(QUEUE, {"run": "all"}))
    assert rows(client.get(QUEUE, {"run": queue["last_night"].pk})) == [queue["old"]]
    Match.objects.filter(pk=queue["winter_quilts"].pk).update(status="declined")
    assert rows(client.get(QUEUE, {"status__exact": "declined"})) == [queue["winter_quilts"]]
    assert rows(client.get(QUEUE, {"run": "x1"})) == []


def test_another_communitys_match_is_absent(client, community_staff, queue):
    client.force_login(community_staff)
    assert client.get(f"{QUEUE}{queue['far'].pk}/change/").status_code == 404
    assert client.get(f"{QUEUE}{queue['family_talk'].pk}/change/").status_code == 200


def test_bulk_accept_goes_through_the_service_and_tells_each_refusal_apart(client, community_staff, queue):
    Resource.objects.filter(pk=queue["winter_quilts"].resource_id).update(taken=4)  # 1 of 5 left, 2 wanted
    client.force_login(community_staff)

    response = act(
        client, "accept_matches", [queue["family_talk"], queue["winter_quilts"], queue["winter_duvets"]]
    )

    assert response.status_code == 302
    status = dict(Match.objects.values_list("pk", "status"))
    assert status[queue["family_talk"].pk] == status[queue["winter_duvets"].pk] == "accepted"
    assert status[queue["winter_quilts"].pk] == "proposed"
    assert Need.objects.get(pk=queue["family_talk"].need_id).status == "matched"
    messages = texts(response)
    refused = [m for m in messages if f"#{queue['winter_quilts'].pk}" in m]
    assert len(refused) == 1 and "棉被" in refused[0]
    assert (
        AuditEvent.objects.filter(action=AuditAction.MATCH_ACCEPTED, actor_user=community_staff).count() == 2
    )


def test_bulk_decline_asks_for_the_reason_first(client, community_staff, queue):
    client.force_login(community_staff)
    chosen = [queue["winter_quilts"], queue["winter_duvets"]]

    page = act(client, "decline_matches", chosen)
    assert page.status_code == 200 and "为2户高龄老人准备过冬的棉被" in page.content.decode()
    blank = act(client, "decline_matches", chosen, apply="1", reason="   ")
    assert blank.status_code == 200 and blank.context["form"].errors
    assert set(Match.objects.filter(pk__in=[m.pk for m in chosen]).values_list("status", flat=True)) == {
        "proposed"
    }

    done = act(client, "decline_matches", chosen, apply="1", reason="老人已由街道统一发放")
    assert done.status_code == 302
    declined = Match.objects.filter(pk__in=[m.pk for m in chosen])
    assert set(declined.values_list("status", "decline_reason")) == {("declined", "老人已由街道统一发放")}
    client.get(QUEUE)  # the messages of the last action are read
    again = act(client, "decline_matches", chosen, apply="1", reason="再次")
    told = texts(again)  # one clear message per match already declined, naming it
    assert len(told) == 2 and any("“棉被”" in m or "← 棉被" in m for m in told)
    assert all(f"#{queue['winter_quilts'].need_id}" in m for m in told)
    assert set(declined.values_list("decline_reason", flat=True)) == {"老人已由街道统一发放"}


def test_a_viewer_sees_the_queue_but_has_no_actions(client, community_viewer, queue):
    client.force_login(community_viewer)
    response = client.get(QUEUE)
    assert len(rows(response)) == 3
    assert "accept_matches" not in response.content.decode()
    act(client, "accept_matches", [queue["family_talk"]])
    assert Match.objects.get(pk=queue["family_talk"].pk).status == "proposed"


def test_the_queue_costs_as_many_queries_for_many_matches_as_for_few(
    client, community_staff, guanbeigou, queue, count_queries
):
    client.force_login(community_staff)
    one = count_queries(lambda: client.get(QUEUE))
    for _ in range(20):
        propose(make_need(guanbeigou), blankets(guanbeigou), run=queue["tonight"])
    assert len(rows(client.get(QUEUE))) == 23
    assert count_queries(lambda: client.get(QUEUE)) == one
