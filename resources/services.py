"""Every write to the resources registry, the tool library and the second-hand exchange.

Each service is one transaction and writes its audit event in it. Units of an exchange item and copies of a
tool are taken by one compare-and-set UPDATE on the resource (`taken < quantity`), backed by a CHECK
constraint: on PostgreSQL the UPDATE takes the row lock and re-reads the row after a concurrent writer
commits, so thirty residents claiming the last ten units get exactly ten claims; on SQLite transactions are
IMMEDIATE and run one at a time. The rules are in docs/resources.md.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from charity.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from charity.models import (
    Area,
    AuditAction,
    Category,
    NotificationKind,
    Organization,
    Person,
    StaffAssignment,
)
from charity.notifications import notify
from charity.scoping import scope_for_organization
from charity.services import Actor, is_staff_for, record_audit, require_staff
from charity.validators import clean_text
from funds.models import Donation, Fund
from funds.services import post_donation

from .models import (
    DESCRIPTION_MAX,
    HELP_KINDS,
    NOTES_MAX,
    TITLE_MAX,
    UNIT_MAX,
    AvailabilitySlot,
    Claim,
    Loan,
    Resource,
    WaitlistEntry,
)

ROLE = StaffAssignment.Role
KIND = Resource.Kind
STATUS = Resource.Status
LOAN_DAYS = 14
MAX_LOAN_DAYS = 90

# Status changes a person may ask for; the tool library and the exchange move the rest themselves.
TRANSITIONS = {
    STATUS.AVAILABLE: {STATUS.RESERVED, STATUS.USED_UP, STATUS.WITHDRAWN},
    STATUS.RESERVED: {STATUS.AVAILABLE, STATUS.USED_UP, STATUS.WITHDRAWN},
    STATUS.USED_UP: set(),
    STATUS.WITHDRAWN: set(),
    STATUS.EXPIRED: set(),
}


class ResourceError(DomainError):
    code = "invalid_resource"


# --- who may act ---------------------------------------------------------------------------------------


def _person_of(actor: Actor) -> Person | None:
    user = actor.user
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Person.objects.filter(user=user).first()


def _require_owner_or_staff(actor: Actor, resource: Resource) -> None:
    """The resident or organisation that offered the resource, or staff over its community."""
    if is_staff_for(actor, resource.community):
        return
    if actor.organization is not None and actor.organization.pk == resource.owner_organization_id:
        return
    person = _person_of(actor)
    if person is not None and person.pk == resource.owner_person_id:
        return
    require_staff(actor, resource.community)


# --- checking input ------------------------------------------------------------------------------------


def _text(value, *, field: str, max_length: int, required: bool = False, label=None) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ResourceError(_("Enter text here."), field=field)
    value = clean_text(value)
    if required and not value:
        raise ResourceError(label or _("This field is required."), field=field)
    if len(value) > max_length:
        raise ResourceError(
            _("At most %(max)d characters are allowed here (you entered %(count)d).")
            % {"max": max_length, "count": len(value)},
            field=field,
        )
    return value


def _positive_int(value, *, field: str, message) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except (TypeError, ValueError):
            raise ResourceError(message, field=field) from None
    if value < 1:
        raise ResourceError(message, field=field)
    if value > 1_000_000:
        raise ResourceError(_("That number is too large."), field=field)
    return value


def _date(value, *, field: str) -> datetime.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
        raise ResourceError(_("Enter a date."), field=field)
    return value


def reach_area(community: Area, reach: str) -> Area:
    """The area a resource offered in `community` may travel within (its reach)."""
    if reach == Resource.Reach.COMMUNITY:
        return community
    ancestors = list(
        Area.objects.filter(path__in=[community.path[: i * Area.steplen] for i in range(1, community.depth)])
    )
    for ancestor in ancestors:
        if ancestor.level == reach:
            return ancestor
    # A tree without that level (e.g. a community hung directly under a district): the widest one known.
    if reach == Resource.Reach.CITY and ancestors:
        return min(ancestors, key=lambda a: a.depth)
    return community


def can_reach(resource: Resource, community: Area) -> bool:
    """Whether `resource` may travel to `community` (read fresh: area paths change when the tree does)."""
    return Resource.objects.filter(
        pk=resource.pk,
        reach_area__path__in=[community.path[: i * Area.steplen] for i in range(1, community.depth + 1)],
    ).exists()


def check_slots(slots) -> list[tuple[int, datetime.time, datetime.time]]:
    """Weekly slots as (weekday 0–6, start, end) with start before end."""
    checked = []
    for weekday, start, end in slots or ():
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ResourceError(_("Choose a day of the week."), field="slots")
        if not isinstance(start, datetime.time) or not isinstance(end, datetime.time):
            raise ResourceError(_("Give the start and end time of each weekly slot."), field="slots")
        if start >= end:
            raise ResourceError(_("A weekly slot must end after it starts."), field="slots")
        checked.append((weekday, start, end))
    return checked


# Kinds whose owner says which kinds of help they give (the matching's skill fit).
HELP_KIND_KINDS = (KIND.SKILL, KIND.TIME)
_HELP_KIND_CODES = [code for code, _label in HELP_KINDS]


def check_help_kinds(value, *, kind: str) -> list[str]:
    """The kinds of help a skill or time gives, as known codes in the list's order; raises ResourceError."""
    if value in (None, ""):
        return []
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise ResourceError(_("Choose the kinds of help from the list."), field="help_kinds")
    unknown = [v for v in value if v not in _HELP_KIND_CODES]
    if unknown:
        raise ResourceError(
            _("Unknown kind of help: %(codes)s. Choose from the list.")
            % {"codes": ", ".join(map(str, unknown))},
            field="help_kinds",
        )
    if value and kind not in HELP_KIND_KINDS:
        raise ResourceError(
            _("Only a skill or time says which kinds of help it gives: leave them empty for this kind."),
            field="help_kinds",
        )
    return [code for code in _HELP_KIND_CODES if code in set(value)]


