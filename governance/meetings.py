"""Coordination meetings and the action items (督办事项) following their decisions (docs/coordination.md).

A meeting sits at one level of the area tree (city, district, street or community). Staff of that area (or
above it) convene it, keep its agenda, record its decisions and the supervisors' opinions verbatim, write
the minutes, and approve them: approval publishes the redacted `public_minutes` on the portal. Published
minutes are never edited — a correction is refused; it goes on the record of the next meeting, whose
agenda starts with everything still open (the rule chosen for issue 13, documented in docs/coordination.md).

An action item follows a decision: an owner (a person or an organisation), a due date, a status (open → in
progress → done / cancelled) and dated progress notes. The owner organisation's API key reports progress on
the items it owns; staff of the level chasing the item do the rest. The daily task
(`mark_overdue_and_escalate`) marks items overdue and tells their owners once, and passes an item overdue by
ACTION_ITEM_ESCALATE_DAYS one level up — once per level, again after as many more days — where it goes on the
agenda of that level's next planned meeting (or of the next one created there).

Who may act, everywhere: out of sight answers like absent (NotFoundError); a level above the areas one works
in is refused with its own message (`MeetingAboveYourArea`).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
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
from charity.services import Actor, is_staff_for, record_audit, staff_role

from .models import (
    ITEM_TEXT_MAX,
    MEETING_TEXT_MAX,
    MEETING_TITLE_MAX,
    ActionItem,
    ActionProgress,
    AgendaItem,
    Decision,
    Escalation,
    Meeting,
    MeetingOpinion,
)
from .text_checks import IDENTIFIER_CODES, check_text

MS = Meeting.Status
AS = ActionItem.Status
OPEN = tuple(ActionItem.OPEN_STATUSES)
CLOSED = (AS.DONE, AS.CANCELLED)
PLACE_MAX = 200

# The moves a status may make; a closed item (done, cancelled) moves no more.
NEXT_STATUSES = {
    AS.OPEN: {AS.IN_PROGRESS, AS.DONE, AS.CANCELLED},
    AS.IN_PROGRESS: {AS.DONE, AS.CANCELLED},
}


class MeetingError(DomainError):
    code = "invalid_meeting"


class MeetingAboveYourArea(ForbiddenError):
    code = "meeting_above_your_area"


class MinutesPublished(ConflictError):
    code = "minutes_published"
    default_message = _(
        "The minutes of this meeting are published and are never changed afterwards. Put the correction on "
        "the agenda of the next meeting: its minutes will record it."
    )


class MeetingWrongStatus(ConflictError):
    code = "wrong_status"


class ActionItemError(DomainError):
    code = "invalid_action_item"


class ActionItemClosed(ConflictError):
    code = "action_item_closed"


# --- who may act -------------------------------------------------------------------------------------------


def _above_own_areas(actor: Actor, area: Area) -> bool:
    """Whether `area` is an ancestor of an area the actor's user is assigned to (so: above their level)."""
    user = actor.user
    if user is None:
        return False
    paths = StaffAssignment.objects.filter(user=user).values_list("area__path", flat=True)
    return any(path.startswith(area.path) and path != area.path for path in paths)


def _require_staff(actor: Actor, area: Area, *, role: str = StaffAssignment.Role.STAFF) -> None:
    """Staff holding `role` over `area` (or the system). A key is told it needs staff (or, outside the areas
    its organisation serves, that nothing is there); a level above the actor's own is refused by name."""
    if actor.organization is not None:
        if not scope_for_organization(actor.organization).contains(area):
            raise NotFoundError()
        raise ForbiddenError(_("An organisation's API key cannot do this: it needs a member of staff."))
    if is_staff_for(actor, area, role):
        return
    if staff_role(actor, area) is None:
        if _above_own_areas(actor, area):
            raise MeetingAboveYourArea(
                _(
                    "%(area)s (%(level)s) is above the areas you work in: its meetings are convened and "
                    "kept by its own staff, or by staff above it."
                )
                % {"area": area.name, "level": area.get_level_display()},
                field="area",
            )
        raise NotFoundError()
    raise ForbiddenError()


