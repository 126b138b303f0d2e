"""The needs registry: what residents need, who may see the sensitive part, and who offered help.

A need has a public part (`Need`: summary, category, quantity, urgency — never personal detail) and, apart
from it, an encrypted sensitive part (`NeedSensitiveDetails`) with its legal basis (PIPL arts. 13, 23, 28).
Every status change goes through `needs.services` and leaves a line in `NeedStatusChange`.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

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


class MatchRun(models.Model):
    """One partition of a matching run: the nightly run of one district (or the city-wide remainder), or
    a run a staff member started for their area. Counts and the rows it could not use are kept here.

    The nightly run for one night and one partition happens once: the unique constraint below is what a
    second delivery of the same task, or a retry after a worker died, runs into.
    """

    class Trigger(models.TextChoices):
        NIGHTLY = "nightly", _("nightly run")
        STAFF = "staff", _("started by staff")
        COMMAND = "command", _("started from the command line")

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    night = models.DateField(_("night of"), help_text=_("The Shanghai date the run is for."))
    area = models.ForeignKey(
        Area, verbose_name=_("area"), on_delete=models.PROTECT, related_name="match_runs"
    )
    # "district" (one district's own resources), "city" (resources that may travel the whole city, after
    # the districts), or "area" (everything a staff or command-line run for `area` can see).
    partition = models.CharField(_("partition"), max_length=16, default="area")
    trigger = models.CharField(_("how it was started"), max_length=16, choices=Trigger.choices)
    dry_run = models.BooleanField(_("dry run"), default=False)
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.RUNNING, db_index=True
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    needs_considered = models.PositiveIntegerField(_("needs considered"), default=0)
    resources_considered = models.PositiveIntegerField(_("resources considered"), default=0)
    candidates = models.PositiveIntegerField(_("candidate pairs"), default=0)
    matches_proposed = models.PositiveIntegerField(_("matches proposed"), default=0)
    quantity_matched = models.PositiveIntegerField(_("quantity matched"), default=0)
    total_cost = models.BigIntegerField(_("total cost"), default=0)
    # [{"kind": "need"|"resource", "id": 12, "reason": "no_category"}, …]
    skipped = models.JSONField(_("rows skipped"), default=list, blank=True)
    timings = models.JSONField(_("seconds per phase"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True, default="")

    class Meta:
        verbose_name = _("matching run")
        verbose_name_plural = _("matching runs")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["night", "area", "partition"],
                condition=Q(trigger="nightly") & Q(dry_run=False),
                name="match_run_once_per_night",
            ),
        ]
        indexes = [models.Index(fields=["area", "status"], name="match_run_area_status")]

    def __str__(self):
        return f"{self.night} · {self.area}"


class Match(models.Model):
    """A proposed pairing of a need and a resource, with its quantity, cost terms and reasons.

    `reasons` are codes with parameters ([["same_street", {}], ["waited", {"days": 12}]]), turned into
    words in the reader's language when shown — never a sentence stored in one language.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("proposed")
        ACCEPTED = "accepted", _("accepted")
        FULFILLED = "fulfilled", _("fulfilled")
        DECLINED = "declined", pgettext_lazy("match status", "declined")
        EXPIRED = "expired", _("expired")

    OPEN = (Status.PROPOSED, Status.ACCEPTED)

    run = models.ForeignKey(MatchRun, verbose_name=_("run"), on_delete=models.PROTECT, related_name="matches")
    need = models.ForeignKey(Need, verbose_name=_("need"), on_delete=models.PROTECT, related_name="matches")
    resource = models.ForeignKey(
        "resources.Resource", verbose_name=_("resource"), on_delete=models.PROTECT, related_name="matches"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    cost = models.BigIntegerField(_("cost per unit"))
    cost_terms = models.JSONField(_("cost terms"), default=dict)
    reasons = models.JSONField(_("reasons"), default=list)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PROPOSED, db_index=True
    )
    decline_reason = models.CharField(_("reason for declining"), max_length=NOTE_MAX, blank=True, default="")
    fulfilled_quantity = models.PositiveIntegerField(_("quantity delivered"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    fulfilled_at = models.DateTimeField(_("fulfilled"), null=True, blank=True)
    created_at = models.DateTimeField(_("proposed"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("match")
        verbose_name_plural = _("matches")
        ordering = ["need_id", "cost", "resource_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "need", "resource"], name="match_once_per_run"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="match_quantity_positive"),
            models.CheckConstraint(
                condition=Q(fulfilled_quantity__isnull=True) | Q(fulfilled_quantity__lte=F("quantity")),
                name="match_fulfilled_within_quantity",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "need"], name="match_status_need"),
            models.Index(fields=["status", "resource"], name="match_status_resource"),
        ]

    def __str__(self):
        return str(_("match #%(id)s") % {"id": self.pk})


class WebhookEndpoint(models.Model):
    """A hub organisation's address for signed notices of accepted matches and of its needs' status."""

    organization = models.ForeignKey(
        Organization, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="webhooks"
    )
    url = models.URLField(_("address (URL)"), max_length=500)
    # The shared secret, encrypted at rest (charity.crypto); the organisation is shown it once.
    secret_ciphertext = models.TextField(_("secret (encrypted)"), editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        ordering = ["organization_id", "id"]

    def __str__(self):
        return self.url


class WebhookDelivery(models.Model):
    """One notice sent to one webhook, with its attempts: the log staff read and resend from."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("gave up after retries")

    endpoint = models.ForeignKey(
        WebhookEndpoint, verbose_name=_("webhook"), on_delete=models.PROTECT, related_name="deliveries"
    )
    event = models.CharField(_("kind of notice"), max_length=40)
    event_id = models.UUIDField(_("event id"), unique=True)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveSmallIntegerField(_("last answer code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=NOTE_MAX, blank=True, default="")
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.event} → {self.endpoint_id}"
