"""Service hours (志愿服务记录) and certificates (志愿服务证明).

"Whoever organises records, whoever records certifies": a record names its organiser; staff of the record's
community (or the organiser's own API key) confirm or reject it, and only confirmed hours count anywhere.
Hours are actual service time in quarter hours: more than 0, at most 24 on one calendar day (the local date
its service started, Asia/Shanghai) across the volunteer's records that are not rejected, never overlapping
another such record, never in the future. The Volunteer row is locked while a record is checked and written,
so two concurrent entries for one volunteer cannot overlap.

A certificate lists confirmed records of one volunteer organised by its issuer, none already on a
certificate that is not revoked (revoking frees them); it is numbered in its issuer's register (`sequence`)
and carries a number with a random check code, so one number tells nothing about another. The rules are in
docs/service-hours.md.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Max, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from charity import crypto
from charity.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from charity.models import Area, AuditAction, NotificationKind, Organization, Person, StaffAssignment
from charity.notifications import notify
from charity.scoping import scope_for_organization
from charity.services import Actor, is_staff_for, is_system, record_audit, require_staff
from charity.validators import clean_text

from ..models import NOTE_MAX, TITLE_MAX, Certificate, Event, ServiceRecord, Signup, Volunteer
from .registration import masked_id_number, may_see_id_numbers

__all__ = [
    "HoursError",
    "record_from_signup",
    "record_service",
    "confirm_record",
    "reject_record",
    "confirm_event_records",
    "issue_certificate",
    "revoke_certificate",
    "certificate_identity",
    "confirmed_minutes",
    "normalize_certificate_number",
    "may_decide_record",
]

ROLE = StaffAssignment.Role
STATUS = ServiceRecord.Status
SOURCE = ServiceRecord.Source
QUARTER = 15
DAY_MINUTES = 24 * 60
# Certificate numbers: YEAR-ISSUER-SEQUENCE-CHECK. The check code alternates letters and digits (K7Q9M2X4)
# without look-alikes (no 0/O, 1/I/L): easy to read out, never a word, (23 × 8)⁴ ≈ 1.1 billion codes.
CHECK_LETTERS = "ABCDEFGHJKMNPQRSTUVWXYZ"
CHECK_DIGITS = "23456789"
CHECK_PAIRS = 4


class HoursError(DomainError):
    code = "invalid_hours"


# --- who may act ---------------------------------------------------------------------------------------


def _person_of(actor: Actor) -> Person | None:
    user = actor.user
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Person.objects.filter(user=user).first()


def _key_may_act(actor: Actor, area: Area, organizer_id: int | None) -> bool:
    """An organisation's API key acts for itself as organiser, in the areas it serves."""
    org = actor.organization
    return org is not None and org.pk == organizer_id and scope_for_organization(org).contains(area)


def may_decide_record(actor: Actor, record: ServiceRecord) -> bool:
    """Staff of the record's community, or the organiser's own API key, confirm or reject it."""
    return is_staff_for(actor, record.community) or _key_may_act(actor, record.community, record.organizer_id)


def _require_decider(actor: Actor, record: ServiceRecord) -> None:
    if may_decide_record(actor, record):
        return
    require_staff(actor, record.community)


# --- checking input ------------------------------------------------------------------------------------


def _text(value, *, field: str, max_length: int, label) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise HoursError(_("Enter text here."), field=field)
    value = clean_text(value)
    if not value:
        raise HoursError(label, field=field)
    if len(value) > max_length:
        raise HoursError(
            _("At most %(max)d characters are allowed here (you entered %(count)d).")
            % {"max": max_length, "count": len(value)},
            field=field,
        )
    return value


def _moment(value, *, field: str) -> datetime.datetime:
    if not isinstance(value, datetime.datetime):
        raise HoursError(_("Enter a date and time."), field=field)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def local_date(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment).date()


def _day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    return start, start + datetime.timedelta(days=1)


