"""My page: a resident who offered something reads how many households it was matched to, and where —
never who they are."""

import pytest
from django.test import Client

from needs.models import Match
from tests.factories import community

from .match_world import REASONS, blankets, make_need, make_run, propose

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(resident):
    client = Client()
    client.force_login(resident.user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the page in the language asserted on

    def read():
        response = client.get("/me/")
        assert response.status_code == 200
        return response.content.decode()

    return read


def test_the_giver_reads_how_many_households_in_their_street_got_their_blankets(guanbeigou, resident, page):
    neighbours = community("酒泉市", "肃州区", "示例街道", "东关社区")
    run = make_run(guanbeigou)
    quilts = blankets(guanbeigou, owner=resident, title="棉被", quantity=10)
    here = make_need(guanbeigou, summary="为独居的张奶奶准备棉被")
    propose(here, quilts, run=run, status="accepted", reasons=[["same_community", {}]])
    for summary in ("为李爷爷一家准备棉被", "为困难家庭准备棉被"):
        need = make_need(neighbours, summary=summary)
        propose(
            need, quilts, run=run, status="fulfilled", fulfilled_quantity=1, reasons=[["same_street", {}]]
        )
    # Proposed, declined or expired matches are not help given: not counted.
    propose(make_need(guanbeigou), quilts, run=run, status="proposed")
    propose(make_need(guanbeigou), quilts, run=run, status="declined")

    text = page()

    assert "Your “棉被” was matched to 3 households in your street." in text
    for private in ("张奶奶", "李爷爷", "困难家庭", "东关社区"):
        assert private not in text


def test_one_household_in_the_same_community_and_a_place_worked_out_without_reasons(
    guanbeigou, resident, page
):
    run = make_run(guanbeigou)
    tools = blankets(guanbeigou, owner=resident, title="轮椅")
    propose(make_need(guanbeigou), tools, run=run, status="accepted", reasons=[])
    other_street = community("酒泉市", "肃州区", "西峰街道", "西峰社区")
    coats = blankets(guanbeigou, owner=resident, title="棉衣")
    propose(make_need(other_street), coats, run=run, status="accepted", reasons=[["moon", {}]])

    text = page()

    assert "Your “轮椅” was matched to 1 household in your community." in text
    assert "Your “棉衣” was matched to 1 household in your district." in text


def test_nothing_matched_yet_says_so_and_others_matches_do_not_show(guanbeigou, resident, page):
    propose(make_need(guanbeigou), blankets(guanbeigou, title="别人的棉被"), status="accepted")
    text = page()
    assert "别人的棉被" not in text
    assert "When staff match something you offered to households in need, you will see it here." in text


def test_my_page_costs_as_many_queries_for_many_matches_as_for_one(guanbeigou, resident, count_queries, page):
    run = make_run(guanbeigou)
    quilts = blankets(guanbeigou, owner=resident, quantity=100)
    propose(make_need(guanbeigou), quilts, run=run, status="accepted")
    one = count_queries(page)
    Match.objects.bulk_create(
        [
            Match(
                run=run,
                need=make_need(guanbeigou),
                resource=r,
                quantity=1,
                cost=1,
                status="accepted",
                reasons=REASONS,
            )
            for r in [quilts] * 5 + [blankets(guanbeigou, owner=resident, title=f"物品{i}") for i in range(5)]
        ]
    )
    assert count_queries(page) == one
