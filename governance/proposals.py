"""Allocation decisions: a proposal from draft to closed, through the committee's vote, public notice,
objections, payment in tranches and the report. Each step validates, writes, records its audit event and
adds a dated line to the proposal's public timeline, in one transaction (docs/allocation.md).

Who may act:
- staff of the fund's community (STAFF role) prepare, submit, put to the vote, record paper ballots and
  opinions, answer objections, record payments, reports and closing;
- a hub organisation's API key creates and submits proposals for a community it serves, and reports on
  proposals it received;
- a committee member votes or declares a conflict with their own login, and nobody else for them (the
  secretary records paper ballots, marked as such);
- a logged-in resident of the fund's community objects during public notice.
Out of scope answers like absent (NotFoundError).
"""

from __future__ import annotations

import datetime
import hashlib
import io

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from charity.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from charity.models import AuditAction, NotificationKind, Organization, Person, StaffAssignment
from charity.notifications import notify
from charity.scoping import scope_for_organization
from charity.services import Actor, record_audit, require_staff
from charity.validators import clean_text
from funds.ledger import check_amount
from funds.models import Donation, Fund
from funds.movements import withdraw
from funds.selectors import spendable_on

from .models import (
    PROPOSAL_TEXT_MAX,
    PROPOSAL_TITLE_MAX,
    REASON_MAX,
    Ballot,
    BudgetLine,
    Committee,
    Disbursement,
    Membership,
    Objection,
    Proposal,
    ProposalAttachment,
    ProposalReport,
    ProposalStep,
    SupervisorOpinion,
    VotingRound,
)
from .tally import Reason, Rules, Tally, decide
from .text_checks import check_text

S = Proposal.Status

# The longest a vote may stay open, and the default when an upheld objection reopens one.
MAX_VOTING_DAYS = 60
REVOTE_DAYS = 7
# A paid proposal still unreported after this many days is flagged (issue: "90 days").
REPORT_DUE_DAYS = 90

ATTACHMENT_TYPES = {
    # content type: (magic bytes at the start, what the resident is told)
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}


class ProposalError(DomainError):
    code = "invalid_proposal"


class WrongStatus(ConflictError):
    code = "wrong_status"


class VoteRefused(DomainError):
    code = "vote_refused"
    status = 403


# --- who may act -------------------------------------------------------------------------------------------


def _community(proposal_or_fund) -> object:
    fund = proposal_or_fund.fund if isinstance(proposal_or_fund, Proposal) else proposal_or_fund
    return fund.community


def _require_staff(actor: Actor, area, *, role: str = StaffAssignment.Role.STAFF) -> None:
    """Staff of `area` with at least `role`; the system (tasks, commands) and superusers always. A key is
    told it needs a member of staff."""
    if actor.organization is not None:
        raise ForbiddenError(_("An organisation's API key cannot do this: it needs a member of staff."))
    require_staff(actor, area, role)


def _require_staff_or_serving_key(actor: Actor, area) -> None:
    if actor.organization is not None:
        if not scope_for_organization(actor.organization).contains(area):
            raise NotFoundError()
        return
    _require_staff(actor, area)


def _step(proposal: Proposal, from_status: str, note: str = "") -> None:
    ProposalStep.objects.create(
        proposal=proposal, from_status=from_status, to_status=proposal.status, note=note
    )


def _move(proposal: Proposal, to_status: str, *, note: str = "", fields=()) -> None:
    old = proposal.status
    proposal.status = to_status
    proposal.save(update_fields=["status", *fields])
    _step(proposal, old, note)


def _audit(actor: Actor, action: str, proposal: Proposal, summary: str, **data) -> None:
    record_audit(
        actor=actor,
        action=action,
        obj=proposal,
        area=_community(proposal),
        summary=f"{proposal.title}: {summary}",
        data={"proposal": proposal.pk, "status": proposal.status, **data},
    )


def _lock(proposal: Proposal) -> Proposal:
    """The proposal's row, locked for the rest of the transaction and read afresh."""
    return Proposal.objects.select_for_update().select_related("committee", "fund").get(pk=proposal.pk)


def _require_status(proposal: Proposal, *allowed: str) -> None:
    if proposal.status not in allowed:
        raise WrongStatus(
            _("This cannot be done while the proposal is “%(status)s”.")
            % {"status": proposal.get_status_display()}
        )


# --- preparing ---------------------------------------------------------------------------------------------


def _check_fund(committee: Committee, fund: Fund) -> None:
    if fund.pk != committee.fund_id and fund.parent_id != committee.fund_id:
        raise ProposalError(
            _("Choose the committee's community fund or one of its named funds."),
            code="wrong_fund",
            field="fund",
        )
    if fund.closed_on is not None:
        raise ProposalError(
            _("This fund is closed: nothing more is paid from it."), code="fund_closed", field="fund"
        )


def _check_text(value, *, field: str, max_length: int, required_message, public: bool = False) -> str:
    return check_text(
        value,
        error=ProposalError,
        field=field,
        max_length=max_length,
        required_message=required_message,
        public=public,
    )


