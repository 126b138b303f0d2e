"""Review and follow-through of the matches the nightly run proposes: accept, decline, fulfil, expire.

A `Match` goes proposed → accepted → fulfilled, or proposed → declined (with a reason; the run reads declined
pairs and never proposes them again) or proposed → expired (its need or resource changed). Every change is
a compare-and-set on the match's status inside one transaction, audited, and told to needs.webhooks in that
transaction (it queues the signed notices, sent after the commit). docs/matching-review.md explains the
rules; in short:

- **Who decides**: staff (role "staff" or above) over the need's community, or the API key of the hub
  organisation that sent the need (`Need.source_organization`) while its community is among the areas the
  organisation serves. Anyone else out of sight gets NotFound (404); a viewer, or a key that can see the
  match only as the resource's owner, gets Forbidden (403). The resource's owner is told, not asked: they
  offered the resource for exactly this.
- **Accepting** re-reads the need under a row lock: it must still take help (published, matched or in
  progress) and still want the match's quantity (its quantity, or 1 when it has none, less what accepted and
  fulfilled matches already cover — so two proposals that each serve part of one need can both be
  accepted). The units are reserved by one compare-and-set UPDATE on `Resource.taken` (`taken + q <=
  quantity`, on an available resource): two accepts racing for the last units give one success and one
  clear refusal, and a refused accept changes nothing. A resource with nothing left free becomes reserved;
  a published need becomes matched through `needs.services.change_need_status` (timeline, audit, poster
  told). The resource's owner and the organisation that sent the need are told (never a household detail).
- **Declining** needs a reason; a match is declined once.
- **Fulfilling** records how many units were delivered (1 to the quantity matched). Units matched but not
  delivered go back to the resource. The need becomes met when fulfilled matches cover all it wanted, else
  help is under way; the resource is used up when fulfilled matches used all its units.
- **Expiring**: a proposed match expires when its need stops taking help (the hook in
  `needs.services._apply_status`), and `expire_stale_matches` (the run calls it first) expires every proposed
  match whose need no longer takes help or wants that much, or whose resource is no longer available or has
  not the quantity left.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db import transaction
from django.db.models import Case, F, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from charity.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from charity.models import Area, AuditAction, AuditEvent, NotificationKind, Person
from charity.notifications import notify
from charity.scoping import scope_for_organization
from charity.services import Actor, record_audit, require_staff
from charity.validators import clean_text
from resources.models import Resource

from . import webhooks
from .models import NOTE_MAX, PUBLIC_STATUSES, Match, Need

M = Match.Status
NS = Need.Status
RS = Resource.Status

# The needs that still take help: a proposal for any other need is stale.
OPEN_NEED_STATUSES = PUBLIC_STATUSES
# Where the resident reads what became of what they offered (the section needs/my_page.py registers).
OWNER_PAGE_URL = "/me/#me-matches"
# An audit event of the nightly sweep names at most this many matches (one event per community and chunk).
EXPIRED_PER_EVENT = 500


class MatchError(DomainError):
    code = "match_invalid"


def wanted_quantity(need: Need) -> int:
    """How many units a need asks for: its quantity, or 1 when quantity does not apply to it."""
    return need.quantity or 1


# --- who may decide ------------------------------------------------------------------------------------


def _fresh(area: Area) -> Area:
    return Area.objects.only("path", "level").get(pk=area.pk)


def require_decider(actor: Actor, need: Need) -> None:
    """Staff (role staff or above) over the need's community, or the key of the organisation that sent it.

    Raises NotFoundError out of sight (no role there; a key outside the areas its organisation serves),
    ForbiddenError in sight without the right (a viewer; a key of another organisation).
    """
    community = _fresh(need.community)
    if actor.organization is not None:
        if not scope_for_organization(actor.organization).contains(community):
            raise NotFoundError()
        if need.source_organization_id != actor.organization.pk:
            raise ForbiddenError(
                _("Only staff of the community, or the organisation that sent the need, decide on this.")
            )
        return
    require_staff(actor, community)


def _user(actor: Actor):
    return actor.user if actor.user_id else None


def _tell_webhooks(match: Match) -> None:
    """Tell the webhooks module of the transition, inside its transaction: the deliveries it queues are
    written with the change or not at all, and sent once it commits (needs.webhooks)."""
    webhooks.match_changed(match)


def _locked(match: Match) -> tuple[Match, Need]:
    """The match and its need re-read under row locks (need first: the order every service here keeps)."""
    need = (
        Need.objects.select_for_update(of=("self",))
        .select_related("community", "category", "posted_by", "source_organization")
        .get(pk=match.need_id)
    )
    current = (
        Match.objects.select_for_update(of=("self",))
        .select_related("resource", "resource__owner_person", "resource__owner_organization", "run")
        .get(pk=match.pk)
    )
    current.need = need
    return current, need


def _not_open_message(match: Match):
    messages = {
        M.ACCEPTED: _("This match was already accepted."),
        M.FULFILLED: _("This match was already marked as delivered."),
        M.DECLINED: _("This match was already declined."),
        M.EXPIRED: _("This match has expired: its need or its resource changed since it was proposed."),
    }
    return messages.get(match.status, _("This match cannot change that way."))


def _covered(need: Need, *, exclude: int | None = None) -> int:
    """Units of `need` already covered: accepted matches' quantity, fulfilled matches' delivered quantity."""
    rows = Match.objects.filter(need=need, status__in=(M.ACCEPTED, M.FULFILLED))
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    total = rows.aggregate(
        total=Sum(
            Case(
                When(status=M.FULFILLED, then=Coalesce("fulfilled_quantity", Value(0))),
                default=F("quantity"),
                output_field=IntegerField(),
            )
        )
    )["total"]
    return total or 0


# --- accept --------------------------------------------------------------------------------------------


def accept_match(*, match: Match, actor: Actor) -> Match:
    """Accept a proposed match: reserve its units of the resource, move a published need to matched, and
    tell the resource's owner and the organisation that sent the need.

    Raises NotFound/Forbidden for the actor (require_decider); ConflictError, with nothing changed, when the
    match is no longer proposed (`not_proposed`), the need no longer takes help (`need_closed`) or already
    has help for what it asked (`need_covered`), or the resource is no longer available (`resource_gone`) or
    was used up meanwhile (`resource_used_up`).
    """
    require_decider(actor, match.need)
    now = timezone.now()
    with transaction.atomic():
        current, need = _locked(match)
        if current.status != M.PROPOSED:
            raise ConflictError(_not_open_message(current), code="not_proposed")
        if need.status not in OPEN_NEED_STATUSES:
            raise ConflictError(
                _("Need #%(id)s is “%(status)s” now and takes no more help: this match cannot be accepted.")
                % {"id": need.pk, "status": need.get_status_display()},
                code="need_closed",
            )
        wanted, covered = wanted_quantity(need), _covered(need)
        if covered + current.quantity > wanted:
            raise ConflictError(
                _(
                    "Need #%(id)s already has help for %(covered)d of the %(wanted)d it asked for: this "
                    "match of %(quantity)d would be more than it needs."
                )
                % {"id": need.pk, "covered": covered, "wanted": wanted, "quantity": current.quantity},
                code="need_covered",
            )
        resource = current.resource
        # The reservation: one compare-and-set UPDATE. On PostgreSQL a concurrent accept waits on the row
        # and re-checks the condition after the first commits, so the last units go to one of them only.
        reserved = (
            Resource.objects.filter(
                pk=resource.pk, status=RS.AVAILABLE, taken__lte=F("quantity") - current.quantity
            )
            .filter(_still_offered(timezone.localdate()))
            .update(taken=F("taken") + current.quantity, updated_at=now)
        )
        if not reserved:
            raise _resource_refusal(resource.pk, current.quantity)
        Resource.objects.filter(pk=resource.pk, status=RS.AVAILABLE, taken=F("quantity")).update(
            status=RS.RESERVED
        )
        resource.refresh_from_db(fields=["taken", "status"])
        Match.objects.filter(pk=current.pk, status=M.PROPOSED).update(
            status=M.ACCEPTED, decided_by=_user(actor), decided_at=now, updated_at=now
        )
        current.status, current.decided_by, current.decided_at = M.ACCEPTED, _user(actor), now
        record_audit(
            actor=actor,
            action=AuditAction.MATCH_ACCEPTED,
            obj=current,
            area=need.community,
            summary=f"#{need.pk} ← {resource.title} × {current.quantity}",
            data={
                "need": need.pk,
                "resource": resource.pk,
                "quantity": current.quantity,
                "run": current.run_id,
                "resource_status": resource.status,
            },
        )
        if need.status == NS.PUBLISHED:
            _move_need(need, NS.MATCHED, actor)
        _tell_of_acceptance(current, need, resource, actor)
        _tell_webhooks(current)
    return current


def _still_offered(today: datetime.date, prefix: str = "") -> Q:
    """The resource's offer has not ended: no last day, or one not before `today`."""
    return Q(**{f"{prefix}available_until__isnull": True}) | Q(**{f"{prefix}available_until__gte": today})


