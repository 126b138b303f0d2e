"""State changes of the committee: each validates, writes and records its audit event in one transaction."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from charity.errors import ConflictError, DomainError
from charity.models import AuditAction, Organization, Person
from charity.services import Actor, record_audit
from funds.models import Fund

from .models import Committee, Membership, category_for
from .selectors import eligible_organizations


class MemberAlreadyServing(ConflictError):
    code = "member_already_serving"
    default_message = _("This person is already a member of the committee for part of this term.")


RULE_FIELDS = (
    "quorum_numerator",
    "quorum_denominator",
    "approval_numerator",
    "approval_denominator",
    "high_approval_numerator",
    "high_approval_denominator",
    "high_amount_threshold_fen",
    "notice_days",
)


def _rules_of(committee: Committee) -> dict:
    return {f: getattr(committee, f) for f in RULE_FIELDS}


def check_voting_rules(rules: dict) -> None:
    """Refuse voting rules that cannot work. Raises DomainError naming the field at fault."""
    unknown = set(rules) - set(RULE_FIELDS)
    if unknown:
        raise DomainError(_("Unknown voting rule."), code="unknown_rule", field=sorted(unknown)[0])
    for name, value in rules.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise DomainError(_("Enter a whole number."), code="invalid_rule", field=name)
    # "More than n/d" of those present: n/d = 1 could never be reached, so approval stays below 1.
    for prefix, strict in (("quorum", False), ("approval", True), ("high_approval", False)):
        n, d = rules[f"{prefix}_numerator"], rules[f"{prefix}_denominator"]
        if d <= 0:
            raise DomainError(
                _("The denominator must be at least 1."),
                code="invalid_fraction",
                field=f"{prefix}_denominator",
            )
        if n < 0 or n > d or (strict and n >= d) or (not strict and n == 0):
            raise DomainError(
                _("The fraction must lie between 0 and 1."),
                code="invalid_fraction",
                field=f"{prefix}_numerator",
            )
    if (
        rules["high_approval_numerator"] * rules["approval_denominator"]
        < rules["approval_numerator"] * rules["high_approval_denominator"]
    ):
        raise DomainError(
            _("The higher approval fraction cannot be below the ordinary one."),
            code="invalid_fraction",
            field="high_approval_numerator",
        )
    if rules["high_amount_threshold_fen"] < 0:
        raise DomainError(
            _("The amount threshold cannot be negative."),
            code="invalid_threshold",
            field="high_amount_threshold_fen",
        )
    if rules["notice_days"] < 1:
        raise DomainError(
            _("The public notice lasts at least 1 day."), code="invalid_notice_days", field="notice_days"
        )


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the committee a name."), code="committee_name_required", field="name")
    if len(name) > 200:
        raise DomainError(
            _("A name has at most 200 characters."), code="committee_name_too_long", field="name"
        )
    return name


def create_committee(*, fund: Fund, name: str, actor: Actor, **rules) -> Committee:
    """Create the management committee of a community fund, with default voting rules unless given.

    Raises DomainError (committee_name_required, committee_fund_not_community, invalid_fraction, …) or
    ConflictError committee_exists when the fund already has one.
    """
    name = _clean_name(name)
    if fund.kind != Fund.Kind.COMMUNITY:
        raise DomainError(
            _("A committee belongs to a community charity fund, not to a named fund."),
            code="committee_fund_not_community",
            field="fund",
        )
    defaults = _rules_of(Committee())
    unknown = set(rules) - set(RULE_FIELDS)
    if unknown:
        raise DomainError(_("Unknown voting rule."), code="unknown_rule", field=sorted(unknown)[0])
    full_rules = {**defaults, **rules}
    check_voting_rules(full_rules)
    exists = ConflictError(
        _("This fund already has a management committee."), code="committee_exists", field="fund"
    )
    if Committee.objects.filter(fund=fund).exists():
        raise exists
    try:
        with transaction.atomic():
            committee = Committee.objects.create(fund=fund, name=name, **full_rules)
            record_audit(
                actor=actor,
                action=AuditAction.COMMITTEE_CREATED,
                obj=committee,
                area=fund.community,
                summary=f"{fund.name}: {name}",
                data={"fund": fund.pk, **full_rules},
            )
    except IntegrityError:
        raise exists
    return committee


def update_voting_rules(*, committee: Committee, actor: Actor, **rules) -> Committee:
    """Change some of a committee's voting rules; the others stay. Raises DomainError invalid_* per field."""
    with transaction.atomic():
        locked = Committee.objects.select_for_update().select_related("fund").get(pk=committee.pk)
        before = _rules_of(locked)
        after = {**before, **rules}
        check_voting_rules(after)
        changed = {f: [before[f], after[f]] for f in RULE_FIELDS if before[f] != after[f]}
        if changed:
            for f, (_old, new) in changed.items():
                setattr(locked, f, new)
            locked.save(update_fields=list(changed))
            record_audit(
                actor=actor,
                action=AuditAction.COMMITTEE_RULES_CHANGED,
                obj=locked,
                area=locked.fund.community,
                summary=locked.name,
                data=changed,
            )
    for f in RULE_FIELDS:
        setattr(committee, f, getattr(locked, f))
    return committee


