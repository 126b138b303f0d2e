"""Funds, the append-only double-entry ledger (integer fen), and donations.

A fund is an accounting line of its host (charity federation / foundation): the platform records money,
it never holds it (DOMAIN.md, "The fund").
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from charity.models import AppendOnlyModel, Area, Organization, Person
from charity.templatetags.money import format_fen

# ¥10 billion: no single amount may exceed it (a typo guard and a bound far below 2**63).
MAX_AMOUNT_FEN = 10_000_000_000 * 100


class Fund(models.Model):
    class Kind(models.TextChoices):
        COMMUNITY = "community", _("community charity fund")
        NAMED = "named", _("named fund")

    class Policy(models.TextChoices):
        SPEND_DOWN = "spend_down", _("spend-down (principal may be spent)")
        ENDOWMENT = "endowment", _("endowment (only income is spent)")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CLOSED = "closed", _("closed")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.COMMUNITY)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent fund"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="named_funds",
    )
    community = models.ForeignKey(
        Area,
        verbose_name=_("community"),
        on_delete=models.PROTECT,
        related_name="funds",
        limit_choices_to={"level": Area.Level.COMMUNITY},
    )
    host = models.ForeignKey(
        Organization,
        verbose_name=_("host organisation"),
        on_delete=models.PROTECT,
        related_name="hosted_funds",
        limit_choices_to={"type__in": ["charity_federation", "foundation"]},
        help_text=_("The charity federation or foundation that legally holds the money."),
    )
    named_after = models.CharField(
        _("named after (donor)"),
        max_length=200,
        blank=True,
        help_text=_("For a named fund: the donor whose name it carries."),
    )
    purpose = models.TextField(_("purpose"), blank=True)
    policy = models.CharField(
        _("spending policy"), max_length=16, choices=Policy.choices, default=Policy.SPEND_DOWN
    )
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    opened_on = models.DateField(_("opened on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    # The platform records gifts; it collects none. These say where the host takes them (DOMAIN.md).
    giving_instructions = models.TextField(
        _("how to give"),
        blank=True,
        help_text=_(
            "As the host gives it: the host's bank account and the note to write on a transfer, where to "
            "hand in goods. A named fund without its own uses its parent's."
        ),
    )
    giving_url = models.URLField(
        _("online donation page"), blank=True, help_text=_("The host's online page for giving to this fund.")
    )
    is_illustrative = models.BooleanField(
        _("illustrative figures"),
        default=False,
        help_text=_(
            "Set in demonstration data: the amounts (and a named fund's name) are invented, and the public "
            "page says so."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("fund")
        verbose_name_plural = _("funds")
        ordering = ["community", "kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="community", parent__isnull=True) | Q(kind="named", parent__isnull=False),
                name="fund_named_has_parent",
            ),
            models.CheckConstraint(
                condition=Q(status="open", closed_on__isnull=True)
                | Q(status="closed", closed_on__isnull=False),
                name="fund_closed_has_date",
            ),
            models.UniqueConstraint(fields=["community", "name"], name="fund_name_unique_in_community"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_open(self):
        return self.status == self.Status.OPEN

    @property
    def how_to_give(self) -> tuple[str, str]:
        """(instructions, online page) for giving to this fund: its own, else its parent's."""
        if self.giving_instructions or self.giving_url or self.parent is None:
            return self.giving_instructions, self.giving_url
        return self.parent.giving_instructions, self.parent.giving_url

    def _named_funds_held_elsewhere(self) -> bool:
        return Fund.objects.filter(parent_id=self.pk).exclude(host_id=self.host_id).exists()

    def _holds_principal(self) -> bool:
        return Account.objects.filter(
            fund_id=self.pk, kind=Account.Kind.PRINCIPAL, balance_fen__gt=0
        ).exists()

    def clean(self):
        errors = {}
        if self.kind == self.Kind.NAMED:
            if not self.parent_id:
                errors["parent"] = _("A named fund belongs to a community charity fund.")
            elif self.parent.kind != self.Kind.COMMUNITY:
                errors["parent"] = _("A named fund's parent must be a community charity fund.")
            elif self.parent.community_id != self.community_id:
                errors["community"] = _("A named fund serves the same community as its parent fund.")
            if not self.named_after:
                errors["named_after"] = _("Give the donor a named fund is named after.")
        elif self.parent_id:
            errors["parent"] = _("Only a named fund has a parent fund.")
        if self.host_id and self.host.type not in (
            Organization.Type.CHARITY_FEDERATION,
            Organization.Type.FOUNDATION,
        ):
            errors["host"] = _("A fund is held by a charity federation or a foundation.")
        elif self.host_id and self.kind == self.Kind.NAMED and self.parent_id and "parent" not in errors:
            # One host holds the money and issues the receipts (DOMAIN.md, "The fund").
            if self.parent.host_id != self.host_id:
                errors["host"] = _(
                    "A named fund is held by its parent fund's host, %(host)s: it holds the money and "
                    "issues the receipts."
                ) % {"host": self.parent.host.name}
        elif (
            self.host_id
            and self.pk
            and self.kind == self.Kind.COMMUNITY
            and self._named_funds_held_elsewhere()
        ):
            errors["host"] = _(
                "This fund's named funds are held by its present host: a community fund and its named "
                "funds have one host."
            )
        # Dropping the endowment policy would make the principal spendable: a change only donors may allow.
        if self.pk and self.policy != self.Policy.ENDOWMENT and self._holds_principal():
            errors["policy"] = _(
                "This endowment holds principal, which is never spent: it stays an endowment. What "
                "is left when it closes is decided as its donors agreed."
            )
        if self.closed_on and self.closed_on < self.opened_on:
            errors["closed_on"] = _("A fund cannot close before it opened.")
        if errors:
            raise ValidationError(errors)


