"""Reviewing proposed matches: accept, decline, fulfil, expire — and what each refuses, changing nothing."""

import datetime
import json
from dataclasses import replace

import pytest
from django.utils import timezone, translation

from charity import crypto
from charity.errors import ConflictError, ForbiddenError, NotFoundError
from charity.models import AuditAction, AuditEvent, Notification, NotificationKind
from charity.services import Actor
from needs import matches, services
from needs.match_reasons import reason_phrases, reasons_in_words
from needs.models import Match, Need, NeedStatusChange, WebhookDelivery, WebhookEndpoint
from needs.services import NeedInput
from resources.models import Resource
from tests.factories import PersonFactory

from .match_world import blankets, giver, make_need, make_run, organisation, propose

pytestmark = pytest.mark.django_db
M = Match.Status


@pytest.fixture
def staff(community_staff):
    return Actor(surface=AuditEvent.Surface.ADMIN, user=community_staff)


def events(action):
    return AuditEvent.objects.filter(action=action)


def snapshot(*rows):
    """What a refused call must leave as it was."""
    out = []
    for row in rows:
        row.refresh_from_db()
        out.append(
            {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields if f.name != "updated_at"}
        )
    return out


# --- accept --------------------------------------------------------------------------------------------


def test_accepting_reserves_the_units_and_the_need_is_matched_on_its_timeline(guanbeigou, staff):
    need = make_need(guanbeigou, quantity=3)
    resource = blankets(guanbeigou, quantity=20)
    match = propose(need, resource, quantity=3)

    matches.accept_match(match=match, actor=staff)

    match.refresh_from_db()
    need.refresh_from_db()
    resource.refresh_from_db()
    assert match.status == M.ACCEPTED and match.decided_by == staff.user and match.decided_at
    assert resource.taken == 3 and resource.status == Resource.Status.AVAILABLE
    assert need.status == Need.Status.MATCHED
    assert NeedStatusChange.objects.filter(need=need, to_status=Need.Status.MATCHED).count() == 1
    event = events(AuditAction.MATCH_ACCEPTED).get()
    assert event.object_id == str(match.pk) and event.data["quantity"] == 3 and event.area == guanbeigou


def test_accepting_the_last_units_reserves_the_resource(guanbeigou, staff):
    need = make_need(guanbeigou, quantity=3)
    resource = blankets(guanbeigou, quantity=3)

    matches.accept_match(match=propose(need, resource, quantity=3), actor=staff)

    resource.refresh_from_db()
    assert resource.free == 0 and resource.status == Resource.Status.RESERVED


def test_accepting_a_match_whose_resource_was_used_up_meanwhile_is_refused_and_changes_nothing(
    guanbeigou, staff, english
):
    resource = blankets(guanbeigou, quantity=2)
    first, second = make_need(guanbeigou, quantity=2), make_need(guanbeigou, quantity=2)
    taken = propose(first, resource, quantity=2)
    late = propose(second, resource, quantity=2)
    matches.accept_match(match=taken, actor=staff)
    before = snapshot(late, second, resource)
    audit_rows = AuditEvent.objects.count()

    with pytest.raises(ConflictError) as refused:
        matches.accept_match(match=late, actor=staff)

    assert refused.value.code == "resource_used_up"
    assert str(refused.value.message) == (
        "“棉被” has only 0 left and this match needs 2: the rest was taken meanwhile. Nothing was changed."
    )
    assert snapshot(late, second, resource) == before
    assert late.status == M.PROPOSED and second.status == Need.Status.PUBLISHED
    assert AuditEvent.objects.count() == audit_rows


def test_accepting_a_match_of_a_withdrawn_resource_is_refused(guanbeigou, staff, english):
    resource = blankets(guanbeigou, quantity=5)
    match = propose(make_need(guanbeigou), resource)
    Resource.objects.filter(pk=resource.pk).update(status=Resource.Status.WITHDRAWN)

    with pytest.raises(ConflictError) as refused:
        matches.accept_match(match=match, actor=staff)

    assert refused.value.code == "resource_gone"
    assert "withdrawn" in str(refused.value.message)
    match.refresh_from_db()
    assert match.status == M.PROPOSED