def _resource_refusal(resource_pk: int, quantity: int) -> ConflictError:
    resource = Resource.objects.only("title", "status", "quantity", "taken", "available_until").get(
        pk=resource_pk
    )
    if resource.available_until is not None and resource.available_until < timezone.localdate():
        return ConflictError(
            _("“%(title)s” was offered until %(date)s: this match cannot be accepted. Nothing was changed.")
            % {"title": resource.title, "date": resource.available_until.isoformat()},
            code="resource_gone",
        )
    # Reserved with nothing free is what the last accept of the units leaves: used up meanwhile.
    if resource.status != RS.AVAILABLE and not (resource.status == RS.RESERVED and resource.free < quantity):
        return ConflictError(
            _("“%(title)s” is “%(status)s” now: this match cannot be accepted. Nothing was changed.")
            % {"title": resource.title, "status": resource.get_status_display()},
            code="resource_gone",
        )
    return ConflictError(
        _(
            "“%(title)s” has only %(free)d left and this match needs %(quantity)d: the rest was taken "
            "meanwhile. Nothing was changed."
        )
        % {"title": resource.title, "free": resource.free, "quantity": quantity},
        code="resource_used_up",
    )


def _move_need(need: Need, to_status: str, actor: Actor) -> None:
    # Through the needs service, so the poster's timeline, the audit event and their notice are written; the
    # decider was checked here (a hub's key is no staff, and the service would refuse it).
    change_need_status(need=need, to_status=to_status, actor=actor, decided_by_match=True)


