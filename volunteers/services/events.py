"""Events, volunteer roles, sign-ups, waiting lists and check-in (the only code that writes them).

Capacity under concurrency: every service that takes, frees or hands on a place (sign-up, cancellation,
confirmation, promotion, a change of capacity) first locks the Event row (`select_for_update`), so the
places of one event are counted and taken one transaction at a time. On PostgreSQL fifty residents signing
up at once for twenty places queue on that row lock: the first twenty get a place and the other thirty a
waiting place, in the order they reached the lock (the Signup id). On SQLite transactions are IMMEDIATE and
run one at a time anyway.

A "slot" is the participants of an event (`role` empty) or one volunteer role: each has its own places
(`Event.capacity`, `VolunteerRole.capacity`) and its own waiting list. A confirmed or offered sign-up holds
a place. When a place frees, the first waiting person of that slot is *offered* it and told, and has until
`offer_expires_at` (SIGNUP_OFFER_HOURS, at most until the event starts) to confirm; an offer not confirmed
in time lapses (`expire_offers`, a Celery beat task) and passes to the next in line. The rules are in
docs/events.md.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from charity.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from charity.models import (
    Area,
    AuditAction,
    AuditEvent,
    NotificationKind,
    Organization,
    Person,
    StaffAssignment,
)
from charity.notifications import notify
from charity.scoping import scope_for_organization
from charity.services import Actor, is_staff_for, record_audit, require_staff
from charity.validators import clean_text
from governance.models import Project

from .. import qr
from ..models import NOTE_MAX, TEXT_MAX, TITLE_MAX, Event, EventSeries, Signup, Volunteer, VolunteerRole

__all__ = [
    "EventError",
    "save_series",
    "save_event",
    "create_event",
    "cancel_event",
    "record_insurance",
    "save_role",
    "remove_role",
    "sign_up",
    "cancel_signup",
    "confirm_offer",
    "expire_offers",
    "check_in",
    "check_out",
    "self_check_in",
    "waiting_position",
    "with_places",
    "with_waiting_position",
    "is_event_staff",
]

ROLE = StaffAssignment.Role
STATUS = Signup.Status
HOLDING = (STATUS.CONFIRMED, STATUS.OFFERED)
# Check-in opens this long before the event starts (people arrive early); it closes when the event ends.
CHECK_IN_OPENS = datetime.timedelta(hours=2)
MAX_CAPACITY = 100_000
EVENT_FIELDS = (
    "community",
    "series",
    "project",
    "organizer",
    "kind",
    "title",
    "description",
    "place",
    "starts_at",
    "ends_at",
    "capacity",
    "signup_deadline",
    "cancellation_cutoff",
    "is_risky",
    "risk_notice",
)


class EventError(DomainError):
    code = "invalid_event"


# --- who may act ---------------------------------------------------------------------------------------


def _person_of(actor: Actor) -> Person | None:
    user = actor.user
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    cached = getattr(user, "_volunteers_person", None)
    if cached is None:
        cached = Person.objects.filter(user=user).first()
        user._volunteers_person = cached
    return cached


def _fresh(area: Area | None) -> Area | None:
    """The area read afresh: a caller's copy may hold a path treebeard has since renumbered."""
    return Area.objects.filter(pk=area.pk).first() if area is not None else None


def is_event_staff(actor: Actor, area: Area, role: str = ROLE.STAFF) -> bool:
    """Whether `actor` is the system, or staff holding at least `role` over `area` (an event's community)."""
    return is_staff_for(actor, _fresh(area), role)


def _key_serves(actor: Actor, area: Area | None) -> bool:
    return actor.organization is not None and scope_for_organization(actor.organization).contains(
        _fresh(area)
    )


def _require_staff(actor: Actor, area: Area, role: str = ROLE.STAFF) -> None:
    """Staff over `area` (or the system): out of sight is NotFound, a lesser role Forbidden."""
    require_staff(actor, _fresh(area), role)


def _require_organiser(actor: Actor, area: Area, organizer: Organization | None) -> None:
    """Staff of the community, or an API key of the organiser itself serving that community."""
    if actor.organization is not None:
        if not _key_serves(actor, area):
            raise NotFoundError()
        if organizer is None or organizer.pk != actor.organization.pk:
            raise ForbiddenError(_("An API key creates events of its own organisation only."))
        return
    _require_staff(actor, area)


# --- checking input ------------------------------------------------------------------------------------


def _text(value, *, field: str, max_length: int, required: bool = False, label=None) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise EventError(_("Enter text here."), field=field)
    value = clean_text(value)
    if required and not value:
        raise EventError(label or _("This field is required."), field=field)
    if len(value) > max_length:
        raise EventError(
            _("At most %(max)d characters are allowed here (you entered %(count)d).")
            % {"max": max_length, "count": len(value)},
            field=field,
        )
    return value


def _count(value, *, field: str, minimum: int, message) -> int:
    if isinstance(value, bool):
        raise EventError(message, field=field)
    if not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except (TypeError, ValueError):
            raise EventError(message, field=field) from None
    if value < minimum:
        raise EventError(message, field=field)
    if value > MAX_CAPACITY:
        raise EventError(_("That number is too large."), field=field)
    return value