def test_accepting_a_resource_whose_offer_ended_is_refused_and_the_run_expires_it(guanbeigou, staff, english):
    resource = blankets(guanbeigou, quantity=5)
    match = propose(make_need(guanbeigou), resource)
    ended = timezone.localdate() - datetime.timedelta(days=1)
    Resource.objects.filter(pk=resource.pk).update(available_from=ended, available_until=ended)

    with pytest.raises(ConflictError) as refused:
        matches.accept_match(match=match, actor=staff)

    assert refused.value.code == "resource_gone" and f"offered until {ended.isoformat()}" in str(
        refused.value.message
    )
    assert Resource.objects.get(pk=resource.pk).taken == 0
    assert matches.expire_stale_matches() == 1
    assert events(AuditAction.MATCH_EXPIRED).get().data["reasons"] == {"resource_gone": [match.pk]}


def test_two_proposals_that_each_serve_part_of_one_need_can_both_be_accepted(guanbeigou, staff):
    need = make_need(guanbeigou, quantity=20)
    merchant, neighbour = blankets(guanbeigou, quantity=12), blankets(guanbeigou, quantity=8)
    run = make_run(guanbeigou)
    a = propose(need, merchant, quantity=12, run=run)
    b = propose(need, neighbour, quantity=8, run=run)

    matches.accept_match(match=a, actor=staff)
    matches.accept_match(match=b, actor=staff)

    assert set(Match.objects.values_list("status", flat=True)) == {M.ACCEPTED}
    need.refresh_from_db()
    assert need.status == Need.Status.MATCHED
    assert NeedStatusChange.objects.filter(need=need, to_status=Need.Status.MATCHED).count() == 1


def test_a_need_that_has_help_for_all_it_asked_takes_no_more(guanbeigou, staff, english):
    need = make_need(guanbeigou, quantity=3)
    run = make_run(guanbeigou)
    matches.accept_match(match=propose(need, blankets(guanbeigou), quantity=3, run=run), actor=staff)
    more = propose(need, blankets(guanbeigou), quantity=1, run=run)

    with pytest.raises(ConflictError) as refused:
        matches.accept_match(match=more, actor=staff)

    assert refused.value.code == "need_covered"
    assert f"Need #{need.pk} already has help for 3 of the 3" in str(refused.value.message)


def test_accepting_twice_is_refused(guanbeigou, staff, english):
    match = propose(make_need(guanbeigou), blankets(guanbeigou))
    matches.accept_match(match=match, actor=staff)

    with pytest.raises(ConflictError) as refused:
        matches.accept_match(match=match, actor=staff)

    assert refused.value.code == "not_proposed" and "already accepted" in str(refused.value.message)
    assert Resource.objects.get(pk=match.resource_id).taken == 1


def test_a_need_without_a_quantity_wants_one(guanbeigou, staff):
    need = make_need(guanbeigou, quantity=None)
    run = make_run(guanbeigou)
    matches.accept_match(match=propose(need, blankets(guanbeigou), run=run), actor=staff)
    with pytest.raises(ConflictError):
        matches.accept_match(match=propose(need, blankets(guanbeigou), run=run), actor=staff)


# --- who may decide ------------------------------------------------------------------------------------


def test_another_communitys_staff_find_no_such_match(guanbeigou, outsider):
    match = propose(make_need(guanbeigou), blankets(guanbeigou))
    stranger = Actor(surface=AuditEvent.Surface.ADMIN, user=outsider)

    for attempt in (
        lambda: matches.accept_match(match=match, actor=stranger),
        lambda: matches.decline_match(match=match, actor=stranger, reason="不合适"),
        lambda: matches.fulfil_match(match=match, actor=stranger),
    ):
        with pytest.raises(NotFoundError):
            attempt()
    match.refresh_from_db()
    assert match.status == M.PROPOSED and not events(AuditAction.MATCH_ACCEPTED).exists()