def _quarters(delta: datetime.timedelta) -> int:
    """Whole quarter hours in `delta`, in minutes."""
    return int(delta.total_seconds() // 60) // QUARTER * QUARTER


def format_hours(minutes: int) -> str:
    """Hours for people: 2.75, 3, 0.5 (quarter hours never need more than two decimals)."""
    whole, rest = divmod(int(minutes), 60)
    if not rest:
        return str(whole)
    return f"{minutes / 60:.2f}".rstrip("0")


def _minutes(value, *, span: datetime.timedelta) -> int:
    if value is None or value == "":
        minutes = _quarters(span)
        if minutes < QUARTER:
            raise HoursError(
                _("Less than a quarter of an hour between start and end: there are no hours to record."),
                code="hours_zero",
                field="minutes",
            )
        return min(minutes, DAY_MINUTES)
    if isinstance(value, bool):
        raise HoursError(_("Enter the minutes served as a whole number."), field="minutes")
    if not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except (TypeError, ValueError):
            raise HoursError(_("Enter the minutes served as a whole number."), field="minutes") from None
    if value <= 0:
        raise HoursError(_("Service hours must be more than 0."), code="hours_zero", field="minutes")
    if value % QUARTER:
        raise HoursError(
            _("Service hours are recorded in quarter hours (15, 30, 45 or 60 minutes…)."),
            code="hours_quarter",
            field="minutes",
        )
    if value > DAY_MINUTES:
        raise HoursError(
            _("At most 24 hours of service can be recorded for one day."),
            code="hours_day_limit",
            field="minutes",
        )
    if value > span.total_seconds() // 60:
        raise HoursError(
            _("The hours served cannot be more than the time between start and end."),
            code="hours_longer_than_span",
            field="minutes",
        )
    return value


def _check_hours(
    *,
    volunteer: Volunteer,
    started_at: datetime.datetime,
    ended_at: datetime.datetime,
    minutes: int,
    exclude_pk: int | None = None,
) -> None:
    """Future, overlap and the daily limit, against the volunteer's records that are not rejected.

    Call inside the transaction that locked the Volunteer row.
    """
    now = timezone.now()
    if started_at > now or ended_at > now:
        raise HoursError(
            _("Service hours cannot be in the future: record them after the service."),
            code="hours_future",
            field="ended_at",
        )
    others = ServiceRecord.objects.filter(volunteer=volunteer).exclude(status=STATUS.REJECTED)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    clash = others.filter(started_at__lt=ended_at, ended_at__gt=started_at).order_by("started_at").first()
    if clash is not None:
        start = timezone.localtime(clash.started_at)
        end = timezone.localtime(clash.ended_at)
        raise ConflictError(
            _(
                "These hours overlap hours already recorded for this volunteer (%(start)s–%(end)s, "
                "“%(content)s”)."
            )
            % {"start": f"{start:%Y-%m-%d %H:%M}", "end": f"{end:%H:%M}", "content": clash.content},
            code="hours_overlap",
            field="started_at",
        )
    day_start, day_end = _day_bounds(local_date(started_at))
    already = (
        others.filter(started_at__gte=day_start, started_at__lt=day_end).aggregate(t=Sum("minutes"))["t"] or 0
    )
    if already + minutes > DAY_MINUTES:
        raise HoursError(
            _("At most 24 hours of service can be recorded for one day: %(day)s already has %(hours)s hours.")
            % {"day": f"{day_start:%Y-%m-%d}", "hours": format_hours(already)},
            code="hours_day_limit",
            field="minutes",
        )


def _lock_volunteer(volunteer: Volunteer) -> Volunteer:
    return Volunteer.objects.select_for_update().get(pk=volunteer.pk)


def _audit_record(record: ServiceRecord, actor: Actor, action: str, **data) -> None:
    record_audit(
        actor=actor,
        action=action,
        obj=record,
        area=record.community,
        summary=f"{record.volunteer.number}: {format_hours(record.minutes)} h · {record.content}"[:300],
        data={"minutes": record.minutes, "status": record.status, "source": record.source, **data},
    )


# --- recording hours -----------------------------------------------------------------------------------


def record_from_signup(*, signup: Signup, actor: Actor) -> ServiceRecord | None:
    """The record of a volunteer sign-up checked in and out: whole quarter hours, waiting for the organiser.

    A second call returns the record already made. Returns None when less than a quarter of an hour was
    served (nothing to certify). The caller (check-out) has checked who may act.
    """
    existing = ServiceRecord.objects.filter(signup=signup).first()
    if existing is not None:
        return existing
    if signup.volunteer_id is None:
        raise HoursError(_("Only a volunteer's sign-up gives service hours."), code="not_volunteer")
    if signup.checked_in_at is None or signup.checked_out_at is None:
        raise HoursError(
            _("Service hours come from check-in and check-out: this sign-up has not been checked out."),
            code="not_checked_out",
        )
    span = signup.checked_out_at - signup.checked_in_at
    minutes = min(_quarters(span), DAY_MINUTES)
    if minutes < QUARTER:
        return None
    event = signup.event
    with transaction.atomic():
        volunteer = _lock_volunteer(signup.volunteer)
        existing = ServiceRecord.objects.filter(signup=signup).first()
        if existing is not None:
            return existing
        _check_hours(
            volunteer=volunteer,
            started_at=signup.checked_in_at,
            ended_at=signup.checked_out_at,
            minutes=minutes,
        )
        content = event.title if signup.role is None else f"{event.title} · {signup.role.name}"
        record = ServiceRecord.objects.create(
            volunteer=volunteer,
            event=event,
            signup=signup,
            organizer_id=event.organizer_id,
            community_id=event.community_id,
            content=content[:TITLE_MAX],
            started_at=signup.checked_in_at,
            ended_at=signup.checked_out_at,
            minutes=minutes,
            status=STATUS.SUBMITTED,
            source=SOURCE.CHECK_IN,
            entered_by=actor.user if actor.user is not None and actor.user.is_authenticated else None,
        )
        _audit_record(record, actor, AuditAction.SERVICE_RECORDED)
    return record


def record_service(
    *,
    volunteer: Volunteer,
    organizer: Organization,
    community: Area,
    content: str,
    started_at: datetime.datetime,
    ended_at: datetime.datetime,
    minutes=None,
    event: Event | None = None,
    source: str,
    actor: Actor,
) -> ServiceRecord:
    """Record hours entered by the organiser or reported by the volunteer, waiting for the organiser.

    `minutes` defaults to the whole quarter hours between start and end. The volunteer reports their own
    (source `self_reported`) naming the organiser and community; staff of the community, or the organiser's
    API key, enter the others.
    """
    if source not in SOURCE.values:
        raise HoursError(_("Choose where the hours come from."), field="source")
    if source == SOURCE.CHECK_IN:
        raise HoursError(
            _("Hours from check-in and check-out are recorded when the volunteer is checked out."),
            field="source",
        )
    if event is not None:
        community = event.community
        organizer = organizer or event.organizer
    if not isinstance(community, Area) or community.level != Area.Level.COMMUNITY:
        raise HoursError(_("Choose the community where the service took place."), field="community")
    if not isinstance(organizer, Organization):
        raise HoursError(_("Choose the organiser who certifies the hours."), field="organizer")
    if source == SOURCE.SELF_REPORTED:
        person = _person_of(actor)
        if person is None or person.pk != volunteer.person_id:
            raise ForbiddenError(_("Volunteers report only their own hours."))
    elif not (is_staff_for(actor, community) or _key_may_act(actor, community, organizer.pk)):
        require_staff(actor, community)
    content = _text(content, field="content", max_length=TITLE_MAX, label=_("Say what the service was."))
    started_at = _moment(started_at, field="started_at")
    ended_at = _moment(ended_at, field="ended_at")
    if ended_at <= started_at:
        raise HoursError(_("The service must end after it starts."), code="hours_order", field="ended_at")
    minutes = _minutes(minutes, span=ended_at - started_at)
    with transaction.atomic():
        locked = _lock_volunteer(volunteer)
        if locked.status != Volunteer.Status.ACTIVE:
            raise ConflictError(
                _("This volunteer is not active: hours cannot be recorded."), code="volunteer_inactive"
            )
        _check_hours(volunteer=locked, started_at=started_at, ended_at=ended_at, minutes=minutes)
        record = ServiceRecord.objects.create(
            volunteer=locked,
            event=event,
            organizer=organizer,
            community=community,
            content=content,
            started_at=started_at,
            ended_at=ended_at,
            minutes=minutes,
            status=STATUS.SUBMITTED,
            source=source,
            entered_by=actor.user if actor.user is not None and actor.user.is_authenticated else None,
        )
        _audit_record(record, actor, AuditAction.SERVICE_RECORDED)
    return record


# --- confirming ----------------------------------------------------------------------------------------


def _notify_decision(record: ServiceRecord, actor: Actor) -> None:
    values = {
        "hours": format_hours(record.minutes),
        "date": f"{local_date(record.started_at):%Y-%m-%d}",
        "content": record.content[:60],
    }
    if record.status == STATUS.CONFIRMED:
        text = gettext("Your %(hours)s hours of service on %(date)s (“%(content)s”) were confirmed.") % values
    else:
        text = gettext(
            "Your %(hours)s hours of service on %(date)s (“%(content)s”) were not confirmed: %(reason)s"
        ) % {**values, "reason": record.rejection_reason[:100]}
    notify(
        person=record.volunteer.person,
        kind=NotificationKind.HOURS_DECIDED,
        text=text[:300],
        url=reverse("volunteers:my_hours"),
        actor=actor,
        key=f"service:{record.pk}:{record.status}",
    )


def _decide(record: ServiceRecord, *, status: str, reason: str, actor: Actor) -> ServiceRecord:
    current = (
        ServiceRecord.objects.select_for_update()
        .select_related("volunteer__person", "community")
        .get(pk=record.pk)
    )
    if current.status != STATUS.SUBMITTED:
        raise ConflictError(
            _("These hours were already %(status)s.") % {"status": current.get_status_display()},
            code="already_decided",
            field="status",
        )
    current.status = status
    current.rejection_reason = reason
    current.decided_by = actor.user if actor.user is not None and actor.user.is_authenticated else None
    current.decided_at = timezone.now()
    current.save(update_fields=["status", "rejection_reason", "decided_by", "decided_at"])
    action = AuditAction.SERVICE_CONFIRMED if status == STATUS.CONFIRMED else AuditAction.SERVICE_REJECTED
    _audit_record(current, actor, action, **({"reason": reason} if reason else {}))
    _notify_decision(current, actor)
    return current


def confirm_record(*, record: ServiceRecord, actor: Actor) -> ServiceRecord:
    """The organiser confirms the hours: from now on they count."""
    _require_decider(actor, record)
    with transaction.atomic():
        done = _decide(record, status=STATUS.CONFIRMED, reason="", actor=actor)
    record.status, record.decided_at = done.status, done.decided_at
    return done


def reject_record(*, record: ServiceRecord, reason: str, actor: Actor) -> ServiceRecord:
    """The organiser rejects the hours, saying why (the volunteer is told)."""
    _require_decider(actor, record)
    reason = _text(
        reason,
        field="reason",
        max_length=NOTE_MAX,
        label=_("Say why the hours are rejected: the volunteer is told."),
    )
    with transaction.atomic():
        done = _decide(record, status=STATUS.REJECTED, reason=reason, actor=actor)
    record.status, record.rejection_reason = done.status, done.rejection_reason
    return done


def confirm_event_records(*, event: Event, actor: Actor) -> int:
    """Confirm every record of an event still waiting; returns how many were confirmed."""
    if not (is_staff_for(actor, event.community) or _key_may_act(actor, event.community, event.organizer_id)):
        require_staff(actor, event.community)
    count = 0
    with transaction.atomic():
        waiting = list(
            ServiceRecord.objects.select_for_update()
            .filter(event=event, status=STATUS.SUBMITTED)
            .order_by("id")
        )
        for record in waiting:
            _decide(record, status=STATUS.CONFIRMED, reason="", actor=actor)
            count += 1
    return count


def confirmed_minutes(volunteer: Volunteer) -> int:
    """The volunteer's confirmed minutes: the only hours that count."""
    return (
        ServiceRecord.objects.filter(volunteer=volunteer, status=STATUS.CONFIRMED).aggregate(
            t=Sum("minutes")
        )["t"]
        or 0
    )


# --- certificates --------------------------------------------------------------------------------------


def normalize_certificate_number(value) -> str:
    """What a person typed, as stored: upper case, no spaces; O→0 and I/L→1 never occur in check codes."""
    if not isinstance(value, str):
        return ""
    return "".join(value.split()).upper().replace("—", "-").replace("－", "-")[:40]


def _new_number(issuer: Organization, sequence: int, year: int) -> str:
    check = "".join(secrets.choice(CHECK_LETTERS) + secrets.choice(CHECK_DIGITS) for _ in range(CHECK_PAIRS))
    return f"{year}-{issuer.pk:04d}-{sequence:05d}-{check}"


def _summary_content(records: list[ServiceRecord]) -> str:
    seen: list[str] = []
    for record in records:
        if record.content not in seen:
            seen.append(record.content)
    text = "；".join(seen)
    if len(text) > NOTE_MAX:
        text = text[: NOTE_MAX - 1] + "…"
    return text


def issue_certificate(
    *,
    volunteer: Volunteer,
    issuer: Organization,
    records: Iterable[ServiceRecord],
    person_in_charge: str,
    handler: str,
    contact: str,
    actor: Actor,
) -> Certificate:
    """Certify confirmed records of `volunteer` organised by `issuer`, numbered in the issuer's register.

    Refused: no records, a record not confirmed, of another volunteer or another organiser, or already on a
    certificate that is not revoked. Staff of the volunteer's community issue.
    """
    community = volunteer.person.community
    require_staff(actor, community)
    if not isinstance(issuer, Organization):
        raise HoursError(_("Choose the organisation that issues the certificate."), field="issuer")
    person_in_charge = _text(
        person_in_charge,
        field="person_in_charge",
        max_length=50,
        label=_("Enter the issuer's person in charge."),
    )
    handler = _text(handler, field="handler", max_length=50, label=_("Enter who handled the certificate."))
    contact = _text(contact, field="contact", max_length=100, label=_("Enter the issuer's contact."))
    if actor.user is None:
        raise HoursError(_("A certificate is issued by a person: log in to issue it."), code="no_issuer_user")
    ids = sorted({r.pk if isinstance(r, ServiceRecord) else int(r) for r in records})
    if not ids:
        raise HoursError(
            _("Choose the confirmed service records the certificate covers."),
            code="no_records",
            field="records",
        )
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=issuer.pk).first()
        _lock_volunteer(volunteer)
        chosen = list(
            ServiceRecord.objects.select_for_update().filter(pk__in=ids).order_by("started_at", "id")
        )
        if len(chosen) != len(ids) or any(r.volunteer_id != volunteer.pk for r in chosen):
            raise HoursError(
                _("Some of the chosen records are not this volunteer's."),
                code="wrong_records",
                field="records",
            )
        unconfirmed = [r for r in chosen if r.status != STATUS.CONFIRMED]
        if unconfirmed:
            raise HoursError(
                _("Only confirmed hours can be certified: %(count)d of the chosen records are not confirmed.")
                % {"count": len(unconfirmed)},
                code="unconfirmed_hours",
                field="records",
            )
        if any(r.organizer_id != issuer.pk for r in chosen):
            raise HoursError(
                _(
                    "An organisation certifies only the hours it organised: "
                    "choose records organised by the issuer."
                ),
                code="other_organiser",
                field="records",
            )
        taken = set(
            Certificate.records.through.objects.filter(
                servicerecord_id__in=ids, certificate__revoked_at__isnull=True
            ).values_list("servicerecord_id", flat=True)
        )
        if taken:
            raise ConflictError(
                _("%(count)d of the chosen records are already on a certificate: revoke it first.")
                % {"count": len(taken)},
                code="already_certified",
                field="records",
            )
        sequence = (Certificate.objects.filter(issuer=issuer).aggregate(m=Max("sequence"))["m"] or 0) + 1
        today = timezone.localdate()
        number = _new_number(issuer, sequence, today.year)
        while Certificate.objects.filter(number=number).exists():  # pragma: no cover - 1 in 10⁹
            number = _new_number(issuer, sequence, today.year)
        certificate = Certificate.objects.create(
            issuer=issuer,
            sequence=sequence,
            number=number,
            volunteer=volunteer,
            content=_summary_content(chosen),
            first_date=local_date(chosen[0].started_at),
            last_date=max(local_date(r.started_at) for r in chosen),
            total_minutes=sum(r.minutes for r in chosen),
            person_in_charge=person_in_charge,
            handler=handler,
            contact=contact,
            issued_on=today,
            issued_by=actor.user,
        )
        certificate.records.set(chosen)
        record_audit(
            actor=actor,
            action=AuditAction.CERTIFICATE_ISSUED,
            obj=certificate,
            area=community,
            summary=f"{certificate.number}: {volunteer.number}, {format_hours(certificate.total_minutes)} h",
            data={"records": ids, "minutes": certificate.total_minutes, "issuer": issuer.pk},
        )
        notify(
            person=volunteer.person,
            kind=NotificationKind.CERTIFICATE_ISSUED,
            text=gettext("%(issuer)s issued certificate %(number)s for %(hours)s hours of your service.")
            % {"issuer": issuer.name, "number": number, "hours": format_hours(certificate.total_minutes)},
            url=reverse("volunteers:my_hours"),
            actor=actor,
            key=f"certificate:{certificate.pk}",
        )
    return certificate