class Account(models.Model):
    """One ledger account. Every fund has its own: what it holds, and its counterparts in the outside world.

    Counterpart accounts are per fund (not one global "donors" account) so that posting to one fund never
    waits on a lock held for another.
    """

    class Kind(models.TextChoices):
        GENERAL = "general", _("unrestricted money")
        RESTRICTED = "restricted", _("money restricted to a purpose")
        IN_KIND = "in_kind", _("in-kind goods")
        PRINCIPAL = "principal", _("endowment principal (kept, never spent)")
        INCOME = "income", _("investment income")
        DONORS = "donors", _("donors (outside world)")
        IN_KIND_DONORS = "in_kind_donors", _("in-kind donors (outside world)")
        DISBURSED = "disbursed", _("disbursements (outside world)")
        INVESTMENT = "investment", _("investment returns (outside world)")

    # What a fund holds: never below zero. Money is what may be spent (subject to its restriction);
    # principal is held and never spent; goods are counted apart.
    HELD = (Kind.GENERAL, Kind.RESTRICTED, Kind.PRINCIPAL, Kind.INCOME, Kind.IN_KIND)
    MONEY = (Kind.GENERAL, Kind.RESTRICTED, Kind.PRINCIPAL, Kind.INCOME)
    OUTSIDE = (Kind.DONORS, Kind.IN_KIND_DONORS, Kind.DISBURSED, Kind.INVESTMENT)

    fund = models.ForeignKey(Fund, verbose_name=_("fund"), on_delete=models.PROTECT, related_name="accounts")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    purpose = models.CharField(_("restricted purpose"), max_length=200, blank=True)
    balance_fen = models.BigIntegerField(_("balance (fen)"), default=0)

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints = [
            models.UniqueConstraint(fields=["fund", "kind", "purpose"], name="account_unique_per_fund"),
            # The database itself refuses an overdraft, whatever the code above it does.
            models.CheckConstraint(
                condition=Q(balance_fen__gte=0)
                | Q(kind__in=["donors", "in_kind_donors", "disbursed", "investment"]),
                name="account_held_balance_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(kind="restricted") & ~Q(purpose="") | ~Q(kind="restricted") & Q(purpose=""),
                name="account_purpose_only_when_restricted",
            ),
        ]

    def __str__(self):
        label = self.get_kind_display()
        return f"{self.fund} · {label}" + (f" · {self.purpose}" if self.purpose else "")

    @property
    def is_held(self):
        return self.kind in self.HELD