def check_resource(resource: Resource) -> None:
    """Check and normalise the fields of `resource` in place; raises ResourceError naming the field."""
    if resource.kind not in KIND.values:
        raise ResourceError(_("Choose the kind of resource from the list."), field="kind")
    resource.title = _text(
        resource.title,
        field="title",
        max_length=TITLE_MAX,
        required=True,
        label=_("Give the resource a short title."),
    )
    resource.description = _text(resource.description, field="description", max_length=DESCRIPTION_MAX)
    resource.unit = _text(resource.unit, field="unit", max_length=UNIT_MAX)
    resource.quantity = _positive_int(
        resource.quantity,
        field="quantity",
        message=_("The quantity is how many needs it can serve: at least 1."),
    )
    if resource.pk and resource.quantity < resource.taken:
        raise ResourceError(
            _("%(taken)d are already claimed or lent out: the quantity cannot be less.")
            % {"taken": resource.taken},
            field="quantity",
        )
    if (resource.owner_person_id is None) == (resource.owner_organization_id is None):
        raise ResourceError(
            _("A resource is offered by one resident or one organisation: choose exactly one."),
            field="owner_person",
        )
    # Read afresh: the caller's copy of the area may hold a path treebeard has since renumbered.
    community = Area.objects.filter(pk=resource.community_id).first() if resource.community_id else None
    if community is None or community.level != Area.Level.COMMUNITY:
        raise ResourceError(_("Choose a community, not a higher-level area."), field="community")
    resource.community = community
    if resource.reach not in Resource.Reach.values:
        raise ResourceError(_("Choose how far the resource may travel."), field="reach")
    resource.available_from = _date(resource.available_from, field="available_from") or timezone.localdate()
    resource.available_until = _date(resource.available_until, field="available_until")
    if resource.available_until is not None and resource.available_until < resource.available_from:
        raise ResourceError(
            _("The availability ends before it starts: the end date must be on or after the start date."),
            field="available_until",
        )
    if resource.kind == KIND.MONEY_PLEDGE:
        resource.amount_fen = _positive_int(
            resource.amount_fen,
            field="amount_fen",
            message=_("A money pledge needs the amount promised, in fen, more than 0."),
        )
        if resource.fund_id and resource.fund.community_id not in (None, resource.community_id):
            # A pledge is to the community's own fund (or a city-wide one).
            raise ResourceError(_("Choose a fund of this community."), field="fund")
    else:
        resource.amount_fen = None
        resource.fund = None
    if resource.for_exchange and resource.kind != KIND.GOODS:
        raise ResourceError(_("Only goods can be given away in the exchange."), field="for_exchange")
    resource.help_kinds = check_help_kinds(resource.help_kinds, kind=resource.kind)
    resource.reach_area = reach_area(community, resource.reach)


def _resource_data(resource: Resource) -> dict:
    return {
        "kind": resource.kind,
        "quantity": resource.quantity,
        "reach": resource.reach,
        "status": resource.status,
        "for_exchange": resource.for_exchange,
    }


