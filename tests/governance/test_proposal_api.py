"""Allocation proposals over the API: who reads what, the six writes, their refusals (a clear message,
nothing changed), Idempotency-Key, flat query counts, and the schema."""

# ruff: noqa: F811  (the fixtures imported from proposal_world are the tests' arguments)

import base64
import datetime
import io
import json

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from charity.models import AuditEvent
from funds.models import Transaction
from funds.selectors import verify_ledger
from governance import services
from governance.models import Ballot, Disbursement, Objection, Proposal, ProposalAttachment, ProposalReport
from tests.factories import PersonFactory

from .proposal_world import (  # noqa: F401  (fixtures)
    EXE,
    PDF,
    beneficiary,
    committee,
    draft,
    fund,
    login,
    staff_actor,
    supervisor,
    to_notice,
    to_paid,
    to_payable,
    to_vote,
    vote_all,
    voters,
)

S = Proposal.Status
URL = "/api/v1/proposals/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def post(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **EN, **headers)


@pytest.fixture
def staff_api(community_staff):
    client = APIClient()
    client.force_login(community_staff)
    return client


@pytest.fixture
def viewer_api(community_viewer):
    client = APIClient()
    client.force_login(community_viewer)
    return client


@pytest.fixture
def other_key_api(outside_org_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {outside_org_key}")
    return client


def as_person(person):
    login(person)
    client = APIClient()
    client.force_login(person.user)
    return client


def state(proposal):
    """What a refused request must leave as it was."""
    return (
        list(Proposal.objects.filter(pk=proposal.pk).values()),
        list(Ballot.objects.filter(round__proposal=proposal).order_by("id").values()),
        Objection.objects.count(),
        Disbursement.objects.count(),
        ProposalReport.objects.count(),
        ProposalAttachment.objects.count(),
        Transaction.objects.count(),
        AuditEvent.objects.count(),
    )


def create_body(to_fund, beneficiary, **extra):
    return {
        "fund": to_fund.pk,
        "title": "乒乓球场",
        "summary": "翻新小区乒乓球场地，添置两张球台。",
        "amount_fen": 300_000,
        "beneficiary_organization": beneficiary.pk,
        "budget_lines": [{"item": "球台", "amount_fen": 200_000}, {"item": "场地", "amount_fen": 100_000}],
        **extra,
    }


# --- reading -----------------------------------------------------------------------------------------------


def test_staff_read_the_whole_record_and_the_list_stays_flat(
    staff_api, committee, staff_actor, beneficiary, voters, supervisor, guanbeigou, count_queries
):
    proposal = to_vote(committee, staff_actor, beneficiary, proposer_person=voters[0].person)
    services.record_supervisor_opinion(
        proposal=proposal, membership=supervisor, text="同意。", actor=staff_actor
    )
    one = count_queries(lambda: staff_api.get(URL))
    vote_all(proposal, voters[1:], ["yes"] * 6)
    resident = PersonFactory(name="赵居民", community=guanbeigou)
    services.object_to(proposal=proposal, reason="太贵", actor=login(resident))
    for n in range(3):
        to_notice(committee, staff_actor, beneficiary, voters, title=f"项目{n}", amount_fen=10_000)
    many = count_queries(lambda: staff_api.get(URL))
    assert many == one, "the list runs more queries for more proposals"
    body = staff_api.get(f"{URL}{proposal.pk}/").json()
    assert body["status"] == "notice" and body["approved_fen"] == 3_000_000
    last = body["rounds"][-1]
    assert last["record"]["tally"] == {"eligible": 6, "yes": 6, "no": 0, "abstain": 0}
    assert (last["reason"], last["quorum_needed"], last["yes_needed"], last["high_amount"]) == (
        "approved",
        4,
        4,
        False,
    )
    recused = [b for b in last["ballots"] if b["recused"]]
    assert [(b["member"], b["recused"]) for b in recused] == [(voters[0].person.name, "proposer")]
    assert last["opinions"][0]["text"] == "同意。"
    assert body["objections"][0]["reason"] == "太贵"
    assert "赵居民" not in json.dumps(body, ensure_ascii=False)  # an objector is never named
    assert [s["to_status"] for s in body["timeline"]][:3] == ["draft", "submitted", "voting"]


def test_ballots_are_shown_only_once_the_vote_has_closed(
    staff_api, committee, staff_actor, beneficiary, voters
):
    proposal = to_vote(committee, staff_actor, beneficiary)
    vote_all(proposal, voters[:3], ["yes", "no", "yes"])
    running = staff_api.get(f"{URL}{proposal.pk}/").json()["rounds"][0]
    assert running["ballots"] == [] and running["voted"] == 3 and running["record"] is None


def test_a_key_reads_what_is_public_in_its_areas_and_its_own_drafts(
    other_key_api, hub_api, hub, committee, staff_actor, beneficiary
):
    staff_draft = draft(committee, staff_actor, beneficiary, title="员工草稿")
    submitted = draft(committee, staff_actor, beneficiary, title="已提交")
    services.submit_proposal(proposal=submitted, actor=staff_actor)
    own = post(hub_api, URL, create_body(committee.fund, hub)).json()
    ids = {row["id"] for row in hub_api.get(URL).json()["results"]}
    assert ids == {submitted.pk, own["id"]}
    assert hub_api.get(f"{URL}{staff_draft.pk}/").status_code == 404
    assert other_key_api.get(URL).json()["results"] == []
    assert other_key_api.get(f"{URL}{submitted.pk}/").status_code == 404


def test_a_residents_session_cannot_list(resident, committee, staff_actor, beneficiary):
    draft(committee, staff_actor, beneficiary)
    response = as_person(resident).get(URL, **EN)
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


# --- creating and submitting -------------------------------------------------------------------------------


def test_a_hub_key_drafts_and_submits_once_whatever_the_retries(hub_api, hub, committee):
    body = create_body(committee.fund, hub)
    first = post(hub_api, URL, body, HTTP_IDEMPOTENCY_KEY="hub-1")
    again = post(hub_api, URL, body, HTTP_IDEMPOTENCY_KEY="hub-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and Proposal.objects.count() == 1
    assert first.json()["proposer_organization"] == hub.pk and first.json()["status"] == "draft"
    reused = post(hub_api, URL, {**body, "title": "别的"}, HTTP_IDEMPOTENCY_KEY="hub-1")
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_key_reused"
    pk = first.json()["id"]
    submitted = post(hub_api, f"{URL}{pk}/submit/", {}, HTTP_IDEMPOTENCY_KEY="hub-2")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    twice = post(hub_api, f"{URL}{pk}/submit/", {})
    assert twice.status_code == 409 and twice.json()["code"] == "wrong_status"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"amount_fen": 1.5}, "amount_fen", "whole number of fen"),
        ({"amount_fen": "100"}, "amount_fen", "whole number of fen"),
        ({"amount_fen": 0}, "amount_fen", "more than zero"),
        ({"title": ""}, "title", "may not be blank"),
        ({"summary": "联系人 13912345678"}, "summary", "phone"),
        (
            {"budget_lines": [{"item": "球台", "amount_fen": 1}]},
            "budget_lines",
            "add up to a different amount",
        ),
        ({"beneficiary_organization": 987654}, "beneficiary_organization", "no such id"),
        ({"fund": 987654}, "fund", "no such id"),
    ],
)
def test_a_bad_draft_is_refused_and_nothing_is_written(hub_api, hub, committee, change, field, message):
    response = post(hub_api, URL, create_body(committee.fund, hub, **change))
    assert response.status_code == 400, response.content
    body = response.json()
    assert any(message in m for m in body["fields"][field]), body
    assert not Proposal.objects.exists()


