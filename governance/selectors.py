"""Reusable read queries of the committee (who sits on it today, what its composition lacks) and of its
allocation proposals as the portal shows them."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from charity.models import Area, Organization, Person

from .models import (
    CATEGORY_OF_ORGANIZATION_TYPE,
    Ballot,
    Committee,
    Membership,
    Proposal,
    ProposalAttachment,
    ProposalReport,
    SupervisorOpinion,
    VotingRound,
)
from .tally import decide_from_record

MIN_VOTING_MEMBERS = 5
MIN_CATEGORIES = 4

ROLE_ORDER = {role: i for i, role in enumerate(Membership.Role.values)}
CATEGORY_ORDER = {category: i for i, category in enumerate(Membership.Category.values)}


def _current_q(on: datetime.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}term_start__lte": on}) & (
        Q(**{f"{prefix}term_end__isnull": True}) | Q(**{f"{prefix}term_end__gte": on})
    )


def _sort_key(membership: Membership):
    return (
        ROLE_ORDER[membership.role],
        CATEGORY_ORDER[membership.category],
        membership.person.name,
        membership.pk,
    )


def current_members(committee: Committee, on: datetime.date | None = None) -> list[Membership]:
    """Return the memberships serving on `on` (default: today, Shanghai time), chair first."""
    on = on or timezone.localdate()
    rows = Membership.objects.filter(_current_q(on), committee=committee).select_related(
        "person", "organization"
    )
    return sorted(rows, key=_sort_key)


def composition_issues(committee: Committee, members: Iterable[Membership] | None = None) -> list[dict]:
    """List what the committee's current composition lacks, as {code, message} warnings (not blockers).

    DOMAIN.md: an odd number of voting members, at least 5, from several stakeholder categories including
    residents, and at least one supervisor who does not vote.
    """
    members = list(current_members(committee) if members is None else members)
    voting = [m for m in members if m.is_voting]
    categories = {m.category for m in members}
    issues = []
    if len(voting) < MIN_VOTING_MEMBERS:
        issues.append(
            {
                "code": "too_few_voting_members",
                "message": _("The committee has %(n)d voting members; it needs at least %(min)d.")
                % {"n": len(voting), "min": MIN_VOTING_MEMBERS},
            }
        )
    if voting and len(voting) % 2 == 0:
        issues.append(
            {
                "code": "even_voting_members",
                "message": _(
                    "The committee has an even number of voting members (%(n)d); it needs an odd number "
                    "so that a vote cannot tie."
                )
                % {"n": len(voting)},
            }
        )
    if not any(m.role == Membership.Role.SUPERVISOR for m in members):
        issues.append(
            {
                "code": "no_supervisor",
                "message": _(
                    "The committee has no supervisor; at least one supervisor attends and is minuted."
                ),
            }
        )
    if Membership.Category.RESIDENT not in categories:
        issues.append(
            {
                "code": "no_resident",
                "message": _("No member represents the residents."),
            }
        )
    if len(categories) < MIN_CATEGORIES:
        issues.append(
            {
                "code": "too_few_categories",
                "message": _("The members come from %(n)d stakeholder categories; it needs at least %(min)d.")
                % {"n": len(categories), "min": MIN_CATEGORIES},
            }
        )
    return issues


def with_current_members(
    queryset: QuerySet[Committee], on: datetime.date | None = None
) -> QuerySet[Committee]:
    """Prefetch each committee's serving memberships (with people) into `current_memberships`."""
    on = on or timezone.localdate()
    return queryset.prefetch_related(
        Prefetch(
            "memberships",
            queryset=Membership.objects.filter(_current_q(on)).select_related("person", "organization"),
            to_attr="current_memberships",
        )
    )


def prefetched_members(committee: Committee) -> list[Membership]:
    """The serving memberships of a committee from `with_current_members`, chair first."""
    return sorted(committee.current_memberships, key=_sort_key)


def list_committees_for_api(queryset: QuerySet[Committee]) -> QuerySet[Committee]:
    """Committees with their fund and serving members: a fixed number of queries however many rows."""
    return with_current_members(queryset.select_related("fund"))


def get_public_committee(pk: int) -> Committee | None:
    """One committee for its public page, with fund, community and serving members, or None."""
    return with_current_members(
        Committee.objects.select_related("fund", "fund__community").filter(pk=pk)
    ).first()


def members_by_category(members: Iterable[Membership]) -> list[tuple[str, list[Membership]]]:
    """Group memberships by stakeholder category, in the glossary's order, as (label, members)."""
    groups: dict[str, list[Membership]] = {}
    for m in members:
        groups.setdefault(m.category, []).append(m)
    return [(Membership.Category(c).label, groups[c]) for c in Membership.Category.values if c in groups]


def eligible_organizations(community: Area) -> QuerySet[Organization]:
    """The organisations that may send a member to a community fund's committee.

    Those based at the community or above it (the street office, the host) and those that serve it.
    """
    ancestors = [community.path[: i * Area.steplen] for i in range(1, community.depth + 1)]
    return (
        Organization.objects.filter(Q(area__path__in=ancestors) | Q(served_areas__path__in=ancestors))
        .exclude(type__in=[t for t in Organization.Type.values if t not in CATEGORY_OF_ORGANIZATION_TYPE])
        .distinct()
        .order_by("name")
    )