class LedgerRecord(AppendOnlyModel):
    append_only_change_message = _("The ledger is append-only: correct it with a reversal.")
    append_only_delete_message = append_only_change_message

    class Meta:
        abstract = True


class Transaction(LedgerRecord):
    class Kind(models.TextChoices):
        DONATION = "donation", _("donation")
        IN_KIND_DONATION = "in_kind_donation", _("in-kind donation")
        TRANSFER = "transfer", _("transfer between funds")
        DISBURSEMENT = "disbursement", _("disbursement")
        REVERSAL = "reversal", _("reversal")
        INVESTMENT_INCOME = "investment_income", _("investment income")
        RESTRICTION_CHANGE = "restriction_change", _("restriction changed with the donor's consent")
        LEFTOVER = "leftover", _("leftover of a closed fund or purpose")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    fund = models.ForeignKey(
        Fund,
        verbose_name=_("fund"),
        on_delete=models.PROTECT,
        related_name="transactions",
        help_text=_(
            "The fund this movement is about (for named-fund transfers: the community fund; for a "
            "restriction change or a leftover: the fund the money leaves)."
        ),
    )
    memo = models.CharField(_("memo"), max_length=300, blank=True)
    posted_at = models.DateTimeField(_("posted"), auto_now_add=True, db_index=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("posted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_organization = models.ForeignKey(
        Organization,
        verbose_name=_("posted by organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
    )

    class Meta:
        verbose_name = _("ledger transaction")
        verbose_name_plural = _("ledger transactions")
        ordering = ["-posted_at", "-id"]

    def __str__(self):
        return f"#{self.pk} {self.get_kind_display()}"


class Entry(LedgerRecord):
    transaction = models.ForeignKey(
        Transaction, verbose_name=_("transaction"), on_delete=models.PROTECT, related_name="entries"
    )
    # No index of its own: entry_account_id_idx (account, id) serves every lookup by account.
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    amount_fen = models.BigIntegerField(_("amount (fen)"))

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        constraints = [models.CheckConstraint(condition=~Q(amount_fen=0), name="entry_amount_not_zero")]
        indexes = [models.Index(fields=["account", "id"], name="entry_account_id_idx")]

    def __str__(self):
        return f"{self.account}: {format_fen(self.amount_fen)}"


class Donation(models.Model):
    class Channel(models.TextChoices):
        RESIDENT = "resident", _("resident")
        MERCHANT = "merchant", _("merchant")
        CHARITY_MARKET = "charity_market", _("charity market")
        BUSINESS_GIVEBACK = "business_giveback", _("business-for-good giveback")
        ONLINE = "online", _("online fundraising")
        OUTSIDE_DONOR = "outside_donor", _("outside donor")
        GOVERNMENT = "government", _("government")
        OTHER = "other", _("other")
        # A grant, not a gift: the host issues no donation receipt for it (GLOSSARY.md).
        VENTURE_GRANT = "venture_grant", _("venture philanthropy grant")

    class Restriction(models.TextChoices):
        UNRESTRICTED = "unrestricted", _("unrestricted")
        NAMED_FUND = "named_fund", _("restricted to a named fund")
        PURPOSE = "purpose", _("restricted to a stated purpose")

    class Form(models.TextChoices):
        MONEY = "money", _("money")
        IN_KIND = "in_kind", _("in kind (goods)")

    # No index of its own: donation_fund_recent_idx (fund, -received_on, -id) serves every lookup by fund.
    fund = models.ForeignKey(
        Fund, verbose_name=_("fund"), on_delete=models.PROTECT, related_name="donations", db_index=False
    )
    host = models.ForeignKey(
        Organization,
        verbose_name=_("host organisation"),
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    form = models.CharField(_("form"), max_length=8, choices=Form.choices, default=Form.MONEY)
    amount_fen = models.BigIntegerField(_("amount (fen)"), help_text=_("For goods: their valuation."))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    donor_person = models.ForeignKey(
        Person,
        verbose_name=_("donor (resident)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    donor_organization = models.ForeignKey(
        Organization,
        verbose_name=_("donor (organisation)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="donations_given",
    )
    donor_name = models.CharField(_("donor name"), max_length=200, blank=True)
    anonymous = models.BooleanField(_("anonymous"), default=False)
    publish_name = models.BooleanField(
        _("donor agrees to publish their name (or organisation's name)"),
        default=False,
        help_text=_("Without this consent the public page shows “anonymous” (Charity Law art. 82)."),
    )
    receipt_no = models.CharField(_("receipt number"), max_length=64, blank=True)
    receipt_waived = models.BooleanField(_("donor waived the donation receipt"), default=False)
    received_on = models.DateField(_("received on"))
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Set from the actor when an organisation records a donation (an API key); an organisation may refund
    # only what it recorded (funds.services.refund_donation).
    recorded_by_organization = models.ForeignKey(
        Organization,
        verbose_name=_("recorded by (organisation)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    restriction = models.CharField(
        _("restriction"), max_length=16, choices=Restriction.choices, default=Restriction.UNRESTRICTED
    )
    restricted_fund = models.ForeignKey(
        Fund,
        verbose_name=_("restricted to named fund"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="restricted_donations",
    )
    purpose = models.CharField(_("restricted purpose"), max_length=200, blank=True)
    item_description = models.CharField(_("goods"), max_length=200, blank=True)
    item_quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2, null=True, blank=True)
    item_unit = models.CharField(_("unit"), max_length=20, blank=True)
    transaction = models.OneToOneField(
        Transaction,
        verbose_name=_("ledger transaction"),
        on_delete=models.PROTECT,
        related_name="donation",
    )
    refund_transaction = models.OneToOneField(
        Transaction,
        verbose_name=_("refund transaction"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunded_donation",
    )
    refund_reason = models.CharField(_("refund reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("donation")
        verbose_name_plural = _("donations")
        ordering = ["-received_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_fen__gt=0) & Q(amount_fen__lte=MAX_AMOUNT_FEN),
                name="donation_amount_range",
            ),
            models.UniqueConstraint(
                fields=["host", "receipt_no"],
                condition=~Q(receipt_no=""),
                name="donation_receipt_unique_per_host",
            ),
            models.CheckConstraint(
                condition=~Q(receipt_no="") | Q(receipt_waived=True) | Q(channel="venture_grant"),
                name="donation_receipt_or_waived",
            ),
            models.CheckConstraint(
                condition=~Q(channel="venture_grant") | Q(receipt_no="", receipt_waived=False),
                name="donation_grant_has_no_receipt",
            ),
        ]
        indexes = [
            models.Index(fields=["fund", "-received_on", "-id"], name="donation_fund_recent_idx"),
            # The API's list across every fund in scope, newest first: read in order and stop after a page,
            # where the per-fund index made PostgreSQL sort all the scope's rows (docs/performance.md, API).
            models.Index(fields=["-received_on", "-id"], name="donation_recent_idx"),
        ]

    def __str__(self):
        return f"{self.fund} · {format_fen(self.amount_fen)}"

    @property
    def is_refunded(self):
        return self.refund_transaction_id is not None

    @property
    def is_grant(self):
        return self.channel == self.Channel.VENTURE_GRANT

    @property
    def donor_display_name(self):
        """The donor's name as staff see it (a resident, an organisation, or the name recorded), or None."""
        if self.donor_organization_id:
            return self.donor_organization.name
        if self.donor_person_id:
            return self.donor_person.name
        return self.donor_name or None

    @property
    def public_donor_name(self):
        """The name the public may see: only with the donor's consent (CL art. 82)."""
        if self.anonymous or not self.publish_name:
            return None
        return self.donor_display_name


class RestrictionChange(AppendOnlyModel):
    """Restricted money moved to another restriction with its donor's recorded consent (CL art. 56).

    Written once by `funds.restrictions.change_restriction`, with its ledger transaction; a correction is a
    reversal of that transaction, which puts the money back under its first restriction.
    """

    append_only_change_message = _(
        "A recorded restriction change is kept as it was: reverse its transaction."
    )
    append_only_delete_message = append_only_change_message

    fund = models.ForeignKey(
        Fund,
        verbose_name=_("fund"),
        on_delete=models.PROTECT,
        related_name="restriction_changes",
        help_text=_("The fund the money leaves."),
    )
    from_purpose = models.CharField(
        _("from purpose"),
        max_length=200,
        blank=True,
        help_text=_("Empty: the named fund's own money."),
    )
    to_fund = models.ForeignKey(
        Fund,
        verbose_name=_("to fund"),
        on_delete=models.PROTECT,
        related_name="restriction_changes_received",
    )
    to_purpose = models.CharField(
        _("to purpose"),
        max_length=200,
        blank=True,
        help_text=_("Empty: the receiving fund's own money (unrestricted, for a community fund)."),
    )
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    consent_by = models.CharField(
        _("consent given by"), max_length=200, help_text=_("The donor who consented.")
    )
    consent_on = models.DateField(_("consent given on"))
    consent_record = models.CharField(
        _("how the consent is recorded"),
        max_length=300,
        help_text=_(
            "The reference of the signed document or message kept on file, or a note of how it was given."
        ),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    transaction = models.OneToOneField(
        Transaction,
        verbose_name=_("ledger transaction"),
        on_delete=models.PROTECT,
        related_name="restriction_change",
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("restriction change")
        verbose_name_plural = _("restriction changes")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_fen__gt=0) & Q(amount_fen__lte=MAX_AMOUNT_FEN),
                name="restriction_change_amount_range",
            ),
            models.CheckConstraint(
                condition=~Q(consent_by="") & ~Q(consent_record=""), name="restriction_change_has_consent"
            ),
        ]

    def __str__(self):
        return f"{self.fund} · {self.amount_fen / 100:.2f}"

    @property
    def is_reversed(self) -> bool:
        """Corrected: its transaction was reversed, and the money is back under its first restriction."""
        return hasattr(self.transaction, "reversed_by")


class LeftoverDecision(AppendOnlyModel):
    """What was done with the money left when a fund or one of its purposes closed (CL art. 58). Public.

    Written once by `funds.restrictions.decide_leftover`, with its ledger transaction, which is never
    reversed: a published decision is not silently undone.
    """

    append_only_change_message = _("A leftover decision is published as it was made: it cannot be changed.")
    append_only_delete_message = append_only_change_message

    class Basis(models.TextChoices):
        AS_AGREED = "as_agreed", _("as the donors agreed")
        SIMILAR_PURPOSE = "similar_purpose", _("for a similar purpose")

    fund = models.ForeignKey(
        Fund, verbose_name=_("fund"), on_delete=models.PROTECT, related_name="leftover_decisions"
    )
    purpose = models.CharField(
        _("purpose closed"),
        max_length=200,
        blank=True,
        help_text=_("Empty: the whole fund closes, and everything it holds moves."),
    )
    basis = models.CharField(_("basis"), max_length=16, choices=Basis.choices)
    to_fund = models.ForeignKey(
        Fund,
        verbose_name=_("to fund"),
        on_delete=models.PROTECT,
        related_name="leftovers_received",
    )
    to_purpose = models.CharField(_("to purpose"), max_length=200, blank=True)
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    reason = models.CharField(
        _("reason"),
        max_length=300,
        help_text=_("The donors' agreement it follows, or why the new purpose is similar. Shown publicly."),
    )
    decided_on = models.DateField(_("decided on"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    transaction = models.OneToOneField(
        Transaction,
        verbose_name=_("ledger transaction"),
        on_delete=models.PROTECT,
        related_name="leftover_decision",
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("leftover decision")
        verbose_name_plural = _("leftover decisions")
        ordering = ["-decided_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_fen__gt=0) & Q(amount_fen__lte=MAX_AMOUNT_FEN),
                name="leftover_amount_range",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="leftover_has_reason"),
        ]

    def __str__(self):
        return f"{self.fund} · {self.amount_fen / 100:.2f}"


class InvestmentIncome(Transaction):
    """Investment income as staff record it in the admin: the ledger transactions of that kind."""

    class Meta:
        proxy = True
        verbose_name = _("investment income")
        verbose_name_plural = _("investment income")