def create_proposal(
    *,
    committee: Committee,
    fund: Fund,
    title: str,
    summary: str,
    amount_fen: int,
    actor: Actor,
    purpose: str = "",
    beneficiary_organization: Organization | None = None,
    beneficiary_person: Person | None = None,
    proposer_person: Person | None = None,
    proposer_organization: Organization | None = None,
    budget_lines=(),
    needs=(),
    related_people=(),
    related_organizations=(),
) -> Proposal:
    """Write a draft. `budget_lines` is [(item, amount_fen), …] and must add up to the amount when given.

    Raises NotFoundError/ForbiddenError, ProposalError (wrong_fund, fund_closed, title_required,
    summary_required, too_long, mobile_in_public_text…, beneficiary_required, budget_mismatch,
    invalid_budget_line, wrong_need), InvalidAmount.
    """
    area = fund.community
    _require_staff_or_serving_key(actor, area)
    _check_fund(committee, fund)
    title = _check_text(
        title, field="title", max_length=PROPOSAL_TITLE_MAX, required_message=_("Give the proposal a title.")
    )
    # Public during notice: the same refusal of phone and ID numbers as a need's summary.
    summary_text = _check_text(
        summary,
        field="summary",
        max_length=PROPOSAL_TEXT_MAX,
        required_message=_("Say what the money is for."),
        public=True,
    )
    amount_fen = check_amount(amount_fen)
    purpose = clean_text(purpose or "")[:200]
    if (beneficiary_organization is None) == (beneficiary_person is None):
        raise ProposalError(
            _("Name one beneficiary: an organisation or a person."),
            code="beneficiary_required",
            field="beneficiary",
        )
    lines = []
    for item, line_fen in budget_lines:
        item = clean_text(item or "")
        if not item or len(item) > 200:
            raise ProposalError(
                _("Each budget line needs an item of at most 200 characters."),
                code="invalid_budget_line",
                field="budget_lines",
            )
        lines.append((item, check_amount(line_fen, field="budget_lines")))
    if lines and sum(fen for _item, fen in lines) != amount_fen:
        raise ProposalError(
            _("The budget lines add up to a different amount than the proposal asks for."),
            code="budget_mismatch",
            field="budget_lines",
        )
    needs = list(needs)
    if any(need.community_id != area.pk for need in needs):
        raise ProposalError(_("A need of another community was chosen."), code="wrong_need", field="needs")
    if actor.organization is not None:
        proposer_organization = actor.organization
    with transaction.atomic():
        proposal = Proposal.objects.create(
            committee=committee,
            fund=fund,
            title=title,
            summary=summary_text,
            amount_fen=amount_fen,
            purpose=purpose,
            beneficiary_organization=beneficiary_organization,
            beneficiary_person=beneficiary_person,
            proposer_person=proposer_person,
            proposer_organization=proposer_organization,
            created_by=actor.user,
        )
        BudgetLine.objects.bulk_create(BudgetLine(proposal=proposal, item=i, amount_fen=f) for i, f in lines)
        proposal.needs.set(needs)
        proposal.related_people.set(related_people)
        proposal.related_organizations.set(related_organizations)
        _step(proposal, "")
        _audit(actor, AuditAction.PROPOSAL_CREATED, proposal, "draft", amount_fen=amount_fen, purpose=purpose)
    return proposal


def _committed_fen(proposal: Proposal) -> int:
    """Money already promised by the fund's other approved proposals and not yet paid or released."""
    rows = Proposal.objects.filter(
        fund_id=proposal.fund_id,
        purpose=proposal.purpose,
        status__in=(S.NOTICE, S.OBJECTION_REVIEW, S.PAYABLE, S.DISBURSED),
    ).exclude(pk=proposal.pk)
    totals = rows.aggregate(
        approved=Sum("approved_fen"), paid=Sum("disbursed_fen"), released=Sum("released_fen")
    )
    return (totals["approved"] or 0) - (totals["paid"] or 0) - (totals["released"] or 0)


def _check_money(proposal: Proposal) -> None:
    available = spendable_on(proposal.fund_id, proposal.purpose) - _committed_fen(proposal)
    if proposal.amount_fen > available:
        from charity.templatetags.money import format_fen

        raise ProposalError(
            _(
                "The fund cannot cover this: %(available)s may be spent on it (its unrestricted money and "
                "money restricted to this purpose, less what other approved proposals will use)."
            )
            % {"available": format_fen(max(available, 0))},
            code="insufficient_funds",
            field="amount_fen",
        )


def _current_members(committee: Committee, on: datetime.date):
    return (
        Membership.objects.filter(committee=committee, term_start__lte=on)
        .filter(Q(term_end__isnull=True) | Q(term_end__gte=on))
        .select_related("person", "organization")
    )