def _moment(value, *, field: str, label) -> datetime.datetime:
    if not isinstance(value, datetime.datetime):
        raise EventError(label, field=field)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _check_event(event: Event) -> None:
    """Check and normalise `event`'s fields in place; raises EventError naming the field."""
    community = Area.objects.filter(pk=event.community_id).first() if event.community_id else None
    if community is None or community.level != Area.Level.COMMUNITY:
        raise EventError(_("Choose a community, not a higher-level area."), field="community")
    event.community = community
    if event.organizer_id is None:
        raise EventError(_("Choose the organisation that organises the event."), field="organizer")
    if event.series_id is not None:
        series = EventSeries.objects.filter(pk=event.series_id).first()
        if series is None or series.community_id != community.pk:
            raise EventError(_("Choose a series of the event's own community."), field="series")
    if event.project_id is not None:
        project = Project.objects.filter(pk=event.project_id).first()
        if (
            project is None
            or project.community_id != community.pk
            or project.status == Project.Status.CANCELLED
        ):
            raise EventError(
                _("Choose a service project of the event's own community that is not cancelled."),
                field="project",
            )
    if event.kind not in Event.Kind.values:
        raise EventError(_("Choose the kind of event from the list."), field="kind")
    event.title = _text(
        event.title, field="title", max_length=TITLE_MAX, required=True, label=_("Give the event a title.")
    )
    event.description = _text(event.description, field="description", max_length=TEXT_MAX)
    event.place = _text(event.place, field="place", max_length=TITLE_MAX)
    event.risk_notice = _text(event.risk_notice, field="risk_notice", max_length=TEXT_MAX)
    event.starts_at = _moment(event.starts_at, field="starts_at", label=_("Enter when the event starts."))
    event.ends_at = _moment(event.ends_at, field="ends_at", label=_("Enter when the event ends."))
    if event.ends_at <= event.starts_at:
        raise EventError(_("The event must end after it starts."), field="ends_at")
    if event.ends_at - event.starts_at > datetime.timedelta(days=31):
        raise EventError(
            _("An event lasts at most 31 days: make a series of events instead."), field="ends_at"
        )
    if event.signup_deadline is None:
        event.signup_deadline = event.starts_at
    if event.cancellation_cutoff is None:
        event.cancellation_cutoff = event.signup_deadline
    event.signup_deadline = _moment(
        event.signup_deadline, field="signup_deadline", label=_("Enter when sign-up closes.")
    )
    event.cancellation_cutoff = _moment(
        event.cancellation_cutoff,
        field="cancellation_cutoff",
        label=_("Enter until when sign-ups can be cancelled."),
    )
    if event.signup_deadline > event.ends_at:
        raise EventError(_("Sign-up must close before the event ends."), field="signup_deadline")
    if event.cancellation_cutoff > event.starts_at:
        raise EventError(
            _("Cancellations must close before the event starts, so the place can go to someone else."),
            field="cancellation_cutoff",
        )
    event.capacity = _count(
        event.capacity,
        field="capacity",
        minimum=0,
        message=_("Enter how many participants can come: a whole number, 0 when only volunteers sign up."),
    )
    event.is_risky = bool(event.is_risky)
    if event.is_risky and not event.risk_notice:
        raise EventError(
            _("Describe the real risks: volunteers are told about them before they sign up."),
            field="risk_notice",
        )


def _event_data(event: Event) -> dict:
    return {
        "kind": event.kind,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "capacity": event.capacity,
        "is_risky": event.is_risky,
        "series_id": event.series_id,
        "project_id": event.project_id,
        "organizer_id": event.organizer_id,
    }


# --- series, events and volunteer roles ----------------------------------------------------------------


def save_series(*, series: EventSeries, actor: Actor) -> EventSeries:
    """Add or change a community's series of events (staff of the community, or the organiser's API key)."""
    creating = series.pk is None
    community = Area.objects.filter(pk=series.community_id).first() if series.community_id else None
    if community is None or community.level != Area.Level.COMMUNITY:
        raise EventError(_("Choose a community, not a higher-level area."), field="community")
    series.community = community
    if series.organizer_id is None:
        raise EventError(_("Choose the organisation that runs the series."), field="organizer")
    _require_organiser(actor, community, series.organizer)
    series.name = _text(
        series.name, field="name", max_length=100, required=True, label=_("Give the series a name.")
    )
    series.description = _text(series.description, field="description", max_length=TEXT_MAX)
    clash = EventSeries.objects.filter(community=community, name=series.name).exclude(pk=series.pk)
    if clash.exists():
        raise EventError(_("This community already has a series of that name."), field="name")
    with transaction.atomic():
        if not creating:
            old = EventSeries.objects.select_for_update().filter(pk=series.pk).first()
            if old is None:
                raise NotFoundError()
            if old.community_id != community.pk and old.events.exists():
                raise EventError(
                    _("This series has events: it cannot move to another community."), field="community"
                )
        try:
            with transaction.atomic():
                series.save()
        except IntegrityError:
            raise EventError(_("This community already has a series of that name."), field="name") from None
        record_audit(
            actor=actor,
            action=AuditAction.EVENT_SERIES_SAVED,
            obj=series,
            area=community,
            summary=series.name,
            data={"created": creating, "organizer_id": series.organizer_id},
        )
    return series