def save_resource(
    *,
    resource: Resource,
    actor: Actor,
    categories: Iterable[Category] | None = None,
    slots=None,
) -> Resource:
    """Offer a new resource or change one; `categories` and `slots` (weekday, start, end) replace the old.

    A resident offers in their own community and changes only their own; an API key for its organisation
    within the areas it serves; staff for anyone in their areas. Raises ResourceError, NotFound, Forbidden.
    """
    creating = resource.pk is None
    check_resource(resource)
    checked_slots = check_slots(slots) if slots is not None else None
    if checked_slots and resource.kind not in Resource.SLOTTED_KINDS:
        raise ResourceError(_("Only venues and time have weekly availability."), field="slots")
    _check_may_save(actor, resource, creating)
    categories = list(categories) if categories is not None else None
    if categories is not None and any(not c.is_active for c in categories):
        raise ResourceError(_("This category is no longer in use."), field="categories")
    with transaction.atomic():
        if creating:
            resource.taken = 0
            resource.status = STATUS.AVAILABLE
            resource.save()
        else:
            old = Resource.objects.select_for_update().filter(pk=resource.pk).first()
            if old is None:
                raise NotFoundError()
            if resource.quantity < old.taken:
                raise ResourceError(
                    _("%(taken)d are already claimed or lent out: the quantity cannot be less.")
                    % {"taken": old.taken},
                    field="quantity",
                )
            if old.donation_id:
                raise ConflictError(_("An honoured pledge cannot be changed."), code="pledge_honoured")
            # The counters and the status are the services' own: a form never overwrites them.
            resource.taken, resource.status = old.taken, old.status
            resource.save(
                update_fields=[
                    "kind",
                    "owner_person",
                    "owner_organization",
                    "title",
                    "description",
                    "quantity",
                    "unit",
                    "community",
                    "reach",
                    "reach_area",
                    "available_from",
                    "available_until",
                    "for_exchange",
                    "help_kinds",
                    "amount_fen",
                    "fund",
                    "updated_at",
                ]
            )
        if categories is not None:
            resource.categories.set(categories)
        if checked_slots is not None:
            resource.slots.all().delete()
            AvailabilitySlot.objects.bulk_create(
                AvailabilitySlot(resource=resource, weekday=w, start_time=s, end_time=e)
                for w, s, e in checked_slots
            )
        record_audit(
            actor=actor,
            action=AuditAction.RESOURCE_OFFERED if creating else AuditAction.RESOURCE_CHANGED,
            obj=resource,
            area=resource.community,
            summary=f"{resource.get_kind_display()}: {resource.title}",
            data=_resource_data(resource),
        )
    return resource


def _check_may_save(actor: Actor, resource: Resource, creating: bool) -> None:
    if is_staff_for(actor, resource.community):
        return
    if actor.organization is not None:
        if not scope_for_organization(actor.organization).contains(resource.community):
            raise NotFoundError()
        if resource.owner_organization_id != actor.organization.pk:
            raise ForbiddenError(_("An API key offers resources of its own organisation only."))
        return
    person = _person_of(actor)
    if person is not None and person.pk == resource.owner_person_id:
        if resource.community_id != person.community_id:
            raise ResourceError(_("Offer resources in your own community."), field="community")
        if not creating and not Resource.objects.filter(pk=resource.pk, owner_person=person).exists():
            raise NotFoundError()
        return
    require_staff(actor, resource.community)


def offer_resource(*, actor: Actor, categories=(), slots=None, **fields) -> Resource:
    """Offer a new resource from keyword fields (those of Resource); see save_resource."""
    allowed = {
        "kind",
        "owner_person",
        "owner_organization",
        "title",
        "description",
        "quantity",
        "unit",
        "community",
        "reach",
        "available_from",
        "available_until",
        "for_exchange",
        "help_kinds",
        "amount_fen",
        "fund",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"offer_resource() got unexpected fields {sorted(unknown)}")
    fields.setdefault("reach", Resource.Reach.COMMUNITY)
    return save_resource(resource=Resource(**fields), actor=actor, categories=categories, slots=slots)