def _require_item_staff(actor: Actor, item: ActionItem) -> None:
    """Staff of the level chasing the item, or above it. Staff of the meeting's level below it see the item
    (it came from their meeting) but are told it is chased higher up now."""
    if is_staff_for(actor, item.area):
        return
    meeting_area = item.decision.meeting.area
    if item.area_id != meeting_area.pk and staff_role(actor, meeting_area) is not None:
        raise ForbiddenError(
            _("This action item was escalated to %(area)s: its staff record its progress now.")
            % {"area": item.area.name}
        )
    _require_staff(actor, item.area)


# --- checks ------------------------------------------------------------------------------------------------


_PUBLISHED_NUMBER = _(
    "This looks like a phone or ID card number, and this text is published: leave it out "
    "(write a date with its characters, e.g. 2026年3月1日)."
)


def _text(value, *, field: str, max_length: int, required_message=None, public: bool = False) -> str:
    """Free text cleaned and measured; published text (`public`) holds no phone or ID number."""
    return check_text(
        value,
        error=MeetingError,
        field=field,
        max_length=max_length,
        required_message=required_message,
        public=public,
        identifier_messages=dict.fromkeys(IDENTIFIER_CODES, _PUBLISHED_NUMBER),
    )


def _check_kind(kind: str) -> str:
    if kind not in Meeting.Kind.values:
        raise MeetingError(
            _(
                "Choose the kind of meeting: a regular work meeting, a progress follow-up or a key-issue "
                "meeting."
            ),
            code="invalid_kind",
            field="kind",
        )
    return kind


def _check_starts_at(starts_at) -> datetime.datetime:
    if not isinstance(starts_at, datetime.datetime) or timezone.is_naive(starts_at):
        raise MeetingError(
            _("Give the date and time of the meeting."), code="invalid_date", field="starts_at"
        )
    return starts_at


def _area_of(meeting: Meeting) -> Area:
    """The meeting's area read afresh (the tree may have been renumbered since the meeting was read)."""
    return Area.objects.get(pk=meeting.area_id)


def _reaches(path: str, area: Area) -> bool:
    """Whether an area at `path` is `area`, above it or below it: where a meeting's participants work."""
    return area.path.startswith(path) or path.startswith(area.path)


def _check_organization(organization: Organization | None, area: Area, field: str) -> None:
    if organization is None:
        return
    # Read from the database: an organisation built in this request may hold its area from before the tree
    # was renumbered.
    paths = Area.objects.filter(Q(organizations=organization) | Q(serving_organizations=organization))
    if not any(_reaches(p, area) for p in paths.values_list("path", flat=True)):
        raise MeetingError(
            _("%(name)s works neither in %(area)s nor above it: choose an organisation of this level.")
            % {"name": organization.name, "area": area.name},
            code="organization_out_of_reach",
            field=field,
        )


def _check_person(person: Person | None, area: Area, field: str) -> None:
    if person is None:
        return
    if _reaches(Area.objects.values_list("path", flat=True).get(pk=person.community_id), area):
        return
    if person.organization_id is not None:
        try:
            _check_organization(Organization(pk=person.organization_id), area, field)
            return
        except MeetingError:
            pass
    raise MeetingError(
        _("%(name)s neither lives in %(area)s nor represents an organisation working there.")
        % {"name": person.name, "area": area.name},
        code="person_out_of_reach",
        field=field,
    )


def _audit(actor: Actor, action: str, obj, area: Area, summary: str, **data) -> None:
    record_audit(actor=actor, action=action, obj=obj, area=area, summary=summary, data=data)


def _lock_meeting(meeting: Meeting) -> Meeting:
    return Meeting.objects.select_for_update(of=("self",)).select_related("area").get(pk=meeting.pk)


def _require_open_record(meeting: Meeting) -> None:
    """The meeting's record may still be written: not published, not cancelled."""
    if meeting.status == MS.PUBLISHED:
        raise MinutesPublished()
    if meeting.status == MS.CANCELLED:
        raise MeetingWrongStatus(_("This meeting was cancelled: nothing more is recorded on it."))


