"""Volunteers, events and certified service hours.

- `Volunteer`: a person registered under their real name. The ID number is encrypted at rest
  (`charity.crypto`, MultiFernet) with a keyed hash (`id_index`) so one ID number registers once; every
  public or shared record shows the volunteer number instead.
- `LeaderProfile`, `LeaderRole`: community leaders (社区能人) found, trained and given responsibility.
- `EventSeries`, `Event`, `VolunteerRole`, `Signup`: events with capacity for participants and for each
  volunteer role, waiting lists promoted in arrival order, check-in and check-out.
- `ServiceRecord`: hours served (志愿服务记录), confirmed by the organiser; only confirmed hours count.
- `Certificate`: a numbered certificate of confirmed hours (志愿服务证明) anyone can verify by its number.

Every state change goes through `volunteers.services`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from charity.models import Area, Organization, Person

TITLE_MAX = 200
TEXT_MAX = 5000
NOTE_MAX = 500


class Volunteer(models.Model):
    class IdType(models.TextChoices):
        RESIDENT_ID = "resident_id", _("resident identity card")
        HK_MACAO = "hk_macao", _("Mainland travel permit for Hong Kong and Macao residents")
        TAIWAN = "taiwan", _("Mainland travel permit for Taiwan residents")
        PASSPORT = "passport", _("passport")
        FOREIGN_PERMANENT = "foreign_permanent", _("foreigner's permanent residence ID card")

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")
        LEFT = "left", _("left")

    class Source(models.TextChoices):
        PORTAL = "portal", _("registered on the portal")
        STAFF = "staff", _("registered by staff")
        IMPORT = "import", _("imported from a roster")
        API = "api", _("sent by an organisation through the API")

    person = models.OneToOneField(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="volunteer"
    )
    number = models.CharField(
        _("volunteer number"),
        max_length=32,
        unique=True,
        help_text=_("Shown on every public or shared record instead of the ID number."),
    )
    id_type = models.CharField(_("ID type"), max_length=20, choices=IdType.choices)
    id_ciphertext = models.TextField(_("ID number (encrypted)"))
    # Keyed hash of the normalised ID number (charity.crypto.blind_index): one ID number registers once.
    id_index = models.CharField(max_length=64, unique=True)
    birth_date = models.DateField(
        _("date of birth"), help_text=_("From the ID number for a resident identity card.")
    )
    skills = models.CharField(_("skills"), max_length=NOTE_MAX, blank=True, default="")
    teams = models.ManyToManyField(
        Organization,
        verbose_name=_("volunteer teams"),
        blank=True,
        related_name="team_volunteers",
        limit_choices_to={"type": Organization.Type.VOLUNTEER_TEAM},
    )
    # The volunteer's offered time and skills in the resources registry (kinds `time` / `skill`).
    offered_time = models.OneToOneField(
        "resources.Resource",
        verbose_name=_("time offered in the resources registry"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="volunteer_time",
    )
    offered_skill = models.OneToOneField(
        "resources.Resource",
        verbose_name=_("skill offered in the resources registry"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="volunteer_skill",
    )
    # Minors (PIPL art. 31; DOMAIN "Volunteers"): under VOLUNTEER_GUARDIAN_CONSENT_AGE a guardian consents.
    guardian_name = models.CharField(_("guardian's name"), max_length=50, blank=True, default="")
    guardian_relation = models.CharField(_("guardian's relation"), max_length=20, blank=True, default="")
    guardian_consent_at = models.DateTimeField(_("guardian's consent given"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    registered_at = models.DateTimeField(_("registered"), auto_now_add=True)

    class Meta:
        verbose_name = _("volunteer")
        verbose_name_plural = _("volunteers")
        ordering = ["number"]
        permissions = [("view_sensitive_volunteer", _("Can see volunteers' ID numbers"))]

    def __str__(self):
        return self.number


class LeaderProfile(models.Model):
    """A resident staff marked as a potential community leader (社区能人), and how they were found."""

    class FoundThrough(models.TextChoices):
        SURVEY = "survey", _("a survey")
        EVENT = "event", _("an event")
        REFERRAL = "referral", _("a referral")
        OTHER = "other", _("another way")

    person = models.OneToOneField(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="leader_profile"
    )
    found_through = models.CharField(_("found through"), max_length=16, choices=FoundThrough.choices)
    found_note = models.CharField(_("how they were found"), max_length=NOTE_MAX, blank=True, default="")
    found_on = models.DateField(_("found on"))
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("marked by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("community leader")
        verbose_name_plural = _("community leaders")
        ordering = ["-found_on", "id"]

    def __str__(self):
        return str(self.person)


class LeaderRole(models.Model):
    """A responsibility a leader took on: organising an event, leading a team, sitting on a committee."""

    class Kind(models.TextChoices):
        EVENT_ORGANISER = "event_organiser", _("event organiser")
        TEAM_LEAD = "team_lead", _("team lead")
        COMMITTEE_MEMBER = "committee_member", _("committee member")
        OTHER = "other", _("other responsibility")

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="leader_roles"
    )
    kind = models.CharField(_("responsibility"), max_length=20, choices=Kind.choices)
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("team or organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    event = models.ForeignKey(
        "Event",
        verbose_name=_("event"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="leader_roles",
    )
    note = models.CharField(_("note"), max_length=NOTE_MAX, blank=True, default="")
    started_on = models.DateField(_("from"))
    ended_on = models.DateField(_("until"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("leader's responsibility")
        verbose_name_plural = _("leaders' responsibilities")
        ordering = ["-started_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="leader_role_ends_after_start",
            )
        ]

    def __str__(self):
        return f"{self.person} · {self.get_kind_display()}"


class EventSeries(models.Model):
    """A community's brand of recurring events, e.g. "Together / 一起"."""

    community = models.ForeignKey(
        Area,
        verbose_name=_("community"),
        on_delete=models.PROTECT,
        related_name="event_series",
        limit_choices_to={"level": Area.Level.COMMUNITY},
    )
    organizer = models.ForeignKey(
        Organization, verbose_name=_("organiser"), on_delete=models.PROTECT, related_name="event_series"
    )
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), max_length=TEXT_MAX, blank=True, default="")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("event series")
        verbose_name_plural = _("event series")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["community", "name"], name="event_series_name_unique")]

    def __str__(self):
        return self.name


