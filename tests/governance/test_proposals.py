"""Allocation decisions through the services: the whole path, each refusal, the deadline tasks."""
# ruff: noqa: F811  (the fixtures imported from proposal_world are the tests' arguments)

import datetime
import io

import pytest
import time_machine
from django.utils import timezone

from charity.models import AuditEvent, Notification, Organization
from charity.services import Actor
from funds import services as fund_services
from funds.models import Account, Transaction
from funds.selectors import fund_balance, verify_ledger
from governance import services
from governance.models import Ballot, Objection, Proposal, ProposalAttachment, VotingRound
from tests.factories import OrganizationFactory, PersonFactory, UserFactory, assign

from .proposal_world import (  # noqa: F401  (fixtures)
    PDF,
    SYSTEM,
    S,
    beneficiary,
    committee,
    draft,
    fund,
    in_days,
    login,
    staff_actor,
    supervisor,
    to_vote,
    vote_all,
    voters,
)


@pytest.fixture(autouse=True)
def _both_trees(dalong, guanbeigou):
    """Both communities first, in the tree's order: a root added later (广州市 sorts before 酒泉市) moves the
    other tree's paths in the database, and an area object read before would keep its old path."""


@pytest.fixture
def staff(staff_actor):
    return staff_actor


def test_the_whole_path_from_proposal_to_closing(
    committee, staff, voters, supervisor, beneficiary, guanbeigou
):
    """A proposal → votes (one recused) → notice → an objection answered → two tranches → report → closed."""
    proposer = voters[0]
    proposal = draft(
        committee,
        staff,
        beneficiary,
        proposer_person=proposer.person,
        budget_lines=[("扶手", 2_000_000), ("安装", 1_000_000)],
    )
    assert proposal.status == S.DRAFT
    services.submit_proposal(proposal=proposal, actor=staff)
    voting_round = services.open_voting(proposal=proposal, deadline=in_days(5), actor=staff)
    recused = Ballot.objects.get(round=voting_round, membership=proposer)
    assert recused.recused == Ballot.Recusal.PROPOSER
    assert voting_round.ballots.count() == len(voters)  # the supervisor has no ballot
    # Members are told the vote is open; the recused one is not asked.
    asked = set(
        Notification.objects.filter(kind="proposal.vote_requested").values_list("person_id", flat=True)
    )
    assert asked == {m.person_id for m in voters[1:]}
    with pytest.raises(services.VoteRefused) as refused:
        services.cast_vote(proposal=proposal, choice="yes", actor=login(proposer.person))
    assert refused.value.code == "recused"
    services.record_supervisor_opinion(
        proposal=proposal, membership=supervisor, text="程序合规，同意。", actor=staff
    )
    # Six eligible; a vote changed before closing counts once, as its last choice.
    services.cast_vote(proposal=proposal, choice="no", actor=login(voters[1].person))
    vote_all(proposal, voters[1:], ["yes", "yes", "yes", "no", "abstain", "yes"])
    assert proposal.status == S.NOTICE  # every eligible member voted: closed at once
    closed = VotingRound.objects.get(pk=voting_round.pk)
    assert closed.closed_because == VotingRound.Closed.ALL_VOTED and closed.approved
    assert closed.record["tally"] == {"eligible": 6, "yes": 4, "no": 1, "abstain": 1}
    assert proposal.approved_fen == 3_000_000

    resident = PersonFactory(community=guanbeigou)
    objection = services.object_to(proposal=proposal, reason="扶手颜色应征求居民意见", actor=login(resident))
    with pytest.raises(services.WrongStatus):
        services.disburse(
            proposal=proposal, amount_fen=1, paid_on=timezone.localdate(), reference="P1", actor=staff
        )
    with time_machine.travel(in_days(8)):
        assert services.end_due_notices() == 1
        proposal.refresh_from_db()
        assert proposal.status == S.OBJECTION_REVIEW  # an objection is still open
        services.answer_objection(
            objection=objection, answer="dismissed", text="颜色已征求楼长意见。", actor=staff
        )
        proposal.refresh_from_db()
        assert proposal.status == S.PAYABLE
        assert Notification.objects.filter(person=resident, kind="proposal.objection_answered").count() == 1
        before = fund_balance(committee.fund).general_fen
        services.disburse(
            proposal=proposal,
            amount_fen=2_000_000,
            paid_on=timezone.localdate(),
            reference="P-001",
            actor=staff,
        )
        services.disburse(
            proposal=proposal,
            amount_fen=900_000,
            paid_on=timezone.localdate(),
            reference="P-002",
            actor=staff,
        )
        with pytest.raises(services.ProposalError) as above:
            services.disburse(
                proposal=proposal,
                amount_fen=100_001,
                paid_on=timezone.localdate(),
                reference="P-003",
                actor=staff,
            )
        assert above.value.code == "above_approved"
        assert fund_balance(committee.fund).general_fen == before - 2_900_000
        services.submit_report(
            proposal=proposal, outcomes="12 栋楼全部装好扶手。", people_served=240, actor=staff
        )
        services.close_proposal(proposal=proposal, actor=staff)
    proposal.refresh_from_db()
    assert (proposal.status, proposal.disbursed_fen, proposal.released_fen) == (S.CLOSED, 2_900_000, 100_000)
    assert list(proposal.timeline.values_list("to_status", flat=True)) == [
        "draft",
        "submitted",
        "voting",
        "notice",
        "notice",
        "objection_review",
        "objection_review",
        "payable",
        "disbursed",
        "disbursed",
        "reported",
        "closed",
    ]
    assert Transaction.objects.filter(kind=Transaction.Kind.DISBURSEMENT).count() == 2
    assert verify_ledger().ok
    actions = list(
        AuditEvent.objects.filter(object_id=str(proposal.pk), object_type="governance.proposal").values_list(
            "action", flat=True
        )
    )
    assert actions.count("proposal.vote_cast") == 7 and "proposal.closed" in actions