def save_event(*, event: Event, actor: Actor, roles=None) -> Event:
    """Create or change an event; `roles` [(name, capacity, description), …] adds roles to a new event.

    Staff of its community (or an API key of its organiser serving the community). A smaller capacity
    than the places already taken is refused; a larger one offers the new places to the waiting list.
    """
    creating = event.pk is None
    _check_event(event)
    _require_organiser(actor, event.community, event.organizer)
    checked_roles = [_check_role_fields(*r) for r in roles or ()]
    names = [name for name, _capacity, _description in checked_roles]
    if len(set(names)) != len(names):
        raise EventError(_("Two volunteer roles have the same name."), field="roles")
    with transaction.atomic():
        if creating:
            if event.status == Event.Status.CANCELLED:
                raise EventError(_("A new event is open for sign-up."), field="status")
            event.created_by = actor.user if getattr(actor.user, "is_authenticated", False) else None
            event.save()
            for name, capacity, description in checked_roles:
                VolunteerRole.objects.create(
                    event=event, name=name, capacity=capacity, description=description
                )
            changed = list(EVENT_FIELDS)
        else:
            old = Event.objects.select_for_update().filter(pk=event.pk).first()
            if old is None:
                raise NotFoundError()
            if old.status == Event.Status.CANCELLED:
                raise ConflictError(
                    _("This event was cancelled: it cannot be changed."), code="event_cancelled"
                )
            if old.community_id != event.community_id:
                _require_staff(actor, old.community)
                if old.signups.exists():
                    raise EventError(
                        _("People have signed up: the event cannot move to another community."),
                        field="community",
                    )
            held = _held(old, None)
            if event.capacity < held:
                raise EventError(
                    _("%(held)d places are already taken: the capacity cannot be less.") % {"held": held},
                    field="capacity",
                )
            changed = [f for f in EVENT_FIELDS if getattr(old, _attname(f)) != getattr(event, _attname(f))]
            # The status, insurance and creator are the services' own: a form never overwrites them.
            event.status = old.status
            event.insurance_note, event.insurance_recorded_at = old.insurance_note, old.insurance_recorded_at
            event.save(update_fields=list(EVENT_FIELDS))
            if event.capacity > old.capacity:
                _promote(event, None, actor)
        record_audit(
            actor=actor,
            action=AuditAction.EVENT_CREATED if creating else AuditAction.EVENT_CHANGED,
            obj=event,
            area=event.community,
            summary=f"{event.get_kind_display()}: {event.title}",
            data={**_event_data(event), "changed": changed, "roles": names},
        )
    return event


def _attname(field: str) -> str:
    return Event._meta.get_field(field).attname


def create_event(*, actor: Actor, roles=(), **fields) -> Event:
    """Create an event from keyword fields (those in EVENT_FIELDS); see save_event."""
    unknown = set(fields) - set(EVENT_FIELDS)
    if unknown:
        raise TypeError(f"create_event() got unexpected fields {sorted(unknown)}")
    fields.setdefault("signup_deadline", None)
    fields.setdefault("cancellation_cutoff", None)
    return save_event(event=Event(**fields), actor=actor, roles=roles)


def cancel_event(*, event: Event, reason: str, actor: Actor) -> Event:
    """Cancel an event: every open sign-up is cancelled and its person told. Staff of its community."""
    _require_organiser(actor, event.community, event.organizer)
    reason = _text(
        reason,
        field="reason",
        max_length=NOTE_MAX,
        required=True,
        label=_("Say why the event is cancelled: the people who signed up are told."),
    )
    now = timezone.now()
    with transaction.atomic():
        locked = Event.objects.select_for_update().get(pk=event.pk)
        if locked.status == Event.Status.CANCELLED:
            raise ConflictError(_("This event is already cancelled."), code="event_cancelled")
        if locked.ends_at <= now:
            raise ConflictError(_("This event is over: it cannot be cancelled."), code="event_over")
        Event.objects.filter(pk=locked.pk).update(status=Event.Status.CANCELLED)
        open_signups = list(
            Signup.objects.filter(event=locked, status__in=Signup.ACTIVE).select_related("person")
        )
        Signup.objects.filter(pk__in=[s.pk for s in open_signups]).update(
            status=STATUS.CANCELLED, cancelled_at=now, offer_expires_at=None
        )
        record_audit(
            actor=actor,
            action=AuditAction.EVENT_CANCELLED,
            obj=locked,
            area=locked.community,
            summary=locked.title,
            data={"reason": reason, "signups_cancelled": len(open_signups)},
        )
        for signup in open_signups:
            notify(
                person=signup.person,
                kind=NotificationKind.EVENT_CANCELLED,
                text=_("The event %(title)s on %(date)s was cancelled.")
                % {"title": locked.title, "date": _local_date(locked.starts_at)},
                url=reverse("volunteers:my_signups"),
                actor=actor,
                key=f"event:{locked.pk}:cancelled",
            )
    event.status = Event.Status.CANCELLED
    return event