def set_resource_status(*, resource: Resource, status: str, actor: Actor) -> Resource:
    """Move a resource to `status` (reserved, used up, withdrawn, back to available) by compare-and-set.

    The owner may withdraw their own; staff may make any allowed move. A tool with copies out or an exchange
    item with open claims cannot be withdrawn or used up until they come back or are handed over.
    """
    if status not in STATUS.values:
        raise ResourceError(_("Choose a status from the list."), field="status")
    _require_owner_or_staff(actor, resource)
    if not is_staff_for(actor, resource.community) and status != STATUS.WITHDRAWN:
        raise ForbiddenError(_("You can withdraw your offer; staff change the rest."))
    with transaction.atomic():
        current = Resource.objects.select_for_update().get(pk=resource.pk)
        if status not in TRANSITIONS.get(current.status, set()):
            raise ConflictError(
                _("A resource that is “%(old)s” cannot become “%(new)s”.")
                % {"old": current.get_status_display(), "new": STATUS(status).label},
                code="invalid_transition",
                field="status",
            )
        if status in (STATUS.WITHDRAWN, STATUS.USED_UP) and current.kind == KIND.TOOL and current.taken:
            raise ConflictError(
                _("Copies of this tool are still lent out: take them back first."), code="tool_out"
            )
        if status == STATUS.WITHDRAWN and current.claims.filter(status=Claim.Status.CLAIMED).exists():
            raise ConflictError(
                _("Residents have claimed this item: hand it over or cancel their claims first."),
                code="open_claims",
            )
        Resource.objects.filter(pk=current.pk, status=current.status).update(
            status=status, updated_at=timezone.now()
        )
        record_audit(
            actor=actor,
            action=AuditAction.RESOURCE_STATUS_CHANGED,
            obj=current,
            area=resource.community,
            summary=f"{resource.title}: {current.status} → {status}",
            data={"from": current.status, "to": status},
        )
    resource.status = status
    return resource


# --- money pledges -------------------------------------------------------------------------------------


def honour_pledge(
    *,
    resource: Resource,
    actor: Actor,
    received_on: datetime.date,
    channel: str | None = None,
    receipt_no: str = "",
    receipt_waived: bool = False,
    fund: Fund | None = None,
) -> Donation:
    """Record the money a pledge promised as a donation (funds.services.post_donation); the pledge is used up.

    Staff of the pledge's community only. One transaction: a refused donation leaves the pledge open.
    Raises ResourceError, ConflictError (pledge_honoured), and what post_donation raises.
    """
    if resource.kind != KIND.MONEY_PLEDGE:
        raise ResourceError(_("Only a money pledge is honoured with a donation."), field="kind")
    require_staff(actor, resource.community)
    fund = fund or resource.fund
    if fund is None:
        raise ResourceError(_("Choose the fund that received the money."), field="fund")
    if fund.community_id not in (None, resource.community_id):
        # A pledge is to the community's own fund (or a city-wide one), as when it was offered.
        raise ResourceError(_("Choose a fund of this community."), field="fund")
    if channel is None:
        channel = Donation.Channel.RESIDENT if resource.owner_person_id else Donation.Channel.MERCHANT
    with transaction.atomic():
        taken = Resource.objects.filter(
            pk=resource.pk, donation__isnull=True, status__in=[STATUS.AVAILABLE, STATUS.RESERVED]
        ).update(status=STATUS.USED_UP, updated_at=timezone.now())
        if not taken:
            raise ConflictError(
                _("This pledge has already been honoured or withdrawn."), code="pledge_honoured"
            )
        donation = post_donation(
            actor=actor,
            fund=fund,
            amount_fen=resource.amount_fen,
            channel=channel,
            received_on=received_on,
            donor_person=resource.owner_person,
            donor_organization=resource.owner_organization,
            receipt_no=receipt_no,
            receipt_waived=receipt_waived,
        )
        Resource.objects.filter(pk=resource.pk).update(donation=donation, fund=fund)
        record_audit(
            actor=actor,
            action=AuditAction.PLEDGE_HONOURED,
            obj=resource,
            area=resource.community,
            summary=f"{resource.title}: {resource.amount_fen} fen",
            data={"donation_id": donation.pk, "fund_id": fund.pk, "amount_fen": resource.amount_fen},
        )
    resource.status, resource.donation, resource.fund = STATUS.USED_UP, donation, fund
    return donation


# --- tool library --------------------------------------------------------------------------------------


def _check_tool(resource: Resource) -> None:
    if resource.kind != KIND.TOOL:
        raise ResourceError(_("Only tools of the tool library are lent."), field="resource")


def _take_unit(resource: Resource, *, keep: int = 0) -> bool:
    """Take one unit or copy if more than `keep` are free: one compare-and-set UPDATE (see the module)."""
    return bool(
        Resource.objects.filter(
            pk=resource.pk, status=STATUS.AVAILABLE, taken__lt=F("quantity") - keep
        ).update(taken=F("taken") + 1, updated_at=timezone.now())
    )