def _representatives(organization) -> list[Person]:
    if organization is None:
        return []
    return list(Person.objects.filter(organization=organization).order_by("pk"))


def _tell_of_acceptance(match: Match, need: Need, resource: Resource, actor: Actor) -> None:
    """The resource's owner (the resident, or the organisation's representatives) and the representatives of
    the organisation that sent the need: what was matched, never who it is for."""
    key = f"match:{match.pk}:accepted"
    if resource.owner_person_id:
        notify(
            person=resource.owner_person,
            kind=NotificationKind.MATCH_ACCEPTED,
            text=_(
                "What you offered, “%(title)s”, was matched to a household in need. Thank you! Open “my "
                "page” to see where it went."
            )
            % {"title": resource.title},
            url=OWNER_PAGE_URL,
            actor=actor,
            key=key,
        )
    for person in _representatives(resource.owner_organization):
        notify(
            person=person,
            kind=NotificationKind.MATCH_ACCEPTED,
            text=_("“%(title)s”, offered by %(organization)s, was matched to a household in need.")
            % {"title": resource.title, "organization": resource.owner_organization.name},
            url=reverse("portal:me"),
            actor=actor,
            key=key,
        )
    for person in _representatives(need.source_organization):
        notify(
            person=person,
            kind=NotificationKind.MATCH_ACCEPTED,
            text=_("Need #%(id)s, sent by %(organization)s, was matched with “%(title)s”.")
            % {"id": need.pk, "organization": need.source_organization.name, "title": resource.title},
            url=reverse("portal:me"),
            actor=actor,
            key=f"{key}:need",
        )


# --- decline -------------------------------------------------------------------------------------------


def decline_match(*, match: Match, actor: Actor, reason: str) -> Match:
    """Decline a proposed match with a reason (kept; the run never proposes the pair again).

    Raises MatchError `reason_required` / `too_long` (nothing changed), NotFound/Forbidden for the actor,
    ConflictError `already_declined` the second time, `not_proposed` for a match accepted, fulfilled or
    expired.
    """
    text = clean_text(reason or "") if isinstance(reason, str) else ""
    if not text:
        raise MatchError(
            _("Say why the match is declined: the reason is kept, and this pair is not proposed again."),
            code="reason_required",
            field="reason",
        )
    if len(text) > NOTE_MAX:
        raise MatchError(
            _("The reason is too long: at most %(max)d characters.") % {"max": NOTE_MAX},
            code="too_long",
            field="reason",
        )
    require_decider(actor, match.need)
    now = timezone.now()
    with transaction.atomic():
        current, need = _locked(match)
        if current.status == M.DECLINED:
            raise ConflictError(_not_open_message(current), code="already_declined")
        if current.status != M.PROPOSED:
            raise ConflictError(_not_open_message(current), code="not_proposed")
        Match.objects.filter(pk=current.pk, status=M.PROPOSED).update(
            status=M.DECLINED, decline_reason=text, decided_by=_user(actor), decided_at=now, updated_at=now
        )
        current.status, current.decline_reason = M.DECLINED, text
        current.decided_by, current.decided_at = _user(actor), now
        record_audit(
            actor=actor,
            action=AuditAction.MATCH_DECLINED,
            obj=current,
            area=need.community,
            summary=f"#{need.pk} ← {current.resource.title}",
            data={"need": need.pk, "resource": current.resource_id, "run": current.run_id, "reason": text},
        )
        _tell_webhooks(current)
    return current