# --- meetings ----------------------------------------------------------------------------------------------


def _next_position(queryset) -> int:
    return (queryset.aggregate(top=Max("position"))["top"] or 0) + 1


def _bring_open_items(meeting: Meeting) -> int:
    """Put on a new meeting's agenda every open action item chased at its area: those escalated to it as
    `escalated`, the others (from its earlier meetings) as `carried_over`. Returns how many."""
    items = list(
        ActionItem.objects.filter(area=meeting.area, status__in=OPEN)
        .exclude(agenda_entries__meeting=meeting)
        .order_by("due_on", "id")
    )
    if not items:
        return 0
    escalated_here = set(
        Escalation.objects.filter(item__in=items, to_area=meeting.area).values_list("item_id", flat=True)
    )
    start = _next_position(meeting.agenda.all())
    AgendaItem.objects.bulk_create(
        AgendaItem(
            meeting=meeting,
            position=start + n,
            title=item.title[:MEETING_TITLE_MAX],
            source=AgendaItem.Source.ESCALATED
            if item.pk in escalated_here
            else AgendaItem.Source.CARRIED_OVER,
            action_item=item,
        )
        for n, item in enumerate(items)
    )
    return len(items)


def create_meeting(
    *,
    area: Area,
    kind: str,
    title: str,
    starts_at: datetime.datetime,
    actor: Actor,
    place: str = "",
    convenor_organization: Organization | None = None,
    convenor_person: Person | None = None,
    participant_organizations=(),
    participant_people=(),
    agenda=(),
) -> Meeting:
    """Plan a meeting at `area`'s level. Its agenda starts with the open action items chased at that area
    (carried over from earlier meetings, or escalated from below), then the points given in `agenda`.

    Raises NotFoundError (an area out of sight), MeetingAboveYourArea (a level above the actor's areas),
    ForbiddenError (a viewer, an API key), MeetingError (invalid_kind, title_required, too_long,
    invalid_date, organization_out_of_reach, person_out_of_reach).
    """
    area = Area.objects.get(pk=area.pk)  # read afresh: the tree may have been renumbered
    _require_staff(actor, area)
    kind = _check_kind(kind)
    title = _text(
        title, field="title", max_length=MEETING_TITLE_MAX, required_message=_("Give the meeting a title.")
    )
    starts_at = _check_starts_at(starts_at)
    place = _text(place, field="place", max_length=PLACE_MAX, public=True)
    participant_organizations = list(participant_organizations)
    participant_people = list(participant_people)
    _check_organization(convenor_organization, area, "convenor_organization")
    _check_person(convenor_person, area, "convenor_person")
    for organization in participant_organizations:
        _check_organization(organization, area, "participant_organizations")
    for person in participant_people:
        _check_person(person, area, "participant_people")
    points = [
        _text(point, field="agenda", max_length=MEETING_TITLE_MAX, public=True) for point in agenda or ()
    ]
    with transaction.atomic():
        meeting = Meeting.objects.create(
            area=area,
            kind=kind,
            title=title,
            starts_at=starts_at,
            place=place,
            convenor_organization=convenor_organization,
            convenor_person=convenor_person,
            created_by=actor.user,
        )
        meeting.participant_organizations.set(participant_organizations)
        meeting.participant_people.set(participant_people)
        brought = _bring_open_items(meeting)
        start = _next_position(meeting.agenda.all())
        AgendaItem.objects.bulk_create(
            AgendaItem(meeting=meeting, position=start + n, title=point)
            for n, point in enumerate(p for p in points if p)
        )
        _audit(
            actor,
            AuditAction.MEETING_CREATED,
            meeting,
            area,
            title,
            kind=kind,
            starts_at=starts_at.isoformat(),
            open_items=brought,
        )
    return meeting


MEETING_DETAIL_FIELDS = ("kind", "title", "starts_at", "place", "convenor_organization", "convenor_person")