def test_the_outcome_is_stored_with_the_rule_and_recomputes(committee, staff, voters, beneficiary):
    from governance.tally import decide_from_record

    proposal = to_vote(committee, staff, beneficiary, amount_fen=6_000_000)  # above the ¥50,000 threshold
    vote_all(proposal, voters, ["yes", "yes", "yes", "yes", "no", "no", "abstain"])
    voting_round = proposal.rounds.get()
    outcome = decide_from_record(voting_round.record)
    assert outcome.high_amount and not outcome.approved  # 4 of 7 is under two-thirds
    assert (voting_round.approved, voting_round.reason) == (False, "not_enough_yes")
    assert proposal.status == S.REJECTED


def test_an_upheld_objection_sends_the_proposal_back_to_a_vote(
    committee, staff, voters, beneficiary, guanbeigou
):
    proposal = to_vote(committee, staff, beneficiary)
    vote_all(proposal, voters, ["yes"] * 7)
    objection = services.object_to(
        proposal=proposal, reason="预算偏高", actor=login(PersonFactory(community=guanbeigou))
    )
    services.answer_objection(objection=objection, answer="upheld", text="重新报价后再表决。", actor=staff)
    proposal.refresh_from_db()
    assert proposal.status == S.VOTING and proposal.approved_fen == 0
    assert proposal.rounds.count() == 2 and proposal.rounds.filter(closed_at__isnull=True).get().number == 2
    vote_all(proposal, voters, ["yes"] * 7)
    assert proposal.status == S.NOTICE and proposal.notice_round == 2


