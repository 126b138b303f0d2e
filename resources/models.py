"""The resources registry: what residents, merchants and organisations can give or lend, the tool library's
loans and waiting lists, and the claims of the second-hand exchange.

Every write goes through resources/services.py; these models hold fields, choices and constraints only.
"""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from charity.models import Area, Category, Organization, Person

TITLE_MAX = 100
DESCRIPTION_MAX = 2000
UNIT_MAX = 20
NOTES_MAX = 500

# The kinds of help a skill or someone's time is good for, by needs.models.Need.SubKind code: the nightly
# matching prefers such a resource for needs of these kinds. Listed here rather than imported, since
# resources may not import needs (DESIGN.md §2); tests/needs/test_matching_run.py checks the two agree.
HELP_KINDS = [
    ("food", _("food")),
    ("clothing", _("clothing and bedding")),
    ("housing", _("housing and repairs to the home")),
    ("goods", _("other goods")),
    ("care", _("care")),
    ("tutoring", _("tutoring")),
    ("counselling", _("counselling")),
    ("repair", _("repair work")),
    ("companionship", _("companionship")),
]


class Resource(models.Model):
    """Something that can serve needs: a money pledge, goods, a venue, a skill, time or a tool.

    `quantity` is how many needs it can serve (goods: units; tools: copies in the tool library); `taken`
    counts the units claimed (exchange) or the copies lent out (tools), raised by a compare-and-set update
    so two people can never take the last unit.
    """

    class Kind(models.TextChoices):
        MONEY_PLEDGE = "money_pledge", _("money pledge")
        GOODS = "goods", _("goods")
        VENUE = "venue", _("venue")
        SKILL = "skill", _("skill or service")
        TIME = "time", _("time")
        TOOL = "tool", _("equipment or tool")

    class Reach(models.TextChoices):
        COMMUNITY = "community", _("own community")
        STREET = "street", _("the whole street")
        DISTRICT = "district", _("the whole district")
        CITY = "city", _("the whole city")

    class Status(models.TextChoices):
        AVAILABLE = "available", _("available")
        RESERVED = "reserved", _("reserved")
        USED_UP = "used_up", _("used up")
        WITHDRAWN = "withdrawn", _("withdrawn")
        EXPIRED = "expired", _("expired unclaimed")

    # Kinds offered by the hour or by the week: they have weekly availability slots.
    SLOTTED_KINDS = (Kind.VENUE, Kind.TIME)

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    owner_person = models.ForeignKey(
        Person,
        verbose_name=_("offered by (resident)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resources",
    )
    owner_organization = models.ForeignKey(
        Organization,
        verbose_name=_("offered by (organisation)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resources",
    )
    title = models.CharField(_("title"), max_length=TITLE_MAX)
    description = models.TextField(_("description"), max_length=DESCRIPTION_MAX, blank=True)
    categories = models.ManyToManyField(
        Category, verbose_name=_("categories it can serve"), blank=True, related_name="resources"
    )
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit = models.CharField(_("unit"), max_length=UNIT_MAX, blank=True)
    taken = models.PositiveIntegerField(_("claimed or lent out"), default=0)
    community = models.ForeignKey(
        Area,
        verbose_name=_("community"),
        on_delete=models.PROTECT,
        related_name="resources",
        limit_choices_to={"level": Area.Level.COMMUNITY},
    )
    reach = models.CharField(_("how far it may travel"), max_length=16, choices=Reach.choices)
    # The area the resource may travel within: the community itself or its street, district or city. Set by
    # the service from `community` and `reach`. "Resources that can reach community X" is one join on the
    # indexed area path: `reach_area__path IN (X's path and its ancestors' paths)`. A key, not a copy of the
    # path: treebeard renumbers paths when areas are added or moved.
    reach_area = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", editable=False, verbose_name=_("reaches")
    )
    available_from = models.DateField(_("available from"))
    available_until = models.DateField(_("available until"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.AVAILABLE)
    # Codes of HELP_KINDS (skills and time): checked by the service, read by the matching as skill tags.
    help_kinds = models.JSONField(_("kinds of help it gives"), default=list, blank=True)
    for_exchange = models.BooleanField(
        _("in the second-hand exchange"),
        default=False,
        help_text=_("Goods given free to residents, first come first served."),
    )
    # A money pledge is a promise, not money: the amount promised, and the donation that honoured it.
    amount_fen = models.PositiveBigIntegerField(_("amount pledged (fen)"), null=True, blank=True)
    fund = models.ForeignKey(
        "funds.Fund",
        verbose_name=_("fund pledged to"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pledges",
    )
    donation = models.OneToOneField(
        "funds.Donation",
        verbose_name=_("donation that honoured the pledge"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pledge",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("resource")
        verbose_name_plural = _("resources")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(owner_person__isnull=False) & Q(owner_organization__isnull=True))
                | (Q(owner_person__isnull=True) & Q(owner_organization__isnull=False)),
                name="resource_one_owner",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="resource_quantity_positive"),
            models.CheckConstraint(condition=Q(taken__lte=F("quantity")), name="resource_taken_within"),
            models.CheckConstraint(
                condition=Q(available_until__isnull=True) | Q(available_until__gte=F("available_from")),
                name="resource_window_ordered",
            ),
            models.CheckConstraint(
                condition=~Q(kind="money_pledge") | Q(amount_fen__gt=0), name="resource_pledge_amount"
            ),
        ]
        indexes = [
            models.Index(fields=["community", "status"], name="resource_community_status"),
            models.Index(fields=["kind", "status"], name="resource_kind_status"),
        ]

    def __str__(self):
        return self.title

    @property
    def owner(self):
        return self.owner_person or self.owner_organization

    @property
    def free(self) -> int:
        """Units or copies not yet claimed or lent."""
        return self.quantity - self.taken


class AvailabilitySlot(models.Model):
    """A weekly time a venue or someone's time is free (e.g. Saturdays 9:00–12:00)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    resource = models.ForeignKey(
        Resource, verbose_name=_("resource"), on_delete=models.CASCADE, related_name="slots"
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("until"))

    class Meta:
        verbose_name = _("weekly availability")
        verbose_name_plural = _("weekly availability")
        ordering = ["weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=Q(start_time__lt=F("end_time")), name="slot_start_before_end"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="slot_weekday_valid"),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"


class Loan(models.Model):
    """One copy of a tool lent to one resident. Open while `returned_at` is empty."""

    resource = models.ForeignKey(
        Resource,
        verbose_name=_("tool"),
        on_delete=models.PROTECT,
        related_name="loans",
        limit_choices_to={"kind": Resource.Kind.TOOL},
    )
    borrower = models.ForeignKey(
        Person, verbose_name=_("borrower"), on_delete=models.PROTECT, related_name="loans"
    )
    start = models.DateField(_("lent on"))
    due = models.DateField(_("due back"))
    returned_at = models.DateTimeField(_("returned"), null=True, blank=True)
    condition_at_lend = models.CharField(_("condition when lent"), max_length=NOTES_MAX, blank=True)
    condition_at_return = models.CharField(_("condition when returned"), max_length=NOTES_MAX, blank=True)
    renewals = models.PositiveSmallIntegerField(_("renewals"), default=0)
    # Set once by the daily task, so a second run tells nobody again.
    overdue_since = models.DateField(_("overdue since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        ordering = ["-start", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(due__gte=F("start")), name="loan_due_after_start"),
            # One open loan of a tool per resident: copies go round.
            models.UniqueConstraint(
                fields=["resource", "borrower"],
                condition=Q(returned_at__isnull=True),
                name="loan_one_open_per_borrower",
            ),
        ]
        indexes = [models.Index(fields=["returned_at", "due"], name="loan_open_due")]

    def __str__(self):
        return f"{self.resource} → {self.borrower}"

    @property
    def is_open(self) -> bool:
        return self.returned_at is None


class WaitlistEntry(models.Model):
    """A resident's place in a tool's waiting list, first come first served."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("waiting")
        READY = "ready", _("told the tool is free")
        SERVED = "served", _("borrowed")
        LEFT = "left", _("left the list")

    ACTIVE = (Status.WAITING, Status.READY)

    resource = models.ForeignKey(
        Resource, verbose_name=_("tool"), on_delete=models.CASCADE, related_name="waitlist"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("resident"), on_delete=models.CASCADE, related_name="waitlist_places"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(_("joined"), auto_now_add=True)
    ready_at = models.DateTimeField(_("told"), null=True, blank=True)

    class Meta:
        verbose_name = _("waiting-list place")
        verbose_name_plural = _("waiting lists")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "person"],
                condition=Q(status__in=["waiting", "ready"]),
                name="waitlist_one_place_per_person",
            )
        ]

    def __str__(self):
        return f"{self.resource} · {self.person}"


class Claim(models.Model):
    """A resident's claim of one unit of an exchange item; the giver confirms the hand-over."""

    class Status(models.TextChoices):
        CLAIMED = "claimed", _("claimed")
        HANDED_OVER = "handed_over", _("handed over")
        CANCELLED = "cancelled", _("cancelled")

    resource = models.ForeignKey(
        Resource,
        verbose_name=_("exchange item"),
        on_delete=models.PROTECT,
        related_name="claims",
        limit_choices_to={"for_exchange": True},
    )
    claimant = models.ForeignKey(
        Person, verbose_name=_("claimed by"), on_delete=models.PROTECT, related_name="claims"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.CLAIMED)
    created_at = models.DateTimeField(_("claimed"), auto_now_add=True)
    handed_over_at = models.DateTimeField(_("handed over"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)

    class Meta:
        verbose_name = _("claim")
        verbose_name_plural = _("claims")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "claimant"],
                condition=~Q(status="cancelled"),
                name="claim_one_per_resident",
            )
        ]

    def __str__(self):
        return f"{self.resource} · {self.claimant}"