# --- allocation proposals on the portal ---------------------------------------------------------------------

_S = Proposal.Status
# A proposal is public from its vote's outcome on: in public notice, then paid and reported; a rejected one
# too (its tally is part of the record), and a withdrawn one that had been in notice. Drafts, submitted
# proposals and open votes are the committee's until the vote closes (a member sees them: `proposal_for`).
PUBLIC_STATUSES = (
    _S.NOTICE,
    _S.OBJECTION_REVIEW,
    _S.PAYABLE,
    _S.DISBURSED,
    _S.REPORTED,
    _S.CLOSED,
    _S.REJECTED,
)
IN_NOTICE = (_S.NOTICE, _S.OBJECTION_REVIEW)
# Report photos and receipts are served once the notice is over and the money may move.
FILES_SHOWN = (_S.PAYABLE, _S.DISBURSED, _S.REPORTED, _S.CLOSED)


def _public_q() -> Q:
    return Q(status__in=PUBLIC_STATUSES) | Q(status=_S.WITHDRAWN, notice_round__gt=0)


def public_proposals() -> QuerySet[Proposal]:
    """Every proposal anyone may read on the portal (module comment above PUBLIC_STATUSES)."""
    return Proposal.objects.filter(_public_q())


def _closed_rounds() -> Prefetch:
    return Prefetch(
        "rounds",
        queryset=VotingRound.objects.filter(closed_at__isnull=False).order_by("number"),
        to_attr="closed_rounds",
    )


def list_community_proposals(community: Area) -> list[Proposal]:
    """A community's public proposals, newest first, each with its closed rounds: three queries in all."""
    return list(
        public_proposals()
        .filter(fund__community=community)
        .select_related("fund", "beneficiary_organization")
        .prefetch_related(_closed_rounds())
        .order_by("-notice_starts_at", "-id")[:200]
    )


def proposal_for(pk: int, user) -> tuple[Proposal | None, Membership | None]:
    """The proposal `pk` as its page shows it, and the viewer's serving membership of its committee.

    A proposal not yet public is shown only to a serving member of its committee (who votes on it); to
    anyone else it does not exist.
    """
    proposal = (
        Proposal.objects.select_related(
            "fund", "fund__community", "committee", "beneficiary_organization", "proposer_organization"
        )
        .filter(pk=pk)
        .first()
    )
    if proposal is None:
        return None, None
    membership = None
    person = Person.objects.filter(user=user).first() if getattr(user, "is_authenticated", False) else None
    if person is not None:
        membership = (
            Membership.objects.filter(_current_q(timezone.localdate()), committee=proposal.committee_id)
            .filter(person=person)
            .first()
        )
    public = proposal.status in PUBLIC_STATUSES or (
        proposal.status == _S.WITHDRAWN and proposal.notice_round > 0
    )
    if not public and (membership is None or proposal.status not in (_S.VOTING, _S.WITHDRAWN)):
        return None, None
    return proposal, membership


def proposal_record(proposal: Proposal) -> dict:
    """What a proposal's page shows besides the proposal: a fixed number of queries, however many ballots,
    objections, payments or photos it has. Objectors are never named."""
    rounds = list(
        proposal.rounds.order_by("number").prefetch_related(
            Prefetch(
                "ballots",
                queryset=Ballot.objects.select_related(
                    "membership__person", "membership__organization"
                ).order_by("membership__role", "membership__person__name", "id"),
            ),
            Prefetch("opinions", queryset=SupervisorOpinion.objects.select_related("membership__person")),
        )
    )
    for voting_round in rounds:
        voting_round.outcome = decide_from_record(voting_round.record) if voting_round.record else None
        ballots = sorted(
            voting_round.ballots.all(),
            key=lambda b: (ROLE_ORDER[b.membership.role], b.membership.person.name, b.pk),
        )
        voting_round.voted = [b for b in ballots if not b.recused]
        voting_round.recused_ballots = [b for b in ballots if b.recused]
        voting_round.cast = sum(1 for b in ballots if b.choice)
    report = ProposalReport.objects.filter(proposal=proposal).first()
    files = []
    if proposal.status in FILES_SHOWN:
        files = list(proposal.attachments.filter(is_public=True).defer("data").order_by("kind", "id"))
    return {
        "budget_lines": list(proposal.budget_lines.all()),
        "timeline": list(proposal.timeline.all()),
        "rounds": rounds,
        "objections": list(
            proposal.objections.only(
                "id",
                "proposal_id",
                "notice_round",
                "reason",
                "created_at",
                "answer",
                "answer_text",
                "answered_at",
            ).order_by("created_at", "id")
        ),
        "payments": list(proposal.disbursements.order_by("paid_on", "id")),
        "report": report,
        "photos": [f for f in files if f.content_type.startswith("image/")],
        "documents": [f for f in files if not f.content_type.startswith("image/")],
    }


def public_attachment(proposal_pk: int, pk: int) -> ProposalAttachment | None:
    """A report photo or receipt marked public, of a public proposal whose notice is over; else None."""
    return (
        ProposalAttachment.objects.filter(
            pk=pk, proposal_id=proposal_pk, is_public=True, proposal__status__in=FILES_SHOWN
        )
        .select_related("proposal")
        .first()
    )
