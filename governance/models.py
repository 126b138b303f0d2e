"""The fund management committee (基金管理委员会) and its members (DOMAIN.md, "The committee and spending").

The voting rules are local practice, so they are stored per committee with the usual defaults; the
mechanism that applies them (proposals, votes, public notice) comes later.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from charity.models import AppendOnlyModel, Organization, Person
from funds.models import Fund, Transaction

# ¥50,000: above this amount a proposal needs the higher approval fraction.
DEFAULT_HIGH_AMOUNT_THRESHOLD_FEN = 5_000_000

# Fractions people say in words; anything else is shown as "n/d".
_FRACTION_WORDS = {
    (1, 1): _("all"),
    (1, 2): _("half"),
    (1, 3): _("one-third"),
    (2, 3): _("two-thirds"),
    (1, 4): _("one-quarter"),
    (3, 4): _("three-quarters"),
    (3, 5): _("three-fifths"),
    (4, 5): _("four-fifths"),
}


def fraction_words(numerator: int, denominator: int) -> str:
    """Say a fraction the way a resident would: "two-thirds", "half", else "3/7"."""
    words = _FRACTION_WORDS.get((numerator, denominator))
    return str(words) if words is not None else f"{numerator}/{denominator}"


class Committee(models.Model):
    """A community fund's management committee: who decides how the fund is spent, and by which rules.

    Rules, as fractions stored as two integers (no floats):
    - quorum: at least quorum_numerator/quorum_denominator of the voting members take part;
    - approval: *more than* approval_numerator/approval_denominator of the members present vote yes
      (1/2 means "a majority");
    - above high_amount_threshold_fen: *at least* high_approval_numerator/high_approval_denominator of the
      members present vote yes;
    - public notice of notice_days days before money moves.
    """

    fund = models.OneToOneField(
        Fund,
        verbose_name=_("fund"),
        on_delete=models.PROTECT,
        related_name="committee",
        limit_choices_to={"kind": Fund.Kind.COMMUNITY},
    )
    name = models.CharField(_("name"), max_length=200)
    quorum_numerator = models.PositiveSmallIntegerField(_("quorum (numerator)"), default=2)
    quorum_denominator = models.PositiveSmallIntegerField(
        _("quorum (denominator)"),
        default=3,
        help_text=_("Quorum: at least this fraction of the voting members must take part (default 2/3)."),
    )
    approval_numerator = models.PositiveSmallIntegerField(_("approval (numerator)"), default=1)
    approval_denominator = models.PositiveSmallIntegerField(
        _("approval (denominator)"),
        default=2,
        help_text=_(
            "A proposal passes with more than this fraction of the members present (default 1/2: a majority)."
        ),
    )
    high_approval_numerator = models.PositiveSmallIntegerField(_("higher approval (numerator)"), default=2)
    high_approval_denominator = models.PositiveSmallIntegerField(
        _("higher approval (denominator)"),
        default=3,
        help_text=_(
            "Above the amount threshold a proposal needs at least this fraction of the members present "
            "(default 2/3)."
        ),
    )
    high_amount_threshold_fen = models.BigIntegerField(
        _("amount threshold"),
        default=DEFAULT_HIGH_AMOUNT_THRESHOLD_FEN,
        help_text=_("In fen (1/100 yuan). Default 5,000,000 fen = ¥50,000."),
    )
    notice_days = models.PositiveSmallIntegerField(
        _("public notice (days)"),
        default=7,
        help_text=_("How long a decision is publicly noticed before money moves."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("fund management committee")
        verbose_name_plural = _("fund management committees")
        ordering = ["fund__community__path", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quorum_denominator__gt=0, quorum_numerator__gt=0)
                & Q(quorum_numerator__lte=F("quorum_denominator")),
                name="committee_quorum_fraction",
            ),
            # "More than n/d": n/d = 1 could never be reached.
            models.CheckConstraint(
                condition=Q(approval_denominator__gt=0, approval_numerator__gte=0)
                & Q(approval_numerator__lt=F("approval_denominator")),
                name="committee_approval_fraction",
            ),
            models.CheckConstraint(
                condition=Q(high_approval_denominator__gt=0, high_approval_numerator__gt=0)
                & Q(high_approval_numerator__lte=F("high_approval_denominator")),
                name="committee_high_approval_fraction",
            ),
            models.CheckConstraint(
                condition=Q(high_amount_threshold_fen__gte=0), name="committee_threshold_not_negative"
            ),
            models.CheckConstraint(condition=Q(notice_days__gte=1), name="committee_notice_days_min"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        for prefix, strict in (("quorum", False), ("approval", True), ("high_approval", False)):
            n, d = getattr(self, f"{prefix}_numerator"), getattr(self, f"{prefix}_denominator")
            if n is None or d is None:
                continue
            if d <= 0:
                errors[f"{prefix}_denominator"] = _("The denominator must be at least 1.")
            elif n > d or (strict and n >= d) or (not strict and n <= 0):
                errors[f"{prefix}_numerator"] = _("The fraction must lie between 0 and 1.")
        if (
            "approval_numerator" not in errors
            and "high_approval_numerator" not in errors
            and self.high_approval_denominator
            and self.approval_denominator
            and self.high_approval_numerator * self.approval_denominator
            < self.approval_numerator * self.high_approval_denominator
        ):
            errors["high_approval_numerator"] = _(
                "The higher approval fraction cannot be below the ordinary one."
            )
        if self.notice_days is not None and self.notice_days < 1:
            errors["notice_days"] = _("The public notice lasts at least 1 day.")
        if self.high_amount_threshold_fen is not None and self.high_amount_threshold_fen < 0:
            errors["high_amount_threshold_fen"] = _("The amount threshold cannot be negative.")
        if errors:
            raise ValidationError(errors)

    @property
    def quorum_words(self) -> str:
        return fraction_words(self.quorum_numerator, self.quorum_denominator)

    @property
    def approval_words(self) -> str:
        return fraction_words(self.approval_numerator, self.approval_denominator)

    @property
    def high_approval_words(self) -> str:
        return fraction_words(self.high_approval_numerator, self.high_approval_denominator)


class Membership(models.Model):
    """A person's seat on a committee for a term, representing one stakeholder category."""

    class Category(models.TextChoices):
        STREET_OFFICE = "street_office", _("street office")
        COMMUNITY = "community", _("community (neighbourhood committee)")
        CHARITY_ORGANIZATION = "charity_organization", _("charity organisation")
        COMMUNITY_GROUP = "community_group", _("community social organisation")
        SOCIAL_WORK_AGENCY = "social_work_agency", _("social work agency")
        VOLUNTEER_ORGANIZATION = "volunteer_organization", _("volunteer organisation")
        ENTERPRISE = "enterprise", _("caring enterprise")
        PROPERTY_MANAGEMENT = "property_management", _("property management")
        RESIDENT = "resident", _("resident")

    class Role(models.TextChoices):
        CHAIR = "chair", _("chair")
        VICE_CHAIR = "vice_chair", _("vice-chair")
        SECRETARY = "secretary", _("secretary")
        MEMBER = "member", _("member")
        SUPERVISOR = "supervisor", _("supervisor")

    committee = models.ForeignKey(
        Committee, verbose_name=_("committee"), on_delete=models.CASCADE, related_name="memberships"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="committee_memberships"
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("represents"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="committee_memberships",
        help_text=_("The organisation this member represents; empty for a resident representative."),
    )
    category = models.CharField(_("stakeholder category"), max_length=32, choices=Category.choices)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MEMBER)
    term_start = models.DateField(_("term start"))
    term_end = models.DateField(
        _("term end"), null=True, blank=True, help_text=_("The last day in office. Empty while serving.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("committee membership")
        verbose_name_plural = _("committee memberships")
        ordering = ["committee", "term_start", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["committee", "person"],
                condition=Q(term_end__isnull=True),
                name="membership_one_open_term_per_person",
                violation_error_message=_("This person is already a serving member of the committee."),
            ),
            models.CheckConstraint(
                condition=Q(term_end__isnull=True) | Q(term_end__gte=F("term_start")),
                name="membership_term_end_after_start",
            ),
        ]
        indexes = [models.Index(fields=["committee", "term_end"], name="membership_committee_term_idx")]

    def __str__(self):
        return gettext("%(person)s (%(role)s, %(category)s)") % {
            "person": self.person,
            "role": self.get_role_display(),
            "category": self.get_category_display(),
        }

    @property
    def is_voting(self) -> bool:
        """Supervisors attend and are minuted but do not vote (DOMAIN.md)."""
        return self.role != self.Role.SUPERVISOR

    def is_current(self, on) -> bool:
        return self.term_start <= on and (self.term_end is None or self.term_end >= on)

    def clean(self):
        if self.term_start and self.term_end and self.term_end < self.term_start:
            raise ValidationError({"term_end": _("A term cannot end before it starts.")})


_T = Organization.Type
_C = Membership.Category
# Which stakeholder category an organisation's representative counts for (DOMAIN.md, "The committee").
CATEGORY_OF_ORGANIZATION_TYPE = {
    _T.STREET_OFFICE: _C.STREET_OFFICE,
    _T.NEIGHBOURHOOD_COMMITTEE: _C.COMMUNITY,
    _T.PARTY_ORGANISATION: _C.COMMUNITY,
    _T.CHARITY_STATION: _C.COMMUNITY,
    _T.CHARITY_FEDERATION: _C.CHARITY_ORGANIZATION,
    _T.FOUNDATION: _C.CHARITY_ORGANIZATION,
    _T.CHARITY_ASSOCIATION: _C.CHARITY_ORGANIZATION,
    _T.CHARITY_SUPERMARKET: _C.CHARITY_ORGANIZATION,
    _T.HUB: _C.COMMUNITY_GROUP,
    _T.COMMUNITY_GROUP: _C.COMMUNITY_GROUP,
    _T.SOCIAL_WORK_AGENCY: _C.SOCIAL_WORK_AGENCY,
    _T.VOLUNTEER_TEAM: _C.VOLUNTEER_ORGANIZATION,
    _T.ENTERPRISE: _C.ENTERPRISE,
    _T.MERCHANT: _C.ENTERPRISE,
    _T.ENTERPRISE_ALLIANCE: _C.ENTERPRISE,
    _T.PROPERTY_MANAGER: _C.PROPERTY_MANAGEMENT,
}


def category_for(organization: Organization | None) -> str | None:
    """The stakeholder category a member counts for: their organisation's, or resident without one.

    None for an organisation type that has no seat of its own (e.g. a research partner).
    """
    if organization is None:
        return _C.RESIDENT
    return CATEGORY_OF_ORGANIZATION_TYPE.get(organization.type)


# --- allocation decisions: proposals, votes, public notice, objections, disbursement, report ---------------

PROPOSAL_TITLE_MAX = 200
PROPOSAL_TEXT_MAX = 5000
REASON_MAX = 1000


class Proposal(models.Model):
    """An allocation proposal (用款申请): money from a community fund (or one of its named funds) for a
    purpose, decided by the fund's committee, publicly noticed, paid in tranches and reported on.

    Every step is a service in governance/proposals.py with an audit event and a line on the public
    timeline (`ProposalStep`). `purpose` empty spends unrestricted money; otherwise the money restricted to
    that purpose first (funds.selectors.spendable_on).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SUBMITTED = "submitted", _("submitted")
        VOTING = "voting", _("committee voting")
        REJECTED = "rejected", _("rejected")
        NOTICE = "notice", _("in public notice")
        OBJECTION_REVIEW = "objection_review", _("objections under review")
        PAYABLE = "payable", _("approved, ready to be paid")
        DISBURSED = "disbursed", _("paid")
        REPORTED = "reported", _("reported")
        CLOSED = "closed", _("closed")
        WITHDRAWN = "withdrawn", _("withdrawn before payment")

    # Statuses in which the proposal can still be withdrawn: any before the first payment.
    WITHDRAWABLE = ("draft", "submitted", "voting", "notice", "objection_review", "payable")

    committee = models.ForeignKey(
        Committee, verbose_name=_("committee"), on_delete=models.PROTECT, related_name="proposals"
    )
    fund = models.ForeignKey(
        Fund,
        verbose_name=_("fund"),
        on_delete=models.PROTECT,
        related_name="proposals",
        help_text=_("The community fund, or one of its named funds."),
    )
    title = models.CharField(_("title"), max_length=PROPOSAL_TITLE_MAX)
    summary = models.TextField(
        _("public summary"),
        max_length=PROPOSAL_TEXT_MAX,
        help_text=_("Shown during public notice: what the money is for, with no one's private details."),
    )
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    purpose = models.CharField(
        _("restricted purpose spent on"),
        max_length=200,
        blank=True,
        default="",
        help_text=_("Empty to spend unrestricted money; else the purpose the donors restricted it to."),
    )
    needs = models.ManyToManyField(
        "needs.Need", verbose_name=_("needs it serves"), blank=True, related_name="proposals"
    )
    project = models.ForeignKey(
        "Project",
        verbose_name=_("service project it funds"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposals",
    )
    beneficiary_organization = models.ForeignKey(
        Organization,
        verbose_name=_("beneficiary (organisation)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposals_received",
    )
    beneficiary_person = models.ForeignKey(
        Person,
        verbose_name=_("beneficiary (person)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposals_received",
    )
    proposer_person = models.ForeignKey(
        Person,
        verbose_name=_("proposed by (person)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposals_made",
    )
    proposer_organization = models.ForeignKey(
        Organization,
        verbose_name=_("proposed by (organisation)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposals_made",
    )
    related_people = models.ManyToManyField(
        Person,
        verbose_name=_("declared related parties (people)"),
        blank=True,
        related_name="+",
        help_text=_(
            "People related to the beneficiary or the proposer: committee members among them recuse."
        ),
    )
    related_organizations = models.ManyToManyField(
        Organization,
        verbose_name=_("declared related parties (organisations)"),
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    voting_deadline = models.DateTimeField(_("voting closes"), null=True, blank=True)
    notice_starts_at = models.DateTimeField(_("public notice from"), null=True, blank=True)
    notice_ends_at = models.DateTimeField(_("public notice until"), null=True, blank=True)
    notice_round = models.PositiveSmallIntegerField(_("public notice round"), default=0)
    approved_fen = models.BigIntegerField(_("approved amount (fen)"), default=0)
    disbursed_fen = models.BigIntegerField(_("paid so far (fen)"), default=0)
    released_fen = models.BigIntegerField(_("approved but not spent, released (fen)"), default=0)
    report_overdue_flagged_at = models.DateTimeField(_("report overdue flagged"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    first_paid_on = models.DateField(_("first paid on"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("allocation proposal")
        verbose_name_plural = _("allocation proposals")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["committee", "status"], name="proposal_committee_status_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="proposal_amount_positive"),
            models.CheckConstraint(
                condition=Q(disbursed_fen__gte=0) & Q(disbursed_fen__lte=F("approved_fen")),
                name="proposal_disbursed_within_approved",
            ),
            models.CheckConstraint(
                condition=Q(approved_fen__gte=0) & Q(approved_fen__lte=F("amount_fen")),
                name="proposal_approved_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(released_fen__gte=0)
                & Q(released_fen__lte=F("approved_fen") - F("disbursed_fen")),
                name="proposal_released_within_unspent",
            ),
            models.CheckConstraint(
                condition=Q(beneficiary_organization__isnull=False) | Q(beneficiary_person__isnull=False),
                name="proposal_has_beneficiary",
            ),
        ]

    def __str__(self):
        return self.title


class BudgetLine(models.Model):
    proposal = models.ForeignKey(
        Proposal, verbose_name=_("proposal"), on_delete=models.CASCADE, related_name="budget_lines"
    )
    item = models.CharField(_("item"), max_length=200)
    amount_fen = models.BigIntegerField(_("amount (fen)"))

    class Meta:
        verbose_name = _("budget line")
        verbose_name_plural = _("budget lines")
        ordering = ["proposal", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount_fen__gt=0), name="budget_line_positive")]

    def __str__(self):
        return self.item


class ProposalAttachment(models.Model):
    """A quote, plan, receipt, photo or set of minutes, kept in the database (not a public folder): it is
    served only through a scoped view, and a backup of the database holds it."""

    class Kind(models.TextChoices):
        QUOTE = "quote", _("quote")
        PLAN = "plan", _("plan")
        MINUTES = "minutes", _("meeting minutes (paper ballots)")
        RECEIPT = "receipt", _("receipt or invoice")
        PHOTO = "photo", _("photo")
        OTHER = "other", _("other document")

    proposal = models.ForeignKey(
        Proposal, verbose_name=_("proposal"), on_delete=models.CASCADE, related_name="attachments"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    data = models.BinaryField(_("content"))
    is_public = models.BooleanField(
        _("shown on the portal"),
        default=False,
        help_text=_("Report photos and receipts, never quotes with names."),
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["proposal", "id"]

    def __str__(self):
        return self.name


class ProposalStep(AppendOnlyModel):
    """One dated line of a proposal's public timeline: the status it moved to and a note anyone may read."""

    proposal = models.ForeignKey(
        Proposal, verbose_name=_("proposal"), on_delete=models.CASCADE, related_name="timeline"
    )
    from_status = models.CharField(_("from"), max_length=20, choices=Proposal.Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=Proposal.Status.choices)
    at = models.DateTimeField(_("when"), auto_now_add=True)
    note = models.CharField(_("note"), max_length=REASON_MAX, blank=True, default="")

    class Meta:
        verbose_name = _("proposal step")
        verbose_name_plural = _("proposal timeline")
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.get_from_status_display()} → {self.get_to_status_display()}"

    def note_display(self) -> str:
        """The note in the reader's language: the services' own notes are stored as their (English)
        message ids, a person's reason as typed — which the catalogue leaves as it is."""
        return gettext(self.note) if self.note else ""