def _give_back_unit(resource: Resource) -> None:
    Resource.objects.filter(pk=resource.pk, taken__gt=0).update(
        taken=F("taken") - 1, updated_at=timezone.now()
    )


def lend_tool(
    *,
    resource: Resource,
    borrower: Person,
    actor: Actor,
    due: datetime.date | None = None,
    condition: str = "",
    wait_if_out: bool = False,
) -> Loan | WaitlistEntry:
    """Lend one copy of a tool at the loan desk (staff of its community).

    Copies held for residents told they are next (waiting list "ready") are lent only to them. When no copy
    is free: with `wait_if_out` the borrower joins the waiting list (returned instead of a loan), otherwise
    ConflictError tool_out. Raises ResourceError, ConflictError (tool_out, already_borrowed).
    """
    _check_tool(resource)
    require_staff(actor, resource.community)
    start = timezone.localdate()
    due = _date(due, field="due") or start + datetime.timedelta(days=LOAN_DAYS)
    if due < start:
        raise ResourceError(_("The due date cannot be before today."), field="due")
    if due > start + datetime.timedelta(days=MAX_LOAN_DAYS):
        raise ResourceError(_("A loan lasts at most %(days)d days.") % {"days": MAX_LOAN_DAYS}, field="due")
    condition = _text(condition, field="condition", max_length=NOTES_MAX)
    if resource.status != STATUS.AVAILABLE:
        raise ConflictError(_("This tool is not in the library now."), code="not_available")
    with transaction.atomic():
        if Loan.objects.filter(resource=resource, borrower=borrower, returned_at__isnull=True).exists():
            raise ConflictError(
                _("%(name)s has already borrowed this tool.") % {"name": borrower.name},
                code="already_borrowed",
                field="borrower",
            )
        ready = list(
            WaitlistEntry.objects.filter(resource=resource, status=WaitlistEntry.Status.READY).values_list(
                "person_id", flat=True
            )
        )
        keep = len([p for p in ready if p != borrower.pk])
        if not _take_unit(resource, keep=keep):
            if wait_if_out:
                return _join_waitlist(resource=resource, person=borrower, actor=actor)
            raise ConflictError(
                _(
                    "Every copy of this tool is lent out or held for the waiting list: add the borrower to "
                    "the waiting list."
                ),
                code="tool_out",
            )
        try:
            with transaction.atomic():
                loan = Loan.objects.create(
                    resource=resource, borrower=borrower, start=start, due=due, condition_at_lend=condition
                )
        except IntegrityError:
            raise ConflictError(
                _("%(name)s has already borrowed this tool.") % {"name": borrower.name},
                code="already_borrowed",
                field="borrower",
            ) from None
        WaitlistEntry.objects.filter(
            resource=resource, person=borrower, status__in=WaitlistEntry.ACTIVE
        ).update(status=WaitlistEntry.Status.SERVED)
        record_audit(
            actor=actor,
            action=AuditAction.TOOL_LENT,
            obj=loan,
            area=resource.community,
            summary=f"{resource.title} → {borrower.name}, due {due.isoformat()}",
            data={"resource_id": resource.pk, "borrower_id": borrower.pk, "due": due.isoformat()},
        )
    return loan


def _offer_next(resource: Resource, actor: Actor) -> WaitlistEntry | None:
    """Tell the first resident still waiting that a copy is free for them (WAITLIST_READY)."""
    entry = (
        WaitlistEntry.objects.select_related("person")
        .filter(resource=resource, status=WaitlistEntry.Status.WAITING)
        .order_by("created_at", "id")
        .first()
    )
    if entry is None:
        return None
    if not WaitlistEntry.objects.filter(pk=entry.pk, status=WaitlistEntry.Status.WAITING).update(
        status=WaitlistEntry.Status.READY, ready_at=timezone.now()
    ):
        return None
    notify(
        person=entry.person,
        kind=NotificationKind.WAITLIST_READY,
        text=_("The tool you waited for (%(title)s) is free for you: collect it at the loan desk.")
        % {"title": resource.title},
        url=reverse("resources:my_loans"),
        actor=actor,
        key=f"waitlist:{entry.pk}:ready",
    )
    return entry


