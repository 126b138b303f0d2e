"""The needs registry: what residents need, who may see the sensitive part, and who offered help.

A need has a public part (`Need`: summary, category, quantity, urgency — never personal detail) and, apart
from it, an encrypted sensitive part (`NeedSensitiveDetails`) with its legal basis (PIPL arts. 13, 23, 28).
Every status change goes through `needs.services` and leaves a line in `NeedStatusChange`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from charity.models import AppendOnlyModel, Area, Category, Organization, Person

SUMMARY_MAX = 500
DESCRIPTION_MAX = 2000
NOTE_MAX = 500
MESSAGE_MAX = 1000


class Need(models.Model):
    class Kind(models.TextChoices):
        MATERIAL = "material", _("material help")
        SERVICE = "service", _("a service")

    class SubKind(models.TextChoices):
        FOOD = "food", _("food")
        CLOTHING = "clothing", _("clothing and bedding")
        HOUSING = "housing", _("housing and repairs to the home")
        GOODS = "goods", _("other goods")
        CARE = "care", _("care")
        TUTORING = "tutoring", _("tutoring")
        COUNSELLING = "counselling", _("counselling")
        REPAIR = "repair", _("repair work")
        COMPANIONSHIP = "companionship", _("companionship")

    MATERIAL_SUB_KINDS = frozenset({"food", "clothing", "housing", "goods"})

    class Urgency(models.TextChoices):
        ROUTINE = "routine", _("routine")
        SOON = "soon", _("soon")
        URGENT = "urgent", _("urgent")
        EMERGENCY = "emergency", _("emergency")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("under review")
        PUBLISHED = "published", _("published")
        MATCHED = "matched", _("matched with help")
        IN_PROGRESS = "in_progress", _("help under way")
        MET = "met", _("met")
        DECLINED = "declined", _("declined")
        WITHDRAWN = "withdrawn", _("withdrawn")
        EXPIRED = "expired", _("expired")

    class Source(models.TextChoices):
        PORTAL = "portal", _("posted by a resident on the portal")
        STAFF = "staff", _("entered by staff")
        API = "api", _("sent by an organisation through the API")

    community = models.ForeignKey(
        Area,
        verbose_name=_("community"),
        on_delete=models.PROTECT,
        related_name="needs",
        limit_choices_to={"level": Area.Level.COMMUNITY},
    )
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="needs"
    )
    sub_kind = models.CharField(_("kind of help"), max_length=16, choices=SubKind.choices)
    summary = models.CharField(
        _("public summary"),
        max_length=SUMMARY_MAX,
        help_text=_(
            "What is needed, for how many people, in which community: no names, numbers or addresses."
        ),
    )
    description = models.TextField(
        _("more about the need (public)"), max_length=DESCRIPTION_MAX, blank=True, default=""
    )
    quantity = models.PositiveIntegerField(_("quantity"), null=True, blank=True)
    unit = models.CharField(_("unit"), max_length=20, blank=True, default="")
    urgency = models.CharField(_("urgency"), max_length=16, choices=Urgency.choices, default=Urgency.ROUTINE)
    needed_by = models.DateField(_("needed by"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.SUBMITTED, db_index=True
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    source_organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation that sent it"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="needs_sent",
    )
    beneficiary_count = models.PositiveIntegerField(_("people helped"), default=1)
    posted_by = models.ForeignKey(
        Person,
        verbose_name=_("posted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="needs_posted",
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    possible_duplicates = models.ManyToManyField(
        "self",
        verbose_name=_("possible duplicates"),
        symmetrical=False,
        blank=True,
        related_name="+",
        help_text=_("Needs entered earlier that look like this one: check before publishing."),
    )
    is_illustrative = models.BooleanField(
        _("illustrative"),
        default=False,
        help_text=_("Set for an invented need in demonstration data, so no one reads it as a fact."),
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("need")
        verbose_name_plural = _("needs")
        ordering = ["-created_at", "-id"]
        permissions = [("view_sensitive", _("Can see the sensitive details of needs (audited)"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__isnull=True) | Q(quantity__gte=1), name="need_quantity_at_least_one"
            ),
            models.CheckConstraint(
                condition=Q(beneficiary_count__gte=1), name="need_beneficiaries_at_least_one"
            ),
        ]
        indexes = [
            models.Index(fields=["community", "status"]),
            models.Index(fields=["status", "needed_by"]),
            models.Index(fields=["community", "category"]),
        ]

    def __str__(self):
        return self.summary[:60]

    @property
    def kind(self) -> str:
        return self.Kind.MATERIAL if self.sub_kind in self.MATERIAL_SUB_KINDS else self.Kind.SERVICE

    def get_kind_display(self) -> str:
        return str(self.Kind(self.kind).label)

    @property
    def is_public(self) -> bool:
        return self.status in PUBLIC_STATUSES


PUBLIC_STATUSES = (Need.Status.PUBLISHED, Need.Status.MATCHED, Need.Status.IN_PROGRESS)


class NeedStatusChange(AppendOnlyModel):
    """One line of a need's timeline, shown to its poster: from, to, when, by whom, and a note for them."""

    need = models.ForeignKey(Need, verbose_name=_("need"), on_delete=models.CASCADE, related_name="timeline")
    from_status = models.CharField(_("from"), max_length=16, choices=Need.Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=16, choices=Need.Status.choices)
    changed_at = models.DateTimeField(_("when"), auto_now_add=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.CharField(_("note to the poster"), max_length=NOTE_MAX, blank=True, default="")

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("timeline")
        ordering = ["changed_at", "id"]

    def __str__(self):
        return f"{self.get_from_status_display()} → {self.get_to_status_display()}"


class NeedSensitiveDetails(models.Model):
    """The sensitive part of a need, encrypted at rest, with the legal basis for holding it.

    `ciphertext` is one Fernet token of a JSON object (beneficiary name, phone, address, ID number, health,
    low-income status, about a minor) — not even which fields were filled in shows in the database. The
    blind indexes (keyed hashes) find the same beneficiary across needs without decrypting.
    """

    class LegalBasis(models.TextChoices):
        CONSENT = "consent", _("the person's separate consent")
        STATUTORY = "statutory", _("a statutory duty")
        EMERGENCY = "emergency", _("an emergency (life, health or property at risk)")

    class GivenBy(models.TextChoices):
        BENEFICIARY = "beneficiary", _("the person helped")
        GUARDIAN = "guardian", _("their guardian (for a minor or a person without capacity)")
        FAMILY = "family", _("a family member on their behalf")

    FIELDS = ("name", "phone", "address", "id_number", "health", "low_income", "about_minor", "minor_notes")

    need = models.OneToOneField(
        Need, verbose_name=_("need"), on_delete=models.CASCADE, related_name="sensitive"
    )
    ciphertext = models.TextField(_("encrypted details"))
    phone_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    id_number_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    legal_basis = models.CharField(_("legal basis"), max_length=16, choices=LegalBasis.choices)
    basis_note = models.CharField(_("which duty or emergency"), max_length=NOTE_MAX, blank=True, default="")
    consent_given_by = models.CharField(
        _("consent given by"), max_length=16, choices=GivenBy.choices, blank=True, default=""
    )
    consent_given_at = models.DateTimeField(_("consent given"), null=True, blank=True)
    consent_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("consent recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    consent_publish_summary = models.BooleanField(_("agreed that the summary is published"), default=False)
    share_with = models.ManyToManyField(
        Organization,
        verbose_name=_("agreed to share with"),
        blank=True,
        related_name="+",
        help_text=_("Hub organisations named in the consent (PIPL art. 23)."),
    )
    consent_withdrawn_at = models.DateTimeField(_("consent withdrawn"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("sensitive details")
        verbose_name_plural = _("sensitive details")
        constraints = [
            models.CheckConstraint(
                condition=~Q(legal_basis="consent") | Q(consent_given_at__isnull=False),
                name="sensitive_consent_has_a_date",
            ),
        ]

    def __str__(self):
        return str(_("sensitive details of need #%(id)s") % {"id": self.need_id})

    @property
    def consent_active(self) -> bool:
        return self.legal_basis == self.LegalBasis.CONSENT and self.consent_withdrawn_at is None


class Offer(models.Model):
    """Someone's "I can help" on a need: a resident or an organisation, with a message."""

    class Status(models.TextChoices):
        OFFERED = "offered", _("offered")
        ACCEPTED = "accepted", _("accepted")
        DONE = "done", _("done")
        DECLINED = "declined", _("declined")
        WITHDRAWN = "withdrawn", _("withdrawn")

    need = models.ForeignKey(Need, verbose_name=_("need"), on_delete=models.CASCADE, related_name="offers")
    offered_by = models.ForeignKey(
        Person,
        verbose_name=_("offered by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="offers",
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("on behalf of organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="offers",
    )
    resource = models.ForeignKey(
        "resources.Resource",
        verbose_name=_("resource offered"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="offers",
        help_text=_("One of the offerer's own resources that would meet the need (optional)."),
    )
    message = models.TextField(_("message"), max_length=MESSAGE_MAX, blank=True, default="")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OFFERED)
    created_at = models.DateTimeField(_("offered"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("offer of help")
        verbose_name_plural = _("offers of help")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["need", "offered_by"],
                condition=Q(status__in=["offered", "accepted"]),
                name="offer_one_open_per_person",
            ),
        ]

    def __str__(self):
        return str(_("offer #%(id)s on need #%(need)s") % {"id": self.pk, "need": self.need_id})