def test_a_viewer_sees_but_may_not_decide(guanbeigou, community_viewer):
    match = propose(make_need(guanbeigou), blankets(guanbeigou))
    with pytest.raises(ForbiddenError):
        matches.accept_match(match=match, actor=Actor(surface="admin", user=community_viewer))
    assert Match.objects.get(pk=match.pk).status == M.PROPOSED


def test_street_staff_decide_for_the_communities_below(guanbeigou, street_staff):
    match = propose(make_need(guanbeigou), blankets(guanbeigou))
    matches.accept_match(match=match, actor=Actor(surface="admin", user=street_staff))
    assert Match.objects.get(pk=match.pk).status == M.ACCEPTED


def test_the_hub_that_sent_the_need_decides_and_another_organisation_may_not(guanbeigou, dalong, hub):
    need = make_need(guanbeigou, source_organization=hub)
    match = propose(need, blankets(guanbeigou))
    other = organisation(guanbeigou, "另一家枢纽", type="hub")
    other.served_areas.add(guanbeigou)
    far = organisation(dalong, "大龙枢纽", type="hub")
    far.served_areas.add(dalong)

    with pytest.raises(ForbiddenError):
        matches.accept_match(match=match, actor=Actor(surface="api", organization=other))
    with pytest.raises(NotFoundError):
        matches.accept_match(match=match, actor=Actor(surface="api", organization=far))
    matches.accept_match(match=match, actor=Actor(surface="api", organization=hub))

    need.refresh_from_db()
    assert need.status == Need.Status.MATCHED
    assert events(AuditAction.MATCH_ACCEPTED).get().actor_organization == hub


# --- decline -------------------------------------------------------------------------------------------


def test_declining_needs_a_reason(guanbeigou, staff, english):
    match = propose(make_need(guanbeigou), blankets(guanbeigou))
    for blank in ("", "   ", "\u200b", None):
        with pytest.raises(services.MatchError) as refused:
            matches.decline_match(match=match, actor=staff, reason=blank)
        assert refused.value.code == "reason_required" and refused.value.field == "reason"
    assert Match.objects.get(pk=match.pk).status == M.PROPOSED and not events(AuditAction.MATCH_DECLINED)


def test_declining_keeps_the_reason_and_twice_is_refused_clearly(guanbeigou, staff, english):
    match = propose(make_need(guanbeigou), blankets(guanbeigou))

    matches.decline_match(match=match, actor=staff, reason="老人已由子女接走照顾")

    match.refresh_from_db()
    assert match.status == M.DECLINED and match.decline_reason == "老人已由子女接走照顾"
    assert events(AuditAction.MATCH_DECLINED).get().data["reason"] == "老人已由子女接走照顾"
    with pytest.raises(ConflictError) as refused:
        matches.decline_match(match=match, actor=staff, reason="再拒绝一次")
    assert refused.value.code == "already_declined"
    assert str(refused.value.message) == "This match was already declined."
    match.refresh_from_db()
    assert match.decline_reason == "老人已由子女接走照顾" and events(AuditAction.MATCH_DECLINED).count() == 1


def test_an_accepted_match_cannot_be_declined(guanbeigou, staff):
    match = propose(make_need(guanbeigou), blankets(guanbeigou))
    matches.accept_match(match=match, actor=staff)
    with pytest.raises(ConflictError) as refused:
        matches.decline_match(match=match, actor=staff, reason="改主意了")
    assert refused.value.code == "not_proposed"


# --- fulfil --------------------------------------------------------------------------------------------


