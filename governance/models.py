"""The fund management committee (基金管理委员会) and its members (DOMAIN.md, "The committee and spending").

The voting rules are local practice, so they are stored per committee with the usual defaults; the
mechanism that applies them (proposals, votes, public notice) comes later.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from charity.models import Organization, Person
from funds.models import Fund

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