def update_meeting(
    *,
    meeting: Meeting,
    actor: Actor,
    participant_organizations=None,
    participant_people=None,
    **changes,
) -> Meeting:
    """Change a meeting's details (kind, title, date, place, convenor, participants) until its minutes are
    published. Raises MinutesPublished, MeetingWrongStatus (cancelled) and the checks of create_meeting."""
    unknown = set(changes) - set(MEETING_DETAIL_FIELDS)
    if unknown:
        raise ValueError(f"update_meeting cannot change {sorted(unknown)}")
    area = _area_of(meeting)
    _require_staff(actor, area)
    if "kind" in changes:
        changes["kind"] = _check_kind(changes["kind"])
    if "title" in changes:
        changes["title"] = _text(
            changes["title"],
            field="title",
            max_length=MEETING_TITLE_MAX,
            required_message=_("Give the meeting a title."),
        )
    if "starts_at" in changes:
        changes["starts_at"] = _check_starts_at(changes["starts_at"])
    if "place" in changes:
        changes["place"] = _text(changes["place"], field="place", max_length=PLACE_MAX, public=True)
    if "convenor_organization" in changes:
        _check_organization(changes["convenor_organization"], area, "convenor_organization")
    if "convenor_person" in changes:
        _check_person(changes["convenor_person"], area, "convenor_person")
    for organization in participant_organizations or ():
        _check_organization(organization, area, "participant_organizations")
    for person in participant_people or ():
        _check_person(person, area, "participant_people")
    with transaction.atomic():
        meeting = _lock_meeting(meeting)
        _require_open_record(meeting)
        changed = [f for f, v in changes.items() if getattr(meeting, f) != v]
        for field in changed:
            setattr(meeting, field, changes[field])
        if changed:
            meeting.save(update_fields=changed)
        if participant_organizations is not None:
            before = set(meeting.participant_organizations.values_list("pk", flat=True))
            if before != {o.pk for o in participant_organizations}:
                meeting.participant_organizations.set(participant_organizations)
                changed.append("participant_organizations")
        if participant_people is not None:
            before = set(meeting.participant_people.values_list("pk", flat=True))
            if before != {p.pk for p in participant_people}:
                meeting.participant_people.set(participant_people)
                changed.append("participant_people")
        if changed:
            _audit(actor, AuditAction.MEETING_CHANGED, meeting, area, meeting.title, fields=changed)
    return meeting


def cancel_meeting(*, meeting: Meeting, actor: Actor) -> Meeting:
    """Cancel a planned meeting. Its open action items stay open and go on the level's next meeting."""
    _require_staff(actor, _area_of(meeting))
    with transaction.atomic():
        meeting = _lock_meeting(meeting)
        if meeting.status != MS.PLANNED:
            raise MeetingWrongStatus(
                _("Only a planned meeting can be cancelled; this one is “%(status)s”.")
                % {"status": meeting.get_status_display()}
            )
        meeting.status = MS.CANCELLED
        meeting.save(update_fields=["status"])
        _audit(actor, AuditAction.MEETING_CANCELLED, meeting, meeting.area, meeting.title)
    return meeting


def add_agenda_item(*, meeting: Meeting, title: str, actor: Actor, notes: str = "") -> AgendaItem:
    """Add a point to a meeting's agenda (after the others) until its minutes are published."""
    _require_staff(actor, _area_of(meeting))
    title = _text(
        title,
        field="title",
        max_length=MEETING_TITLE_MAX,
        required_message=_("Say what the agenda item is."),
        public=True,
    )
    notes = _text(notes, field="notes", max_length=ITEM_TEXT_MAX)
    with transaction.atomic():
        meeting = _lock_meeting(meeting)
        _require_open_record(meeting)
        item = AgendaItem.objects.create(
            meeting=meeting, position=_next_position(meeting.agenda.all()), title=title, notes=notes
        )
        _audit(actor, AuditAction.AGENDA_ITEM_ADDED, meeting, meeting.area, f"{meeting.title}: {title}")
    return item