def test_fulfilling_more_than_matched_is_refused_and_changes_nothing(guanbeigou, staff, english):
    match = propose(make_need(guanbeigou, quantity=3), blankets(guanbeigou), quantity=3)
    matches.accept_match(match=match, actor=staff)
    before = snapshot(match, match.need, match.resource)

    for wrong in (4, 0, -1, True, "2", 2.0):
        with pytest.raises(services.MatchError) as refused:
            matches.fulfil_match(match=match, actor=staff, quantity=wrong)
        assert refused.value.code == "invalid_quantity" and refused.value.field == "quantity"
    assert "from 1 to 3" in str(refused.value.message)
    assert snapshot(match, match.need, match.resource) == before


def test_a_partial_delivery_leaves_the_need_in_progress_and_returns_the_rest(guanbeigou, staff):
    need = make_need(guanbeigou, quantity=3)
    resource = blankets(guanbeigou, quantity=3)
    match = propose(need, resource, quantity=3)
    matches.accept_match(match=match, actor=staff)

    matches.fulfil_match(match=match, actor=staff, quantity=2)

    match.refresh_from_db()
    need.refresh_from_db()
    resource.refresh_from_db()
    assert match.status == M.FULFILLED and match.fulfilled_quantity == 2
    assert need.status == Need.Status.IN_PROGRESS
    assert resource.taken == 2 and resource.status == Resource.Status.AVAILABLE  # one back, free again
    assert events(AuditAction.MATCH_FULFILLED).get().data["returned_to_resource"] == 1


def test_delivering_all_meets_the_need_and_uses_up_the_resource(guanbeigou, staff):
    need = make_need(guanbeigou, quantity=5)
    resource = blankets(guanbeigou, quantity=5)
    # The same pair from two runs, only to deliver in two parts (a run proposes a pair once).
    first = propose(need, resource, quantity=3, run=make_run(guanbeigou))
    second = propose(need, resource, quantity=2, run=make_run(guanbeigou))
    for match in (first, second):
        matches.accept_match(match=match, actor=staff)

    matches.fulfil_match(match=first, actor=staff)
    need.refresh_from_db()
    assert need.status == Need.Status.IN_PROGRESS
    matches.fulfil_match(match=second, actor=staff)

    need.refresh_from_db()
    resource.refresh_from_db()
    assert need.status == Need.Status.MET
    assert resource.status == Resource.Status.USED_UP and resource.taken == 5
    assert list(NeedStatusChange.objects.filter(need=need).values_list("to_status", flat=True)) == [
        "matched",
        "in_progress",
        "met",
    ]


def test_only_an_accepted_match_is_fulfilled_once(guanbeigou, staff):
    match = propose(make_need(guanbeigou), blankets(guanbeigou))
    with pytest.raises(ConflictError) as refused:
        matches.fulfil_match(match=match, actor=staff)
    assert refused.value.code == "not_accepted"
    matches.accept_match(match=match, actor=staff)
    matches.fulfil_match(match=match, actor=staff)
    with pytest.raises(ConflictError) as again:
        matches.fulfil_match(match=match, actor=staff)
    assert again.value.code == "already_fulfilled"


# --- expire --------------------------------------------------------------------------------------------


def test_a_need_that_stops_taking_help_loses_its_proposals(guanbeigou, staff):
    need = make_need(guanbeigou, quantity=5)
    run = make_run(guanbeigou)
    accepted = propose(need, blankets(guanbeigou), run=run)
    waiting = propose(need, blankets(guanbeigou), run=run)
    matches.accept_match(match=accepted, actor=staff)
    need.refresh_from_db()

    services.withdraw_need(need=need, actor=staff, note="")

    assert Match.objects.get(pk=waiting.pk).status == M.EXPIRED
    assert Match.objects.get(pk=accepted.pk).status == M.ACCEPTED
    event = events(AuditAction.MATCH_EXPIRED).get()
    assert event.object_id == str(waiting.pk) and event.data["reason"] == "need_closed"