class Event(models.Model):
    class Kind(models.TextChoices):
        CHARITY_MARKET = "charity_market", _("charity market")
        FESTIVAL = "festival", _("festival")
        FREE_CLINIC = "free_clinic", _("free clinic")
        LECTURE = "lecture", _("lecture")
        FIRST_AID_TRAINING = "first_aid_training", _("first-aid training")
        ONLINE_CLASS = "online_class", _("online class")
        SERVICE_ACTIVITY = "service_activity", _("service activity")
        TRAINING = "training", _("training (leaders, staff, volunteers)")
        OTHER = "other", _("other")

    # Kinds whose attendance counts as training on a leader's path.
    TRAINING_KINDS = frozenset({"training", "first_aid_training"})

    class Status(models.TextChoices):
        PUBLISHED = "published", _("open")
        CANCELLED = "cancelled", _("cancelled")

    community = models.ForeignKey(
        Area,
        verbose_name=_("community"),
        on_delete=models.PROTECT,
        related_name="events",
        limit_choices_to={"level": Area.Level.COMMUNITY},
    )
    project = models.ForeignKey(
        "governance.Project",
        verbose_name=_("service project"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
    )
    series = models.ForeignKey(
        EventSeries,
        verbose_name=_("series"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
    )
    organizer = models.ForeignKey(
        Organization, verbose_name=_("organiser"), on_delete=models.PROTECT, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=TITLE_MAX)
    description = models.TextField(_("description"), max_length=TEXT_MAX, blank=True, default="")
    place = models.CharField(
        _("place"), max_length=TITLE_MAX, blank=True, default="", help_text=_("Empty for an online event.")
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    capacity = models.PositiveIntegerField(
        _("places for participants"), help_text=_("0 when only volunteers sign up.")
    )
    signup_deadline = models.DateTimeField(_("sign-up closes"))
    cancellation_cutoff = models.DateTimeField(_("cancellations possible until"))
    is_risky = models.BooleanField(
        _("involves real risk"),
        default=False,
        help_text=_("Volunteers cannot sign up until the accident insurance is recorded (VR art. 17)."),
    )
    risk_notice = models.TextField(
        _("risks volunteers are told about"), max_length=TEXT_MAX, blank=True, default=""
    )
    insurance_note = models.CharField(
        _("accident insurance (insurer, policy number)"), max_length=NOTE_MAX, blank=True, default=""
    )
    insurance_recorded_at = models.DateTimeField(_("insurance recorded"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PUBLISHED, db_index=True
    )
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
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["community", "starts_at"], name="event_community_start_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="event_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(signup_deadline__lte=models.F("ends_at")), name="event_deadline_before_end"
            ),
        ]

    def __str__(self):
        return self.title


class VolunteerRole(models.Model):
    """A volunteer job at an event (stewarding, registration desk, first aid) with its own places."""

    event = models.ForeignKey(Event, verbose_name=_("event"), on_delete=models.CASCADE, related_name="roles")
    name = models.CharField(_("role"), max_length=100)
    description = models.CharField(_("what it involves"), max_length=NOTE_MAX, blank=True, default="")
    capacity = models.PositiveIntegerField(_("places"))

    class Meta:
        verbose_name = _("volunteer role")
        verbose_name_plural = _("volunteer roles")
        ordering = ["event", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "name"], name="volunteer_role_name_unique"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="volunteer_role_capacity_positive"),
        ]

    def __str__(self):
        return f"{self.event} · {self.name}"