class VotingRound(models.Model):
    """One vote of the committee on a proposal. An upheld objection opens another round.

    At opening the eligible members and the recusals are fixed; at closing the tally, the rules applied and
    the outcome are stored together (`record`, governance.tally), so anyone can recompute the result.
    """

    class Closed(models.TextChoices):
        DEADLINE = "deadline", _("the deadline passed")
        ALL_VOTED = "all_voted", _("every eligible member voted")
        MEETING = "meeting", _("recorded at a meeting")

    proposal = models.ForeignKey(
        Proposal, verbose_name=_("proposal"), on_delete=models.PROTECT, related_name="rounds"
    )
    number = models.PositiveSmallIntegerField(_("round"))
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    deadline = models.DateTimeField(_("closes"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_because = models.CharField(_("closed because"), max_length=16, choices=Closed.choices, blank=True)
    approved = models.BooleanField(_("approved"), null=True)
    reason = models.CharField(_("outcome"), max_length=32, blank=True, default="")
    record = models.JSONField(_("tally and rules"), null=True, blank=True)

    class Meta:
        verbose_name = _("voting round")
        verbose_name_plural = _("voting rounds")
        ordering = ["proposal", "number"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "number"], name="voting_round_number_unique"),
            models.UniqueConstraint(
                fields=["proposal"], condition=Q(closed_at__isnull=True), name="voting_round_one_open"
            ),
        ]

    def __str__(self):
        return f"{self.proposal} · {self.number}"