def test_votes_that_are_refused(committee, staff, voters, supervisor, beneficiary, guanbeigou):
    proposal = to_vote(committee, staff, beneficiary)
    cases = [
        (login(PersonFactory(community=guanbeigou)), "not_a_member"),
        (login(supervisor.person), "supervisor_cannot_vote"),
        (Actor(surface=AuditEvent.Surface.API, organization=beneficiary), "not_a_member"),
    ]
    for actor, code in cases:
        with pytest.raises(services.VoteRefused) as refused:
            services.cast_vote(proposal=proposal, choice="yes", actor=actor)
        assert refused.value.code == code
    with pytest.raises(services.ProposalError):
        services.cast_vote(proposal=proposal, choice="maybe", actor=login(voters[0].person))
    services.declare_conflict(proposal=proposal, note="我是该协会会员", actor=login(voters[0].person))
    with pytest.raises(services.VoteRefused) as refused:
        services.cast_vote(proposal=proposal, choice="yes", actor=login(voters[0].person))
    assert refused.value.code == "recused"
    vote_all(proposal, voters[1:], ["yes"] * 6)
    with pytest.raises(services.WrongStatus) as closed:
        services.cast_vote(proposal=proposal, choice="no", actor=login(voters[1].person))
    assert closed.value.code == "voting_closed"
    assert not Ballot.objects.filter(choice="", recused="").exists()
    assert proposal.rounds.get().record["tally"]["eligible"] == 6  # the recused member is not counted


def test_a_proposal_the_fund_cannot_cover_is_refused(committee, staff, beneficiary):
    too_big = draft(committee, staff, beneficiary, amount_fen=10_000_001)
    with pytest.raises(services.ProposalError) as refused:
        services.submit_proposal(proposal=too_big, actor=staff)
    assert refused.value.code == "insufficient_funds"
    too_big.refresh_from_db()
    assert too_big.status == S.DRAFT


def test_money_promised_to_approved_proposals_is_not_promised_twice(committee, staff, voters, beneficiary):
    first = to_vote(committee, staff, beneficiary, amount_fen=7_000_000)
    vote_all(first, voters, ["yes"] * 7)
    assert first.status == S.NOTICE
    second = draft(committee, staff, beneficiary, amount_fen=3_000_001)
    with pytest.raises(services.ProposalError) as refused:
        services.submit_proposal(proposal=second, actor=staff)
    assert refused.value.code == "insufficient_funds"


def test_restricted_money_is_spent_only_on_its_purpose(committee, staff, voters, beneficiary):
    fund = committee.fund
    fund_services.post_donation(
        fund=fund,
        amount_fen=500_000,
        actor=SYSTEM,
        receipt_no="R-R1",
        channel="resident",
        received_on=datetime.date(2026, 3, 2),
        restriction="purpose",
        purpose="助老",
    )
    proposal = to_vote(committee, staff, beneficiary, amount_fen=600_000, purpose="助老")
    vote_all(proposal, voters, ["yes"] * 7)
    with time_machine.travel(in_days(8)):
        services.end_due_notices()
        services.disburse(
            proposal=proposal, amount_fen=600_000, paid_on=timezone.localdate(), reference="X", actor=staff
        )
    restricted = Account.objects.get(fund=fund, kind=Account.Kind.RESTRICTED, purpose="助老")
    assert restricted.balance_fen == 0  # the purpose's money first, then unrestricted money
    assert verify_ledger().ok


def test_related_beneficiaries_are_refused(committee, staff, voters, beneficiary, guanbeigou):
    member = voters[2]
    as_member = services.create_proposal(
        committee=committee,
        fund=committee.fund,
        title="补贴",
        summary="一次性补贴。",
        amount_fen=1000,
        beneficiary_person=member.person,
        actor=staff,
    )
    with pytest.raises(services.ProposalError) as refused:
        services.submit_proposal(proposal=as_member, actor=staff)
    assert refused.value.code == "beneficiary_is_manager"
    donor = OrganizationFactory(area=guanbeigou)
    fund_services.post_donation(
        fund=committee.fund,
        amount_fen=100_000,
        actor=SYSTEM,
        receipt_no="R-D1",
        channel="merchant",
        received_on=datetime.date(2026, 3, 2),
        restriction="purpose",
        purpose="文体",
        donor_organization=donor,
    )
    to_donor = draft(committee, staff, donor, amount_fen=50_000, purpose="文体")
    with pytest.raises(services.ProposalError) as refused:
        services.submit_proposal(proposal=to_donor, actor=staff)
    assert refused.value.code == "beneficiary_is_donor"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"title": "  "}, "title_required"),
        ({"summary": ""}, "summary_required"),
        ({"summary": "联系人 13912345678"}, "mobile_in_public_text"),
        ({"amount_fen": 0}, "invalid_amount"),
        ({"amount_fen": -5}, "invalid_amount"),
        ({"budget_lines": [("扶手", 100)]}, "budget_mismatch"),
        ({"title": "x" * 201}, "too_long"),
    ],
)
def test_bad_drafts_are_refused_and_nothing_is_written(committee, staff, beneficiary, fields, code):
    with pytest.raises(services.ProposalError if code != "invalid_amount" else Exception) as refused:
        draft(committee, staff, beneficiary, **fields)
    assert getattr(refused.value, "code", None) == code
    assert not Proposal.objects.exists()