def _check_related_parties(proposal: Proposal) -> None:
    """CL art. 59: no beneficiary related to the fund's managers; CL art. 40: none related to a donor who
    restricted the money being spent."""
    person, organization = proposal.beneficiary_person, proposal.beneficiary_organization
    today = timezone.localdate()
    for member in _current_members(proposal.committee, today):
        if (person is not None and member.person_id == person.pk) or (
            organization is not None and member.organization_id == organization.pk
        ):
            raise ProposalError(
                _(
                    "The beneficiary is a member of the fund's committee, or an organisation a member "
                    "represents: the fund may not benefit its own managers (Charity Law art. 59)."
                ),
                code="beneficiary_is_manager",
                field="beneficiary",
            )
    restricted = Donation.objects.filter(fund_id=proposal.fund_id)
    if proposal.purpose:
        restricted = restricted.filter(restriction=Donation.Restriction.PURPOSE, purpose=proposal.purpose)
    elif proposal.fund.parent_id is not None:
        restricted = Donation.objects.filter(restricted_fund_id=proposal.fund_id)
    else:
        restricted = Donation.objects.none()
    donor_match = Q()
    if person is not None:
        donor_match |= Q(donor_person_id=person.pk)
    if organization is not None:
        donor_match |= Q(donor_organization_id=organization.pk)
    if restricted.filter(donor_match).exists():
        raise ProposalError(
            _(
                "The beneficiary gave restricted money that this proposal would spend: a donor may not "
                "direct their gift to themselves or a related party (Charity Law art. 40)."
            ),
            code="beneficiary_is_donor",
            field="beneficiary",
        )


def submit_proposal(*, proposal: Proposal, actor: Actor) -> Proposal:
    """Draft → submitted, after checking the fund can cover it and no related party benefits."""
    _require_staff_or_serving_key(actor, _community(proposal))
    with transaction.atomic():
        proposal = _lock(proposal)
        _require_status(proposal, S.DRAFT)
        _check_money(proposal)
        _check_related_parties(proposal)
        proposal.submitted_at = timezone.now()
        _move(proposal, S.SUBMITTED, fields=["submitted_at"])
        _audit(actor, AuditAction.PROPOSAL_SUBMITTED, proposal, "submitted")
    return proposal


# --- voting ------------------------------------------------------------------------------------------------


def _recusal_for(proposal: Proposal, member: Membership, related_people: set, related_orgs: set) -> str:
    R = Ballot.Recusal
    if member.person_id == proposal.beneficiary_person_id or (
        member.organization_id and member.organization_id == proposal.beneficiary_organization_id
    ):
        return R.BENEFICIARY
    if member.person_id == proposal.proposer_person_id or (
        member.organization_id and member.organization_id == proposal.proposer_organization_id
    ):
        return R.PROPOSER
    if member.person_id in related_people or (
        member.organization_id and member.organization_id in related_orgs
    ):
        return R.DECLARED_PARTY
    return ""