def record_decision(*, meeting: Meeting, text: str, actor: Actor) -> Decision:
    """Record a decision the meeting took (published with the minutes) until its minutes are published."""
    _require_staff(actor, _area_of(meeting))
    text = _text(
        text,
        field="text",
        max_length=ITEM_TEXT_MAX,
        required_message=_("Write the decision the meeting took."),
        public=True,
    )
    with transaction.atomic():
        meeting = _lock_meeting(meeting)
        _require_open_record(meeting)
        decision = Decision.objects.create(
            meeting=meeting, position=_next_position(meeting.decisions.all()), text=text
        )
        _audit(
            actor,
            AuditAction.DECISION_RECORDED,
            meeting,
            meeting.area,
            f"{meeting.title}: {text[:100]}",
            decision=decision.pk,
        )
    return decision


def record_meeting_opinion(
    *,
    meeting: Meeting,
    text: str,
    actor: Actor,
    speaker_person: Person | None = None,
    speaker_organization: Organization | None = None,
) -> MeetingOpinion:
    """Record a supervisor's (or participant's) opinion verbatim, with who gave it."""
    _require_staff(actor, _area_of(meeting))
    if speaker_person is None and speaker_organization is None:
        raise MeetingError(
            _("Say who gave the opinion: a person, an organisation, or both."),
            code="speaker_required",
            field="speaker_person",
        )
    text = _text(
        text,
        field="text",
        max_length=ITEM_TEXT_MAX,
        required_message=_("Write the opinion as it was given."),
        public=True,
    )
    with transaction.atomic():
        meeting = _lock_meeting(meeting)
        _require_open_record(meeting)
        opinion = MeetingOpinion.objects.create(
            meeting=meeting,
            text=text,
            speaker_person=speaker_person,
            speaker_organization=speaker_organization,
        )
        _audit(
            actor,
            AuditAction.MEETING_OPINION_RECORDED,
            meeting,
            meeting.area,
            meeting.title,
            opinion=opinion.pk,
        )
    return opinion


def record_minutes(*, meeting: Meeting, minutes: str, public_minutes: str, actor: Actor) -> Meeting:
    """Write (or rewrite) the minutes of a meeting that has taken place: the internal record and the redacted
    text for publication. The meeting becomes "held"; approving the minutes publishes them.

    Raises MinutesPublished, MeetingWrongStatus (cancelled, not held yet), MeetingError (too_long, a phone or
    ID number in the text for publication).
    """
    _require_staff(actor, _area_of(meeting))
    minutes = _text(minutes, field="minutes", max_length=MEETING_TEXT_MAX)
    public_minutes = _text(public_minutes, field="public_minutes", max_length=MEETING_TEXT_MAX, public=True)
    with transaction.atomic():
        meeting = _lock_meeting(meeting)
        _require_open_record(meeting)
        if meeting.starts_at > timezone.now():
            raise MeetingWrongStatus(
                _("This meeting has not taken place yet: record its minutes once it has been held."),
                code="not_held_yet",
            )
        meeting.minutes, meeting.public_minutes, meeting.status = minutes, public_minutes, MS.HELD
        meeting.save(update_fields=["minutes", "public_minutes", "status"])
        _audit(actor, AuditAction.MINUTES_RECORDED, meeting, meeting.area, meeting.title)
    return meeting


def publish_minutes(*, meeting: Meeting, actor: Actor) -> Meeting:
    """Approve a held meeting's minutes, which publishes its redacted minutes, decisions and opinions on the
    portal. From then on they are never changed (MinutesPublished).

    Raises MeetingWrongStatus (not held, cancelled), MinutesPublished, MeetingError public_minutes_required.
    """
    _require_staff(actor, _area_of(meeting))
    with transaction.atomic():
        meeting = _lock_meeting(meeting)
        _require_open_record(meeting)
        if meeting.status != MS.HELD:
            raise MeetingWrongStatus(
                _(
                    "Record the minutes of the meeting first: only the minutes of a held meeting are "
                    "approved."
                ),
                code="not_held_yet",
            )
        if not meeting.public_minutes.strip():
            raise MeetingError(
                _(
                    "Write the minutes for publication first: the redacted text residents will read, "
                    "without anyone's name, phone number, address or health."
                ),
                code="public_minutes_required",
                field="public_minutes",
            )
        meeting.status = MS.PUBLISHED
        meeting.minutes_approved_at = timezone.now()
        meeting.minutes_approved_by = actor.user
        meeting.save(update_fields=["status", "minutes_approved_at", "minutes_approved_by"])
        _audit(actor, AuditAction.MINUTES_PUBLISHED, meeting, meeting.area, meeting.title)
    return meeting