class Ballot(models.Model):
    """An eligible member's place in a round: their vote (changeable until closing) or their recusal."""

    class Choice(models.TextChoices):
        YES = "yes", _("in favour")
        NO = "no", _("against")
        ABSTAIN = "abstain", _("abstain")

    class Recusal(models.TextChoices):
        BENEFICIARY = "beneficiary", _("related to the beneficiary")
        PROPOSER = "proposer", _("related to the proposer")
        DECLARED_PARTY = "declared_party", _("a declared related party")
        DECLARED = "declared", _("declared a conflict of interest")

    round = models.ForeignKey(
        VotingRound, verbose_name=_("round"), on_delete=models.PROTECT, related_name="ballots"
    )
    membership = models.ForeignKey(
        Membership, verbose_name=_("member"), on_delete=models.PROTECT, related_name="ballots"
    )
    choice = models.CharField(_("vote"), max_length=8, choices=Choice.choices, blank=True, default="")
    reason = models.CharField(_("reason"), max_length=REASON_MAX, blank=True, default="")
    recused = models.CharField(_("recused"), max_length=16, choices=Recusal.choices, blank=True, default="")
    recusal_note = models.CharField(_("conflict declared"), max_length=REASON_MAX, blank=True, default="")
    at_meeting = models.BooleanField(_("recorded from a paper ballot at a meeting"), default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    voted_at = models.DateTimeField(_("voted"), null=True, blank=True)

    class Meta:
        verbose_name = _("ballot")
        verbose_name_plural = _("ballots")
        ordering = ["round", "id"]
        constraints = [
            models.UniqueConstraint(fields=["round", "membership"], name="ballot_one_per_member"),
            models.CheckConstraint(condition=Q(recused="") | Q(choice=""), name="ballot_recused_cannot_vote"),
        ]

    def __str__(self):
        return f"{self.round} · {self.membership.person}"


class SupervisorOpinion(models.Model):
    """The supervisor's opinion on a round, recorded verbatim: the supervisor attends but does not vote."""

    round = models.ForeignKey(
        VotingRound, verbose_name=_("round"), on_delete=models.PROTECT, related_name="opinions"
    )
    membership = models.ForeignKey(
        Membership, verbose_name=_("supervisor"), on_delete=models.PROTECT, related_name="opinions"
    )
    text = models.TextField(_("opinion"), max_length=PROPOSAL_TEXT_MAX)
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("supervisor's opinion")
        verbose_name_plural = _("supervisors' opinions")
        ordering = ["round", "id"]
        constraints = [
            models.UniqueConstraint(fields=["round", "membership"], name="opinion_one_per_supervisor")
        ]

    def __str__(self):
        return f"{self.round} · {self.membership.person}"


class Objection(models.Model):
    """A resident's objection during public notice, answered on the record by the committee."""

    class Answer(models.TextChoices):
        UPHELD = "upheld", _("upheld: the proposal goes back to a vote")
        DISMISSED = "dismissed", _("answered and dismissed")

    proposal = models.ForeignKey(
        Proposal, verbose_name=_("proposal"), on_delete=models.PROTECT, related_name="objections"
    )
    notice_round = models.PositiveSmallIntegerField(_("public notice round"))
    person = models.ForeignKey(
        Person, verbose_name=_("objector"), on_delete=models.PROTECT, related_name="objections"
    )
    reason = models.TextField(_("reason"), max_length=REASON_MAX)
    created_at = models.DateTimeField(_("raised"), auto_now_add=True)
    answer = models.CharField(_("decision"), max_length=16, choices=Answer.choices, blank=True, default="")
    answer_text = models.TextField(
        _("the committee's answer"), max_length=PROPOSAL_TEXT_MAX, blank=True, default=""
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("objection")
        verbose_name_plural = _("objections")
        ordering = ["proposal", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "notice_round", "person"], name="objection_once_per_notice"
            ),
            models.CheckConstraint(
                condition=Q(answer="") | ~Q(answer_text=""), name="objection_answer_has_text"
            ),
        ]

    def __str__(self):
        return f"{self.proposal} · {self.created_at:%Y-%m-%d}"


