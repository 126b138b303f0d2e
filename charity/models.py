"""The core structure layer: areas, organisations, people, staff scoping, API keys, the audit log."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey
from treebeard.mp_tree import MP_Node

from .validators import mask_mobile, normalize_credit_code, normalize_mobile


class Area(MP_Node):
    """A node of the administrative tree city → district → street (town) → community (village).

    Materialized path (django-treebeard MP_Node): "this area and everything under it" is one indexed
    `path LIKE 'prefix%'` query, used by every scoping check.
    """

    class Level(models.TextChoices):
        CITY = "city", _("City")
        DISTRICT = "district", _("District")
        STREET = "street", _("Street (town)")
        COMMUNITY = "community", _("Community (village)")

    LEVEL_ORDER = [Level.CITY, Level.DISTRICT, Level.STREET, Level.COMMUNITY]

    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    division_code = models.CharField(
        _("division code"),
        max_length=12,
        blank=True,
        help_text=_("The official administrative division code, where known."),
    )
    is_illustrative = models.BooleanField(
        _("illustrative"),
        default=False,
        help_text=_("Set when the real name of this area is not known and a stand-in is used."),
    )

    node_order_by = ["name"]

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        constraints = [
            models.UniqueConstraint(
                fields=["division_code"],
                condition=~models.Q(division_code=""),
                name="area_division_code_unique",
            )
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if self.division_code and not (
            self.division_code.isdigit() and len(self.division_code) in (6, 9, 12)
        ):
            raise ValidationError({"division_code": _("A division code has 6, 9 or 12 digits.")})


class Organization(models.Model):
    class Type(models.TextChoices):
        NEIGHBOURHOOD_COMMITTEE = "neighbourhood_committee", _("neighbourhood committee")
        STREET_OFFICE = "street_office", _("street office")
        HUB = "hub", _("hub organisation")
        COMMUNITY_GROUP = "community_group", _("community social organisation")
        SOCIAL_WORK_AGENCY = "social_work_agency", _("social work agency")
        VOLUNTEER_TEAM = "volunteer_team", _("volunteer organisation / team")
        ENTERPRISE = "enterprise", _("caring enterprise")
        MERCHANT = "merchant", _("caring merchant")
        PROPERTY_MANAGER = "property_manager", _("property management company")
        CHARITY_FEDERATION = "charity_federation", _("charity federation")
        FOUNDATION = "foundation", _("foundation")
        PARTY_ORGANISATION = "party_organisation", _("community Party organisation")
        CHARITY_SUPERMARKET = "charity_supermarket", _("charity supermarket")
        CHARITY_STATION = "charity_station", _("street charity workstation / donation point")
        CHARITY_ASSOCIATION = "charity_association", _("local charity association")
        ENTERPRISE_ALLIANCE = "enterprise_alliance", _("caring enterprise alliance")
        RESEARCH_PARTNER = "research_partner", _("university / research institute")

    class Registration(models.TextChoices):
        REGISTERED = "registered", _("registered (登记)")
        FILED = "filed", _("filed (备案)")
        NONE = "none", _("neither registered nor filed")

    name = models.CharField(_("name"), max_length=200)
    type = models.CharField(_("type"), max_length=32, choices=Type.choices)
    area = models.ForeignKey(
        Area, verbose_name=_("based in"), on_delete=models.PROTECT, related_name="organizations"
    )
    served_areas = models.ManyToManyField(
        Area,
        verbose_name=_("areas served"),
        related_name="serving_organizations",
        blank=True,
        help_text=_("An API key of this organisation acts within these areas and everything under them."),
    )
    registration = models.CharField(
        _("registration status"), max_length=16, choices=Registration.choices, default=Registration.NONE
    )
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    hub = models.ForeignKey(
        "self",
        verbose_name=_("hub organisation"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
        limit_choices_to={"type": "hub"},
    )
    description = models.TextField(_("description"), blank=True)
    is_illustrative = models.BooleanField(
        _("illustrative"),
        default=False,
        help_text=_("Set for an invented organisation in demonstration data, so no one reads it as a fact."),
    )
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    # PIPL art. 13/14: the contact person's name and number are theirs; the public page shows them only with
    # their recorded consent, or the number alone when it is the organisation's office line.
    publish_contact = models.BooleanField(
        _("publish the contact person"),
        default=False,
        help_text=_(
            "Tick only when the contact person has agreed to have their name and number shown on the public "
            "page."
        ),
    )
    contact_phone_is_office = models.BooleanField(
        _("the contact phone is an office number"),
        default=False,
        help_text=_("An office line (not a person's own mobile) is shown on the public page without a name."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_code"], condition=~models.Q(credit_code=""), name="org_credit_code_unique"
            ),
            models.UniqueConstraint(fields=["name", "area"], name="org_name_area_unique"),
        ]
        indexes = [models.Index(fields=["type"])]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.credit_code:
            try:
                self.credit_code = normalize_credit_code(self.credit_code)
            except ValidationError as exc:
                errors["credit_code"] = exc.messages
        if self.hub_id and self.hub_id == self.pk:
            errors["hub"] = [_("An organisation cannot be its own hub organisation.")]
        elif self.hub_id and self.hub.type != self.Type.HUB:
            errors["hub"] = [_("The organisation chosen as hub is not a hub organisation.")]
        if errors:
            raise ValidationError(errors)


class Person(models.Model):
    """A resident or an organisation's representative. Stores the minimum (PIPL art. 6)."""

    name = models.CharField(_("full name"), max_length=50)
    mobile = models.CharField(
        _("mobile number"),
        max_length=11,
        unique=True,
        null=True,
        blank=True,
        help_text=_("Mainland mobile number, stored as 11 digits."),
    )
    community = models.ForeignKey(
        Area,
        verbose_name=_("community"),
        on_delete=models.PROTECT,
        related_name="people",
        limit_choices_to={"level": Area.Level.COMMUNITY},
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="person",
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("represents organisation"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="representatives",
    )
    is_leader = models.BooleanField(_("community leader (社区能人)"), default=False)
    is_illustrative = models.BooleanField(
        _("illustrative"),
        default=False,
        help_text=_("Set for an invented person in demonstration data, so no one reads it as a fact."),
    )
    recruited_by = models.ForeignKey(
        "self",
        verbose_name=_("brought in by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="recruits",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["name", "id"]
        # Granted per user by a superuser (admin → users), on top of the staff role (docs/security.md).
        permissions = [
            ("export_personal_data", _("Can export personal data (names, mobile numbers, donors)")),
            ("view_full_mobile", _("Can see residents' full mobile numbers")),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.mobile:
            try:
                self.mobile = normalize_mobile(self.mobile)
            except ValidationError as exc:
                errors["mobile"] = exc.messages
        else:
            self.mobile = None
        if self.community_id and self.community.level != Area.Level.COMMUNITY:
            errors["community"] = [_("Choose a community, not a higher-level area.")]
        if self.recruited_by_id and self.pk and self.recruited_by_id == self.pk:
            errors["recruited_by"] = [_("A person cannot have brought themselves in.")]
        if errors:
            raise ValidationError(errors)

    @property
    def masked_mobile(self):
        return mask_mobile(self.mobile)


class Category(models.Model):
    """A kind of need a resource can serve (助老 elderly, 助残 disability…): one list for the whole city.

    Rows, not code: a superuser adds one (with its Chinese and English names) or retires it (`is_active`);
    one in use is never deleted, so old needs keep their category.
    """

    code = models.SlugField(
        _("code"), max_length=32, unique=True, help_text=_("Short Latin letters for the API, e.g. elderly.")
    )
    name_zh = models.CharField(_("Chinese name"), max_length=30, unique=True)
    name_en = models.CharField(_("English name"), max_length=60, unique=True)
    sort_order = models.PositiveSmallIntegerField(_("order in lists"), default=100)
    is_active = models.BooleanField(
        _("in use"), default=True, help_text=_("Retired categories are not offered.")
    )

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["sort_order", "code"]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        """The name in the language of the request (Chinese unless English is asked for)."""
        language = translation.get_language() or settings.LANGUAGE_CODE
        return self.name_en if language.startswith("en") else self.name_zh


class Consent(models.Model):
    """A person's recorded consent (PIPL arts. 14, 23, 25, 29): what they agreed to, which text, when.

    Withdrawing sets `withdrawn_at`; the row stays, so the record shows what was agreed and for how long.
    A consent to share with an organisation names that organisation (PIPL art. 23: separate consent).
    """

    class Kind(models.TextChoices):
        SIGNUP_PRIVACY = "signup_privacy", _("privacy notice at sign-up")
        SHARE_WITH_ORGANIZATION = "share_with_organization", _("share my details with an organisation")

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="consents"
    )
    kind = models.CharField(_("consent"), max_length=32, choices=Kind.choices)
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    text_version = models.CharField(_("version of the text agreed to"), max_length=32)
    given_at = models.DateTimeField(_("given"), auto_now_add=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        indexes = [models.Index(fields=["person", "kind"])]

    def __str__(self):
        return f"{self.person} · {self.get_kind_display()}"


class StaffAssignment(models.Model):
    """A staff user works in an area (and everything under it) with a role."""

    class Role(models.TextChoices):
        VIEWER = "viewer", _("viewer")
        STAFF = "staff", _("staff")
        MANAGER = "manager", _("manager")

    RANK = {Role.VIEWER: 1, Role.STAFF: 2, Role.MANAGER: 3}

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="staff_assignments",
    )
    area = models.ForeignKey(Area, verbose_name=_("area"), on_delete=models.CASCADE, related_name="staff")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.STAFF)

    class Meta:
        verbose_name = _("staff assignment")
        verbose_name_plural = _("staff assignments")
        constraints = [models.UniqueConstraint(fields=["user", "area"], name="staff_assignment_unique")]

    def __str__(self):
        return f"{self.user} @ {self.area} ({self.get_role_display()})"


class OrganizationAPIKey(AbstractAPIKey):
    """An API key that acts for one organisation within the areas it serves. Only its hash is stored."""

    # The library's fields again, with labels in our catalogue (its own are English-only or untranslated).
    prefix = models.CharField(_("prefix"), max_length=8, unique=True, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    name = models.CharField(
        _("name"),
        max_length=50,
        blank=False,
        default=None,
        help_text=_("What the key is for, e.g. “hub case system”; at most 50 characters."),
    )
    revoked = models.BooleanField(
        _("revoked"),
        blank=True,
        default=False,
        help_text=_("A revoked key no longer works. This cannot be undone."),
    )
    expiry_date = models.DateTimeField(
        _("expires"),
        blank=True,
        null=True,
        help_text=_("After this time the key no longer works. Empty: it does not expire."),
    )

    organization = models.ForeignKey(
        Organization, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="api_keys"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("organisation API key")
        verbose_name_plural = _("organisation API keys")


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk update() and delete() would bypass the model's guards: refuse them too."""

    def update(self, **kwargs):
        raise ValidationError(self.model.append_only_change_message)

    def delete(self):
        raise ValidationError(self.model.append_only_delete_message)


class AppendOnlyModel(models.Model):
    """A record that is written once and never changed or deleted (audit log, ledger)."""

    append_only_change_message = _("This record is append-only: it cannot be changed.")
    append_only_delete_message = _("This record is append-only: it cannot be deleted.")

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError(self.append_only_change_message)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(self.append_only_delete_message)


class AuditAction(models.TextChoices):
    """Every kind of audit event: one enum, never a free-form string; the label reads as a sentence."""

    # structure
    RESIDENT_REGISTERED = "resident.registered", _("resident signed up")
    API_KEY_CREATED = "api_key.created", _("API key created")
    API_KEY_REVOKED = "api_key.revoked", _("API key revoked")
    CONSENT_GIVEN = "consent.given", _("consent given")
    CONSENT_WITHDRAWN = "consent.withdrawn", _("consent withdrawn")
    CATEGORY_SAVED = "category.saved", _("need category added or changed")
    # accounts
    LOGGED_IN = "account.logged_in", _("logged in")
    LOGIN_FAILED = "account.login_failed", _("log-in failed")
    LOCKED_OUT = "account.locked_out", _("log-in locked after repeated failures")
    PASSWORD_CHANGED = "account.password_changed", _("password changed")
    PASSWORD_RESET_BY_CODE = "account.password_reset_by_code", _("password reset with a code")
    PASSWORD_RESET_BY_STAFF = "account.password_reset_by_staff", _("password reset by staff")
    CODE_REQUESTED = "account.code_requested", _("one-time code requested")
    # structure, through the admin (every one written by a service in charity/services.py)
    PERSON_CREATED = "person.created", _("person added")
    PERSON_CHANGED = "person.changed", _("person changed")
    PERSON_DELETED = "person.deleted", _("person deleted")
    PEOPLE_IMPORTED = "person.imported", _("people imported from a file")
    ORGANIZATION_CREATED = "organization.created", _("organisation added")
    ORGANIZATION_CHANGED = "organization.changed", _("organisation changed")
    ORGANIZATION_DELETED = "organization.deleted", _("organisation deleted")
    ORGANIZATIONS_IMPORTED = "organization.imported", _("organisations imported from a file")
    SERVED_AREAS_CHANGED = "organization.served_areas_changed", _("areas an organisation serves changed")
    AREA_CREATED = "area.created", _("area added")
    AREA_CHANGED = "area.changed", _("area changed")
    AREA_MOVED = "area.moved", _("area moved in the tree")
    AREA_DELETED = "area.deleted", _("area deleted")
    STAFF_ROLE_GRANTED = "staff_role.granted", _("staff role granted")
    STAFF_ROLE_REMOVED = "staff_role.removed", _("staff role removed")
    USER_PERMISSIONS_CHANGED = "user.permissions_changed", _("user's permissions changed")
    DATA_EXPORTED = "data.exported", _("data exported")
    # money
    LEDGER_POSTED = "ledger.posted", _("money recorded in the ledger")
    DONATION_POSTED = "donation.posted", _("donation recorded")
    LEDGER_REVERSED = "ledger.reversed", _("ledger transaction reversed")
    LEDGER_VERIFIED = "ledger.verified", _("ledger checked")
    DONATION_REFUNDED = "donation.refunded", _("donation refunded")
    FUNDS_TRANSFERRED = "funds.transferred", _("money transferred between funds")
    FUNDS_WITHDRAWN = "funds.withdrawn", _("money withdrawn from a fund")
    FUND_CREATED = "fund.created", _("fund created")
    FUND_CHANGED = "fund.changed", _("fund changed")
    FUND_CLOSED = "fund.closed", _("fund closed")
    INCOME_RECORDED = "funds.income_recorded", _("investment income recorded")
    RESTRICTION_CHANGED = "funds.restriction_changed", _("restriction changed with the donor's consent")
    LEFTOVER_DECIDED = "funds.leftover_decided", _("leftover of a closed fund or purpose decided")
    # notifications and "my page" (charity, issue 10)
    NOTIFICATION_SETTING_CHANGED = "notification.setting_changed", _("notification kind turned off or on")
    PERSON_ERASED = "person.erased", _("account deleted at the person's request")
    # resources registry, tool library, second-hand exchange (resources/, issue 10)
    RESOURCE_OFFERED = "resource.offered", _("resource registered")
    RESOURCE_CHANGED = "resource.changed", _("resource changed")
    RESOURCE_STATUS_CHANGED = "resource.status_changed", _("resource's status changed")
    RESOURCES_IMPORTED = "resource.imported", _("resources imported from a file")
    PLEDGE_HONOURED = "resource.pledge_honoured", _("money pledge honoured with a donation")
    TOOL_LENT = "loan.lent", _("tool lent")
    TOOL_RETURNED = "loan.returned", _("tool returned")
    LOAN_RENEWED = "loan.renewed", _("loan renewed")
    LOAN_OVERDUE = "loan.overdue", _("loan marked overdue")
    WAITLIST_JOINED = "waitlist.joined", _("joined a tool's waiting list")
    WAITLIST_LEFT = "waitlist.left", _("left a tool's waiting list")
    ITEM_CLAIMED = "claim.created", _("exchange item claimed")
    CLAIM_HANDED_OVER = "claim.handed_over", _("exchange item handed over")
    CLAIM_CANCELLED = "claim.cancelled", _("claim on an exchange item cancelled")
    ITEM_EXPIRED = "exchange.expired", _("exchange item expired unclaimed")
    # committee
    COMMITTEE_CREATED = "committee.created", _("committee created")
    COMMITTEE_RULES_CHANGED = "committee.rules_changed", _("committee voting rules changed")
    COMMITTEE_RENAMED = "committee.renamed", _("committee renamed")
    COMMITTEE_MEMBER_ADDED = "committee.member_added", _("committee member added")
    COMMITTEE_MEMBER_ENDED = "committee.member_ended", _("committee membership ended")
    COMMITTEE_MEMBER_CHANGED = "committee.member_changed", _("committee member's role changed")
    # allocation decisions (governance/proposals.py, issue 12)
    PROPOSAL_CREATED = "proposal.created", _("allocation proposal drafted")
    PROPOSAL_SUBMITTED = "proposal.submitted", _("allocation proposal submitted")
    VOTING_OPENED = "proposal.voting_opened", _("committee vote opened on a proposal")
    VOTE_CAST = "proposal.vote_cast", _("vote cast or changed")
    CONFLICT_DECLARED = "proposal.conflict_declared", _("committee member declared a conflict of interest")
    PAPER_BALLOTS_RECORDED = "proposal.paper_ballots", _("paper ballots from a meeting recorded")
    SUPERVISOR_OPINION_RECORDED = "proposal.supervisor_opinion", _("supervisor's opinion recorded")
    VOTING_CLOSED = "proposal.voting_closed", _("committee vote closed with its outcome")
    OBJECTION_RAISED = "proposal.objection_raised", _("objection raised during public notice")
    OBJECTION_ANSWERED = "proposal.objection_answered", _("objection answered by the committee")
    NOTICE_ENDED = "proposal.notice_ended", _("public notice ended")
    PROPOSAL_DISBURSED = "proposal.disbursed", _("payment on a proposal recorded")
    PROPOSAL_REPORTED = "proposal.reported", _("report on a proposal submitted")
    PROPOSAL_CLOSED = "proposal.closed", _("proposal closed")
    PROPOSAL_WITHDRAWN = "proposal.withdrawn", _("proposal withdrawn")
    REPORT_OVERDUE = "proposal.report_overdue", _("report on a paid proposal overdue")
    ATTACHMENT_ADDED = "proposal.attachment_added", _("document attached to a proposal")
    # coordination meetings and action items (governance/meetings.py, issue 13)
    MEETING_CREATED = "meeting.created", _("coordination meeting created")
    MEETING_CHANGED = "meeting.changed", _("coordination meeting's details changed")
    MEETING_CANCELLED = "meeting.cancelled", _("coordination meeting cancelled")
    AGENDA_ITEM_ADDED = "meeting.agenda_item_added", _("item added to a meeting's agenda")
    DECISION_RECORDED = "meeting.decision_recorded", _("meeting's decision recorded")
    MEETING_OPINION_RECORDED = "meeting.opinion_recorded", _("opinion at a meeting recorded verbatim")
    MINUTES_RECORDED = "meeting.minutes_recorded", _("meeting's minutes recorded")
    MINUTES_PUBLISHED = "meeting.minutes_published", _("meeting's minutes approved and published")
    ACTION_ITEM_CREATED = "action_item.created", _("action item created")
    ACTION_ITEM_UPDATED = "action_item.updated", _("action item's progress or status recorded")
    ACTION_ITEM_OVERDUE = "action_item.overdue", _("action item marked overdue")
    ACTION_ITEM_ESCALATED = "action_item.escalated", _("overdue action item escalated to the level above")
    # service projects (governance/projects.py, issue 13)
    PROJECT_CREATED = "project.created", _("service project created")
    PROJECT_PLAN_CHANGED = "project.plan_changed", _("service project's plan changed")
    PROJECT_STARTED = "project.started", _("service project started")
    PROJECT_ENDED = "project.ended", _("service project ended")
    PROJECT_CANCELLED = "project.cancelled", _("service project cancelled")
    MILESTONE_ADDED = "project.milestone_added", _("milestone added to a service project")
    MILESTONE_REACHED = "project.milestone_reached", _("milestone of a service project reached")
    PROJECT_PROGRESS_REPORTED = "project.progress_reported", _("progress on a service project reported")
    PROJECT_EVALUATED = "project.evaluated", _("service project evaluated")
    PROJECT_RATED = "project.rated", _("resident rated a service project")
    PROJECT_RATING_HIDDEN = "project.rating_hidden", _("resident's rating of a project hidden")
    DISCLOSURE_PUBLISHED = "project.disclosure_published", _("project disclosure published")
    DISCLOSURE_CORRECTED = "project.disclosure_corrected", _("correction to a project disclosure published")
    # residents' topics (governance/topics.py, issue 13)
    TOPIC_RAISED = "topic.raised", _("topic raised")
    TOPIC_SUPPORTED = "topic.supported", _("resident supported a topic")
    TOPIC_SUPPORT_WITHDRAWN = "topic.support_withdrawn", _("resident withdrew their support of a topic")
    TOPIC_COMMENTED = "topic.commented", _("resident commented on a topic")
    TOPIC_COMMENT_HIDDEN = "topic.comment_hidden", _("comment on a topic hidden by a moderator")
    TOPIC_HIDDEN = "topic.hidden", _("topic hidden by a moderator")
    TOPIC_ANSWERED = "topic.answered", _("topic answered")
    TOPIC_MERGED = "topic.merged", _("topic merged into another")
    TOPIC_BECAME_PROJECT = "topic.became_project", _("topic turned into a service project")
    # needs registry (needs/)
    NEED_SUBMITTED = "need.submitted", _("need entered")
    NEED_EDITED = "need.edited", _("need edited")
    NEED_STATUS_CHANGED = "need.status_changed", _("need's status changed")
    NEED_DUPLICATE_FLAGGED = "need.duplicate_flagged", _("need flagged as a possible duplicate")
    NEED_SENSITIVE_SAVED = "need.sensitive_saved", _("need's sensitive details recorded")
    NEED_SENSITIVE_VIEWED = "need.sensitive_viewed", _("need's sensitive details viewed")
    NEED_CONSENT_WITHDRAWN = "need.consent_withdrawn", _("consent for a need's details withdrawn")
    NEEDS_IMPORTED = "need.imported", _("needs imported from a file")
    OFFER_MADE = "offer.made", _("help offered on a need")
    OFFER_STATUS_CHANGED = "offer.status_changed", _("offer of help accepted, declined or closed")
    MATCH_RUN_STARTED = "match_run.started", _("matching run started for an area")
    # match review (needs/matches.py, issue 14)
    MATCH_ACCEPTED = "match.accepted", _("proposed match accepted")
    MATCH_DECLINED = "match.declined", _("proposed match declined")
    MATCH_FULFILLED = "match.fulfilled", _("match delivered")
    MATCH_EXPIRED = "match.expired", _("proposed match expired")
    # hub organisations' webhooks (needs/webhooks.py, issue 14)
    WEBHOOK_CREATED = "webhook.created", _("webhook registered for an organisation")
    WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated", _("webhook's secret replaced")
    WEBHOOK_DEACTIVATED = "webhook.deactivated", _("webhook deactivated")
    WEBHOOK_RESENT = "webhook.resent", _("webhook notice sent again")
    # volunteers and community leaders (volunteers/, issue 11)
    VOLUNTEER_REGISTERED = "volunteer.registered", _("volunteer registered")
    VOLUNTEER_CHANGED = "volunteer.changed", _("volunteer's skills, teams or time changed")
    VOLUNTEER_STATUS_CHANGED = "volunteer.status_changed", _("volunteer suspended, reinstated or left")
    VOLUNTEER_ID_REVEALED = "volunteer.id_revealed", _("volunteer's ID number viewed")
    VOLUNTEERS_IMPORTED = "volunteer.imported", _("volunteers imported from a roster")
    VOLUNTEER_ANONYMISED = "volunteer.anonymised", _("volunteer's ID number erased at their request")
    LEADER_MARKED = "leader.marked", _("resident marked as a community leader")
    LEADER_ROLE_RECORDED = "leader.role_recorded", _("community leader's responsibility recorded")
    LEADER_ROLE_ENDED = "leader.role_ended", _("community leader's responsibility ended")
    # events, sign-ups, waiting lists and check-in (volunteers/, issue 11)
    EVENT_SERIES_SAVED = "event_series.saved", _("event series added or changed")
    EVENT_CREATED = "event.created", _("event created")
    EVENT_CHANGED = "event.changed", _("event changed")
    EVENT_CANCELLED = "event.cancelled", _("event cancelled")
    EVENT_INSURANCE_RECORDED = "event.insurance_recorded", _("event's accident insurance recorded")
    VOLUNTEER_ROLE_SAVED = "volunteer_role.saved", _("event's volunteer role added or changed")
    VOLUNTEER_ROLE_REMOVED = "volunteer_role.removed", _("event's volunteer role removed")
    SIGNUP_CREATED = "signup.created", _("signed up for an event")
    SIGNUP_CANCELLED = "signup.cancelled", _("sign-up for an event cancelled")
    SIGNUP_OFFERED = "signup.offered", _("place at an event offered from the waiting list")
    SIGNUP_CONFIRMED = "signup.confirmed", _("offered place at an event confirmed")
    SIGNUP_LAPSED = "signup.lapsed", _("offered place at an event not confirmed in time")
    CHECKED_IN = "signup.checked_in", _("checked in at an event")
    CHECKED_OUT = "signup.checked_out", _("checked out of an event")
    # service hours and certificates (volunteers/, issue 11)
    SERVICE_RECORDED = "service.recorded", _("service hours recorded")
    SERVICE_CONFIRMED = "service.confirmed", _("service hours confirmed")
    SERVICE_REJECTED = "service.rejected", _("service hours rejected")
    CERTIFICATE_ISSUED = "certificate.issued", _("certificate of service hours issued")
    CERTIFICATE_REVOKED = "certificate.revoked", _("certificate of service hours revoked")
    CERTIFICATE_PRINTED = "certificate.printed", _("certificate printed with the volunteer's ID number")


class AuditEvent(AppendOnlyModel):
    """One append-only line of the audit log: who did what, when, from which surface."""

    class Surface(models.TextChoices):
        ADMIN = "admin", _("admin")
        API = "api", _("API")
        PORTAL = "portal", _("portal")
        TASK = "task", _("scheduled task")
        COMMAND = "command", _("command line")
        SYSTEM = "system", _("system")

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_organization = models.ForeignKey(
        Organization,
        verbose_name=_("organisation (API key)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    surface = models.CharField(_("surface"), max_length=16, choices=Surface.choices)
    action = models.CharField(_("action"), max_length=64, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=150, blank=True)
    area = models.ForeignKey(
        Area, verbose_name=_("area"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    append_only_change_message = _("The audit log is append-only: an event cannot be changed.")
    append_only_delete_message = _("The audit log is append-only: an event cannot be deleted.")

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        # Titles and breadcrumbs of the admin: the time and what was done, never the action's code.
        if self.created_at is None:
            return str(self.get_action_display())
        return f"{timezone.localtime(self.created_at):%Y-%m-%d %H:%M} {self.get_action_display()}"


class IdempotencyRecord(models.Model):
    """The first response to a POST that carried an Idempotency-Key, kept so a retry gets it again."""

    client = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    body_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="idempotency_client_key_unique")
        ]

    def __str__(self):
        return f"{self.client} {self.key}"


class OneTimeCode(models.Model):
    """A one-time code sent to a mobile number to prove it is the person's own (sign-up, password reset).

    Only a keyed hash of the code is stored (HMAC with SECRET_KEY, bound to the number and the purpose), never
    the code itself. An empty hash means no code was sent — e.g. sign-up with a number that already has a
    login gets a "log in or reset your password" message instead — so no code can ever match it, and the page
    answers exactly as for any other number. Every request is a row: rows are what the rate limits count.
    """

    class Purpose(models.TextChoices):
        SIGNUP = "signup", _("sign-up")
        RESET = "reset", _("password reset")

    mobile = models.CharField(_("mobile number"), max_length=11)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    code_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    attempts = models.PositiveSmallIntegerField(_("wrong attempts"), default=0)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    requester_ip = models.GenericIPAddressField(_("requested from"), null=True, blank=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        indexes = [
            models.Index(fields=["mobile", "created_at"], name="onetimecode_mobile_idx"),
            models.Index(fields=["requester_ip", "created_at"], name="onetimecode_ip_idx"),
        ]

    def __str__(self):
        return f"{self.get_purpose_display()} {mask_mobile(self.mobile)}"


class OutboxMessage(models.Model):
    """A message to a person's mobile number, recorded before it is sent and delivered by a Celery task.

    `text` never holds sensitive details (DESIGN.md §3); a one-time code in it is masked once delivered.
    """

    class Kind(models.TextChoices):
        SIGNUP_CODE = "signup_code", _("sign-up code")
        ALREADY_REGISTERED = "already_registered", _("already registered")
        RESET_CODE = "reset_code", _("password reset code")
        PASSWORD_CHANGED = "password_changed", _("password changed")
        NOTIFICATION = "notification", _("notification")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        SENDING = "sending", _("being sent")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    mobile = models.CharField(_("mobile number"), max_length=11)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    text = models.CharField(_("text"), max_length=500)
    # What `text` becomes once delivered: the same with the one-time code masked ("" when nothing is secret).
    redacted_text = models.CharField(max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} → {mask_mobile(self.mobile)}"


class NotificationKind(models.TextChoices):
    """What a notification is about: a person turns each kind off or on (charity.notifications).

    One enum for every app (charity cannot import the apps that send them); an app that needs a new kind
    adds it here with a targeted edit. The label is what the settings page shows.
    """

    NEED_STATUS = "need.status", _("News about a need you posted (published, declined, matched, met)")
    NEED_OFFER = "need.offer", _("Someone offered help with your need")
    NEED_EXPIRED = "need.expired", _("Your need reached its date and was closed")
    OFFER_STATUS = "offer.status", _("Your offer of help was accepted or declined")
    MATCH_ACCEPTED = "match.accepted", _("Something you offered was matched to a household in need")
    LOAN_DUE = "loan.due", _("A tool you borrowed is due back soon")
    LOAN_OVERDUE = "loan.overdue", _("A tool you borrowed is late")
    WAITLIST_READY = "waitlist.ready", _("A tool you waited for is free for you")
    CLAIM_STATUS = "claim.status", _("Your claim on an exchange item was confirmed or handed over")
    ITEM_EXPIRED = "exchange.expired", _("Your exchange item expired unclaimed")
    VOTE_REQUESTED = "proposal.vote_requested", _("A proposal is put to your committee's vote")
    OBJECTION_ANSWERED = "proposal.objection_answered", _("The committee answered your objection")
    PROPOSAL_REPORT_OVERDUE = "proposal.report_overdue", _("A paid proposal's report is overdue")
    EVENT_PLACE_OFFERED = "event.place_offered", _("A place at an event opened up for you")
    EVENT_CANCELLED = "event.cancelled", _("An event you signed up for was cancelled")
    HOURS_DECIDED = "service.decided", _("Your service hours were confirmed or rejected")
    CERTIFICATE_ISSUED = "certificate.issued", _("A certificate of your service hours was issued")
    ACTION_ITEM_OVERDUE = "action_item.overdue", _("An action item you own is overdue or was escalated")
    TOPIC_NEWS = "topic.news", _("News about a topic you raised or support")


class Notification(models.Model):
    """One notice in a person's portal inbox (通知), also sent to their mobile unless they turned it off.

    `text` is what may be read on a lock screen: never a sensitive detail (charity.notifications). `key`,
    when set, is unique per person, so a task that runs twice notifies once.
    """

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=NotificationKind.choices)
    text = models.CharField(_("text"), max_length=300)
    url = models.CharField(_("link"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    key = models.CharField(_("key"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "key"], condition=~models.Q(key=""), name="notification_person_key_unique"
            )
        ]
        indexes = [
            # The inbox, newest first.
            models.Index(fields=["person", "-created_at", "-id"], name="notification_inbox_idx"),
            # The unread count in the header of every page a logged-in person opens.
            models.Index(
                fields=["person"], condition=models.Q(read_at__isnull=True), name="notification_unread_idx"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} → {self.person}"


class NotificationPreference(models.Model):
    """A person's choice for one kind of notification: a row exists only once they chose (default: on).

    A row per choice, not a field per kind on Person: the kinds grow with the apps, and the row keeps when
    the choice was last made (the choice itself is also in the audit log).
    """

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=NotificationKind.choices)
    enabled = models.BooleanField(_("send to my mobile"), default=True)
    changed_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("notification setting")
        verbose_name_plural = _("notification settings")
        constraints = [
            models.UniqueConstraint(fields=["person", "kind"], name="notification_preference_unique")
        ]

    def __str__(self):
        return f"{self.person} · {self.get_kind_display()}"