# --- action items ------------------------------------------------------------------------------------------


def _check_due(due_on, field: str = "due_on") -> datetime.date:
    if not isinstance(due_on, datetime.date) or isinstance(due_on, datetime.datetime):
        raise ActionItemError(_("Give the due date."), code="invalid_date", field=field)
    today = timezone.localdate()
    if due_on < today:
        raise ActionItemError(
            _("The due date %(date)s has already passed: give today or a later day.")
            % {"date": due_on.isoformat()},
            code="due_in_past",
            field=field,
        )
    return due_on


def create_action_item(
    *,
    decision: Decision,
    title: str,
    due_on: datetime.date,
    actor: Actor,
    owner_person: Person | None = None,
    owner_organization: Organization | None = None,
    description: str = "",
) -> ActionItem:
    """Follow a decision up: an action item with an owner and a due date, chased at the meeting's level.

    Raises NotFoundError/MeetingAboveYourArea/ForbiddenError, MeetingWrongStatus (a cancelled meeting),
    ActionItemError (owner_required, due_in_past, invalid_date), MeetingError (title_required, too_long,
    organization_out_of_reach, person_out_of_reach).
    """
    meeting = Meeting.objects.select_related("area").get(pk=decision.meeting_id)
    area = meeting.area
    _require_staff(actor, area)
    if meeting.status == MS.CANCELLED:
        raise MeetingWrongStatus(_("This meeting was cancelled: its decisions are not followed up."))
    title = _text(
        title,
        field="title",
        max_length=MEETING_TITLE_MAX,
        required_message=_("Say what is to be done."),
        public=True,
    )
    description = _text(description, field="description", max_length=ITEM_TEXT_MAX)
    if owner_person is None and owner_organization is None:
        raise ActionItemError(
            _("Name who owns this action item: a person or an organisation (or both)."),
            code="owner_required",
            field="owner",
        )
    _check_person(owner_person, area, "owner_person")
    _check_organization(owner_organization, area, "owner_organization")
    due_on = _check_due(due_on)
    with transaction.atomic():
        item = ActionItem.objects.create(
            decision=decision,
            area=area,
            title=title,
            description=description,
            owner_person=owner_person,
            owner_organization=owner_organization,
            due_on=due_on,
            created_by=actor.user,
        )
        _audit(
            actor,
            AuditAction.ACTION_ITEM_CREATED,
            item,
            area,
            title,
            meeting=meeting.pk,
            due_on=due_on.isoformat(),
            owner_organization=owner_organization.pk if owner_organization else None,
        )
    return item


def _item_for_update(item: ActionItem) -> ActionItem:
    return (
        # Only the item's own row is locked: the owners are nullable (an outer join PostgreSQL cannot lock).
        ActionItem.objects.select_for_update(of=("self",))
        .select_related("area", "decision__meeting__area", "owner_organization", "owner_person")
        .get(pk=item.pk)
    )