def revoke_certificate(*, certificate: Certificate, reason: str, actor: Actor) -> Certificate:
    """Revoke a certificate (its records may be certified again); verification then says it was revoked."""
    community = certificate.volunteer.person.community
    require_staff(actor, community)
    reason = _text(
        reason, field="reason", max_length=NOTE_MAX, label=_("Say why the certificate is revoked.")
    )
    with transaction.atomic():
        current = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if current.revoked_at is not None:
            raise ConflictError(_("This certificate was already revoked."), code="already_revoked")
        current.revoked_at = timezone.now()
        current.revoked_reason = reason
        current.revoked_by = actor.user
        current.save(update_fields=["revoked_at", "revoked_reason", "revoked_by"])
        record_audit(
            actor=actor,
            action=AuditAction.CERTIFICATE_REVOKED,
            obj=current,
            area=community,
            summary=f"{current.number}: {reason}"[:300],
            data={"reason": reason},
        )
    certificate.revoked_at, certificate.revoked_reason = current.revoked_at, current.revoked_reason
    return current


def _clear_id_number(volunteer: Volunteer) -> str:
    if not volunteer.id_ciphertext:
        return ""  # erased at the volunteer's request
    try:
        return crypto.decrypt(volunteer.id_ciphertext)
    except crypto.UnreadableError:
        return ""


