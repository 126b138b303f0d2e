"""The allocation deadlines as beat tasks: each runs its service, and a second run does nothing."""

# ruff: noqa: F811  (the fixtures imported from proposal_world are the tests' arguments)

import datetime

import time_machine
from django.conf import settings
from django.utils import timezone

from charity.models import AuditEvent, Notification
from governance import tasks
from governance.models import Proposal, ProposalStep, VotingRound

from .proposal_world import (  # noqa: F401  (fixtures)
    beneficiary,
    committee,
    fund,
    in_days,
    staff_actor,
    to_notice,
    to_paid,
    to_vote,
    vote_all,
    voters,
)

S = Proposal.Status


def events(action):
    return AuditEvent.objects.filter(action=action).count()


def test_the_beat_schedule_runs_the_three_tasks():
    from charity.celery import app

    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    for name in (
        "governance.tasks.close_due_votes",
        "governance.tasks.end_due_notices",
        "governance.tasks.flag_overdue_reports",
    ):
        assert name in scheduled and name in app.tasks


def test_a_due_vote_is_closed_once(committee, staff_actor, beneficiary, voters):
    proposal = to_vote(committee, staff_actor, beneficiary)
    vote_all(proposal, voters[:5], ["yes", "yes", "yes", "no", "abstain"])
    assert tasks.close_due_votes.delay().get() == 0  # not due yet
    with time_machine.travel(in_days(6)):
        assert tasks.close_due_votes.delay().get() == 1
        assert tasks.close_due_votes.delay().get() == 0
    proposal.refresh_from_db()
    voting_round = proposal.rounds.get()
    assert proposal.status == S.NOTICE and voting_round.closed_because == VotingRound.Closed.DEADLINE
    assert voting_round.record["tally"] == {"eligible": 7, "yes": 3, "no": 1, "abstain": 1}
    assert events("proposal.voting_closed") == 1
    assert ProposalStep.objects.filter(proposal=proposal, to_status=S.NOTICE).count() == 1


def test_a_vote_short_of_quorum_at_its_deadline_is_rejected_once(committee, staff_actor, beneficiary, voters):
    proposal = to_vote(committee, staff_actor, beneficiary)
    vote_all(proposal, voters[:2], ["yes", "yes"])  # 2 of 7: the quorum (two-thirds) needs 5
    with time_machine.travel(in_days(6)):
        assert tasks.close_due_votes() == 1
        assert tasks.close_due_votes() == 0
    proposal.refresh_from_db()
    assert proposal.status == S.REJECTED and proposal.rounds.get().reason == "no_quorum"


def test_a_notice_ends_once(committee, staff_actor, beneficiary, voters):
    proposal = to_notice(committee, staff_actor, beneficiary, voters)
    assert tasks.end_due_notices() == 0
    with time_machine.travel(in_days(8)):
        assert tasks.end_due_notices.delay().get() == 1
        assert tasks.end_due_notices.delay().get() == 0
    proposal.refresh_from_db()
    assert proposal.status == S.PAYABLE
    assert events("proposal.notice_ended") == 1


def test_an_overdue_report_is_flagged_and_told_once(committee, staff_actor, beneficiary, voters):
    proposal = to_paid(committee, staff_actor, beneficiary, voters)
    assert tasks.flag_overdue_reports() == 0
    Proposal.objects.filter(pk=proposal.pk).update(
        first_paid_on=timezone.localdate() - datetime.timedelta(days=91)
    )
    assert tasks.flag_overdue_reports.delay().get() == 1
    assert tasks.flag_overdue_reports.delay().get() == 0
    proposal.refresh_from_db()
    assert proposal.report_overdue_flagged_at is not None
    assert events("proposal.report_overdue") == 1
    told = Notification.objects.filter(kind="proposal.report_overdue")
    assert told.count() == 8 and told.values("person").distinct().count() == 8  # every serving member, once