def return_tool(*, loan: Loan, actor: Actor, condition: str = "") -> Loan:
    """Take a tool back with notes on its condition; the next on the waiting list is told it is free.

    Raises ConflictError already_returned.
    """
    resource = loan.resource
    require_staff(actor, resource.community)
    condition = _text(condition, field="condition", max_length=NOTES_MAX)
    now = timezone.now()
    with transaction.atomic():
        if not Loan.objects.filter(pk=loan.pk, returned_at__isnull=True).update(
            returned_at=now, condition_at_return=condition
        ):
            raise ConflictError(_("This tool has already been returned."), code="already_returned")
        _give_back_unit(resource)
        record_audit(
            actor=actor,
            action=AuditAction.TOOL_RETURNED,
            obj=loan,
            area=resource.community,
            summary=f"{resource.title} ← {loan.borrower.name}",
            data={"resource_id": resource.pk, "late": loan.due < timezone.localdate()},
        )
        _offer_next(resource, actor)
    loan.returned_at, loan.condition_at_return = now, condition
    return loan


def renew_loan(*, loan: Loan, actor: Actor, days: int = LOAN_DAYS) -> Loan:
    """Extend an open loan by `days` from its due date (or today, if later), unless someone is waiting.

    The borrower themselves or staff. Raises ConflictError (someone_waiting, already_returned).
    """
    resource = loan.resource
    person = _person_of(actor)
    if person is None or person.pk != loan.borrower_id:
        require_staff(actor, resource.community)
    days = _positive_int(days, field="days", message=_("Renew for at least one day."))
    if days > MAX_LOAN_DAYS:
        raise ResourceError(_("A loan lasts at most %(days)d days.") % {"days": MAX_LOAN_DAYS}, field="days")
    with transaction.atomic():
        current = Loan.objects.select_for_update().get(pk=loan.pk)
        if current.returned_at is not None:
            raise ConflictError(_("This tool has already been returned."), code="already_returned")
        if WaitlistEntry.objects.filter(resource=resource, status__in=WaitlistEntry.ACTIVE).exists():
            raise ConflictError(
                _("Someone is waiting for this tool, so the loan cannot be renewed: please bring it back."),
                code="someone_waiting",
            )
        due = max(current.due, timezone.localdate()) + datetime.timedelta(days=days)
        Loan.objects.filter(pk=loan.pk).update(due=due, renewals=F("renewals") + 1, overdue_since=None)
        record_audit(
            actor=actor,
            action=AuditAction.LOAN_RENEWED,
            obj=loan,
            area=resource.community,
            summary=f"{resource.title}: due {due.isoformat()}",
            data={"due": due.isoformat()},
        )
    loan.refresh_from_db()
    return loan


def _join_waitlist(*, resource: Resource, person: Person, actor: Actor) -> WaitlistEntry:
    if Loan.objects.filter(resource=resource, borrower=person, returned_at__isnull=True).exists():
        raise ConflictError(_("You have already borrowed this tool."), code="already_borrowed")
    try:
        with transaction.atomic():
            entry = WaitlistEntry.objects.create(resource=resource, person=person)
    except IntegrityError:
        raise ConflictError(
            _("You are already on the waiting list for this tool."), code="already_waiting"
        ) from None
    record_audit(
        actor=actor,
        action=AuditAction.WAITLIST_JOINED,
        obj=entry,
        area=resource.community,
        summary=f"{resource.title} · {person.name}",
        data={"resource_id": resource.pk, "person_id": person.pk},
    )
    return entry


def join_waitlist(*, resource: Resource, person: Person, actor: Actor) -> WaitlistEntry:
    """Put `person` at the end of a tool's waiting list (themselves from the portal, or staff).

    When a copy is free and nobody is ahead, they are told at once. Raises ConflictError (already_waiting,
    already_borrowed), NotFound for a tool out of their reach.
    """
    _check_tool(resource)
    acting_person = _person_of(actor)
    if acting_person is None or acting_person.pk != person.pk:
        require_staff(actor, resource.community)
    elif not can_reach(resource, person.community):
        raise NotFoundError()
    if resource.status != STATUS.AVAILABLE:
        raise ConflictError(_("This tool is not in the library now."), code="not_available")
    with transaction.atomic():
        entry = _join_waitlist(resource=resource, person=person, actor=actor)
        fresh = Resource.objects.get(pk=resource.pk)
        ready = WaitlistEntry.objects.filter(resource=resource, status=WaitlistEntry.Status.READY).count()
        if fresh.quantity - fresh.taken > ready:
            _offer_next(resource, actor)
    entry.refresh_from_db()
    return entry