def test_another_communitys_fund_reads_as_absent(other_key_api, hub, committee):  # dalong's first
    theirs = post(other_key_api, URL, create_body(committee.fund, hub)).json()
    nowhere = post(other_key_api, URL, create_body(committee.fund, hub, fund=987654)).json()
    assert theirs["fields"]["fund"] == nowhere["fields"]["fund"]
    assert not Proposal.objects.exists()


def test_a_fund_without_a_committee_cannot_take_proposals(hub_api, hub, guanbeigou):
    from tests.factories import FundFactory

    lonely = FundFactory(community=guanbeigou)
    response = post(hub_api, URL, create_body(lonely, hub))
    assert response.status_code == 400
    assert response.json()["fields"]["fund"] == [
        "This fund has no management committee yet: nothing can be proposed."
    ]


def test_a_proposal_larger_than_the_fund_is_not_submitted(staff_api, committee, staff_actor, beneficiary):
    proposal = draft(committee, staff_actor, beneficiary, amount_fen=10_000_001)
    before = state(proposal)
    response = post(staff_api, f"{URL}{proposal.pk}/submit/", {})
    assert response.status_code == 400 and response.json()["code"] == "insufficient_funds"
    assert "The fund cannot cover this" in response.json()["message"]
    assert state(proposal) == before