def test_editing_what_a_need_was_matched_on_expires_its_proposals(guanbeigou, category, staff):
    need = make_need(guanbeigou, quantity=3, category=category)
    kept = propose(need, blankets(guanbeigou))
    as_is = NeedInput(
        community=guanbeigou,
        category=category,
        sub_kind=need.sub_kind,
        summary=need.summary,
        quantity=3,
        unit=need.unit,
        urgency=need.urgency,
    )

    services.edit_need(need=need, data=replace(as_is, summary="为高龄独居老人准备过冬的棉被"), actor=staff)
    assert Match.objects.get(pk=kept.pk).status == M.PROPOSED  # the summary is not what it was matched on
    services.edit_need(need=need, data=replace(as_is, quantity=1), actor=staff)

    assert Match.objects.get(pk=kept.pk).status == M.EXPIRED
    assert events(AuditAction.MATCH_EXPIRED).get().data["reason"] == "need_changed"


def test_the_run_expires_what_can_no_longer_be_accepted_and_nothing_else(guanbeigou, staff):
    run = make_run(guanbeigou)
    fine = propose(make_need(guanbeigou), blankets(guanbeigou), run=run)
    closed_need = make_need(guanbeigou)
    closed = propose(closed_need, blankets(guanbeigou), run=run)
    Need.objects.filter(pk=closed_need.pk).update(status=Need.Status.MET)
    gone = blankets(guanbeigou)
    withdrawn = propose(make_need(guanbeigou), gone, run=run)
    Resource.objects.filter(pk=gone.pk).update(status=Resource.Status.WITHDRAWN)
    short = blankets(guanbeigou, quantity=4)
    too_many = propose(make_need(guanbeigou, quantity=4), short, quantity=3, run=run)
    Resource.objects.filter(pk=short.pk).update(taken=2)
    covered_need = make_need(guanbeigou, quantity=2)
    matches.accept_match(match=propose(covered_need, blankets(guanbeigou), quantity=2, run=run), actor=staff)
    covered = propose(covered_need, blankets(guanbeigou), run=run)

    assert matches.expire_stale_matches() == 4
    assert matches.expire_stale_matches() == 0

    status = dict(Match.objects.values_list("pk", "status"))
    assert status[fine.pk] == M.PROPOSED
    assert {status[m.pk] for m in (closed, withdrawn, too_many, covered)} == {M.EXPIRED}
    event = events(AuditAction.MATCH_EXPIRED).get()
    assert event.area == guanbeigou and event.surface == AuditEvent.Surface.TASK
    assert event.data["reasons"] == {
        "need_closed": [closed.pk],
        "need_covered": [covered.pk],
        "resource_gone": [withdrawn.pk],
        "resource_used_up": [too_many.pk],
    }


# --- what people are told ------------------------------------------------------------------------------


def test_the_giver_and_the_hub_that_sent_the_need_are_told_without_the_households_details(
    guanbeigou, hub, staff, english
):
    hub_contact = PersonFactory(name="枢纽联络人", community=guanbeigou, organization=hub)
    merchant = organisation(guanbeigou, "暖心超市", type="merchant")
    shopkeeper = PersonFactory(name="店长", community=guanbeigou, organization=merchant)
    neighbour = giver(guanbeigou, mobile="13911112222")
    need = make_need(guanbeigou, quantity=3, source_organization=hub, summary="为3户独居老人准备过冬棉被")
    run = make_run(guanbeigou)
    own = propose(need, blankets(guanbeigou, owner=neighbour, title="羽绒被"), quantity=1, run=run)
    shop = propose(need, blankets(guanbeigou, owner=merchant, title="棉被"), quantity=2, run=run)

    matches.accept_match(match=own, actor=staff)
    matches.accept_match(match=shop, actor=staff)

    told = Notification.objects.filter(kind=NotificationKind.MATCH_ACCEPTED)
    giver_notice = told.get(person=neighbour)
    assert "羽绒被" in giver_notice.text and giver_notice.url == "/me/#me-matches"
    assert (
        told.get(person=shopkeeper).text == "“棉被”, offered by 暖心超市, was matched to a household in need."
    )
    assert told.filter(person=hub_contact).count() == 2
    for notice in told:
        assert "独居老人" not in notice.text and "13900000001" not in notice.text
    assert told.count() == 4