def record_insurance(*, event: Event, note: str, actor: Actor) -> Event:
    """Record a risky event's accident insurance (insurer, policy number): volunteers may then sign up."""
    _require_staff(actor, event.community)
    note = _text(
        note,
        field="insurance_note",
        max_length=NOTE_MAX,
        required=True,
        label=_("Enter the insurer and the policy number of the accident insurance."),
    )
    now = timezone.now()
    with transaction.atomic():
        locked = Event.objects.select_for_update().get(pk=event.pk)
        if locked.status == Event.Status.CANCELLED:
            raise ConflictError(_("This event was cancelled: it cannot be changed."), code="event_cancelled")
        Event.objects.filter(pk=locked.pk).update(insurance_note=note, insurance_recorded_at=now)
        record_audit(
            actor=actor,
            action=AuditAction.EVENT_INSURANCE_RECORDED,
            obj=locked,
            area=locked.community,
            summary=locked.title,
            data={"note": note},
        )
    event.insurance_note, event.insurance_recorded_at = note, now
    return event


def _check_role_fields(name, capacity, description="") -> tuple[str, int, str]:
    name = _text(name, field="name", max_length=100, required=True, label=_("Name the volunteer role."))
    capacity = _count(
        capacity,
        field="capacity",
        minimum=1,
        message=_("Enter how many volunteers this role takes: a whole number, at least 1."),
    )
    description = _text(description, field="description", max_length=NOTE_MAX)
    return name, capacity, description


def save_role(*, role: VolunteerRole, actor: Actor) -> VolunteerRole:
    """Add or change a volunteer role of an event. Fewer places than taken is refused; more are offered."""
    creating = role.pk is None
    event = Event.objects.filter(pk=role.event_id).select_related("community").first()
    if event is None:
        raise EventError(_("Choose the event."), field="event")
    _require_organiser(actor, event.community, event.organizer)
    role.name, role.capacity, role.description = _check_role_fields(
        role.name, role.capacity, role.description
    )
    with transaction.atomic():
        locked = Event.objects.select_for_update().get(pk=event.pk)
        if locked.status == Event.Status.CANCELLED:
            raise ConflictError(_("This event was cancelled: it cannot be changed."), code="event_cancelled")
        old = None
        if not creating:
            old = VolunteerRole.objects.filter(pk=role.pk, event=locked).first()
            if old is None:
                raise NotFoundError()
            held = _held(locked, old)
            if role.capacity < held:
                raise EventError(
                    _("%(held)d places are already taken: the capacity cannot be less.") % {"held": held},
                    field="capacity",
                )
        if VolunteerRole.objects.filter(event=locked, name=role.name).exclude(pk=role.pk).exists():
            raise EventError(_("This event already has a role of that name."), field="name")
        role.save()
        if old is not None and role.capacity > old.capacity:
            _promote(locked, role, actor)
        record_audit(
            actor=actor,
            action=AuditAction.VOLUNTEER_ROLE_SAVED,
            obj=role,
            area=locked.community,
            summary=f"{locked.title} · {role.name}",
            data={"event_id": locked.pk, "capacity": role.capacity, "created": creating},
        )
    return role


def remove_role(*, role: VolunteerRole, actor: Actor) -> None:
    """Remove a volunteer role nobody has signed up for."""
    event = role.event
    _require_organiser(actor, event.community, event.organizer)
    with transaction.atomic():
        Event.objects.select_for_update().get(pk=event.pk)
        if Signup.objects.filter(role=role).exists():
            raise ConflictError(
                _("Volunteers have signed up for this role: it cannot be removed."), code="role_in_use"
            )
        record_audit(
            actor=actor,
            action=AuditAction.VOLUNTEER_ROLE_REMOVED,
            obj=role,
            area=event.community,
            summary=f"{event.title} · {role.name}",
            data={"event_id": event.pk},
        )
        role.delete()


# --- places --------------------------------------------------------------------------------------------


def _slot(event: Event, role: VolunteerRole | None):
    return Signup.objects.filter(event=event, role=role)


def _held(event: Event, role: VolunteerRole | None) -> int:
    return _slot(event, role).filter(status__in=HOLDING).count()


def _capacity(event: Event, role: VolunteerRole | None) -> int:
    return role.capacity if role is not None else event.capacity