def _open_round(proposal: Proposal, deadline: datetime.datetime) -> VotingRound:
    number = proposal.rounds.count() + 1
    voting_round = VotingRound.objects.create(proposal=proposal, number=number, deadline=deadline)
    related_people = set(proposal.related_people.values_list("pk", flat=True))
    related_orgs = set(proposal.related_organizations.values_list("pk", flat=True))
    Ballot.objects.bulk_create(
        Ballot(
            round=voting_round,
            membership=member,
            recused=_recusal_for(proposal, member, related_people, related_orgs),
        )
        for member in _current_members(proposal.committee, timezone.localdate())
        if member.is_voting
    )
    proposal.voting_deadline = deadline
    for ballot in voting_round.ballots.filter(recused="").select_related("membership__person"):
        notify(
            person=ballot.membership.person,
            kind=NotificationKind.VOTE_REQUESTED,
            text=_("“%(title)s” is put to the committee's vote until %(deadline)s.")
            % {"title": proposal.title, "deadline": timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M")},
            url=f"/committees/proposals/{proposal.pk}/",
            actor=Actor.system(),
            key=f"vote-requested-{voting_round.pk}",
        )
    return voting_round


def _check_deadline(deadline) -> datetime.datetime:
    now = timezone.now()
    if not isinstance(deadline, datetime.datetime) or timezone.is_naive(deadline):
        raise ProposalError(
            _("Give the date and time voting closes."), code="invalid_deadline", field="deadline"
        )
    if deadline <= now:
        raise ProposalError(_("Voting must close in the future."), code="deadline_past", field="deadline")
    if deadline > now + datetime.timedelta(days=MAX_VOTING_DAYS):
        raise ProposalError(
            _("A vote stays open at most %(days)d days.") % {"days": MAX_VOTING_DAYS},
            code="deadline_too_far",
            field="deadline",
        )
    return deadline


def open_voting(*, proposal: Proposal, deadline: datetime.datetime, actor: Actor) -> VotingRound:
    """Submitted → voting: every serving voting member gets a ballot; members related to the beneficiary,
    the proposer or a declared related party are recused at once."""
    _require_staff(actor, _community(proposal))
    deadline = _check_deadline(deadline)
    with transaction.atomic():
        proposal = _lock(proposal)
        _require_status(proposal, S.SUBMITTED)
        voting_round = _open_round(proposal, deadline)
        _move(proposal, S.VOTING, fields=["voting_deadline"])
        _audit(
            actor,
            AuditAction.VOTING_OPENED,
            proposal,
            f"round {voting_round.number}",
            round=voting_round.number,
        )
    return voting_round


def _open_round_of(proposal: Proposal) -> VotingRound:
    voting_round = proposal.rounds.filter(closed_at__isnull=True).first()
    if voting_round is None or proposal.status != S.VOTING:
        raise WrongStatus(_("Voting on this proposal is closed."), code="voting_closed")
    return voting_round


def _ballot_of(voting_round: VotingRound, actor: Actor, *, for_update: bool = True) -> Ballot:
    """The acting person's ballot in this round, with the refusal that explains why there is none."""
    person = getattr(getattr(actor, "user", None), "person", None) if actor.user is not None else None
    if person is None or actor.organization is not None:
        raise VoteRefused(_("Only a committee member can vote, with their own login."), code="not_a_member")
    query = Ballot.objects.select_related("membership")
    if for_update:
        query = query.select_for_update()
    ballot = query.filter(round=voting_round, membership__person=person).first()
    if ballot is None:
        member = (
            _current_members(voting_round.proposal.committee, timezone.localdate())
            .filter(person=person)
            .first()
        )
        if member is not None and not member.is_voting:
            raise VoteRefused(
                _("Supervisors attend and give their opinion, but do not vote."),
                code="supervisor_cannot_vote",
            )
        raise VoteRefused(
            _("Only the committee's voting members vote on this proposal."), code="not_a_member"
        )
    if ballot.recused:
        raise VoteRefused(
            _("You are recused from this vote (%(why)s): you do not vote on it.")
            % {"why": ballot.get_recused_display()},
            code="recused",
        )
    return ballot


def _check_choice(choice: str) -> str:
    if choice not in Ballot.Choice.values:
        raise ProposalError(_("Vote yes, no or abstain."), code="invalid_choice", field="choice")
    return choice


def cast_vote(*, proposal: Proposal, choice: str, actor: Actor, reason: str = "") -> Ballot:
    """A member's vote, changeable until voting closes. When every eligible member has voted, voting closes.

    Raises VoteRefused (not_a_member, supervisor_cannot_vote, recused), WrongStatus (voting_closed),
    ProposalError (invalid_choice, too_long).
    """
    choice = _check_choice(choice)
    reason = clean_text(reason or "")
    if len(reason) > REASON_MAX:
        raise ProposalError(_("The reason is too long."), code="too_long", field="reason")
    with transaction.atomic():
        proposal = _lock(proposal)
        voting_round = _open_round_of(proposal)
        ballot = _ballot_of(voting_round, actor)
        changed = bool(ballot.choice)
        ballot.choice, ballot.reason, ballot.voted_at = choice, reason, timezone.now()
        ballot.at_meeting, ballot.recorded_by = False, actor.user
        ballot.save(update_fields=["choice", "reason", "voted_at", "at_meeting", "recorded_by"])
        _audit(
            actor,
            AuditAction.VOTE_CAST,
            proposal,
            "vote changed" if changed else "vote cast",
            round=voting_round.number,
            changed=changed,
        )
        if not voting_round.ballots.filter(recused="", choice="").exists():
            _close_round(proposal, voting_round, VotingRound.Closed.ALL_VOTED, actor)
    return ballot


def declare_conflict(*, proposal: Proposal, note: str, actor: Actor) -> Ballot:
    """A member declares a conflict of interest: recused from this round, their vote (if any) withdrawn."""
    note = _check_text(
        note, field="note", max_length=REASON_MAX, required_message=_("Say what the conflict is.")
    )
    with transaction.atomic():
        proposal = _lock(proposal)
        voting_round = _open_round_of(proposal)
        ballot = _ballot_of(voting_round, actor)
        ballot.recused, ballot.recusal_note, ballot.choice, ballot.reason = (
            Ballot.Recusal.DECLARED,
            note,
            "",
            "",
        )
        ballot.save(update_fields=["recused", "recusal_note", "choice", "reason"])
        _audit(actor, AuditAction.CONFLICT_DECLARED, proposal, "conflict declared", round=voting_round.number)
        if not voting_round.ballots.filter(recused="", choice="").exists():
            _close_round(proposal, voting_round, VotingRound.Closed.ALL_VOTED, actor)
    return ballot


def record_paper_ballots(
    *, proposal: Proposal, choices: dict, minutes: ProposalAttachment | None, actor: Actor, close: bool = True
) -> VotingRound:
    """The secretary records votes cast on paper at a meeting: {membership: choice}. With the minutes
    attached (kind minutes). `close` closes the round as decided at the meeting.

    Raises ProposalError (minutes_required, invalid_choice, not_eligible), WrongStatus.
    """
    _require_staff(actor, _community(proposal))
    if (
        minutes is None
        or minutes.proposal_id != proposal.pk
        or minutes.kind != ProposalAttachment.Kind.MINUTES
    ):
        raise ProposalError(
            _("Attach the meeting's minutes before recording paper ballots."),
            code="minutes_required",
            field="minutes",
        )
    with transaction.atomic():
        proposal = _lock(proposal)
        voting_round = _open_round_of(proposal)
        ballots = {b.membership_id: b for b in voting_round.ballots.select_for_update()}
        now = timezone.now()
        for membership, choice in choices.items():
            ballot = ballots.get(getattr(membership, "pk", membership))
            if ballot is None or ballot.recused:
                raise ProposalError(
                    _("One of the ballots is from someone who does not vote in this round."),
                    code="not_eligible",
                    field="choices",
                )
            ballot.choice, ballot.at_meeting, ballot.recorded_by, ballot.voted_at = (
                _check_choice(choice),
                True,
                actor.user,
                now,
            )
            ballot.save(update_fields=["choice", "at_meeting", "recorded_by", "voted_at"])
        _audit(
            actor,
            AuditAction.PAPER_BALLOTS_RECORDED,
            proposal,
            f"{len(choices)} paper ballots",
            minutes=minutes.pk,
        )
        if close:
            _close_round(proposal, voting_round, VotingRound.Closed.MEETING, actor)
    return voting_round


def record_supervisor_opinion(*, proposal: Proposal, membership: Membership, text: str, actor: Actor):
    """The supervisor's opinion, verbatim, entered by themselves or by staff from the minutes."""
    if actor.user is None or getattr(getattr(actor.user, "person", None), "pk", None) != membership.person_id:
        _require_staff(actor, _community(proposal))
    if membership.is_voting or membership.committee_id != proposal.committee_id:
        raise ProposalError(
            _("Only the committee's supervisor gives an opinion here."), code="not_supervisor"
        )
    text = _check_text(
        text, field="text", max_length=PROPOSAL_TEXT_MAX, required_message=_("Write the opinion.")
    )
    with transaction.atomic():
        proposal = _lock(proposal)
        voting_round = proposal.rounds.order_by("-number").first()
        if voting_round is None:
            raise WrongStatus(_("There is no vote on this proposal yet."), code="no_vote")
        try:
            with transaction.atomic():
                opinion = SupervisorOpinion.objects.create(
                    round=voting_round, membership=membership, text=text
                )
        except IntegrityError:
            raise ConflictError(
                _("The supervisor's opinion on this vote is already recorded."), code="opinion_recorded"
            ) from None
        _audit(actor, AuditAction.SUPERVISOR_OPINION_RECORDED, proposal, "supervisor's opinion")
    return opinion


def _tally(voting_round: VotingRound) -> Tally:
    counts = {"yes": 0, "no": 0, "abstain": 0}
    eligible = 0
    for recused, choice in voting_round.ballots.values_list("recused", "choice"):
        if recused:
            continue
        eligible += 1
        if choice:
            counts[choice] += 1
    return Tally(eligible=eligible, **counts)


def _close_round(proposal: Proposal, voting_round: VotingRound, because: str, actor: Actor) -> None:
    """Store the tally, the rules and the outcome; approved → public notice, else rejected."""
    outcome = decide(Rules.of(proposal.committee), _tally(voting_round), proposal.amount_fen)
    now = timezone.now()
    voting_round.closed_at, voting_round.closed_because = now, because
    voting_round.approved, voting_round.reason, voting_round.record = (
        outcome.approved,
        outcome.reason,
        outcome.as_record(),
    )
    voting_round.save(update_fields=["closed_at", "closed_because", "approved", "reason", "record"])
    proposal.voting_deadline = None
    if outcome.approved:
        proposal.approved_fen = proposal.amount_fen
        proposal.notice_round += 1
        proposal.notice_starts_at = now
        proposal.notice_ends_at = now + datetime.timedelta(days=proposal.committee.notice_days)
        _move(
            proposal,
            S.NOTICE,
            fields=["voting_deadline", "approved_fen", "notice_round", "notice_starts_at", "notice_ends_at"],
        )
    else:
        _move(proposal, S.REJECTED, fields=["voting_deadline"])
    _audit(
        actor,
        AuditAction.VOTING_CLOSED,
        proposal,
        outcome.reason,
        round=voting_round.number,
        approved=outcome.approved,
        tally=outcome.as_record()["tally"],
    )


def close_voting(*, proposal: Proposal, actor: Actor) -> VotingRound:
    """Close the open round now if its deadline has passed (the beat task) — or, by staff, never early."""
    with transaction.atomic():
        proposal = _lock(proposal)
        voting_round = _open_round_of(proposal)
        if voting_round.deadline > timezone.now():
            raise WrongStatus(_("Voting is still open until its deadline."), code="voting_still_open")
        _close_round(proposal, voting_round, VotingRound.Closed.DEADLINE, actor)
    return voting_round


def close_due_votes(*, now=None) -> int:
    """Close every round whose deadline has passed. Twice in a row closes nothing the second time."""
    now = now or timezone.now()
    actor = Actor.system()
    closed = 0
    for proposal_id in VotingRound.objects.filter(closed_at__isnull=True, deadline__lte=now).values_list(
        "proposal_id", flat=True
    ):
        try:
            close_voting(proposal=Proposal(pk=proposal_id), actor=actor)
            closed += 1
        except WrongStatus:
            continue  # closed meanwhile (every member voted, or another run)
    return closed


# --- public notice and objections --------------------------------------------------------------------------


def object_to(*, proposal: Proposal, reason: str, actor: Actor) -> Objection:
    """A logged-in resident of the fund's community objects once during the notice period."""
    person = getattr(actor.user, "person", None) if actor.user is not None else None
    if person is None:
        raise ForbiddenError(_("Log in as a resident of the community to object."), code="login_required")
    if person.community_id != _community(proposal).pk:
        raise NotFoundError()
    reason = _check_text(
        reason, field="reason", max_length=REASON_MAX, required_message=_("Say why you object.")
    )
    with transaction.atomic():
        proposal = _lock(proposal)
        if proposal.status != S.NOTICE or proposal.notice_ends_at <= timezone.now():
            raise WrongStatus(_("Objections are taken only during the public notice."), code="not_in_notice")
        try:
            with transaction.atomic():
                objection = Objection.objects.create(
                    proposal=proposal, notice_round=proposal.notice_round, person=person, reason=reason
                )
        except IntegrityError:
            raise ConflictError(
                _("You have already objected to this proposal during this notice."), code="already_objected"
            ) from None
        _audit(actor, AuditAction.OBJECTION_RAISED, proposal, "objection raised", objection=objection.pk)
        _step(proposal, proposal.status, note=gettext_noop("An objection was raised."))
    return objection


def answer_objection(
    *, objection: Objection, answer: str, text: str, actor: Actor, deadline: datetime.datetime | None = None
) -> Objection:
    """The committee's answer, on the record. Upheld: the proposal goes back to a vote (a new round,
    closing at `deadline` or in REVOTE_DAYS days). Dismissed: once notice has ended with no objection open,
    payable."""
    proposal = objection.proposal
    _require_staff(actor, _community(proposal))
    if answer not in Objection.Answer.values:
        raise ProposalError(
            _("Choose whether the objection is upheld or dismissed."), code="invalid_answer", field="answer"
        )
    text = _check_text(
        text, field="text", max_length=PROPOSAL_TEXT_MAX, required_message=_("Write the committee's answer.")
    )
    with transaction.atomic():
        proposal = _lock(proposal)
        objection = Objection.objects.select_for_update().get(pk=objection.pk)
        if objection.answer:
            raise ConflictError(_("This objection has already been answered."), code="already_answered")
        _require_status(proposal, S.NOTICE, S.OBJECTION_REVIEW)
        objection.answer, objection.answer_text = answer, text
        objection.answered_by, objection.answered_at = actor.user, timezone.now()
        objection.save(update_fields=["answer", "answer_text", "answered_by", "answered_at"])
        _audit(actor, AuditAction.OBJECTION_ANSWERED, proposal, answer, objection=objection.pk)
        notify(
            person=objection.person,
            kind=NotificationKind.OBJECTION_ANSWERED,
            text=_("The committee answered your objection to “%(title)s”.") % {"title": proposal.title},
            url=f"/committees/proposals/{proposal.pk}/",
            actor=actor,
            key=f"objection-answered-{objection.pk}",
        )
        if answer == Objection.Answer.UPHELD:
            voting_round = _open_round(
                proposal, _check_deadline(deadline or timezone.now() + datetime.timedelta(days=REVOTE_DAYS))
            )
            proposal.approved_fen = 0
            _move(
                proposal,
                S.VOTING,
                note=gettext_noop("An objection was upheld: the committee votes again."),
                fields=["voting_deadline", "approved_fen"],
            )
            _audit(
                actor,
                AuditAction.VOTING_OPENED,
                proposal,
                f"round {voting_round.number}",
                round=voting_round.number,
            )
        else:
            _step(proposal, proposal.status, note=gettext_noop("An objection was answered."))
            _maybe_payable(proposal, actor)
    return objection


def _maybe_payable(proposal: Proposal, actor: Actor) -> None:
    if proposal.notice_ends_at > timezone.now():
        return
    open_objections = proposal.objections.filter(notice_round=proposal.notice_round, answer="").exists()
    if open_objections:
        if proposal.status != S.OBJECTION_REVIEW:
            _move(proposal, S.OBJECTION_REVIEW)
            _audit(actor, AuditAction.NOTICE_ENDED, proposal, "objections to review")
        return
    _move(proposal, S.PAYABLE)
    _audit(actor, AuditAction.NOTICE_ENDED, proposal, "payable")


def end_due_notices(*, now=None) -> int:
    """Proposals whose notice has ended: payable, or under review while an objection is unanswered."""
    now = now or timezone.now()
    actor = Actor.system()
    moved = 0
    for proposal_id in Proposal.objects.filter(status=S.NOTICE, notice_ends_at__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            proposal = (
                Proposal.objects.select_for_update().select_related("committee", "fund").get(pk=proposal_id)
            )
            if proposal.status != S.NOTICE or proposal.notice_ends_at > now:
                continue
            _maybe_payable(proposal, actor)
            moved += 1
    return moved


# --- money, report, closing --------------------------------------------------------------------------------


def disburse(
    *, proposal: Proposal, amount_fen: int, paid_on: datetime.date, reference: str, actor: Actor
) -> Disbursement:
    """Record a tranche the host paid and post the ledger withdrawal. Refused above what remains approved,
    before the notice has passed, or when the fund (or the purpose's money) cannot cover it."""
    _require_staff(actor, _community(proposal))
    amount_fen = check_amount(amount_fen)
    reference = _check_text(
        reference, field="reference", max_length=100, required_message=_("Give the host's payment reference.")
    )
    if not isinstance(paid_on, datetime.date) or paid_on > timezone.localdate():
        raise ProposalError(
            _("The payment date cannot be in the future."), code="invalid_date", field="paid_on"
        )
    with transaction.atomic():
        proposal = _lock(proposal)
        _require_status(proposal, S.PAYABLE, S.DISBURSED)
        remaining = proposal.approved_fen - proposal.disbursed_fen - proposal.released_fen
        if amount_fen > remaining:
            from charity.templatetags.money import format_fen

            raise ProposalError(
                _("Only %(remaining)s of the approved amount remains to be paid.")
                % {"remaining": format_fen(remaining)},
                code="above_approved",
                field="amount_fen",
            )
        txn = withdraw(
            fund=proposal.fund,
            amount_fen=amount_fen,
            actor=actor,
            memo=f"#{proposal.pk} {proposal.title}"[:200],
            purpose=proposal.purpose,
        )
        tranche = Disbursement.objects.create(
            proposal=proposal,
            amount_fen=amount_fen,
            paid_on=paid_on,
            reference=reference,
            transaction=txn,
            recorded_by=actor.user,
        )
        proposal.disbursed_fen += amount_fen
        fields = ["disbursed_fen"]
        if proposal.first_paid_on is None:
            proposal.first_paid_on = paid_on
            fields.append("first_paid_on")
        if proposal.status == S.PAYABLE:
            _move(proposal, S.DISBURSED, fields=fields)
        else:
            proposal.save(update_fields=fields)
            _step(proposal, proposal.status, note=gettext_noop("Another payment was made."))
        _audit(actor, AuditAction.PROPOSAL_DISBURSED, proposal, f"{amount_fen} fen", amount_fen=amount_fen)
    return tranche


def submit_report(
    *, proposal: Proposal, outcomes: str, actor: Actor, people_served: int | None = None
) -> ProposalReport:
    """What the money did, after at least one payment: by staff, or by the hub organisation that got it."""
    if actor.organization is not None:
        if actor.organization.pk != proposal.beneficiary_organization_id:
            raise NotFoundError()
    else:
        _require_staff(actor, _community(proposal))
    outcomes = _check_text(
        outcomes,
        field="outcomes",
        max_length=PROPOSAL_TEXT_MAX,
        required_message=_("Say what the money did."),
    )
    if people_served is not None and (
        isinstance(people_served, bool) or not isinstance(people_served, int) or people_served < 0
    ):
        raise ProposalError(
            _("Give the number of people served as a whole number."),
            code="invalid_number",
            field="people_served",
        )
    with transaction.atomic():
        proposal = _lock(proposal)
        _require_status(proposal, S.DISBURSED)
        report = ProposalReport.objects.create(
            proposal=proposal, outcomes=outcomes, people_served=people_served, submitted_by=actor.user
        )
        _move(proposal, S.REPORTED)
        _audit(actor, AuditAction.PROPOSAL_REPORTED, proposal, "reported")
    return report


def close_proposal(*, proposal: Proposal, actor: Actor) -> Proposal:
    """Reported → closed: what was approved and not paid is released back to the fund's use."""
    _require_staff(actor, _community(proposal))
    with transaction.atomic():
        proposal = _lock(proposal)
        _require_status(proposal, S.REPORTED)
        proposal.released_fen = proposal.approved_fen - proposal.disbursed_fen
        proposal.closed_at = timezone.now()
        _move(proposal, S.CLOSED, fields=["released_fen", "closed_at"])
        _audit(actor, AuditAction.PROPOSAL_CLOSED, proposal, "closed", released_fen=proposal.released_fen)
    return proposal


def withdraw_proposal(*, proposal: Proposal, reason: str, actor: Actor) -> Proposal:
    """Withdrawn at any point before the first payment; an open vote closes without an outcome."""
    _require_staff_or_serving_key(actor, _community(proposal))
    reason = _check_text(
        reason, field="reason", max_length=REASON_MAX, required_message=_("Say why it is withdrawn.")
    )
    with transaction.atomic():
        proposal = _lock(proposal)
        _require_status(proposal, *Proposal.WITHDRAWABLE)
        if actor.organization is not None and proposal.proposer_organization_id != actor.organization.pk:
            raise NotFoundError()
        proposal.rounds.filter(closed_at__isnull=True).update(closed_at=timezone.now(), reason="withdrawn")
        proposal.approved_fen = 0
        proposal.voting_deadline = None
        _move(proposal, S.WITHDRAWN, note=reason, fields=["approved_fen", "voting_deadline"])
        _audit(actor, AuditAction.PROPOSAL_WITHDRAWN, proposal, "withdrawn")
    return proposal


def flag_overdue_reports(*, today: datetime.date | None = None) -> int:
    """Paid proposals unreported REPORT_DUE_DAYS after their first payment: flagged once, and every serving
    committee member with a login is told once."""
    today = today or timezone.localdate()
    due = today - datetime.timedelta(days=REPORT_DUE_DAYS)
    actor = Actor.system()
    flagged = 0
    for proposal_id in Proposal.objects.filter(
        status=S.DISBURSED, first_paid_on__lte=due, report_overdue_flagged_at__isnull=True
    ).values_list("pk", flat=True):
        with transaction.atomic():
            proposal = (
                Proposal.objects.select_for_update().select_related("committee", "fund").get(pk=proposal_id)
            )
            if proposal.report_overdue_flagged_at is not None or proposal.status != S.DISBURSED:
                continue
            proposal.report_overdue_flagged_at = timezone.now()
            proposal.save(update_fields=["report_overdue_flagged_at"])
            _audit(actor, AuditAction.REPORT_OVERDUE, proposal, "report overdue")
            for member in _current_members(proposal.committee, today):
                notify(
                    person=member.person,
                    kind=NotificationKind.PROPOSAL_REPORT_OVERDUE,
                    text=_("The report on “%(title)s” is overdue: it was paid more than %(days)d days ago.")
                    % {"title": proposal.title, "days": REPORT_DUE_DAYS},
                    actor=actor,
                    key=f"proposal-report-overdue-{proposal.pk}",
                )
            flagged += 1
    return flagged


# --- attachments -------------------------------------------------------------------------------------------

# A picture is stored at most this many pixels on its longer side.
PICTURE_MAX_SIDE = 2000


def _clean_picture(content: bytes, content_type: str) -> bytes:
    """Re-encode a picture from its pixels alone: no EXIF (a phone's GPS position, its owner's name), no
    comments or embedded profiles, turned upright, and no larger than PICTURE_MAX_SIDE. A file that only
    starts like a picture is refused."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as source:
            if source.width * source.height > 60_000_000:
                raise ProposalError(_("The picture is too large."), code="file_too_large", field="file")
            source.load()
            upright = ImageOps.exif_transpose(source)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError):
        raise ProposalError(
            _("The picture could not be read: send it again as a PNG or JPEG file."),
            code="file_type",
            field="file",
        ) from None
    upright.thumbnail((PICTURE_MAX_SIDE, PICTURE_MAX_SIDE))
    if upright.mode not in ("RGB", "RGBA", "L", "LA"):
        upright = upright.convert(
            "RGBA" if "A" in upright.getbands() or "transparency" in upright.info else "RGB"
        )
    pixels = Image.frombytes(upright.mode, upright.size, upright.tobytes())  # the pixels and nothing else
    out = io.BytesIO()
    if content_type == "image/jpeg":
        pixels.convert("RGB").save(out, format="JPEG", quality=85)
    else:
        pixels.save(out, format="PNG", optimize=True)
    return out.getvalue()


def add_attachment(
    *,
    proposal: Proposal,
    kind: str,
    name: str,
    content: bytes,
    content_type: str,
    actor: Actor,
    is_public: bool = False,
) -> ProposalAttachment:
    """A PDF, PNG or JPEG up to PROPOSAL_ATTACHMENT_MAX_BYTES, its type checked from its first bytes (a
    program renamed `.pdf` is refused). Photos and receipts may be public; quotes and minutes never are."""
    if actor.organization is not None:
        if actor.organization.pk not in (
            proposal.beneficiary_organization_id,
            proposal.proposer_organization_id,
        ):
            raise NotFoundError()
    else:
        _require_staff(actor, _community(proposal))
    if kind not in ProposalAttachment.Kind.values:
        raise ProposalError(_("Choose what kind of document this is."), code="invalid_kind", field="kind")
    name = clean_text(name or "")[:200] or "file"
    limit = settings.PROPOSAL_ATTACHMENT_MAX_BYTES
    if not content:
        raise ProposalError(_("The file is empty."), code="empty_file", field="file")
    if len(content) > limit:
        raise ProposalError(
            _("The file is too large: at most %(mb)d MB.") % {"mb": limit // (1024 * 1024)},
            code="file_too_large",
            field="file",
        )
    actual = next((t for t, magics in ATTACHMENT_TYPES.items() if content.startswith(magics)), None)
    if actual is None:
        raise ProposalError(
            _(
                "Only PDF files and PNG or JPEG pictures are accepted: this file is neither, whatever its "
                "name."
            ),
            code="file_type",
            field="file",
        )
    if actual != "application/pdf":
        content = _clean_picture(content, actual)
    if is_public and kind not in (ProposalAttachment.Kind.PHOTO, ProposalAttachment.Kind.RECEIPT):
        raise ProposalError(
            _("Only report photos and receipts are shown on the portal."),
            code="not_publishable",
            field="is_public",
        )
    with transaction.atomic():
        attachment = ProposalAttachment.objects.create(
            proposal=proposal,
            kind=kind,
            name=name,
            content_type=actual,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            data=content,
            is_public=is_public,
            uploaded_by=actor.user,
        )
        _audit(actor, AuditAction.ATTACHMENT_ADDED, proposal, f"{kind}: {name}", attachment=attachment.pk)
    return attachment


__all__ = [
    "ProposalError",
    "VoteRefused",
    "WrongStatus",
    "Reason",
    "add_attachment",
    "answer_objection",
    "cast_vote",
    "close_due_votes",
    "close_proposal",
    "close_voting",
    "create_proposal",
    "declare_conflict",
    "disburse",
    "end_due_notices",
    "flag_overdue_reports",
    "object_to",
    "open_voting",
    "record_paper_ballots",
    "record_supervisor_opinion",
    "submit_proposal",
    "submit_report",
    "withdraw_proposal",
]