def certificate_identity(*, certificate: Certificate, actor: Actor, surface_note: str = "") -> dict:
    """The volunteer block of a printed certificate: name, ID type, ID number, volunteer number.

    The volunteer themselves and staff of the volunteer's community holding
    `volunteers.view_sensitive_volunteer` see the full ID number; other staff of that community see its last
    four characters. Every print is audited (CERTIFICATE_PRINTED). Anyone else: NotFound.
    """
    volunteer = certificate.volunteer
    person = volunteer.person
    community = person.community
    own = _person_of(actor)
    is_self = own is not None and own.pk == person.pk
    if not is_self and (
        actor.user is None or is_system(actor) or not is_staff_for(actor, community, ROLE.VIEWER)
    ):
        raise NotFoundError()
    full = is_self or may_see_id_numbers(actor.user, community)
    shown = _clear_id_number(volunteer) if full else masked_id_number(volunteer)
    record_audit(
        actor=actor,
        action=AuditAction.CERTIFICATE_PRINTED,
        obj=certificate,
        area=community,
        summary=f"{certificate.number}: {volunteer.number}" + (f" ({surface_note})" if surface_note else ""),
        data={"full_id_number": bool(full), "by_volunteer": is_self},
    )
    return {
        "name": person.name,
        "id_type": volunteer.get_id_type_display(),
        "id_number": shown,
        "volunteer_number": volunteer.number,
    }


# Filters used by the surfaces ------------------------------------------------------------------------------

NOT_REJECTED = ~Q(status=STATUS.REJECTED)