# --- votes -------------------------------------------------------------------------------------------------


def vote_url(proposal):
    return f"{URL}{proposal.pk}/votes/"


def test_a_member_votes_changes_the_vote_and_a_retry_counts_once(committee, staff_actor, beneficiary, voters):
    proposal = to_vote(committee, staff_actor, beneficiary)
    member = as_person(voters[1].person)
    first = post(member, vote_url(proposal), {"choice": "no", "reason": "太贵"}, HTTP_IDEMPOTENCY_KEY="v1")
    again = post(member, vote_url(proposal), {"choice": "no", "reason": "太贵"}, HTTP_IDEMPOTENCY_KEY="v1")
    assert first.status_code == again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert AuditEvent.objects.filter(action="proposal.vote_cast").count() == 1
    changed = post(member, vote_url(proposal), {"choice": "yes"})
    assert changed.json() | {"voted_at": None} == {
        "choice": "yes",
        "reason": "",
        "recused": "",
        "voted_at": None,
        "proposal_status": "voting",
    }
    assert Ballot.objects.get(membership=voters[1], round__proposal=proposal).choice == "yes"


def test_the_last_vote_closes_the_round(committee, staff_actor, beneficiary, voters):
    proposal = to_vote(committee, staff_actor, beneficiary)
    vote_all(proposal, voters[:6], ["yes"] * 6)
    response = post(as_person(voters[6].person), vote_url(proposal), {"choice": "abstain"})
    assert response.json()["proposal_status"] == "notice"


def test_a_member_declares_a_conflict(committee, staff_actor, beneficiary, voters):
    proposal = to_vote(committee, staff_actor, beneficiary)
    member = as_person(voters[2].person)
    response = post(member, vote_url(proposal), {"conflict": "我是协会理事"})
    assert response.status_code == 200 and response.json()["recused"] == "declared"
    refused = post(member, vote_url(proposal), {"choice": "yes"})
    assert refused.status_code == 403 and refused.json()["code"] == "recused"


def test_votes_that_are_refused_change_nothing(
    hub_api, committee, staff_actor, beneficiary, voters, supervisor, resident, community_staff
):
    proposal = to_vote(committee, staff_actor, beneficiary, proposer_person=voters[0].person)
    staff = APIClient()
    staff.force_login(community_staff)
    member = as_person(voters[1].person)
    cases = [
        (hub_api, {"choice": "yes"}, 403, "permission_denied", "an organisation's API key cannot vote"),
        (APIClient(), {"choice": "yes"}, 401, "not_authenticated", "Log in"),
        (as_person(supervisor.person), {"choice": "yes"}, 403, "supervisor_cannot_vote", "do not vote"),
        (as_person(voters[0].person), {"choice": "yes"}, 403, "recused", "related to the proposer"),
        (as_person(resident), {"choice": "yes"}, 404, "not_found", "Not found"),
        (staff, {"choice": "yes"}, 404, "not_found", "Not found"),
        (member, {"choice": "maybe"}, 400, "invalid", "not a valid choice"),
        (member, {"choice": "yes", "conflict": "x"}, 400, "invalid", "not both"),
        (member, {}, 400, "invalid", "not both"),
        (member, {"choice": "yes", "reason": "x" * 1001}, 400, "too_long", "too long"),
    ]
    before = state(proposal)
    for client, body, code_status, code, message in cases:
        response = post(client, vote_url(proposal), body)
        assert response.status_code == code_status, (body, response.content)
        assert response.json()["code"] == code and message in json.dumps(response.json()), response.json()
    assert state(proposal) == before
    # Once closed, a vote is refused.
    vote_all(proposal, voters[1:], ["yes"] * 6)
    closed = post(as_person(voters[1].person), vote_url(proposal), {"choice": "no"})
    assert closed.status_code == 409 and closed.json()["code"] == "voting_closed"