def _local_date(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _offer_window_end(event: Event, now: datetime.datetime) -> datetime.datetime:
    return min(now + datetime.timedelta(hours=settings.SIGNUP_OFFER_HOURS), event.starts_at)


def _promote(
    event: Event, role: VolunteerRole | None, actor: Actor, now: datetime.datetime | None = None
) -> int:
    """Offer the free places of a slot to the first waiting people, in arrival order; tell each one.

    The caller holds the Event row lock. Nothing is offered once the event has started or if it is
    cancelled. Returns how many were offered.
    """
    now = now or timezone.now()
    if event.status == Event.Status.CANCELLED or event.starts_at <= now:
        return 0
    free = _capacity(event, role) - _held(event, role)
    if free <= 0:
        return 0
    offered = 0
    expires = _offer_window_end(event, now)
    for signup in (
        _slot(event, role).filter(status=STATUS.WAITING).select_related("person").order_by("pk")[:free]
    ):
        if not Signup.objects.filter(pk=signup.pk, status=STATUS.WAITING).update(
            status=STATUS.OFFERED, offer_expires_at=expires
        ):
            continue
        record_audit(
            actor=actor,
            action=AuditAction.SIGNUP_OFFERED,
            obj=signup,
            area=event.community,
            summary=f"{event.title} · {signup.person.name}",
            data={"event_id": event.pk, "role_id": signup.role_id, "offer_expires_at": expires.isoformat()},
        )
        notify(
            person=signup.person,
            kind=NotificationKind.EVENT_PLACE_OFFERED,
            text=_(
                "A place at %(title)s opened up for you. Confirm it by %(until)s, or it goes to the next "
                "person waiting."
            )
            % {"title": event.title, "until": _local_date(expires)},
            url=reverse("volunteers:my_signups"),
            actor=actor,
            key=f"signup:{signup.pk}:offered",
        )
        offered += 1
    return offered


# --- signing up ----------------------------------------------------------------------------------------


def _volunteer_age(volunteer: Volunteer, on: datetime.date) -> int:
    from .registration import volunteer_age

    return volunteer_age(volunteer, on=on)


def _check_participant(age, guardian_name: str) -> int | None:
    if age is None or age == "":
        return None
    if isinstance(age, bool):
        raise EventError(_("Enter the participant's age in whole years."), field="participant_age")
    try:
        age = int(str(age).strip())
    except (TypeError, ValueError):
        raise EventError(_("Enter the participant's age in whole years."), field="participant_age") from None
    if not 0 <= age <= 130:
        raise EventError(_("Enter the participant's age in whole years."), field="participant_age")
    if age < settings.VOLUNTEER_MIN_AGE:
        raise EventError(
            _("Children under %(age)d cannot sign up for events.") % {"age": settings.VOLUNTEER_MIN_AGE},
            code="too_young",
            field="participant_age",
        )
    if age < settings.VOLUNTEER_GUARDIAN_CONSENT_AGE and not guardian_name:
        raise EventError(
            _("A participant under %(age)d signs up with a parent or guardian: enter the guardian's name.")
            % {"age": settings.VOLUNTEER_GUARDIAN_CONSENT_AGE},
            code="guardian_needed",
            field="guardian_name",
        )
    return age


def _check_volunteer(person: Person, event: Event, guardian_name: str) -> Volunteer:
    volunteer = Volunteer.objects.filter(person=person).first()
    if volunteer is None or volunteer.status != Volunteer.Status.ACTIVE:
        raise EventError(
            _(
                "Only registered, active volunteers sign up for a volunteer role. "
                "Register as a volunteer first."
            ),
            code="not_a_volunteer",
            field="role",
        )
    age = _volunteer_age(volunteer, timezone.localtime(event.starts_at).date())
    if age < settings.VOLUNTEER_MIN_AGE:
        raise EventError(
            _("Volunteers under %(age)d cannot take a volunteer role.") % {"age": settings.VOLUNTEER_MIN_AGE},
            code="too_young",
            field="role",
        )
    if age < settings.VOLUNTEER_GUARDIAN_CONSENT_AGE and volunteer.guardian_consent_at is None:
        raise EventError(
            _("A volunteer under %(age)d needs a guardian's consent on their registration first.")
            % {"age": settings.VOLUNTEER_GUARDIAN_CONSENT_AGE},
            code="guardian_needed",
            field="role",
        )
    if age < settings.VOLUNTEER_ACCOMPANIED_AGE and not guardian_name:
        raise EventError(
            _(
                "A volunteer under %(age)d serves accompanied by a guardian: "
                "enter the name of the guardian who comes along."
            )
            % {"age": settings.VOLUNTEER_ACCOMPANIED_AGE},
            code="guardian_needed",
            field="guardian_name",
        )
    return volunteer


def _require_may_sign_up(actor: Actor, person: Person, event: Event) -> None:
    """The person themselves, staff of the event's community, or an API key serving both communities."""
    if actor.organization is not None:
        if not (_key_serves(actor, event.community) and _key_serves(actor, person.community)):
            raise NotFoundError()
        return
    acting = _person_of(actor)
    if (acting is not None and acting.pk == person.pk) or is_event_staff(actor, event.community):
        return
    if acting is not None:
        raise ForbiddenError(_("You can sign up only yourself."))
    _require_staff(actor, event.community)


def sign_up(
    *,
    event: Event,
    person: Person,
    role: VolunteerRole | None = None,
    participant_age=None,
    guardian_name: str = "",
    actor: Actor,
) -> Signup:
    """Sign `person` up for `event` as a participant (`role` None) or in a volunteer role.

    A free place gives a confirmed sign-up; a full slot a waiting place, in arrival order. Refused (nothing
    written): twice, after sign-up closes, a cancelled event, a volunteer role without being an active
    registered volunteer or before a risky event's insurance is recorded, a child under VOLUNTEER_MIN_AGE,
    a minor without a guardian. Raises EventError, ConflictError, NotFound, Forbidden.
    """
    _require_may_sign_up(actor, person, event)
    guardian_name = _text(guardian_name, field="guardian_name", max_length=50)
    volunteer = None
    if role is not None:
        if role.event_id != event.pk:
            raise EventError(_("Choose one of this event's volunteer roles."), field="role")
        volunteer = _check_volunteer(person, event, guardian_name)
        age = None
    else:
        age = _check_participant(participant_age, guardian_name)
    with transaction.atomic():
        locked = Event.objects.select_for_update().select_related("community").get(pk=event.pk)
        if locked.status == Event.Status.CANCELLED:
            raise ConflictError(_("This event was cancelled."), code="event_cancelled")
        if timezone.now() > locked.signup_deadline:
            raise ConflictError(
                _("Sign-up for this event closed on %(when)s.")
                % {"when": _local_date(locked.signup_deadline)},
                code="signup_closed",
            )
        if role is not None:
            role = VolunteerRole.objects.filter(pk=role.pk, event=locked).first()
            if role is None:
                raise EventError(_("Choose one of this event's volunteer roles."), field="role")
            if locked.is_risky and locked.insurance_recorded_at is None:
                raise ConflictError(
                    _(
                        "This event involves real risks: volunteers can sign up once the organiser has "
                        "recorded the accident insurance."
                    ),
                    code="insurance_missing",
                )
        elif locked.capacity == 0:
            raise ConflictError(
                _("This event takes volunteers only: choose a volunteer role."), code="volunteers_only"
            )
        if Signup.objects.filter(event=locked, person=person, status__in=Signup.ACTIVE).exists():
            raise ConflictError(_("You have already signed up for this event."), code="already_signed_up")
        waiting = _slot(locked, role).filter(status=STATUS.WAITING).exists()
        full = _held(locked, role) >= _capacity(locked, role)
        status = STATUS.WAITING if (full or waiting) else STATUS.CONFIRMED
        try:
            with transaction.atomic():
                signup = Signup.objects.create(
                    event=locked,
                    person=person,
                    role=role,
                    volunteer=volunteer,
                    status=status,
                    participant_age=age,
                    guardian_name=guardian_name,
                )
        except IntegrityError:
            raise ConflictError(
                _("You have already signed up for this event."), code="already_signed_up"
            ) from None
        record_audit(
            actor=actor,
            action=AuditAction.SIGNUP_CREATED,
            obj=signup,
            area=locked.community,
            summary=f"{locked.title} · {person.name}",
            data={
                "event_id": locked.pk,
                "person_id": person.pk,
                "role_id": role.pk if role else None,
                "status": status,
            },
        )
    return signup


def _require_own_or_staff(actor: Actor, signup: Signup) -> bool:
    """The signed-up person themselves (returns False) or staff of the event's community (returns True)."""
    acting = _person_of(actor)
    if acting is not None and acting.pk == signup.person_id:
        return is_event_staff(actor, signup.event.community)
    if actor.organization is not None and _key_serves(actor, signup.event.community):
        return True
    _require_staff(actor, signup.event.community)
    return True


def cancel_signup(*, signup: Signup, actor: Actor) -> Signup:
    """Cancel a sign-up (the person until the cancellation cut-off; staff until the event ends).

    A place it held goes to the first person waiting (offered, told, with a window to confirm).
    """
    staff = _require_own_or_staff(actor, signup)
    now = timezone.now()
    with transaction.atomic():
        event = Event.objects.select_for_update().select_related("community").get(pk=signup.event_id)
        current = Signup.objects.select_related("role", "person").filter(pk=signup.pk).first()
        if current is None or current.status not in Signup.ACTIVE:
            raise ConflictError(_("This sign-up is no longer open."), code="not_open")
        if current.checked_in_at is not None:
            raise ConflictError(_("This person has already checked in."), code="checked_in")
        if not staff and now > event.cancellation_cutoff:
            raise ConflictError(
                _("Cancellations closed on %(when)s: please tell the organiser you cannot come.")
                % {"when": _local_date(event.cancellation_cutoff)},
                code="cancellation_closed",
            )
        if staff and now > event.ends_at:
            raise ConflictError(_("This event is over."), code="event_over")
        Signup.objects.filter(pk=current.pk).update(
            status=STATUS.CANCELLED, cancelled_at=now, offer_expires_at=None
        )
        record_audit(
            actor=actor,
            action=AuditAction.SIGNUP_CANCELLED,
            obj=current,
            area=event.community,
            summary=f"{event.title} · {current.person.name}",
            data={"event_id": event.pk, "role_id": current.role_id, "was": current.status},
        )
        if current.status in HOLDING:
            _promote(event, current.role, actor, now)
    signup.status, signup.cancelled_at, signup.offer_expires_at = STATUS.CANCELLED, now, None
    return signup


def confirm_offer(*, signup: Signup, actor: Actor) -> Signup:
    """Take a place offered from the waiting list, before the offer expires."""
    _require_own_or_staff(actor, signup)
    now = timezone.now()
    with transaction.atomic():
        event = Event.objects.select_for_update().select_related("community").get(pk=signup.event_id)
        current = Signup.objects.select_related("person").filter(pk=signup.pk).first()
        if current is None or current.status != STATUS.OFFERED:
            raise ConflictError(_("No place is offered to you on this sign-up."), code="not_offered")
        if event.status == Event.Status.CANCELLED:
            raise ConflictError(_("This event was cancelled."), code="event_cancelled")
        if current.offer_expires_at is None or current.offer_expires_at <= now:
            raise ConflictError(
                _("The offer expired and the place went to the next person waiting."), code="offer_expired"
            )
        Signup.objects.filter(pk=current.pk, status=STATUS.OFFERED).update(
            status=STATUS.CONFIRMED, offer_expires_at=None
        )
        record_audit(
            actor=actor,
            action=AuditAction.SIGNUP_CONFIRMED,
            obj=current,
            area=event.community,
            summary=f"{event.title} · {current.person.name}",
            data={"event_id": event.pk, "role_id": current.role_id},
        )
    signup.status, signup.offer_expires_at = STATUS.CONFIRMED, None
    return signup


def expire_offers(*, now: datetime.datetime | None = None, actor: Actor | None = None) -> int:
    """Lapse offers not confirmed in time and offer each place to the next in line. Returns how many lapsed.

    Idempotent: each offer lapses once (compare-and-set on the status) and each new offer's notice carries
    a key, so a second run (or a retried task) changes and tells nothing.
    """
    now = now or timezone.now()
    actor = actor or Actor.system(surface=AuditEvent.Surface.TASK)
    lapsed = 0
    due = (
        Signup.objects.filter(status=STATUS.OFFERED, offer_expires_at__lte=now)
        .order_by("event_id", "pk")
        .values_list("event_id", flat=True)
        .distinct()
    )
    for event_id in list(due):
        with transaction.atomic():
            event = Event.objects.select_for_update().select_related("community").get(pk=event_id)
            rows = list(
                Signup.objects.filter(event=event, status=STATUS.OFFERED, offer_expires_at__lte=now)
                .select_related("person", "role")
                .order_by("pk")
            )
            slots = {}
            for signup in rows:
                if not Signup.objects.filter(pk=signup.pk, status=STATUS.OFFERED).update(
                    status=STATUS.LAPSED, offer_expires_at=None
                ):
                    continue
                record_audit(
                    actor=actor,
                    action=AuditAction.SIGNUP_LAPSED,
                    obj=signup,
                    area=event.community,
                    summary=f"{event.title} · {signup.person.name}",
                    data={"event_id": event.pk, "role_id": signup.role_id},
                )
                slots[signup.role_id] = signup.role
                lapsed += 1
            for role in slots.values():
                _promote(event, role, actor, now)
    return lapsed


# --- check-in and check-out ----------------------------------------------------------------------------


def _check_moment(at, *, now: datetime.datetime, field: str) -> datetime.datetime:
    if at is None:
        return now
    at = _moment(at, field=field, label=_("Enter a date and time."))
    if at > now:
        raise EventError(_("The time cannot be in the future."), field=field)
    return at


def _do_check_in(*, signup: Signup, actor: Actor, method: str, at=None) -> Signup:
    now = timezone.now()
    at = _check_moment(at, now=now, field="checked_in_at")
    with transaction.atomic():
        current = (
            # Only the sign-up's row is locked (PostgreSQL locks no row of an outer join's nullable side).
            Signup.objects.select_for_update(of=("self",))
            .select_related("event__community", "person")
            .filter(pk=signup.pk)
            .first()
        )
        if current is None:
            raise NotFoundError()
        event = current.event
        if event.status == Event.Status.CANCELLED:
            raise ConflictError(_("This event was cancelled."), code="event_cancelled")
        if current.status != STATUS.CONFIRMED:
            messages = {
                STATUS.WAITING: _("This person is on the waiting list, not signed up with a place."),
                STATUS.OFFERED: _("This person was offered a place but has not confirmed it yet."),
            }
            raise ConflictError(
                messages.get(current.status, _("This person is not signed up for this event.")),
                code="not_signed_up",
            )
        if current.checked_in_at is not None:
            raise ConflictError(
                _("Already checked in at %(when)s.") % {"when": _local_date(current.checked_in_at)},
                code="already_checked_in",
            )
        if at < event.starts_at - CHECK_IN_OPENS:
            raise ConflictError(
                _("Check-in opens %(hours)d hours before the event starts (%(when)s).")
                % {"hours": CHECK_IN_OPENS.seconds // 3600, "when": _local_date(event.starts_at)},
                code="check_in_not_open",
            )
        if at > event.ends_at:
            raise ConflictError(_("The event is over: enter the time the person arrived."), code="event_over")
        Signup.objects.filter(pk=current.pk, checked_in_at__isnull=True).update(
            checked_in_at=at, check_in_method=method
        )
        record_audit(
            actor=actor,
            action=AuditAction.CHECKED_IN,
            obj=current,
            area=event.community,
            summary=f"{event.title} · {current.person.name}",
            data={"event_id": event.pk, "method": method, "at": at.isoformat()},
        )
    signup.checked_in_at, signup.check_in_method = at, method
    return signup


def check_in(*, signup: Signup, actor: Actor, method: str = Signup.CheckInMethod.STAFF, at=None) -> Signup:
    """Check a signed-up person in at the desk (staff of the event's community); `at` corrects the time."""
    if method not in Signup.CheckInMethod.values:
        raise EventError(_("Choose how the person checked in."), field="method")
    _require_staff(actor, signup.event.community)
    return _do_check_in(signup=signup, actor=actor, method=method, at=at)


def check_out(*, signup: Signup, actor: Actor, at=None) -> Signup:
    """Check a person out (staff); a volunteer's check-out records their hours for the organiser to confirm.

    The hours (`hours.record_from_signup`) are recorded in the same transaction; if they are refused (e.g.
    less than a quarter of an hour), the check-out still stands and `signup.hours_error` says why, so
    the organiser enters the hours by hand.
    """
    _require_staff(actor, signup.event.community)
    now = timezone.now()
    at = _check_moment(at, now=now, field="checked_out_at")
    signup.hours_error = None
    with transaction.atomic():
        current = (
            Signup.objects.select_for_update(of=("self",))
            .select_related("event__community", "event__organizer", "person", "volunteer", "role")
            .filter(pk=signup.pk)
            .first()
        )
        if current is None:
            raise NotFoundError()
        if current.checked_in_at is None:
            raise ConflictError(_("This person has not checked in."), code="not_checked_in")
        if current.checked_out_at is not None:
            raise ConflictError(
                _("Already checked out at %(when)s.") % {"when": _local_date(current.checked_out_at)},
                code="already_checked_out",
            )
        if at <= current.checked_in_at:
            raise EventError(_("The check-out time must be after the check-in time."), field="checked_out_at")
        Signup.objects.filter(pk=current.pk, checked_out_at__isnull=True).update(checked_out_at=at)
        current.checked_out_at = at
        record_audit(
            actor=actor,
            action=AuditAction.CHECKED_OUT,
            obj=current,
            area=current.event.community,
            summary=f"{current.event.title} · {current.person.name}",
            data={"event_id": current.event_id, "at": at.isoformat()},
        )
        if current.role_id is not None:
            from .hours import record_from_signup

            try:
                with transaction.atomic():
                    signup.service_record = record_from_signup(signup=current, actor=actor)
            except DomainError as error:
                signup.hours_error = error.message
    signup.checked_out_at = at
    return signup


def self_check_in(*, token, person: Person, actor: Actor) -> Signup:
    """Check `person` in by the event's scanned QR code (qr.py): a signed-up, logged-in person only.

    An expired or forged code, or a person not signed up, is refused with a clear message.
    """
    acting = _person_of(actor)
    if acting is None or acting.pk != person.pk:
        raise ForbiddenError(_("Log in to check in."))
    event_id = qr.read_token(token)
    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        raise qr.TokenError(_("This check-in code is not valid. Scan the code on the event's poster again."))
    signup = Signup.objects.filter(event=event, person=person, status__in=Signup.ACTIVE).first()
    if signup is None:
        raise ConflictError(_("You are not signed up for this event."), code="not_signed_up")
    if signup.status == STATUS.WAITING:
        raise ConflictError(
            _("You are on the waiting list for this event, without a place: please ask at the desk."),
            code="not_signed_up",
        )
    if signup.status == STATUS.OFFERED:
        raise ConflictError(
            _("A place was offered to you: confirm it first, then scan the code again."), code="not_signed_up"
        )
    signup.event = event
    return _do_check_in(signup=signup, actor=actor, method=Signup.CheckInMethod.QR)


# --- reads used by every surface -----------------------------------------------------------------------


def waiting_position(signup: Signup) -> int | None:
    """The person's place in line (1 = next) on a waiting sign-up, else None."""
    if signup.status != STATUS.WAITING:
        return None
    return (
        Signup.objects.filter(
            event_id=signup.event_id, role_id=signup.role_id, status=STATUS.WAITING, pk__lt=signup.pk
        ).count()
        + 1
    )


def with_places(queryset):
    """Events annotated with `taken` (participant places held) and `waiting` (participants waiting)."""
    return queryset.annotate(
        taken=Count("signups", filter=Q(signups__role=None, signups__status__in=HOLDING)),
        waiting=Count("signups", filter=Q(signups__role=None, signups__status=STATUS.WAITING)),
    )


def with_waiting_position(queryset):
    """Sign-ups annotated with `position`: for a waiting one, its place in line (1 = next), in one query."""
    from django.db.models import IntegerField, OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce

    ahead = (
        Signup.objects.annotate(slot=Coalesce("role_id", Value(0)))
        .filter(
            event_id=OuterRef("event_id"),
            slot=OuterRef("slot"),
            status=STATUS.WAITING,
            pk__lt=OuterRef("pk"),
        )
        .order_by()
        .values("event_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return queryset.annotate(slot=Coalesce("role_id", Value(0))).annotate(
        position=Coalesce(Subquery(ahead, output_field=IntegerField()), Value(0)) + 1
    )