def leave_waitlist(*, entry: WaitlistEntry, actor: Actor) -> None:
    """Take a place off the waiting list (the resident or staff); a copy held for them goes to the next."""
    person = _person_of(actor)
    if person is None or person.pk != entry.person_id:
        require_staff(actor, entry.resource.community)
    with transaction.atomic():
        was = (
            WaitlistEntry.objects.filter(pk=entry.pk, status__in=WaitlistEntry.ACTIVE)
            .values_list("status", flat=True)
            .first()
        )
        if was is None or not WaitlistEntry.objects.filter(pk=entry.pk, status=was).update(
            status=WaitlistEntry.Status.LEFT
        ):
            raise ConflictError(_("This place on the waiting list is no longer open."), code="not_waiting")
        record_audit(
            actor=actor,
            action=AuditAction.WAITLIST_LEFT,
            obj=entry,
            area=entry.resource.community,
            summary=f"{entry.resource.title} · {entry.person.name}",
        )
        if was == WaitlistEntry.Status.READY:
            _offer_next(entry.resource, actor)


def mark_overdue_loans(*, actor: Actor, today: datetime.date | None = None) -> int:
    """Mark open loans past their due date overdue and tell each borrower once. Returns how many were marked.

    Idempotent: a loan is marked once (compare-and-set on `overdue_since`), and the notice carries a key,
    so a second run the same day (or a retried task) tells nobody again.
    """
    today = today or timezone.localdate()
    marked = 0
    late = (
        Loan.objects.select_related("resource", "borrower")
        .filter(returned_at__isnull=True, due__lt=today, overdue_since__isnull=True)
        .order_by("pk")
    )
    for loan in late.iterator(chunk_size=500):
        with transaction.atomic():
            if not Loan.objects.filter(
                pk=loan.pk, returned_at__isnull=True, overdue_since__isnull=True
            ).update(overdue_since=today):
                continue
            record_audit(
                actor=actor,
                action=AuditAction.LOAN_OVERDUE,
                obj=loan,
                area=loan.resource.community,
                summary=f"{loan.resource.title}: due {loan.due.isoformat()}",
                data={"due": loan.due.isoformat(), "borrower_id": loan.borrower_id},
            )
            notify(
                person=loan.borrower,
                kind=NotificationKind.LOAN_OVERDUE,
                text=_("The tool you borrowed (%(title)s) was due back on %(due)s: please return it.")
                % {"title": loan.resource.title, "due": loan.due.isoformat()},
                url=reverse("resources:my_loans"),
                actor=actor,
                key=f"loan:{loan.pk}:overdue:{loan.due.isoformat()}",
            )
            marked += 1
    return marked


# --- second-hand exchange ------------------------------------------------------------------------------


def claim_item(*, resource: Resource, person: Person, actor: Actor) -> Claim:
    """Claim one unit of an exchange item for `person`: first come first served, one claim per resident.

    The resident themselves (portal) or staff on their behalf. Raises ConflictError (item_gone,
    already_claimed, own_item), NotFound for an item out of the resident's reach.
    """
    if not resource.for_exchange:
        raise ResourceError(_("This resource is not in the exchange."), field="resource")
    acting_person = _person_of(actor)
    if acting_person is None or acting_person.pk != person.pk:
        require_staff(actor, resource.community)
    if not can_reach(resource, person.community):
        raise NotFoundError()
    if resource.owner_person_id == person.pk:
        raise ConflictError(_("You cannot claim your own item."), code="own_item")
    today = timezone.localdate()
    if resource.available_until is not None and resource.available_until < today:
        raise ConflictError(_("This item is no longer offered."), code="item_gone")
    with transaction.atomic():
        if (
            Claim.objects.filter(resource=resource, claimant=person)
            .exclude(status=Claim.Status.CANCELLED)
            .exists()
        ):
            raise ConflictError(_("You have already claimed this item."), code="already_claimed")
        if not _take_unit(resource):
            raise ConflictError(_("Sorry, this item has all been claimed."), code="item_gone")
        try:
            with transaction.atomic():
                claim = Claim.objects.create(resource=resource, claimant=person)
        except IntegrityError:
            raise ConflictError(_("You have already claimed this item."), code="already_claimed") from None
        # The last unit claimed: the item is reserved until handed over (or a claim is cancelled).
        Resource.objects.filter(pk=resource.pk, status=STATUS.AVAILABLE, taken=F("quantity")).update(
            status=STATUS.RESERVED
        )
        record_audit(
            actor=actor,
            action=AuditAction.ITEM_CLAIMED,
            obj=claim,
            area=resource.community,
            summary=f"{resource.title} · {person.name}",
            data={"resource_id": resource.pk, "person_id": person.pk},
        )
    return claim


def _require_giver_or_staff(actor: Actor, resource: Resource) -> None:
    person = _person_of(actor)
    if person is not None and person.pk == resource.owner_person_id:
        return
    if actor.organization is not None and actor.organization.pk == resource.owner_organization_id:
        return
    require_staff(actor, resource.community)