def update_action_item(
    *,
    item: ActionItem,
    note: str,
    actor: Actor,
    status: str = "",
    noted_on: datetime.date | None = None,
    due_on: datetime.date | None = None,
) -> ActionProgress:
    """Record progress on an action item: a dated note, and with it a new status or (staff only) a new due
    date. The owner organisation's API key may report on the items it owns (not cancel them, not move their
    due date); staff of the level chasing the item, or above it, may do everything.

    Raises NotFoundError/ForbiddenError, ActionItemClosed (done or cancelled already), ActionItemError
    (note_required, invalid_status, status_backwards, date_in_future, due_in_past), MeetingError (too_long,
    a phone or ID number in the note, which is published).
    """
    item = ActionItem.objects.select_related("area", "decision__meeting__area").get(pk=item.pk)
    if actor.organization is not None:
        if actor.organization.pk != item.owner_organization_id:
            scope = scope_for_organization(actor.organization)
            if not (scope.contains(item.area) or scope.contains(item.decision.meeting.area)):
                raise NotFoundError()
            raise ForbiddenError(_("Only the organisation that owns this action item may report on it."))
        if status == AS.CANCELLED:
            raise ForbiddenError(_("Only staff can cancel an action item: the meeting decided it."))
        if due_on is not None:
            raise ForbiddenError(_("Only staff can move an action item's due date."))
    else:
        _require_item_staff(actor, item)
    if status and status not in AS.values:
        raise ActionItemError(
            _("Choose the status: open, in progress, done or cancelled."),
            code="invalid_status",
            field="status",
        )
    note = _text(
        note,
        field="note",
        max_length=ITEM_TEXT_MAX,
        required_message=_("Write a progress note: what was done, or why the status or due date changes."),
        public=True,
    )
    today = timezone.localdate()
    noted_on = noted_on or today
    if not isinstance(noted_on, datetime.date) or isinstance(noted_on, datetime.datetime):
        raise ActionItemError(_("Give the date of the note."), code="invalid_date", field="noted_on")
    if noted_on > today:
        raise ActionItemError(
            _("A progress note cannot be dated in the future."), code="date_in_future", field="noted_on"
        )
    if due_on is not None:
        due_on = _check_due(due_on)
    with transaction.atomic():
        item = _item_for_update(item)
        if item.status in CLOSED:
            raise ActionItemClosed(
                _("This action item is already “%(status)s”: nothing more is recorded on it.")
                % {"status": item.get_status_display()}
            )
        to_status = status if status and status != item.status else ""
        if to_status and to_status not in NEXT_STATUSES[item.status]:
            raise ActionItemError(
                _(
                    "An action item goes from open to in progress, then to done or cancelled; it does not go "
                    "back to “%(status)s”."
                )
                % {"status": AS(to_status).label},
                code="status_backwards",
                field="status",
            )
        progress = ActionProgress.objects.create(
            item=item,
            noted_on=noted_on,
            note=note,
            to_status=to_status,
            by_user=actor.user,
            by_organization=actor.organization,
        )
        fields = []
        data = {"status": item.status}
        if to_status:
            data["from_status"] = item.status
            item.status = data["status"] = to_status
            fields.append("status")
            if to_status in CLOSED:
                item.closed_at = timezone.now()
                fields.append("closed_at")
        if due_on is not None and due_on != item.due_on:
            data["due_on"] = [item.due_on.isoformat(), due_on.isoformat()]
            item.due_on = due_on
            fields.append("due_on")
            if item.overdue_since is not None and due_on >= today:
                item.overdue_since = None  # told again if it runs late again
                fields.append("overdue_since")
        if fields:
            item.save(update_fields=fields)
        _audit(
            actor, AuditAction.ACTION_ITEM_UPDATED, item, item.area, item.title, progress=progress.pk, **data
        )
    return progress


# --- the daily task: overdue and escalation ----------------------------------------------------------------


def _public_url(item: ActionItem) -> str:
    meeting = item.decision.meeting
    return f"/committees/meetings/{meeting.pk}/" if meeting.status == MS.PUBLISHED else ""


def _tell_owner(item: ActionItem, text, key: str, actor: Actor) -> None:
    """Tell the item's owner: a person in their inbox (and by text message). An organisation has no person
    to tell in the model (its contact is a name and a number, not a login): the audit event and the API's
    `overdue` flag are its record, and its key reads them."""
    if item.owner_person is not None:
        notify(
            person=item.owner_person,
            kind=NotificationKind.ACTION_ITEM_OVERDUE,
            text=text,
            url=_public_url(item),
            actor=actor,
            key=key,
        )