def test_a_member_of_another_committee_gets_404_as_for_nothing(
    dalong, committee, staff_actor, beneficiary, voters
):
    from tests.factories import FundFactory
    from tests.governance.conftest import VALID, build_committee

    proposal = to_vote(committee, staff_actor, beneficiary)
    theirs = build_committee(FundFactory(community=dalong), VALID[:2], name="大龙委员会")
    outsider = as_person(theirs.memberships.first().person)
    answers = [post(outsider, f"{URL}{pk}/votes/", {"choice": "yes"}) for pk in (proposal.pk, 987654)]
    assert [a.status_code for a in answers] == [404, 404]
    assert answers[0].json() == answers[1].json()


# --- objections --------------------------------------------------------------------------------------------


def objection_url(proposal):
    return f"{URL}{proposal.pk}/objections/"


def test_a_resident_objects_once_during_notice(committee, staff_actor, beneficiary, voters, resident):
    proposal = to_notice(committee, staff_actor, beneficiary, voters)
    client = as_person(resident)
    response = post(client, objection_url(proposal), {"reason": "价格偏高，请公开比价"})
    assert response.status_code == 201
    assert set(response.json()) == {
        "id",
        "notice_round",
        "reason",
        "created_at",
        "answer",
        "answer_text",
        "answered_at",
    }
    before = state(proposal)
    twice = post(client, objection_url(proposal), {"reason": "再说一次"})
    assert twice.status_code == 409 and twice.json()["code"] == "already_objected"
    assert state(proposal) == before