def hand_over_claim(*, claim: Claim, actor: Actor) -> Claim:
    """The giver (or staff) confirms the item was handed over; the claimant is told.

    When every unit has been handed over the item is used up. Raises ConflictError not_open.
    """
    resource = claim.resource
    _require_giver_or_staff(actor, resource)
    now = timezone.now()
    with transaction.atomic():
        if not Claim.objects.filter(pk=claim.pk, status=Claim.Status.CLAIMED).update(
            status=Claim.Status.HANDED_OVER, handed_over_at=now
        ):
            raise ConflictError(_("This claim is no longer open."), code="not_open")
        handed = Claim.objects.filter(resource=resource, status=Claim.Status.HANDED_OVER).count()
        Resource.objects.filter(pk=resource.pk, quantity__lte=handed).exclude(
            status__in=[STATUS.WITHDRAWN, STATUS.USED_UP]
        ).update(status=STATUS.USED_UP)
        record_audit(
            actor=actor,
            action=AuditAction.CLAIM_HANDED_OVER,
            obj=claim,
            area=resource.community,
            summary=f"{resource.title} → {claim.claimant.name}",
            data={"resource_id": resource.pk},
        )
        notify(
            person=claim.claimant,
            kind=NotificationKind.CLAIM_STATUS,
            text=_("The giver confirmed that %(title)s was handed over to you.") % {"title": resource.title},
            url=reverse("resources:my_claims"),
            actor=actor,
            key=f"claim:{claim.pk}:handed_over",
        )
    claim.status, claim.handed_over_at = Claim.Status.HANDED_OVER, now
    return claim


def cancel_claim(*, claim: Claim, actor: Actor) -> Claim:
    """Cancel an open claim (the claimant, the giver or staff); its unit is free again."""
    resource = claim.resource
    person = _person_of(actor)
    if person is None or person.pk != claim.claimant_id:
        _require_giver_or_staff(actor, resource)
    now = timezone.now()
    with transaction.atomic():
        if not Claim.objects.filter(pk=claim.pk, status=Claim.Status.CLAIMED).update(
            status=Claim.Status.CANCELLED, cancelled_at=now
        ):
            raise ConflictError(_("This claim is no longer open."), code="not_open")
        _give_back_unit(resource)
        Resource.objects.filter(pk=resource.pk, status=STATUS.RESERVED, taken__lt=F("quantity")).update(
            status=STATUS.AVAILABLE
        )
        record_audit(
            actor=actor,
            action=AuditAction.CLAIM_CANCELLED,
            obj=claim,
            area=resource.community,
            summary=f"{resource.title} · {claim.claimant.name}",
            data={"resource_id": resource.pk},
        )
    claim.status, claim.cancelled_at = Claim.Status.CANCELLED, now
    return claim


def expire_exchange_items(*, actor: Actor, today: datetime.date | None = None) -> int:
    """Close exchange items still offered after their last day and tell each giver once. Returns how many.

    Claims already made can still be handed over. Idempotent (compare-and-set on the status, keyed notice).
    """
    today = today or timezone.localdate()
    expired = 0
    due = (
        Resource.objects.select_related("owner_person", "community")
        .filter(for_exchange=True, status=STATUS.AVAILABLE, available_until__lt=today)
        .order_by("pk")
    )
    for resource in due.iterator(chunk_size=500):
        with transaction.atomic():
            if not Resource.objects.filter(pk=resource.pk, status=STATUS.AVAILABLE).update(
                status=STATUS.EXPIRED, updated_at=timezone.now()
            ):
                continue
            record_audit(
                actor=actor,
                action=AuditAction.ITEM_EXPIRED,
                obj=resource,
                area=resource.community,
                summary=resource.title,
                data={"unclaimed": resource.quantity - resource.taken},
            )
            if resource.owner_person is not None:
                notify(
                    person=resource.owner_person,
                    kind=NotificationKind.ITEM_EXPIRED,
                    text=_("Your exchange item %(title)s reached its last day and is no longer offered.")
                    % {"title": resource.title},
                    url=reverse("resources:my_resources"),
                    actor=actor,
                    key=f"exchange:{resource.pk}:expired",
                )
            expired += 1
    return expired


def owner_choices_for(actor: Actor) -> tuple[Person | None, Organization | None]:
    """The owner a resident or a key offers as: the person behind the login, or the key's organisation."""
    if actor.organization is not None:
        return None, actor.organization
    return _person_of(actor), None