# --- fulfil --------------------------------------------------------------------------------------------


def fulfil_match(*, match: Match, actor: Actor, quantity: int | None = None) -> Match:
    """Record that an accepted match was delivered: `quantity` units (default: all it matched).

    Units not delivered go back to the resource. The need becomes met when its fulfilled matches cover all
    it wanted, else help is under way; the resource becomes used up when fulfilled matches used all its
    units. Raises MatchError `invalid_quantity` (nothing changed), NotFound/Forbidden for the actor,
    ConflictError `already_fulfilled` / `not_accepted`.
    """
    if quantity is None:
        quantity = match.quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= match.quantity:
        raise MatchError(
            _("The quantity delivered must be a whole number from 1 to %(max)d, the quantity matched.")
            % {"max": match.quantity},
            code="invalid_quantity",
            field="quantity",
        )
    require_decider(actor, match.need)
    now = timezone.now()
    with transaction.atomic():
        current, need = _locked(match)
        if current.status == M.FULFILLED:
            raise ConflictError(_not_open_message(current), code="already_fulfilled")
        if current.status != M.ACCEPTED:
            raise ConflictError(
                _("Only an accepted match can be marked as delivered: accept it first."), code="not_accepted"
            )
        Match.objects.filter(pk=current.pk, status=M.ACCEPTED).update(
            status=M.FULFILLED, fulfilled_quantity=quantity, fulfilled_at=now, updated_at=now
        )
        current.status, current.fulfilled_quantity, current.fulfilled_at = M.FULFILLED, quantity, now
        resource = current.resource
        returned = current.quantity - quantity
        if returned:
            Resource.objects.filter(pk=resource.pk, taken__gte=returned).update(
                taken=F("taken") - returned, updated_at=now
            )
            Resource.objects.filter(pk=resource.pk, status=RS.RESERVED, taken__lt=F("quantity")).update(
                status=RS.AVAILABLE
            )
        used = (
            Match.objects.filter(resource=resource, status=M.FULFILLED).aggregate(
                n=Sum("fulfilled_quantity")
            )["n"]
            or 0
        )
        Resource.objects.filter(
            pk=resource.pk, status__in=(RS.AVAILABLE, RS.RESERVED), quantity__lte=used
        ).update(status=RS.USED_UP, updated_at=now)
        resource.refresh_from_db(fields=["taken", "status"])
        delivered = (
            Match.objects.filter(need=need, status=M.FULFILLED).aggregate(n=Sum("fulfilled_quantity"))["n"]
            or 0
        )
        met = delivered >= wanted_quantity(need)
        record_audit(
            actor=actor,
            action=AuditAction.MATCH_FULFILLED,
            obj=current,
            area=need.community,
            summary=f"#{need.pk} ← {resource.title} × {quantity}/{current.quantity}",
            data={
                "need": need.pk,
                "resource": resource.pk,
                "quantity": current.quantity,
                "fulfilled_quantity": quantity,
                "returned_to_resource": returned,
                "resource_status": resource.status,
                "need_met": met,
            },
        )
        if met and need.status in (NS.PUBLISHED, NS.MATCHED, NS.IN_PROGRESS):
            _move_need(need, NS.MET, actor)
        elif not met and need.status in (NS.PUBLISHED, NS.MATCHED):
            _move_need(need, NS.IN_PROGRESS, actor)
        _tell_webhooks(current)
    return current


# --- expire --------------------------------------------------------------------------------------------