def test_another_communitys_staff_and_keys_see_nothing(committee, beneficiary, dalong):
    outsider = Actor(surface=AuditEvent.Surface.ADMIN, user=assign(UserFactory(is_staff=True), dalong))
    with pytest.raises(services.NotFoundError if hasattr(services, "NotFoundError") else Exception):
        draft(committee, outsider, beneficiary)
    key_org = OrganizationFactory(area=dalong, type=Organization.Type.HUB)
    with pytest.raises(Exception) as refused:
        draft(committee, Actor(surface=AuditEvent.Surface.API, organization=key_org), beneficiary)
    assert refused.value.status == 404


def test_objections_that_are_refused(committee, staff, voters, beneficiary, guanbeigou, dalong):
    proposal = to_vote(committee, staff, beneficiary)
    resident = login(PersonFactory(community=guanbeigou))
    with pytest.raises(services.WrongStatus):
        services.object_to(proposal=proposal, reason="太贵", actor=resident)  # not in notice yet
    vote_all(proposal, voters, ["yes"] * 7)
    services.object_to(proposal=proposal, reason="太贵", actor=resident)
    with pytest.raises(Exception) as twice:
        services.object_to(proposal=proposal, reason="还是太贵", actor=resident)
    assert twice.value.code == "already_objected"
    with pytest.raises(Exception) as elsewhere:
        services.object_to(proposal=proposal, reason="不同意", actor=login(PersonFactory(community=dalong)))
    assert elsewhere.value.status == 404
    with time_machine.travel(in_days(8)), pytest.raises(services.WrongStatus):
        services.object_to(proposal=proposal, reason="晚了", actor=login(PersonFactory(community=guanbeigou)))
    assert Objection.objects.count() == 1


def test_withdrawn_before_the_first_payment_only(committee, staff, voters, beneficiary):
    proposal = to_vote(committee, staff, beneficiary)
    services.withdraw_proposal(proposal=proposal, reason="改由物业出资", actor=staff)
    proposal.refresh_from_db()
    assert proposal.status == S.WITHDRAWN and not proposal.rounds.filter(closed_at__isnull=True).exists()
    paid = to_vote(committee, staff, beneficiary, title="乒乓球场")
    vote_all(paid, voters, ["yes"] * 7)
    with time_machine.travel(in_days(8)):
        services.end_due_notices()
        services.disburse(
            proposal=paid, amount_fen=1000, paid_on=timezone.localdate(), reference="A", actor=staff
        )
        with pytest.raises(services.WrongStatus):
            services.withdraw_proposal(proposal=paid, reason="不做了", actor=staff)


def test_the_deadline_tasks_do_nothing_twice(committee, staff, voters, beneficiary):
    proposal = to_vote(committee, staff, beneficiary)
    vote_all(proposal, voters[:5], ["yes"] * 5)  # 5 of 7 take part: quorum met
    assert services.close_due_votes() == 0  # not yet due
    with time_machine.travel(in_days(6)):
        assert services.close_due_votes() == 1
        assert services.close_due_votes() == 0
    proposal.refresh_from_db()
    assert proposal.status == S.NOTICE
    assert proposal.rounds.get().closed_because == VotingRound.Closed.DEADLINE
    with time_machine.travel(in_days(14)):
        assert services.end_due_notices() == 1
        assert services.end_due_notices() == 0
        services.disburse(
            proposal=proposal, amount_fen=1000, paid_on=timezone.localdate(), reference="A", actor=staff
        )
    with time_machine.travel(in_days(14 + 91)):
        assert services.flag_overdue_reports() == 1
        assert services.flag_overdue_reports() == 0
    assert Notification.objects.filter(kind="proposal.report_overdue").count() == 8  # every serving member


