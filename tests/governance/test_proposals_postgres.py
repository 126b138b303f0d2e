"""Allocation decisions under real concurrency on PostgreSQL: the last money of a fund, ten votes at once."""
# ruff: noqa: F811  (the fixtures imported from proposal_world are the tests' arguments)

import datetime

import pytest
from django.utils import timezone

from charity.models import AuditEvent
from funds.movements import withdraw as fund_withdraw
from funds.selectors import fund_balance, verify_ledger
from governance import services
from governance.models import Ballot, Membership, Proposal, VotingRound
from tests.concurrency import at_once

from .conftest import VALID, build_committee
from .proposal_world import beneficiary, draft, fund, in_days, login, staff_actor, vote_all  # noqa: F401


@pytest.fixture
def staff(staff_actor):  # noqa: F811
    return staff_actor


pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

C, R = Membership.Category, Membership.Role


def payable(committee, actor, receiver, voters, amount_fen, title):
    proposal = draft(committee, actor, receiver, amount_fen=amount_fen, title=title)
    services.submit_proposal(proposal=proposal, actor=actor)
    services.open_voting(proposal=proposal, deadline=in_days(5), actor=actor)
    vote_all(proposal, voters, ["yes"] * len(voters))
    Proposal.objects.filter(pk=proposal.pk).update(
        notice_ends_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    services.end_due_notices()
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.PAYABLE
    return proposal


def test_two_payments_racing_for_the_last_money_of_a_fund_one_succeeds(fund, staff, beneficiary):  # noqa: F811
    committee = build_committee(fund, VALID)
    voters = list(Membership.objects.filter(committee=committee).exclude(role=R.SUPERVISOR).order_by("id"))
    first = payable(committee, staff, beneficiary, voters, 6_000_000, "扶手")
    second = payable(committee, staff, beneficiary, voters, 4_000_000, "监控")
    # Money left the fund another way after both were approved (the host's own withdrawal): ¥50,000 is left,
    # and two tranches of ¥40,000 race for it.
    fund_withdraw(fund=fund, amount_fen=5_000_000, actor=staff, memo="host")
    today = timezone.localdate()
    outcomes = at_once(
        [
            lambda: services.disburse(
                proposal=first, amount_fen=4_000_000, paid_on=today, reference="B", actor=staff
            ),
            lambda: services.disburse(
                proposal=second, amount_fen=4_000_000, paid_on=today, reference="C", actor=staff
            ),
        ]
    )
    assert outcomes == ["Disbursement", "insufficient_funds"]
    assert fund_balance(fund).general_fen == 1_000_000
    assert Proposal.objects.filter(disbursed_fen=4_000_000).count() == 1
    assert verify_ledger().ok


def test_ten_members_voting_at_the_same_moment_make_ten_votes_and_one_outcome(fund, staff, beneficiary):  # noqa: F811
    seats = list(VALID) + [(C.RESIDENT, R.MEMBER)] * 4  # eleven voting members and a supervisor
    committee = build_committee(fund, seats)
    voters = list(Membership.objects.filter(committee=committee).exclude(role=R.SUPERVISOR).order_by("id"))
    assert len(voters) == 11
    proposal = draft(committee, staff, beneficiary, proposer_person=voters[0].person)  # the proposer recuses
    services.submit_proposal(proposal=proposal, actor=staff)
    services.open_voting(proposal=proposal, deadline=in_days(5), actor=staff)
    actors = [login(m.person) for m in voters[1:]]
    outcomes = at_once(
        [
            lambda a=a, i=i: services.cast_vote(proposal=proposal, choice="yes" if i % 3 else "no", actor=a)
            for i, a in enumerate(actors)
        ]
    )
    assert outcomes == ["Ballot"] * 10
    voting_round = VotingRound.objects.get(proposal=proposal)
    assert voting_round.closed_because == VotingRound.Closed.ALL_VOTED
    assert voting_round.record["tally"] == {"eligible": 10, "yes": 6, "no": 4, "abstain": 0}
    assert Ballot.objects.filter(round=voting_round).exclude(choice="").count() == 10
    assert AuditEvent.objects.filter(action="proposal.voting_closed").count() == 1
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.NOTICE
