"""/api/v1/matches/ and /api/v1/match-runs/: scoped reads, decisions through the services, clear refusals."""

import json

import pytest
from rest_framework.test import APIClient

from charity.models import AuditAction, AuditEvent
from charity.services import Actor, create_api_key
from needs.models import Match, MatchRun, Need
from resources.models import Resource

from .match_world import blankets, district_of, make_need, make_run, organisation, propose

pytestmark = pytest.mark.django_db
URL = "/api/v1/matches/"
RUNS = "/api/v1/match-runs/"


def post(client, url, data=None, **headers):
    return client.post(url, json.dumps(data or {}), content_type="application/json", **headers)


def session(user):
    client = APIClient()
    client.force_login(user)
    return client


def key_client(organization):
    _key, secret = create_api_key(organization=organization, name="system", actor=Actor.system())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


@pytest.fixture
def world(guanbeigou, dalong, hub):
    """A match of each kind the scoping must tell apart."""
    merchant = organisation(guanbeigou, "暖心超市", type="merchant")
    merchant.served_areas.add(guanbeigou)
    run, far_run = make_run(guanbeigou), make_run(dalong)
    return {
        "sent_by_hub": propose(make_need(guanbeigou, source_organization=hub), blankets(guanbeigou), run=run),
        "of_merchant": propose(make_need(guanbeigou), blankets(guanbeigou, owner=merchant), run=run),
        "neither": propose(make_need(guanbeigou), blankets(guanbeigou), run=run),
        "far": propose(make_need(dalong), blankets(dalong), run=far_run),
        "merchant": merchant,
        "run": run,
        "far_run": far_run,
    }


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- reading -------------------------------------------------------------------------------------------


def test_staff_see_the_matches_of_their_communitys_needs_with_reasons_in_words(world, community_staff):
    response = session(community_staff).get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert ids(response) == {world[k].pk for k in ("sent_by_hub", "of_merchant", "neither")}
    row = next(r for r in response.json()["results"] if r["id"] == world["neither"].pk)
    assert row["reasons_text"] == "same street · urgent · waited 12 days"
    assert row["reasons"][0] == ["same_street", {}]
    assert (
        row["need"]["summary"] == "为独居老人准备过冬的棉被" and row["resource"]["offered_by"] == "resident"
    )
    assert "name" not in json.dumps(row["resource"])
    zh = session(community_staff).get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans").json()["results"][0]
    assert "很急" in zh["reasons_text"]


def test_a_key_sees_only_the_matches_of_needs_it_sent_or_resources_it_owns(world, hub_api):
    assert ids(hub_api.get(URL)) == {world["sent_by_hub"].pk}
    merchant = key_client(world["merchant"])
    assert ids(merchant.get(URL)) == {world["of_merchant"].pk}
    assert merchant.get(f"{URL}{world['neither'].pk}/").status_code == 404
    assert hub_api.get(f"{URL}{world['far'].pk}/").status_code == 404


def test_filters_by_area_status_and_run(world, street_staff, guanbeigou, dalong):
    client = session(street_staff)
    mine = {world[k].pk for k in ("sent_by_hub", "of_merchant", "neither")}
    assert ids(client.get(URL, {"area": district_of(guanbeigou).pk})) == mine
    assert ids(client.get(URL, {"area": dalong.pk})) == set()  # out of scope: as if empty
    assert ids(client.get(URL, {"run": world["far_run"].pk})) == set()
    assert ids(client.get(URL, {"run": world["run"].pk, "status": "proposed"})) == mine
    Match.objects.filter(pk=world["neither"].pk).update(status="declined")
    assert ids(client.get(URL, {"status": "declined"})) == {world["neither"].pk}
    assert client.get(URL, {"status": "maybe"}).status_code == 400
    assert client.get(URL, {"area": "1.0"}).status_code == 400


def test_who_is_no_staff_and_holds_no_key_is_refused(world, resident, api):
    assert api.get(URL).status_code == 401
    assert session(resident.user).get(URL).status_code == 403
    assert post(session(resident.user), f"{URL}{world['neither'].pk}/accept/").status_code == 403


def test_the_list_costs_as_many_queries_for_500_matches_as_for_one(
    guanbeigou, community_staff, count_queries
):
    client = session(community_staff)
    run, resource = make_run(guanbeigou), blankets(guanbeigou, quantity=1000)
    propose(make_need(guanbeigou), resource, run=run)
    one = count_queries(lambda: client.get(URL, {"page_size": 500}))
    needs = Need.objects.bulk_create(
        [
            Need(
                community=guanbeigou,
                category_id=resource.categories.get().pk,
                sub_kind="clothing",
                summary=f"需求{i}",
                quantity=1,
                status="published",
                source="staff",
            )
            for i in range(499)
        ]
    )
    Match.objects.bulk_create(
        [
            Match(run=run, need=n, resource=resource, quantity=1, cost=i, reasons=[])
            for i, n in enumerate(needs)
        ]
    )
    many = count_queries(lambda: client.get(URL, {"page_size": 500}))
    assert len(client.get(URL, {"page_size": 500}).json()["results"]) == 500
    assert one == many


# --- deciding ------------------------------------------------------------------------------------------


