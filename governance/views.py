"""Portal pages of the fund management committee and its allocation proposals (mobile-first, no JavaScript).

Public pages (the committee, a community's proposals, a proposal's record) are cached for anonymous
visitors (`public_page`); a logged-in visitor always gets the page rendered for them, with the forms their
role allows. Votes, declared conflicts and objections go through governance.services, which decide who may
act; a refusal is shown in the service's own words and changes nothing. No contact details anywhere, and
no objector's name.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from charity.errors import DomainError, NotFoundError
from charity.models import Area, AuditEvent, Person
from charity.public_pages import local_to, public_page
from charity.services import Actor
from charity.templatetags.money import format_fen

from . import selectors, services
from .forms import ConflictForm, ObjectionForm, VoteForm
from .models import Ballot, Objection, Proposal, fraction_words
from .selectors import composition_issues, get_public_committee, members_by_category, prefetched_members
from .tally import Reason

S = Proposal.Status


@public_page()
def committee(request, pk):
    found = get_public_committee(pk)
    if found is None:
        raise Http404
    members = prefetched_members(found)
    return render(
        request,
        "governance/committee.html",
        {
            "committee": found,
            "fund": found.fund,
            "groups": members_by_category(members),
            "voting_count": sum(1 for m in members if m.is_voting),
            "issues": composition_issues(found, members),
            "threshold": format_fen(found.high_amount_threshold_fen),
        },
    )


# --- allocation proposals -----------------------------------------------------------------------------------


def _actor(request) -> Actor:
    return Actor.from_request(request, AuditEvent.Surface.PORTAL)


def _outcome_text(reason: str) -> str:
    return {
        Reason.APPROVED: _("Approved"),
        Reason.NO_QUORUM: _("Not approved: too few members took part"),
        Reason.NOT_ENOUGH_YES: _("Not approved: not enough members voted yes"),
        Reason.NO_ELIGIBLE_MEMBERS: _("Not approved: no member could vote"),
    }.get(reason, reason)


def _choice_words() -> dict:
    # A vote's words, not the generic yes/no of the choice labels (是/否): 赞成, 反对, 弃权.
    return {
        Ballot.Choice.YES: _("Yes"),
        Ballot.Choice.NO: _("No"),
        Ballot.Choice.ABSTAIN: _("Abstain"),
    }


def _explain(voting_round) -> None:
    """The words for "how was this decided?", from the rules stored with the outcome (not today's rules)."""
    words = _choice_words()
    for ballot in voting_round.voted:
        ballot.choice_text = words.get(ballot.choice, "")
    outcome = voting_round.outcome
    if outcome is None:
        return
    rules = outcome.rules
    voting_round.outcome_text = _outcome_text(outcome.reason)
    voting_round.quorum_words = fraction_words(rules.quorum_numerator, rules.quorum_denominator)
    if outcome.high_amount:
        voting_round.approval_words = fraction_words(
            rules.high_approval_numerator, rules.high_approval_denominator
        )
    else:
        voting_round.approval_words = fraction_words(rules.approval_numerator, rules.approval_denominator)
    voting_round.threshold = format_fen(rules.high_amount_threshold_fen)


@public_page()
def community_proposals(request, pk):
    area = get_object_or_404(Area, pk=pk, level=Area.Level.COMMUNITY)
    local_to(request, area.pk)  # payments move the community's money
    rows = selectors.list_community_proposals(area)
    for proposal in rows:
        last = proposal.closed_rounds[-1] if proposal.closed_rounds else None
        proposal.last_tally = (last.record or {}).get("tally") if last is not None else None
    return render(
        request,
        "governance/proposals.html",
        {
            "area": area,
            "in_notice": [p for p in rows if p.status in selectors.IN_NOTICE],
            "decided": [p for p in rows if p.status not in selectors.IN_NOTICE],
            "illustrative": any(p.fund.is_illustrative for p in rows),
        },
    )


def _objection_state(request, proposal: Proposal) -> dict:
    """Whether the viewer may object now, and if not, why (the page says it instead of showing the form)."""
    open_now = proposal.status == S.NOTICE and proposal.notice_ends_at > timezone.now()
    state = {"notice_open": open_now, "person": None, "objected": False, "resident_here": False}
    if not open_now or not request.user.is_authenticated:
        return state
    person = Person.objects.filter(user=request.user).first()
    state["person"] = person
    if person is not None:
        state["resident_here"] = person.community_id == proposal.fund.community_id
        state["objected"] = Objection.objects.filter(
            proposal=proposal, notice_round=proposal.notice_round, person=person
        ).exists()
    return state


def _render_proposal(request, proposal, membership, *, objection_form=None, refusal="", status=200):
    record = selectors.proposal_record(proposal)
    for voting_round in record["rounds"]:
        _explain(voting_round)
    objection = _objection_state(request, proposal)
    if objection_form is None and objection["resident_here"] and not objection["objected"]:
        objection_form = ObjectionForm()
    open_round = next((r for r in record["rounds"] if r.closed_at is None), None)
    return render(
        request,
        "governance/proposal.html",
        {
            "proposal": proposal,
            "fund": proposal.fund,
            "community": proposal.fund.community,
            "membership": membership,
            "open_round": open_round,
            "closed_rounds": [r for r in record["rounds"] if r.closed_at is not None],
            "objection": objection,
            "objection_form": objection_form,
            "refusal": refusal,
            "remaining_fen": proposal.approved_fen - proposal.disbursed_fen - proposal.released_fen,
            **record,
        },
        status=status,
    )


@public_page()
def proposal_page(request, pk):
    proposal, membership = selectors.proposal_for(pk, request.user)
    if proposal is None:
        raise Http404
    local_to(request, proposal.fund.community_id)
    return _render_proposal(request, proposal, membership)


@login_required
@require_POST
def object_to(request, pk):
    proposal, membership = selectors.proposal_for(pk, request.user)
    if proposal is None:
        raise Http404
    form = ObjectionForm(request.POST)
    person = Person.objects.filter(user=request.user).first()
    if person is None or person.community_id != proposal.fund.community_id:
        # The service answers "absent" to a resident of elsewhere; the page is public, so say why.
        refusal = _("Only residents of %(community)s may object to its fund's proposals.") % {
            "community": proposal.fund.community.name
        }
        return _render_proposal(request, proposal, membership, refusal=refusal, status=403)
    if form.is_valid():
        try:
            services.object_to(proposal=proposal, reason=form.cleaned_data["reason"], actor=_actor(request))
        except DomainError as exc:
            if isinstance(exc, NotFoundError):
                raise Http404 from None
            proposal.refresh_from_db()
            if exc.field == "reason":
                form.add_error("reason", str(exc.message))
                return _render_proposal(request, proposal, membership, objection_form=form, status=exc.status)
            return _render_proposal(
                request, proposal, membership, refusal=str(exc.message), status=exc.status
            )
        messages.success(
            request, _("Your objection is on the record. The committee will answer it on this page.")
        )
        return redirect("governance:proposal", pk=proposal.pk)
    return _render_proposal(request, proposal, membership, objection_form=form, status=400)


def _ballot(proposal, membership):
    if membership is None or proposal.status != S.VOTING:
        return None
    return (
        Ballot.objects.filter(round__proposal=proposal, round__closed_at__isnull=True, membership=membership)
        .select_related("round")
        .first()
    )


def _render_vote(
    request, proposal, membership, *, vote_form=None, conflict_form=None, refusal="", status=200
):
    ballot = _ballot(proposal, membership)
    return render(
        request,
        "governance/proposal_vote.html",
        {
            "proposal": proposal,
            "fund": proposal.fund,
            "membership": membership,
            "ballot": ballot,
            "choices": list(_choice_words().items()),
            "choice_text": _choice_words().get(ballot.choice, "") if ballot else "",
            "budget_lines": list(proposal.budget_lines.all()),
            "vote_form": vote_form or VoteForm(initial={"reason": ballot.reason if ballot else ""}),
            "conflict_form": conflict_form or ConflictForm(),
            "refusal": refusal,
        },
        status=status,
    )


def _member_proposal(request, pk):
    proposal, membership = selectors.proposal_for(pk, request.user)
    if proposal is None or membership is None:
        raise Http404  # only the committee's serving members have a vote page
    return proposal, membership


@never_cache
@login_required
def vote(request, pk):
    proposal, membership = _member_proposal(request, pk)
    if request.method != "POST":
        return _render_vote(request, proposal, membership)
    form = VoteForm(request.POST)
    if not form.is_valid():
        return _render_vote(request, proposal, membership, vote_form=form, status=400)
    try:
        services.cast_vote(
            proposal=proposal,
            choice=form.cleaned_data["choice"],
            reason=form.cleaned_data["reason"],
            actor=_actor(request),
        )
    except DomainError as exc:
        proposal.refresh_from_db()
        if exc.field == "reason":
            form.add_error("reason", str(exc.message))
            return _render_vote(request, proposal, membership, vote_form=form, status=exc.status)
        return _render_vote(request, proposal, membership, refusal=str(exc.message), status=exc.status)
    proposal.refresh_from_db()
    if proposal.status == S.VOTING:
        messages.success(request, _("Your vote is recorded. You can change it until voting closes."))
        return redirect("governance:vote", pk=proposal.pk)
    messages.success(request, _("Your vote is recorded. Every member has voted: the vote is closed."))
    return redirect("governance:proposal", pk=proposal.pk)


@login_required
@require_POST
def declare_conflict(request, pk):
    proposal, membership = _member_proposal(request, pk)
    form = ConflictForm(request.POST)
    if form.is_valid():
        try:
            services.declare_conflict(
                proposal=proposal, note=form.cleaned_data["note"], actor=_actor(request)
            )
        except DomainError as exc:
            proposal.refresh_from_db()
            if exc.field == "note":
                form.add_error("note", str(exc.message))
                return _render_vote(request, proposal, membership, conflict_form=form, status=exc.status)
            return _render_vote(request, proposal, membership, refusal=str(exc.message), status=exc.status)
        messages.success(request, _("Your conflict of interest is on the record: you do not vote on this."))
        return redirect("governance:vote", pk=proposal.pk)
    return _render_vote(request, proposal, membership, conflict_form=form, status=400)


def attachment(request, pk, file_pk):
    """A report photo or receipt marked public, of a proposal whose notice is over; nothing else."""
    found = selectors.public_attachment(pk, file_pk)
    if found is None:
        raise Http404
    is_image = found.content_type.startswith("image/")
    response = HttpResponse(bytes(found.data), content_type=found.content_type)
    response["Content-Disposition"] = content_disposition_header(not is_image, found.name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=300"
    return response