def _escalate(item: ActionItem, today: datetime.date, days: int, actor: Actor) -> bool:
    """Pass `item` one level up if it has been overdue `days` days (counted from the due date, or from the
    last escalation). Once per (item, level): a second run finds the Escalation and does nothing."""
    last = item.escalation_log.order_by("-escalated_at", "-id").first()
    since = timezone.localdate(last.escalated_at) if last is not None else item.due_on
    if (today - since).days < days:
        return False
    parent = Area.objects.get_parent(item.area)
    if parent is None:
        return False  # the city chases it itself: there is no level above
    if Escalation.objects.filter(item=item, from_area=item.area).exists():
        return False
    from_area = item.area
    try:
        with transaction.atomic():
            Escalation.objects.create(
                item=item, from_area=from_area, to_area=parent, overdue_days=(today - item.due_on).days
            )
    except IntegrityError:
        return False  # another run escalated it from this level just now
    item.area = parent
    item.escalations += 1
    item.save(update_fields=["area", "escalations"])
    meeting = (
        Meeting.objects.filter(area=parent, status=MS.PLANNED, starts_at__gte=timezone.now())
        .order_by("starts_at", "id")
        .first()
    )
    if meeting is not None and not AgendaItem.objects.filter(meeting=meeting, action_item=item).exists():
        AgendaItem.objects.create(
            meeting=meeting,
            position=_next_position(meeting.agenda.all()),
            title=item.title[:MEETING_TITLE_MAX],
            source=AgendaItem.Source.ESCALATED,
            action_item=item,
        )
    _audit(
        actor,
        AuditAction.ACTION_ITEM_ESCALATED,
        item,
        parent,
        f"{item.title}: {from_area.name} → {parent.name}",
        from_area=from_area.pk,
        to_area=parent.pk,
        overdue_days=(today - item.due_on).days,
        meeting=meeting.pk if meeting is not None else None,
    )
    _tell_owner(
        item,
        _("The action item “%(title)s” is overdue and was passed to %(area)s to follow up.")
        % {"title": item.title, "area": parent.name},
        f"action-item-escalated-{item.pk}-{parent.pk}",
        actor,
    )
    return True


def mark_overdue_and_escalate(*, today: datetime.date | None = None) -> dict:
    """The daily chase: every open item past its due date is marked overdue (`overdue_since`) and its owner
    told, once; one overdue by ACTION_ITEM_ESCALATE_DAYS is escalated one level up, and again each time as
    many more days pass. Done and cancelled items are left alone. Run twice, the second run does nothing.

    Returns {"overdue": newly marked, "escalated": escalations made}.
    """
    today = today or timezone.localdate()
    days = settings.ACTION_ITEM_ESCALATE_DAYS
    actor = Actor.system(AuditEvent.Surface.TASK)
    marked = escalated = 0
    due = ActionItem.objects.filter(status__in=OPEN, due_on__lt=today).order_by("due_on", "id")
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            item = _item_for_update(ActionItem(pk=pk))
            if item.status not in OPEN or item.due_on >= today:
                continue  # closed or moved on since the list was read
            if item.overdue_since is None:
                item.overdue_since = item.due_on + datetime.timedelta(days=1)
                item.save(update_fields=["overdue_since"])
                _audit(
                    actor,
                    AuditAction.ACTION_ITEM_OVERDUE,
                    item,
                    item.area,
                    item.title,
                    due_on=item.due_on.isoformat(),
                )
                _tell_owner(
                    item,
                    _("The action item “%(title)s” was due on %(date)s and is overdue.")
                    % {"title": item.title, "date": item.due_on.isoformat()},
                    f"action-item-overdue-{item.pk}-{item.due_on.isoformat()}",
                    actor,
                )
                marked += 1
            if _escalate(item, today, days, actor):
                escalated += 1
    return {"overdue": marked, "escalated": escalated}


__all__ = [
    "ActionItemClosed",
    "ActionItemError",
    "MeetingAboveYourArea",
    "MeetingError",
    "MeetingWrongStatus",
    "MinutesPublished",
    "add_agenda_item",
    "cancel_meeting",
    "create_action_item",
    "create_meeting",
    "mark_overdue_and_escalate",
    "publish_minutes",
    "record_decision",
    "record_meeting_opinion",
    "record_minutes",
    "update_action_item",
    "update_meeting",
]