def rename_committee(*, committee: Committee, name: str, actor: Actor) -> Committee:
    """Rename a committee. Raises DomainError committee_name_required."""
    name = _clean_name(name)
    with transaction.atomic():
        locked = Committee.objects.select_for_update().select_related("fund").get(pk=committee.pk)
        if locked.name != name:
            record_audit(
                actor=actor,
                action=AuditAction.COMMITTEE_RENAMED,
                obj=locked,
                area=locked.fund.community,
                summary=name,
                data={"name": [locked.name, name]},
            )
            locked.name = name
            locked.save(update_fields=["name"])
    committee.name = name
    return committee


def _member_category(organization: Organization | None, category: str | None) -> str:
    """The category a member counts for, from the organisation they represent (or resident without one).

    A category given by the caller must agree with it: the composition is counted from who people
    represent, not from a label typed beside them.
    """
    derived = category_for(organization)
    if derived is None:
        raise DomainError(
            _("An organisation of this type has no seat of its own on the committee."),
            code="organization_cannot_sit",
            field="organization",
        )
    if category not in (None, "", derived):
        if category not in Membership.Category.values:
            raise DomainError(_("Choose a stakeholder category."), code="invalid_category", field="category")
        if organization is None:
            raise DomainError(
                _("Name the organisation this member represents, or seat them as a resident."),
                code="organization_required",
                field="organization",
            )
        raise DomainError(
            _("A representative of “%(org)s” counts for the category “%(category)s”.")
            % {"org": organization.name, "category": Membership.Category(derived).label},
            code="category_mismatch",
            field="category",
        )
    return derived


def _serves(organization: Organization, community) -> bool:
    """An organisation may send a member if it is based at or above the community, or serves it.

    Asked of the database: an Area object in memory may carry a path that the tree has since renumbered.
    """
    return eligible_organizations(community).filter(pk=organization.pk).exists()


def check_new_member(
    *,
    committee: Committee,
    person: Person,
    role: str,
    term_start: datetime.date,
    term_end: datetime.date | None = None,
    organization: Organization | None = None,
    category: str | None = None,
) -> str:
    """Refuse a membership that cannot be added; return its stakeholder category. Writes nothing.

    A resident representative lives in the fund's community; an organisation's representative is
    recorded as representing it (or lives in the community), and the organisation is based at or above
    the community or serves it — the street office, the host, agencies and enterprises take seats too.
    Raises DomainError member_wrong_community / member_not_representative / organization_wrong_area /
    organization_cannot_sit / organization_required / category_mismatch / invalid_category / invalid_role /
    term_start_required / term_end_before_start, or ConflictError member_already_serving.
    """
    community = committee.fund.community
    category = _member_category(organization, category)
    if organization is None:
        if person.community_id != community.pk:
            raise DomainError(
                _(
                    "This person lives in another community: a resident representative comes from the "
                    "fund's community. Name the organisation they represent instead."
                ),
                code="member_wrong_community",
                field="person",
            )
    else:
        if not _serves(organization, community):
            raise DomainError(
                _("This organisation neither works at or above this community nor serves it."),
                code="organization_wrong_area",
                field="organization",
            )
        if person.organization_id != organization.pk and person.community_id != community.pk:
            raise DomainError(
                _(
                    "This person is not recorded as representing this organisation: set “represents "
                    "organisation” on the person first."
                ),
                code="member_not_representative",
                field="person",
            )
    if role not in Membership.Role.values:
        raise DomainError(_("Choose a role."), code="invalid_role", field="role")
    if not isinstance(term_start, datetime.date):
        raise DomainError(
            _("Enter the date the term starts."), code="term_start_required", field="term_start"
        )
    if term_end is not None and term_end < term_start:
        raise DomainError(
            _("A term cannot end before it starts."), code="term_end_before_start", field="term_end"
        )
    if committee.pk is None:
        return category  # a committee being created has no members yet
    overlapping = Membership.objects.filter(committee=committee, person=person).exclude(
        term_end__lt=term_start
    )
    if term_end is not None:
        overlapping = overlapping.filter(term_start__lte=term_end)
    if overlapping.exists():
        raise MemberAlreadyServing(field="person")
    return category