def expire_need_matches(*, need: Need, actor: Actor, reason: str = "need_closed") -> int:
    """Expire the proposed matches of `need`: it stopped taking help (`need_closed`, from
    needs.services._apply_status) or what they were proposed on changed (`need_changed`, from edit_need).
    Inside the transaction of that change; one audit event per match. Returns how many expired."""
    now = timezone.now()
    expiring = list(
        Match.objects.filter(need_id=need.pk, status=M.PROPOSED).select_related("resource").order_by("pk")
    )
    if not expiring:
        return 0
    Match.objects.filter(pk__in=[m.pk for m in expiring], status=M.PROPOSED).update(
        status=M.EXPIRED, updated_at=now
    )
    for match in expiring:
        match.status = M.EXPIRED
        match.need = need
        record_audit(
            actor=actor,
            action=AuditAction.MATCH_EXPIRED,
            obj=match,
            area=need.community,
            summary=f"#{need.pk} ← {match.resource.title}",
            data={
                "need": need.pk,
                "resource": match.resource_id,
                "reason": reason,
                "need_status": need.status,
            },
        )
        _tell_webhooks(match)
    return len(expiring)


def _stale_proposals(now: datetime.datetime):
    """Proposed matches whose need no longer takes help or wants that much, or whose resource is no longer
    available or has not the quantity left (one query; the coverage is a subquery per need)."""
    covered = (
        Match.objects.filter(need=OuterRef("need"), status__in=(M.ACCEPTED, M.FULFILLED))
        .order_by()
        .values("need")
        .annotate(
            total=Sum(
                Case(
                    When(status=M.FULFILLED, then=Coalesce("fulfilled_quantity", Value(0))),
                    default=F("quantity"),
                    output_field=IntegerField(),
                )
            )
        )
        .values("total")
    )
    return (
        Match.objects.filter(status=M.PROPOSED)
        .annotate(
            covered=Coalesce(Subquery(covered, output_field=IntegerField()), Value(0)),
            wanted=Coalesce("need__quantity", Value(1)),
        )
        .filter(
            ~Q(need__status__in=OPEN_NEED_STATUSES)
            | ~Q(resource__status=RS.AVAILABLE)
            | ~_still_offered(timezone.localdate(now), "resource__")
            | Q(resource__quantity__lt=F("resource__taken") + F("quantity"))
            | Q(wanted__lt=F("covered") + F("quantity"))
        )
    )


def _stale_reason(match: Match, today: datetime.date) -> str:
    if match.need.status not in OPEN_NEED_STATUSES:
        return "need_closed"
    resource = match.resource
    if resource.status != RS.AVAILABLE or (
        resource.available_until is not None and resource.available_until < today
    ):
        return "resource_gone"
    if match.resource.free < match.quantity:
        return "resource_used_up"
    return "need_covered"


def expire_stale_matches(*, now: datetime.datetime | None = None) -> int:
    """Expire every proposed match whose need or resource changed so that it can no longer be accepted.

    The nightly run calls it before it proposes anything. Safe to run twice (compare-and-set on the status).
    One audit event per community and up to EXPIRED_PER_EVENT matches, naming them and why. Returns how
    many expired.
    """
    now = now or timezone.now()
    actor = Actor.system(AuditEvent.Surface.TASK)
    stale = list(
        _stale_proposals(now)
        .select_related("need", "need__community", "need__category", "resource")
        .order_by("need__community_id", "pk")
    )
    if not stale:
        return 0
    expired = 0
    by_community: dict[int, list[Match]] = defaultdict(list)
    with transaction.atomic():
        ids = [m.pk for m in stale]
        done: set[int] = set()
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            expired += Match.objects.filter(pk__in=chunk, status=M.PROPOSED).update(
                status=M.EXPIRED, updated_at=now
            )
            # Those this call expired: one accepted or declined since it read them is left alone.
            done.update(
                Match.objects.filter(pk__in=chunk, status=M.EXPIRED, updated_at=now).values_list(
                    "pk", flat=True
                )
            )
        stale = [m for m in stale if m.pk in done]
        for match in stale:
            by_community[match.need.community_id].append(match)
        for matches in by_community.values():
            for start in range(0, len(matches), EXPIRED_PER_EVENT):
                part = matches[start : start + EXPIRED_PER_EVENT]
                reasons: dict[str, list[int]] = defaultdict(list)
                for match in part:
                    reasons[_stale_reason(match, timezone.localdate(now))].append(match.pk)
                record_audit(
                    actor=actor,
                    action=AuditAction.MATCH_EXPIRED,
                    area=part[0].need.community,
                    summary=str(len(part)),
                    data={"matches": [m.pk for m in part], "reasons": dict(sorted(reasons.items()))},
                )
        for match in stale:
            match.status = M.EXPIRED
            _tell_webhooks(match)
    return expired


# Last: needs.services re-exports this module's services (its own last lines) and calls
# `expire_need_matches` when a need stops taking help; importing it here, after every definition above, works
# whichever of the two modules is imported first.
from .services import change_need_status  # noqa: E402