def test_after_each_change_the_webhooks_module_hears_of_it(guanbeigou, staff, monkeypatch):
    heard = []
    monkeypatch.setattr(
        matches.webhooks, "match_changed", lambda match: heard.append((match.pk, match.status))
    )
    run = make_run(guanbeigou)
    a = propose(make_need(guanbeigou), blankets(guanbeigou), run=run)
    b = propose(make_need(guanbeigou), blankets(guanbeigou), run=run)
    c_need = make_need(guanbeigou)
    c = propose(c_need, blankets(guanbeigou), run=run)

    matches.accept_match(match=a, actor=staff)
    matches.decline_match(match=b, actor=staff, reason="不合适")
    matches.fulfil_match(match=a, actor=staff)
    services.withdraw_need(need=c_need, actor=staff)

    assert heard == [(a.pk, M.ACCEPTED), (b.pk, M.DECLINED), (a.pk, M.FULFILLED), (c.pk, M.EXPIRED)]


def test_the_hub_that_sent_the_need_gets_a_signed_notice_of_the_acceptance_only_if_it_happened(
    guanbeigou, hub, staff
):
    WebhookEndpoint.objects.create(
        organization=hub, url="https://hub.example.org/hook", secret_ciphertext=crypto.encrypt("s3cret")
    )
    resource = blankets(guanbeigou, quantity=1)
    run = make_run(guanbeigou)
    first = propose(make_need(guanbeigou, source_organization=hub), resource, run=run)
    second = propose(make_need(guanbeigou, source_organization=hub), resource, run=run)

    matches.accept_match(match=first, actor=staff)
    with pytest.raises(ConflictError):
        matches.accept_match(match=second, actor=staff)

    # (the need's move to "matched" is a notice of its own: need.status_changed)
    sent = WebhookDelivery.objects.get(event__startswith="match.")
    assert sent.event == "match.accepted" and sent.payload["data"]["match"]["id"] == first.pk
    assert "summary" not in json.dumps(sent.payload) and "独居老人" not in json.dumps(
        sent.payload, ensure_ascii=False
    )


def test_a_refused_accept_tells_nobody(guanbeigou, staff, monkeypatch):
    heard = []
    monkeypatch.setattr(matches.webhooks, "match_changed", heard.append)
    resource = blankets(guanbeigou, quantity=1)
    Resource.objects.filter(pk=resource.pk).update(taken=1)
    match = propose(make_need(guanbeigou), resource)
    with pytest.raises(ConflictError):
        matches.accept_match(match=match, actor=staff)
    assert heard == [] and not Notification.objects.exists()


# --- reasons in words ----------------------------------------------------------------------------------


def test_reasons_read_in_the_readers_language_and_unknown_codes_are_skipped():
    reasons = [
        ["same_street", {}],
        ["urgency", {"level": "urgent"}],
        ["waited", {"days": 12}],
        ["skill", {"skill": "counselling"}],
        ["moon_phase", {"full": True}],
        ["waited", {"days": "many"}],
        "not a pair",
        ["skill", {"skill": "juggling"}],
    ]
    with translation.override("en"):
        assert reasons_in_words(reasons) == "same street · urgent · waited 12 days · skill: counselling"
    with translation.override("zh-hans"):
        phrases = reason_phrases(reasons)
    assert len(phrases) == 4
    assert phrases[1] == "很急" and phrases[3].endswith("心理辅导")
    assert reasons_in_words(None) == reasons_in_words({"x": 1}) == ""


def test_every_distance_and_expiry_reads():
    with translation.override("en"):
        assert reason_phrases([["same_community", {}], ["city", {}], ["same_city", {}]]) == [
            "same community",
            "same city",
            "same city",
        ]
        assert reason_phrases(
            [["expires", {"days": 5}], ["expires", {"days": 0}], ["waited", {"days": 1}]]
        ) == [
            "offered for 5 more days",
            "offered until today",
            "waited 1 day",
        ]