def add_member(
    *,
    committee: Committee,
    person: Person,
    role: str,
    term_start: datetime.date,
    term_end: datetime.date | None = None,
    organization: Organization | None = None,
    category: str | None = None,
    actor: Actor,
) -> Membership:
    """Seat a person on the committee, as a resident or for the organisation they represent.

    The stakeholder category follows from the organisation (resident without one); raises what
    `check_new_member` raises.
    """
    try:
        with transaction.atomic():
            # Lock the committee so two clerks cannot seat the same person at once.
            locked = (
                Committee.objects.select_for_update().select_related("fund__community").get(pk=committee.pk)
            )
            category = check_new_member(
                committee=locked,
                person=person,
                organization=organization,
                category=category,
                role=role,
                term_start=term_start,
                term_end=term_end,
            )
            membership = Membership.objects.create(
                committee=locked,
                person=person,
                organization=organization,
                category=category,
                role=role,
                term_start=term_start,
                term_end=term_end,
            )
            record_audit(
                actor=actor,
                action=AuditAction.COMMITTEE_MEMBER_ADDED,
                obj=membership,
                area=locked.fund.community,
                summary=f"{locked.name}: {person.name}",
                data={
                    "committee": locked.pk,
                    "person": person.pk,
                    "organization": organization.pk if organization else None,
                    "category": category,
                    "role": role,
                    "term_start": term_start.isoformat(),
                    "term_end": term_end.isoformat() if term_end else None,
                },
            )
    except IntegrityError:  # a racing seat of the same person
        raise MemberAlreadyServing(field="person")
    return membership


def end_membership(*, membership: Membership, term_end: datetime.date, actor: Actor) -> Membership:
    """End a serving member's term on `term_end` (their last day in office).

    Raises DomainError term_end_before_start, or ConflictError membership_already_ended.
    """
    if not isinstance(term_end, datetime.date):
        raise DomainError(_("Enter the last day of the term."), code="term_end_required", field="term_end")
    with transaction.atomic():
        locked = (
            Membership.objects.select_for_update()
            .select_related("committee__fund", "person")
            .get(pk=membership.pk)
        )
        if locked.term_end is not None:
            raise ConflictError(
                _("This membership has already ended."), code="membership_already_ended", field="term_end"
            )
        if term_end < locked.term_start:
            raise DomainError(
                _("A term cannot end before it starts."), code="term_end_before_start", field="term_end"
            )
        updated = Membership.objects.filter(pk=locked.pk, term_end__isnull=True).update(term_end=term_end)
        if not updated:
            raise ConflictError(
                _("This membership has already ended."), code="membership_already_ended", field="term_end"
            )
        record_audit(
            actor=actor,
            action=AuditAction.COMMITTEE_MEMBER_ENDED,
            obj=locked,
            area=locked.committee.fund.community,
            summary=f"{locked.committee.name}: {locked.person.name}",
            data={
                "committee": locked.committee_id,
                "person": locked.person_id,
                "term_end": term_end.isoformat(),
            },
        )
    membership.term_end = term_end
    return membership


def change_member_role(*, membership: Membership, category: str, role: str, actor: Actor) -> Membership:
    """Correct a membership's role (its category follows the organisation represented).

    A category other than the one the membership already has must be the one its organisation counts
    for. Raises DomainError invalid_category / category_mismatch / organization_required / invalid_role.
    """
    if category not in Membership.Category.values:
        raise DomainError(_("Choose a stakeholder category."), code="invalid_category", field="category")
    if role not in Membership.Role.values:
        raise DomainError(_("Choose a role."), code="invalid_role", field="role")
    with transaction.atomic():
        locked = (
            # Only the membership row: PostgreSQL cannot lock the nullable side of the organisation's join.
            Membership.objects.select_for_update(of=("self",))
            .select_related("committee__fund", "person", "organization")
            .get(pk=membership.pk)
        )
        if category != locked.category:
            _member_category(locked.organization, category)
        changed = {
            f: [getattr(locked, f), v]
            for f, v in (("category", category), ("role", role))
            if getattr(locked, f) != v
        }
        if changed:
            Membership.objects.filter(pk=locked.pk).update(category=category, role=role)
            record_audit(
                actor=actor,
                action=AuditAction.COMMITTEE_MEMBER_CHANGED,
                obj=locked,
                area=locked.committee.fund.community,
                summary=f"{locked.committee.name}: {locked.person.name}",
                data=changed,
            )
    membership.category, membership.role = category, role
    return membership


# Coordination meetings and their action items: chased, escalated (docs/coordination.md).
from .meetings import *  # noqa: E402, F403

# Service projects: plan, progress, evaluation, ratings, disclosures (docs/projects.md).
from .projects import *  # noqa: E402, F403

# Allocation decisions: proposals, votes, public notice, objections, payment, report (docs/allocation.md).
from .proposals import *  # noqa: E402, F403

# Residents' topics: raise, support, comment, moderate, answer, merge, turn into a project (docs/topics.md).
from .topics import *  # noqa: E402, F403