def test_staff_accept_through_the_api_and_a_retry_with_the_same_key_does_nothing_twice(
    world, community_staff
):
    client, match = session(community_staff), world["neither"]
    first = post(client, f"{URL}{match.pk}/accept/", HTTP_IDEMPOTENCY_KEY="accept-1")
    again = post(client, f"{URL}{match.pk}/accept/", HTTP_IDEMPOTENCY_KEY="accept-1")
    assert first.status_code == again.status_code == 200, first.content
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    assert first.json()["status"] == "accepted" and first.json()["need"]["status"] == "matched"
    assert Resource.objects.get(pk=match.resource_id).taken == 1
    assert AuditEvent.objects.filter(action=AuditAction.MATCH_ACCEPTED).count() == 1


def test_accepting_units_taken_meanwhile_is_409_with_a_clear_message(world, community_staff, guanbeigou):
    match = world["neither"]
    Resource.objects.filter(pk=match.resource_id).update(quantity=1, taken=1)
    response = post(session(community_staff), f"{URL}{match.pk}/accept/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409
    assert response.json() == {
        "code": "resource_used_up",
        "message": "“棉被” has only 0 left and this match needs 1: the rest was taken meanwhile. "
        "Nothing was changed.",
    }
    assert Match.objects.get(pk=match.pk).status == "proposed"


def test_the_hub_that_sent_the_need_decides_a_resource_owner_only_reads(world, hub_api):
    merchant = key_client(world["merchant"])
    assert post(merchant, f"{URL}{world['of_merchant'].pk}/accept/").status_code == 403
    assert post(hub_api, f"{URL}{world['neither'].pk}/accept/").status_code == 404
    response = post(hub_api, f"{URL}{world['sent_by_hub'].pk}/accept/")
    assert response.status_code == 200 and response.json()["status"] == "accepted"


def test_another_communitys_staff_and_a_viewer_are_refused(world, outsider, community_viewer):
    match = world["neither"]
    assert post(session(outsider), f"{URL}{match.pk}/accept/").status_code == 404
    assert session(outsider).get(f"{URL}{match.pk}/").status_code == 404
    assert post(session(community_viewer), f"{URL}{match.pk}/accept/").status_code == 403
    assert session(community_viewer).get(f"{URL}{match.pk}/").status_code == 200
    assert Match.objects.get(pk=match.pk).status == "proposed"


def test_declining_needs_a_reason_and_twice_is_409(world, community_staff):
    client, match = session(community_staff), world["neither"]
    blank = post(client, f"{URL}{match.pk}/decline/", {"reason": "  "}, HTTP_ACCEPT_LANGUAGE="en")
    assert blank.status_code == 400 and blank.json()["code"] == "reason_required"
    assert list(blank.json()["fields"]) == ["reason"]
    assert post(client, f"{URL}{match.pk}/decline/", {}).status_code == 400
    assert post(client, f"{URL}{match.pk}/decline/", {"reason": 12}).status_code == 400
    assert Match.objects.get(pk=match.pk).status == "proposed"

    done = post(client, f"{URL}{match.pk}/decline/", {"reason": "家属已购置"})
    assert done.status_code == 200 and done.json()["decline_reason"] == "家属已购置"
    twice = post(client, f"{URL}{match.pk}/decline/", {"reason": "再次"}, HTTP_ACCEPT_LANGUAGE="en")
    assert twice.status_code == 409
    assert twice.json() == {"code": "already_declined", "message": "This match was already declined."}


def test_fulfilling_takes_a_whole_quantity_no_larger_than_matched(world, community_staff):
    client, match = session(community_staff), world["neither"]
    Match.objects.filter(pk=match.pk).update(quantity=3)
    Need.objects.filter(pk=match.need_id).update(quantity=3)
    assert post(client, f"{URL}{match.pk}/accept/").status_code == 200
    for wrong in (4, 0, "2", 2.5, True):
        response = post(client, f"{URL}{match.pk}/fulfil/", {"quantity": wrong})
        assert response.status_code == 400 and "quantity" in response.json()["fields"], wrong
    assert Match.objects.get(pk=match.pk).status == "accepted"
    done = post(client, f"{URL}{match.pk}/fulfil/", {"quantity": 2})
    assert done.status_code == 200, done.content
    assert done.json()["fulfilled_quantity"] == 2 and done.json()["need"]["status"] == "in_progress"


# --- runs ----------------------------------------------------------------------------------------------


def test_runs_covering_the_callers_areas_are_listed_without_their_skipped_rows(
    world, guanbeigou, community_staff, hub_api, count_queries
):
    MatchRun.objects.filter(pk=world["run"].pk).update(skipped=[{"kind": "need", "id": 99, "reason": "x"}])
    for client in (session(community_staff), hub_api):
        response = client.get(RUNS)
        assert ids(response) == {world["run"].pk}
        row = response.json()["results"][0]
        assert row["skipped_count"] == 1 and "skipped" not in row
    client = session(community_staff)
    one = count_queries(lambda: client.get(RUNS))
    for _ in range(30):
        make_run(guanbeigou)
    assert len(client.get(RUNS).json()["results"]) == 31
    assert count_queries(lambda: client.get(RUNS)) == one