class Signup(models.Model):
    """One person's place at an event, as a participant (`role` empty) or in a volunteer role.

    Waiting places are promoted in arrival order (`id`): the first is `offered` a place and has until
    `offer_expires_at` to confirm it, then the next one is offered it.
    """

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("place confirmed")
        WAITING = "waiting", _("on the waiting list")
        OFFERED = "offered", _("place offered, waiting for confirmation")
        CANCELLED = "cancelled", _("cancelled")
        LAPSED = "lapsed", _("offered place not confirmed in time")

    ACTIVE = ("confirmed", "waiting", "offered")

    class CheckInMethod(models.TextChoices):
        STAFF = "staff", _("checked in by staff")
        QR = "qr", _("scanned the event's QR code")

    event = models.ForeignKey(
        Event, verbose_name=_("event"), on_delete=models.PROTECT, related_name="signups"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="signups"
    )
    role = models.ForeignKey(
        VolunteerRole,
        verbose_name=_("volunteer role"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="signups",
        help_text=_("Empty for a participant."),
    )
    volunteer = models.ForeignKey(
        Volunteer,
        verbose_name=_("volunteer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="signups",
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, db_index=True)
    offer_expires_at = models.DateTimeField(_("confirm by"), null=True, blank=True)
    # A participant under VOLUNTEER_GUARDIAN_CONSENT_AGE signs up with a guardian's consent.
    participant_age = models.PositiveSmallIntegerField(_("participant's age"), null=True, blank=True)
    guardian_name = models.CharField(_("guardian's name"), max_length=50, blank=True, default="")
    checked_in_at = models.DateTimeField(_("checked in"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("checked out"), null=True, blank=True)
    check_in_method = models.CharField(
        _("check-in"), max_length=8, choices=CheckInMethod.choices, blank=True, default=""
    )
    created_at = models.DateTimeField(_("signed up"), auto_now_add=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-up")
        verbose_name_plural = _("sign-ups")
        ordering = ["event", "id"]
        indexes = [models.Index(fields=["event", "status"], name="signup_event_status_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "person"],
                condition=Q(status__in=("confirmed", "waiting", "offered")),
                name="signup_one_active_per_person",
            ),
            models.CheckConstraint(
                condition=Q(role__isnull=True) | Q(volunteer__isnull=False),
                name="signup_role_needs_volunteer",
            ),
            models.CheckConstraint(
                condition=Q(checked_out_at__isnull=True)
                | (Q(checked_in_at__isnull=False) & Q(checked_out_at__gt=models.F("checked_in_at"))),
                name="signup_checkout_after_checkin",
            ),
        ]

    def __str__(self):
        return f"{self.event} · {self.person}"


class ServiceRecord(models.Model):
    """Hours a volunteer served (志愿服务记录): actual service time, confirmed by the organiser."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("waiting for the organiser")
        CONFIRMED = "confirmed", _("confirmed")
        REJECTED = "rejected", _("rejected")

    class Source(models.TextChoices):
        CHECK_IN = "check_in", _("from check-in and check-out")
        ORGANISER = "organiser", _("entered by the organiser")
        SELF_REPORTED = "self_reported", _("reported by the volunteer")
        IMPORT = "import", _("imported from a file")

    volunteer = models.ForeignKey(
        Volunteer, verbose_name=_("volunteer"), on_delete=models.PROTECT, related_name="service_records"
    )
    event = models.ForeignKey(
        Event,
        verbose_name=_("event"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="service_records",
    )
    signup = models.OneToOneField(
        Signup,
        verbose_name=_("sign-up"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="service_record",
    )
    organizer = models.ForeignKey(
        Organization,
        verbose_name=_("organiser (certifies the hours)"),
        on_delete=models.PROTECT,
        related_name="service_records",
    )
    community = models.ForeignKey(
        Area,
        verbose_name=_("community"),
        on_delete=models.PROTECT,
        related_name="service_records",
        limit_choices_to={"level": Area.Level.COMMUNITY},
    )
    content = models.CharField(_("service content"), max_length=TITLE_MAX)
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"))
    minutes = models.PositiveIntegerField(
        _("minutes served"), help_text=_("Actual service time in quarter hours, travel excluded.")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.SUBMITTED, db_index=True
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    rejection_reason = models.CharField(
        _("reason for rejecting"), max_length=NOTE_MAX, blank=True, default=""
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed or rejected by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("confirmed or rejected"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("service record")
        verbose_name_plural = _("service records")
        ordering = ["-started_at", "id"]
        indexes = [models.Index(fields=["volunteer", "started_at"], name="service_volunteer_start_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__gt=models.F("started_at")), name="service_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(minutes__gte=15) & Q(minutes__lte=24 * 60), name="service_minutes_in_range"
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""), name="service_rejection_has_reason"
            ),
        ]

    def __str__(self):
        return f"{self.volunteer} · {self.content}"

    @property
    def hours(self):
        from decimal import Decimal

        return Decimal(self.minutes) / 60


class Certificate(models.Model):
    """A certificate of confirmed hours (志愿服务证明), numbered in its issuer's register.

    The four blocks (DOMAIN "Volunteers"): the volunteer (name, ID type and number, volunteer number), the
    service (content, dates, hours), the issuer (name, person in charge, handler, contact), and the number
    and date. Name and ID number are read from the volunteer when it is printed, never copied here.
    """

    issuer = models.ForeignKey(
        Organization, verbose_name=_("issuer"), on_delete=models.PROTECT, related_name="certificates"
    )
    sequence = models.PositiveIntegerField(_("number in the issuer's register"))
    number = models.CharField(_("certificate number"), max_length=40, unique=True)
    volunteer = models.ForeignKey(
        Volunteer, verbose_name=_("volunteer"), on_delete=models.PROTECT, related_name="certificates"
    )
    records = models.ManyToManyField(
        ServiceRecord, verbose_name=_("service records"), related_name="certificates"
    )
    content = models.CharField(_("service content"), max_length=NOTE_MAX)
    first_date = models.DateField(_("from"))
    last_date = models.DateField(_("to"))
    total_minutes = models.PositiveIntegerField(_("minutes certified"))
    person_in_charge = models.CharField(_("person in charge"), max_length=50)
    handler = models.CharField(_("handled by"), max_length=50)
    contact = models.CharField(_("issuer's contact"), max_length=100)
    issued_on = models.DateField(_("issued on"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("issued by"), on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_reason = models.CharField(_("reason for revoking"), max_length=NOTE_MAX, blank=True, default="")
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "sequence"], name="certificate_issuer_sequence_unique"),
            models.CheckConstraint(
                condition=Q(last_date__gte=models.F("first_date")), name="certificate_dates"
            ),
            models.CheckConstraint(condition=Q(total_minutes__gte=15), name="certificate_has_hours"),
        ]

    def __str__(self):
        return self.number