def test_objections_that_are_refused_change_nothing(
    dalong, hub_api, committee, staff_actor, beneficiary, voters, resident, community_staff
):
    proposal = to_notice(committee, staff_actor, beneficiary, voters)
    voting = to_vote(committee, staff_actor, beneficiary, title="还在表决")
    elsewhere = as_person(PersonFactory(community=dalong))
    staff = APIClient()
    staff.force_login(community_staff)
    own = as_person(resident)
    cases = [
        (hub_api, proposal, {"reason": "x"}, 403, "an organisation's API key cannot object"),
        (APIClient(), proposal, {"reason": "x"}, 401, "Log in"),
        (elsewhere, proposal, {"reason": "不同意"}, 404, "Not found"),
        (staff, proposal, {"reason": "不同意"}, 403, "Log in as a resident"),
        (own, proposal, {"reason": "  "}, 400, "may not be blank"),
        (own, proposal, {}, 400, "This field is required"),
        (own, voting, {"reason": "不同意"}, 409, "only during the public notice"),
    ]
    before = state(proposal)
    for client, target, body, code, message in cases:
        response = post(client, objection_url(target), body)
        assert response.status_code == code, (body, response.content)
        assert message in json.dumps(response.json()), response.json()
    assert state(proposal) == before
    Proposal.objects.filter(pk=proposal.pk).update(
        notice_ends_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    late = post(own, objection_url(proposal), {"reason": "晚了"})
    assert late.status_code == 409 and late.json()["code"] == "not_in_notice"
    assert Objection.objects.count() == 0


# --- payments ----------------------------------------------------------------------------------------------


def pay_url(proposal):
    return f"{URL}{proposal.pk}/disbursements/"


def today():
    return f"{timezone.localdate():%Y-%m-%d}"


def test_staff_pay_in_two_tranches_through_the_ledger(staff_api, committee, staff_actor, beneficiary, voters):
    proposal = to_payable(committee, staff_actor, beneficiary, voters)
    first = post(
        staff_api, pay_url(proposal), {"amount_fen": 2_000_000, "paid_on": today(), "reference": "P-1"}
    )
    assert first.status_code == 201, first.content
    assert set(first.json()) == {"id", "amount_fen", "paid_on", "reference", "transaction", "recorded_at"}
    post(staff_api, pay_url(proposal), {"amount_fen": 1_000_000, "paid_on": today(), "reference": "P-2"})
    proposal.refresh_from_db()
    assert proposal.disbursed_fen == 3_000_000 and proposal.status == S.DISBURSED
    assert Transaction.objects.filter(kind=Transaction.Kind.DISBURSEMENT).count() == 2
    assert verify_ledger().ok


def test_payments_that_are_refused_change_nothing(
    staff_api, viewer_api, hub_api, committee, staff_actor, beneficiary, voters
):
    proposal = to_payable(committee, staff_actor, beneficiary, voters)
    in_notice = to_notice(committee, staff_actor, beneficiary, voters, title="公示中", amount_fen=10_000)
    before = state(proposal)
    good = {"amount_fen": 100, "paid_on": today(), "reference": "P"}
    cases = [
        (staff_api, proposal, {**good, "amount_fen": 3_000_001}, 400, "above_approved"),
        (staff_api, proposal, {**good, "amount_fen": "100"}, 400, "invalid"),
        (staff_api, proposal, {**good, "paid_on": "2099-01-01"}, 400, "invalid_date"),
        (staff_api, proposal, {**good, "paid_on": "yesterday"}, 400, "invalid"),
        (staff_api, proposal, {**good, "reference": " "}, 400, "invalid"),
        (staff_api, in_notice, good, 409, "wrong_status"),
        (viewer_api, proposal, good, 403, "forbidden"),
        (hub_api, proposal, good, 403, "forbidden"),
    ]
    for client, target, body, code, error in cases:
        response = post(client, pay_url(target), body)
        assert (response.status_code, response.json()["code"]) == (code, error), response.content
        assert response.json()["message"]
    assert state(proposal) == before


# --- report ------------------------------------------------------------------------------------------------


def report_url(proposal):
    return f"{URL}{proposal.pk}/report/"


def jpeg():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "green").save(buffer, format="JPEG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_the_receiving_organisation_reports_with_photos(hub_api, hub, committee, staff_actor, voters):
    hub.served_areas.add(committee.fund.community)
    proposal = to_paid(committee, staff_actor, hub, voters)
    body = {
        "outcomes": "新球台已投入使用。",
        "people_served": 120,
        "attachments": [
            {"kind": "photo", "name": "球台.jpg", "content_base64": jpeg(), "is_public": True},
            {"kind": "receipt", "name": "发票.pdf", "content_base64": base64.b64encode(PDF).decode()},
        ],
    }
    response = post(hub_api, report_url(proposal), body, HTTP_IDEMPOTENCY_KEY="r1")
    assert response.status_code == 201, response.content
    assert [a["kind"] for a in response.json()["attachments"]] == ["photo", "receipt"]
    proposal.refresh_from_db()
    assert proposal.status == S.REPORTED and proposal.report.people_served == 120
    assert (
        post(hub_api, report_url(proposal), body, HTTP_IDEMPOTENCY_KEY="r1")["Idempotent-Replayed"] == "true"
    )
    assert ProposalReport.objects.count() == 1 and ProposalAttachment.objects.count() == 2


def test_reports_that_are_refused_change_nothing(
    other_key_api, hub_api, staff_api, hub, committee, staff_actor, beneficiary, voters
):
    proposal = to_paid(committee, staff_actor, beneficiary, voters)
    before = state(proposal)
    exe = base64.b64encode(EXE).decode()
    cases = [
        (
            staff_api,
            {"outcomes": "完成", "attachments": [{"kind": "photo", "name": "a.pdf", "content_base64": exe}]},
            400,
            "attachments.0.content_base64",
            "Only PDF files",
        ),
        (
            staff_api,
            {"outcomes": "完成", "attachments": [{"kind": "photo", "name": "a", "content_base64": "%%%"}]},
            400,
            "attachments.0.content_base64",
            "not base64",
        ),
        (
            staff_api,
            {"outcomes": "完成", "attachments": [{"kind": "quote", "name": "a", "content_base64": ""}]},
            400,
            "attachments.0.kind",
            "not a valid choice",
        ),
        (
            staff_api,
            {"outcomes": "完成", "people_served": -1},
            400,
            "people_served",
            "greater than or equal to 0",
        ),
        (staff_api, {"outcomes": ""}, 400, "outcomes", "may not be blank"),
        (hub_api, {"outcomes": "完成"}, 404, None, "Not found"),  # not the organisation that got the money
        (other_key_api, {"outcomes": "完成"}, 404, None, "Not found"),
    ]
    for client, body, code, field, message in cases:
        response = post(client, report_url(proposal), body)
        assert response.status_code == code, (body, response.content)
        answer = response.json()
        shown = answer["fields"][field] if field else [answer["message"]]
        assert any(message in m for m in shown), answer
    assert state(proposal) == before
    unpaid = to_payable(committee, staff_actor, beneficiary, voters, title="未付款", amount_fen=10_000)
    early = post(staff_api, report_url(unpaid), {"outcomes": "完成"})
    assert early.status_code == 409 and early.json()["code"] == "wrong_status"


def test_the_schema_documents_every_route(client, db):
    schema = client.get("/api/schema/?format=json").json()
    for path in (
        "",
        "{id}/",
        "{id}/submit/",
        "{id}/votes/",
        "{id}/objections/",
        "{id}/disbursements/",
        "{id}/report/",
    ):
        assert f"/api/v1/proposals/{path}" in schema["paths"], path
    votes = schema["paths"]["/api/v1/proposals/{id}/votes/"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in votes["parameters"])


def test_a_file_name_with_a_line_break_downloads_safely(
    client, community_staff, hub_api, hub, committee, staff_actor, voters
):
    hub.served_areas.add(committee.fund.community)
    proposal = to_paid(committee, staff_actor, hub, voters)
    body = {
        "outcomes": "完成。",
        "people_served": 10**12,
        "attachments": [
            {
                "kind": "receipt",
                "name": "a\r\nSet-Cookie: x.pdf",
                "content_base64": base64.b64encode(PDF).decode(),
            }
        ],
    }
    too_many = post(hub_api, report_url(proposal), body)
    assert too_many.status_code == 400 and "people_served" in too_many.json()["fields"]
    body["people_served"] = 10
    assert post(hub_api, report_url(proposal), body).status_code == 201
    attachment = ProposalAttachment.objects.get()
    client.force_login(community_staff)
    response = client.get(f"/admin/governance/proposal/{proposal.pk}/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert "\n" not in response["Content-Disposition"] and "Set-Cookie" not in response.headers.get(
        "Set-Cookie", ""
    )


def test_a_report_file_past_the_request_limit_is_refused_whole(
    staff_api, committee, staff_actor, beneficiary, voters
):
    proposal = to_paid(committee, staff_actor, beneficiary, voters)
    before = state(proposal)
    big = base64.b64encode(b"%PDF-" + b"0" * (3 * 1024 * 1024)).decode()
    body = {
        "outcomes": "完成。",
        "attachments": [{"kind": "receipt", "name": "发票.pdf", "content_base64": big}],
    }
    response = post(staff_api, report_url(proposal), body)
    assert response.status_code == 413 and response.json()["code"] == "request_too_large"
    assert state(proposal) == before