def test_paper_ballots_need_the_minutes(committee, staff, voters, beneficiary):
    proposal = to_vote(committee, staff, beneficiary)
    choices = dict.fromkeys(voters, "yes")
    with pytest.raises(services.ProposalError) as refused:
        services.record_paper_ballots(proposal=proposal, choices=choices, minutes=None, actor=staff)
    assert refused.value.code == "minutes_required"
    minutes = services.add_attachment(
        proposal=proposal,
        kind="minutes",
        name="会议记录.pdf",
        content=PDF,
        content_type="application/pdf",
        actor=staff,
    )
    services.record_paper_ballots(proposal=proposal, choices=choices, minutes=minutes, actor=staff)
    proposal.refresh_from_db()
    assert proposal.status == S.NOTICE
    assert proposal.rounds.get().closed_because == VotingRound.Closed.MEETING
    assert Ballot.objects.filter(at_meeting=True).count() == 7


def test_attachments_are_checked_by_their_content(committee, staff, beneficiary, settings):
    proposal = draft(committee, staff, beneficiary)
    settings.PROPOSAL_ATTACHMENT_MAX_BYTES = 1024 * 1024
    cases = [
        (b"MZ\x90\x00" + b"\x00" * 100, "file_type"),  # a Windows program renamed .pdf
        (b"", "empty_file"),
        (b"%PDF-" + b"\x00" * (1024 * 1024), "file_too_large"),
    ]
    for content, code in cases:
        with pytest.raises(services.ProposalError) as refused:
            services.add_attachment(
                proposal=proposal,
                kind="quote",
                name="报价.pdf",
                content=content,
                content_type="application/pdf",
                actor=staff,
            )
        assert refused.value.code == code
    assert not ProposalAttachment.objects.exists()


def test_a_photo_loses_its_metadata_and_is_resized(committee, staff, beneficiary):
    from PIL import Image

    picture = Image.new("RGB", (4000, 1000), "red")
    exif = Image.Exif()
    exif[0x013B] = "王小明"  # Artist
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", exif=exif.tobytes())
    assert "王小明".encode() in buffer.getvalue() or b"Artist" not in buffer.getvalue()
    attachment = services.add_attachment(
        proposal=draft(committee, staff, beneficiary),
        kind="photo",
        name="装好了.jpg",
        content=buffer.getvalue(),
        content_type="image/jpeg",
        actor=staff,
        is_public=True,
    )
    stored = Image.open(io.BytesIO(bytes(attachment.data)))
    assert stored.size == (2000, 500)
    assert not stored.getexif()


def test_a_declared_related_party_on_the_committee_is_recused(committee, staff, voters, beneficiary):
    proposal = to_vote(committee, staff, beneficiary, related_people=[voters[3].person])
    ballots = dict(proposal.rounds.get().ballots.values_list("membership_id", "recused"))
    assert ballots[voters[3].pk] == Ballot.Recusal.DECLARED_PARTY
    assert [m for m in voters if ballots[m.pk]] == [voters[3]]


def test_an_objection_dismissed_during_notice_does_not_shorten_it(
    committee, staff, voters, beneficiary, guanbeigou
):
    proposal = to_vote(committee, staff, beneficiary)
    vote_all(proposal, voters, ["yes"] * 7)
    objection = services.object_to(
        proposal=proposal, reason="太贵", actor=login(PersonFactory(community=guanbeigou))
    )
    services.answer_objection(objection=objection, answer="dismissed", text="价格已比较三家。", actor=staff)
    proposal.refresh_from_db()
    assert proposal.status == S.NOTICE  # still in notice: others may still object
    with pytest.raises(services.WrongStatus):
        services.disburse(
            proposal=proposal, amount_fen=1000, paid_on=timezone.localdate(), reference="A", actor=staff
        )