class Disbursement(models.Model):
    """One tranche paid by the host, with the ledger withdrawal that records it."""

    proposal = models.ForeignKey(
        Proposal, verbose_name=_("proposal"), on_delete=models.PROTECT, related_name="disbursements"
    )
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    paid_on = models.DateField(_("paid on"))
    reference = models.CharField(_("host's payment reference"), max_length=100)
    transaction = models.OneToOneField(
        Transaction,
        verbose_name=_("ledger transaction"),
        on_delete=models.PROTECT,
        related_name="disbursement",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("disbursement")
        verbose_name_plural = _("disbursements")
        ordering = ["proposal", "paid_on", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount_fen__gt=0), name="disbursement_positive")]

    def __str__(self):
        return f"{self.proposal} · {self.paid_on}"


class ProposalReport(models.Model):
    """What the money did: outcomes, with receipts and photos attached (kinds receipt / photo)."""

    proposal = models.OneToOneField(
        Proposal, verbose_name=_("proposal"), on_delete=models.PROTECT, related_name="report"
    )
    outcomes = models.TextField(_("what the money did"), max_length=PROPOSAL_TEXT_MAX)
    people_served = models.PositiveIntegerField(_("people served"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("reported"), auto_now_add=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")

    def __str__(self):
        return str(self.proposal)


# ---------------------------------------------------------------------------------------------------------
# Coordination: cross-level meetings, their decisions and the action items that follow them up (督办事项).
# ---------------------------------------------------------------------------------------------------------

MEETING_TITLE_MAX = 200
MEETING_TEXT_MAX = 20000
ITEM_TEXT_MAX = 2000


class Meeting(models.Model):
    """A coordination meeting at one level (city, district, street or community), tied to an area.

    `minutes` are the full internal record; `public_minutes` the redacted text published once the minutes
    are approved (no resident's private details). Services in governance/meetings.py.
    """

    class Kind(models.TextChoices):
        REGULAR = "regular", _("regular work meeting")
        FOLLOW_UP = "follow_up", _("progress follow-up")
        KEY_ISSUE = "key_issue", _("key-issue meeting")

    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")
        HELD = "held", _("held, minutes being approved")
        PUBLISHED = "published", _("minutes published")
        CANCELLED = "cancelled", _("cancelled")

    area = models.ForeignKey(
        "charity.Area", verbose_name=_("area"), on_delete=models.PROTECT, related_name="meetings"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=MEETING_TITLE_MAX)
    starts_at = models.DateTimeField(_("date and time"))
    place = models.CharField(_("place"), max_length=200, blank=True, default="")
    convenor_organization = models.ForeignKey(
        Organization,
        verbose_name=_("convened by (organisation)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="meetings_convened",
    )
    convenor_person = models.ForeignKey(
        Person,
        verbose_name=_("convened by (person)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="meetings_convened",
    )
    participant_organizations = models.ManyToManyField(
        Organization, verbose_name=_("participating organisations"), blank=True, related_name="meetings"
    )
    participant_people = models.ManyToManyField(
        Person, verbose_name=_("participants"), blank=True, related_name="meetings"
    )
    minutes = models.TextField(_("minutes (internal)"), max_length=MEETING_TEXT_MAX, blank=True, default="")
    public_minutes = models.TextField(
        _("minutes for publication"),
        max_length=MEETING_TEXT_MAX,
        blank=True,
        default="",
        help_text=_("Published once approved: no resident's name, phone number, address or health."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PLANNED, db_index=True
    )
    minutes_approved_at = models.DateTimeField(_("minutes approved"), null=True, blank=True)
    minutes_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("minutes approved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("coordination meeting")
        verbose_name_plural = _("coordination meetings")
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["area", "starts_at"], name="meeting_area_starts")]

    def __str__(self):
        return self.title


class AgendaItem(models.Model):
    """One point on a meeting's agenda; carried-over and escalated action items appear here by themselves."""

    class Source(models.TextChoices):
        PLANNED = "planned", _("planned")
        CARRIED_OVER = "carried_over", _("open item of an earlier meeting")
        ESCALATED = "escalated", _("escalated from the level below")

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="agenda"
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    title = models.CharField(_("item"), max_length=MEETING_TITLE_MAX)
    notes = models.TextField(_("notes"), max_length=ITEM_TEXT_MAX, blank=True, default="")
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.PLANNED)
    action_item = models.ForeignKey(
        "ActionItem",
        verbose_name=_("action item"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="agenda_entries",
    )

    class Meta:
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda")
        ordering = ["meeting_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "action_item"],
                condition=Q(action_item__isnull=False),
                name="agenda_action_item_once",
            )
        ]

    def __str__(self):
        return self.title


class Decision(models.Model):
    """A decision a meeting took, as published with the minutes; action items follow it up."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="decisions"
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    text = models.TextField(_("decision"), max_length=ITEM_TEXT_MAX)

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        ordering = ["meeting_id", "position", "id"]

    def __str__(self):
        return self.text[:60]


class MeetingOpinion(models.Model):
    """A supervisor's (or participant's) opinion, kept verbatim with who gave it."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="opinions"
    )
    speaker_person = models.ForeignKey(
        Person, verbose_name=_("given by (person)"), on_delete=models.PROTECT, null=True, blank=True
    )
    speaker_organization = models.ForeignKey(
        Organization,
        verbose_name=_("given by (organisation)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    text = models.TextField(_("opinion, verbatim"), max_length=ITEM_TEXT_MAX)

    class Meta:
        verbose_name = _("supervisor opinion")
        verbose_name_plural = _("supervisor opinions")
        ordering = ["meeting_id", "id"]

    def __str__(self):
        return self.text[:60]


class ActionItem(models.Model):
    """An action item (督办事项) following up a decision: an owner, a due date, progress notes.

    `area` is the level currently chasing it: the meeting's area at first; each escalation moves it one
    level up (an `Escalation` line), where it appears on that level's next meeting agenda.
    """

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("action item status", "open")
        IN_PROGRESS = "in_progress", _("in progress")
        DONE = "done", _("done")
        CANCELLED = "cancelled", _("cancelled")

    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS)

    decision = models.ForeignKey(
        Decision, verbose_name=_("decision"), on_delete=models.PROTECT, related_name="action_items"
    )
    area = models.ForeignKey(
        "charity.Area",
        verbose_name=_("chased at"),
        on_delete=models.PROTECT,
        related_name="action_items",
        help_text=_("The level that follows the item up now."),
    )
    title = models.CharField(_("what is to be done"), max_length=MEETING_TITLE_MAX)
    description = models.TextField(_("details"), max_length=ITEM_TEXT_MAX, blank=True, default="")
    owner_person = models.ForeignKey(
        Person,
        verbose_name=_("owner (person)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="action_items",
    )
    owner_organization = models.ForeignKey(
        Organization,
        verbose_name=_("owner (organisation)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="action_items",
    )
    due_on = models.DateField(_("due"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    # Set once by the daily task (so the owner is told once); cleared if the due date moves on.
    overdue_since = models.DateField(_("overdue since"), null=True, blank=True)
    escalations = models.PositiveSmallIntegerField(_("times escalated"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["status", "due_on"], name="action_item_status_due"),
            models.Index(fields=["area", "status"], name="action_item_area_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner_person__isnull=False) | Q(owner_organization__isnull=False),
                name="action_item_has_owner",
            ),
        ]

    def __str__(self):
        return self.title


class ActionProgress(AppendOnlyModel):
    """A dated progress note on an action item (and the status it moved to, if any)."""

    item = models.ForeignKey(
        ActionItem, verbose_name=_("action item"), on_delete=models.CASCADE, related_name="progress"
    )
    noted_on = models.DateField(_("date"))
    note = models.TextField(_("progress"), max_length=ITEM_TEXT_MAX)
    to_status = models.CharField(
        _("status after"), max_length=16, choices=ActionItem.Status.choices, blank=True, default=""
    )
    by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    by_organization = models.ForeignKey(
        Organization,
        verbose_name=_("by organisation (API)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("progress note")
        verbose_name_plural = _("progress notes")
        ordering = ["item_id", "noted_on", "id"]

    def __str__(self):
        return self.note[:60]


class Escalation(AppendOnlyModel):
    """An action item passed one level up because it was overdue by ACTION_ITEM_ESCALATE_DAYS or more."""

    item = models.ForeignKey(
        ActionItem, verbose_name=_("action item"), on_delete=models.CASCADE, related_name="escalation_log"
    )
    from_area = models.ForeignKey(
        "charity.Area", verbose_name=_("from"), on_delete=models.PROTECT, related_name="+"
    )
    to_area = models.ForeignKey(
        "charity.Area", verbose_name=_("to"), on_delete=models.PROTECT, related_name="+"
    )
    overdue_days = models.PositiveIntegerField(_("days overdue"))
    escalated_at = models.DateTimeField(_("escalated"), auto_now_add=True)

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        ordering = ["item_id", "escalated_at", "id"]
        constraints = [
            # The task run twice escalates once: one escalation per item and starting level.
            models.UniqueConstraint(fields=["item", "from_area"], name="escalation_once_per_level"),
        ]

    def __str__(self):
        return f"{self.item} → {self.to_area}"


# ---------------------------------------------------------------------------------------------------------
# Residents' topics (议题) and service projects (公益项目) with milestones, evaluation and disclosures.
# ---------------------------------------------------------------------------------------------------------

TOPIC_TITLE_MAX = 100
TOPIC_TEXT_MAX = 2000
COMMENT_MAX = 500


class Topic(models.Model):
    """A subject a resident (or staff) raises for the community to take up: a dance team, a library…"""

    class Category(models.TextChoices):
        CULTURE_SPORTS = "culture_sports", _("culture and sports")
        ELDERLY = "elderly", _("older residents")
        CHILDREN = "children", _("children and young people")
        ENVIRONMENT = "environment", _("environment and greening")
        SAFETY = "safety", _("safety")
        PUBLIC_SPACE = "public_space", _("shared spaces and facilities")
        NEIGHBOURS = "neighbours", _("neighbourly help")
        OTHER = "other", _("other")

    class Status(models.TextChoices):
        OPEN = "open", _("open for support")
        ANSWERED = "answered", pgettext_lazy("topic status", "answered")
        MERGED = "merged", _("merged into another topic")
        PROJECT = "project", _("became a project")
        HIDDEN = "hidden", _("hidden by a moderator")

    community = models.ForeignKey(
        "charity.Area", verbose_name=_("community"), on_delete=models.PROTECT, related_name="topics"
    )
    title = models.CharField(_("title"), max_length=TOPIC_TITLE_MAX)
    description = models.TextField(_("description"), max_length=TOPIC_TEXT_MAX)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    raised_by = models.ForeignKey(
        Person,
        verbose_name=_("raised by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="topics_raised",
    )
    raised_by_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by staff"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    answer = models.TextField(_("answer"), max_length=TOPIC_TEXT_MAX, blank=True, default="")
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_topics",
    )
    project = models.ForeignKey(
        "Project",
        verbose_name=_("project it became"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="topics",
    )
    moderation_note = models.CharField(_("moderation note"), max_length=COMMENT_MAX, blank=True, default="")
    created_at = models.DateTimeField(_("raised"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["community", "status"], name="topic_community_status")]

    def __str__(self):
        return self.title


class TopicSupport(models.Model):
    """A resident's support of a topic: once each."""

    topic = models.ForeignKey(
        Topic, verbose_name=_("topic"), on_delete=models.CASCADE, related_name="supports"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("resident"), on_delete=models.CASCADE, related_name="topic_supports"
    )
    created_at = models.DateTimeField(_("supported"), auto_now_add=True)

    class Meta:
        verbose_name = _("support")
        verbose_name_plural = _("supports")
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["topic", "person"], name="topic_support_once")]

    def __str__(self):
        return f"{self.person} → {self.topic}"


class TopicComment(models.Model):
    """A resident's comment on a topic; a moderator may hide it (with a reason), never edit it."""

    topic = models.ForeignKey(
        Topic, verbose_name=_("topic"), on_delete=models.CASCADE, related_name="comments"
    )
    person = models.ForeignKey(
        Person,
        verbose_name=_("resident"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="topic_comments",
    )
    text = models.TextField(_("comment"), max_length=COMMENT_MAX)
    hidden_at = models.DateTimeField(_("hidden"), null=True, blank=True)
    hidden_reason = models.CharField(_("why hidden"), max_length=COMMENT_MAX, blank=True, default="")
    created_at = models.DateTimeField(_("written"), auto_now_add=True)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.text[:60]


PROJECT_TITLE_MAX = 200
PROJECT_TEXT_MAX = 5000


class Project(models.Model):
    """A service project (公益项目): goals, beneficiaries, plan, budget and evaluation criteria fixed before
    it starts; progress against milestones; an evaluation at the end; a disclosure calendar (DOMAIN.md).

    Services in governance/projects.py; the calendar is computed by governance/disclosure_calendar.py.
    """

    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")
        RUNNING = "running", _("running")
        ENDED = "ended", _("ended, to be evaluated")
        EVALUATED = "evaluated", _("evaluated")
        CANCELLED = "cancelled", _("cancelled")

    community = models.ForeignKey(
        "charity.Area", verbose_name=_("community"), on_delete=models.PROTECT, related_name="projects"
    )
    lead_organization = models.ForeignKey(
        Organization,
        verbose_name=_("lead organisation"),
        on_delete=models.PROTECT,
        related_name="projects_led",
    )
    title = models.CharField(_("title"), max_length=PROJECT_TITLE_MAX)
    summary = models.TextField(_("public summary"), max_length=PROJECT_TEXT_MAX)
    goals = models.TextField(_("goals"), max_length=PROJECT_TEXT_MAX)
    beneficiary_groups = models.CharField(_("who it serves"), max_length=500)
    target_beneficiaries = models.PositiveIntegerField(_("people it aims to reach"))
    budget_fen = models.BigIntegerField(_("budget (fen)"), default=0)
    evaluation_criteria = models.TextField(
        _("evaluation criteria"),
        max_length=PROJECT_TEXT_MAX,
        help_text=_("One criterion per line. Fixed once the project starts."),
    )
    starts_on = models.DateField(_("starts"))
    ends_on = models.DateField(_("ends"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PLANNED, db_index=True
    )
    needs = models.ManyToManyField(
        "needs.Need", verbose_name=_("needs it serves"), blank=True, related_name="projects"
    )
    followers = models.ManyToManyField(
        Person, verbose_name=_("followers"), blank=True, related_name="projects_followed"
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("service project")
        verbose_name_plural = _("service projects")
        ordering = ["-starts_on", "-id"]
        indexes = [models.Index(fields=["community", "status"], name="project_community_status")]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="project_ends_after_start"),
            models.CheckConstraint(condition=Q(budget_fen__gte=0), name="project_budget_not_negative"),
        ]

    def __str__(self):
        return self.title


class Milestone(models.Model):
    project = models.ForeignKey(
        Project, verbose_name=_("project"), on_delete=models.CASCADE, related_name="milestones"
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    title = models.CharField(_("milestone"), max_length=PROJECT_TITLE_MAX)
    due_on = models.DateField(_("due"))
    reached_on = models.DateField(_("reached"), null=True, blank=True)

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        ordering = ["project_id", "due_on", "position", "id"]

    def __str__(self):
        return self.title


class ProgressReport(AppendOnlyModel):
    """Progress reported against the plan (by staff, or by the lead organisation's API key)."""

    project = models.ForeignKey(
        Project, verbose_name=_("project"), on_delete=models.CASCADE, related_name="progress_reports"
    )
    milestone = models.ForeignKey(
        Milestone,
        verbose_name=_("milestone"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
    )
    reported_on = models.DateField(_("date"))
    text = models.TextField(_("progress"), max_length=PROJECT_TEXT_MAX)
    people_reached = models.PositiveIntegerField(_("people reached so far"), null=True, blank=True)
    by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    by_organization = models.ForeignKey(
        Organization,
        verbose_name=_("reported by organisation (API)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("progress report")
        verbose_name_plural = _("progress reports")
        ordering = ["project_id", "reported_on", "id"]

    def __str__(self):
        return f"{self.project} · {self.reported_on}"


class Evaluation(models.Model):
    """The evaluation at the end: each criterion met or not, the numbers reached, a summary."""

    project = models.OneToOneField(
        Project, verbose_name=_("project"), on_delete=models.PROTECT, related_name="evaluation"
    )
    # [{"criterion": "…", "met": true, "note": "…"}] — one per line of the project's criteria, in order.
    criteria_results = models.JSONField(_("criteria met"), default=list)
    people_reached = models.PositiveIntegerField(_("people reached"))
    summary = models.TextField(_("summary"), max_length=PROJECT_TEXT_MAX)
    evaluator = models.CharField(
        _("evaluated by"), max_length=200, help_text=_("Who evaluated: staff, residents, a research partner.")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")

    def __str__(self):
        return str(self.project)


class ProjectRating(models.Model):
    """A resident's feedback on a project: 1–5 and a comment, once each."""

    project = models.ForeignKey(
        Project, verbose_name=_("project"), on_delete=models.CASCADE, related_name="ratings"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("resident"), on_delete=models.CASCADE, related_name="project_ratings"
    )
    rating = models.PositiveSmallIntegerField(_("rating (1–5)"))
    comment = models.TextField(_("comment"), max_length=COMMENT_MAX, blank=True, default="")
    hidden_at = models.DateTimeField(_("hidden"), null=True, blank=True)
    created_at = models.DateTimeField(_("given"), auto_now_add=True)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "person"], name="project_rating_once"),
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=5), name="project_rating_1_to_5"
            ),
        ]

    def __str__(self):
        return f"{self.project} · {self.rating}"


class Disclosure(AppendOnlyModel):
    """A published disclosure of a project (CL arts. 72, 79): progress every three months for projects over
    six months, and a final one within three months of the end with what happened to leftover money.

    Never edited once published: a correction is a new disclosure pointing at the one it corrects.
    """

    class Kind(models.TextChoices):
        PROGRESS = "progress", _("progress disclosure")
        FINAL = "final", _("final disclosure")
        CORRECTION = "correction", _("correction")

    project = models.ForeignKey(
        Project, verbose_name=_("project"), on_delete=models.PROTECT, related_name="disclosures"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period until"))
    text = models.TextField(_("disclosure"), max_length=PROJECT_TEXT_MAX)
    spent_fen = models.BigIntegerField(_("spent in the period (fen)"), null=True, blank=True)
    leftover_fen = models.BigIntegerField(_("money left over (fen)"), null=True, blank=True)
    leftover_use = models.TextField(
        _("what happens to the money left over"), max_length=PROJECT_TEXT_MAX, blank=True, default=""
    )
    corrects = models.ForeignKey(
        "self",
        verbose_name=_("corrects"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published"), auto_now_add=True)

    class Meta:
        verbose_name = _("disclosure")
        verbose_name_plural = _("disclosures")
        ordering = ["project_id", "published_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="disclosure_period_ordered"
            ),
            models.CheckConstraint(
                condition=~Q(kind="correction") | Q(corrects__isnull=False),
                name="disclosure_correction_points",
            ),
        ]

    def __str__(self):
        return f"{self.project} · {self.get_kind_display()}"
