"""Every write to the needs registry. Each service is one transaction and writes its audit event.

Surfaces: a resident on the portal (`Need.Source.PORTAL`), staff entering a need on a resident's behalf in
the admin (`STAFF`, the consent recorded), a hub organisation's API key for the communities it serves (`API`).
All of them call `submit_need`; review, publication and every later status change go through
`change_need_status` and its one transition table, which writes the poster's timeline, the audit event and
the notification. docs/needs.md explains the rules.
"""

from __future__ import annotations

import datetime
import difflib
import json
import re
import unicodedata
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from charity import crypto
from charity.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from charity.models import (
    Area,
    AuditAction,
    AuditEvent,
    Category,
    NotificationKind,
    Organization,
    Person,
    StaffAssignment,
)
from charity.notifications import notify
from charity.scoping import role_in_area, scope_for_organization
from charity.services import Actor, record_audit
from charity.validators import clean_text
from resources.models import Resource

from . import webhooks
from .models import (
    DESCRIPTION_MAX,
    MESSAGE_MAX,
    NOTE_MAX,
    PUBLIC_STATUSES,
    SUMMARY_MAX,
    Need,
    NeedSensitiveDetails,
    NeedStatusChange,
    Offer,
)

S = Need.Status

# The one table of allowed status changes. Declined, withdrawn, met and expired are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.SUBMITTED: frozenset({S.PUBLISHED, S.DECLINED, S.WITHDRAWN, S.EXPIRED}),
    S.PUBLISHED: frozenset({S.MATCHED, S.IN_PROGRESS, S.MET, S.WITHDRAWN, S.EXPIRED}),
    S.MATCHED: frozenset({S.PUBLISHED, S.IN_PROGRESS, S.MET, S.WITHDRAWN, S.EXPIRED}),
    S.IN_PROGRESS: frozenset({S.MATCHED, S.MET, S.WITHDRAWN}),
    S.MET: frozenset(),
    S.DECLINED: frozenset(),
    S.WITHDRAWN: frozenset(),
    S.EXPIRED: frozenset(),
}
OPEN_STATUSES = (S.SUBMITTED, S.PUBLISHED, S.MATCHED, S.IN_PROGRESS)
EXPIRING_STATUSES = (S.SUBMITTED, S.PUBLISHED, S.MATCHED)
# The poster is told of these (NotificationKind.NEED_STATUS); expiry has its own kind.
NOTIFIED_STATUSES = frozenset({S.PUBLISHED, S.DECLINED, S.MATCHED, S.IN_PROGRESS, S.MET, S.WITHDRAWN})

# Two summaries at least this alike (difflib's ratio, 0–1) in one community and category are flagged.
DUPLICATE_SIMILARITY = 0.6
DUPLICATE_CANDIDATES = 200


class NeedError(DomainError):
    code = "need_invalid"


# --- the public text check -----------------------------------------------------------------------------

# A run of digits, possibly broken by spaces, dashes, dots or brackets as people write numbers.
_DIGIT_RUN = re.compile(r"\d(?:[\s\-.()（）]*\d)+[Xx]?")


def _identifier_in(text: str):
    """The kind of identifier `text` seems to hold ("mobile", "id_number", "landline"), or None."""
    normalized = unicodedata.normalize("NFKC", text)
    for match in _DIGIT_RUN.finditer(normalized):
        run = match.group(0)
        digits = re.sub(r"\D", "", run)
        if len(digits) == 11 and re.fullmatch(r"1[3-9]\d{9}", digits):
            return "mobile"
        if len(digits) == 18 or (len(digits) == 17 and run[-1] in "Xx") or len(digits) == 15:
            return "id_number"
        if re.fullmatch(r"0\d{9,11}", digits) or len(digits) in (7, 8):
            return "landline"
    return None


_IDENTIFIER_MESSAGES = {
    "mobile": _(
        "This looks like a mobile number. The summary is public: leave phone numbers out — staff "
        "keep contact details apart, protected."
    ),
    "id_number": _("This looks like an ID card number. The summary is public: never put an ID number in it."),
    "landline": _(
        "This looks like a telephone number. The summary is public: leave phone numbers out — staff "
        "keep contact details apart, protected."
    ),
}


# A need's quantity and the people it helps: no community's need is larger, and the column's integer holds it.
MAX_COUNT = 1_000_000


def _check_at_most(value: int, *, field: str) -> None:
    if value > MAX_COUNT:
        raise NeedError(
            _("That number is too large: at most %(max)s.") % {"max": f"{MAX_COUNT:,}"},
            code="too_large",
            field=field,
        )


def check_public_text(value, *, field_name: str, max_length: int, required: bool) -> str:
    """Return `value` cleaned for a public field, or raise NeedError saying what is wrong with it."""
    text = clean_text(value or "")
    if required and not text:
        raise NeedError(_("Say briefly what is needed."), code="summary_required", field=field_name)
    if len(text) > max_length:
        raise NeedError(
            _("This text is too long: at most %(max)d characters, this one has %(n)d.")
            % {"max": max_length, "n": len(text)},
            code="too_long",
            field=field_name,
        )
    kind = _identifier_in(text)
    if kind:
        raise NeedError(_IDENTIFIER_MESSAGES[kind], code=f"{kind}_in_public_text", field=field_name)
    return text


# --- input ---------------------------------------------------------------------------------------------


@dataclass
class NeedInput:
    """The public part of a need, as any surface submits it."""

    community: Area
    category: Category
    sub_kind: str
    summary: str
    description: str = ""
    quantity: int | None = None
    unit: str = ""
    urgency: str = Need.Urgency.ROUTINE
    needed_by: datetime.date | None = None
    beneficiary_count: int = 1


@dataclass
class LegalBasisInput:
    """Why the platform may hold the sensitive details (PIPL art. 13) and, for consent, what it covers."""

    basis: str
    note: str = ""
    given_by: str = ""
    given_at: datetime.datetime | None = None
    publish_summary: bool = False
    share_with: list[Organization] = field(default_factory=list)


SENSITIVE_TEXT_MAX = 500


def _clean_need_input(data: NeedInput) -> dict:
    if data.community is None or data.community.level != Area.Level.COMMUNITY:
        raise NeedError(
            _("Choose a community, not a higher-level area."), code="not_a_community", field="community"
        )
    if data.category is None or not data.category.is_active:
        raise NeedError(_("Choose a category that is in use."), code="invalid_category", field="category")
    if data.sub_kind not in Need.SubKind.values:
        raise NeedError(_("Choose the kind of help needed."), code="invalid_sub_kind", field="sub_kind")
    if data.urgency not in Need.Urgency.values:
        raise NeedError(_("Choose how urgent the need is."), code="invalid_urgency", field="urgency")
    summary = check_public_text(data.summary, field_name="summary", max_length=SUMMARY_MAX, required=True)
    description = check_public_text(
        data.description, field_name="description", max_length=DESCRIPTION_MAX, required=False
    )
    quantity = data.quantity
    if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1):
        raise NeedError(
            _("The quantity must be a whole number of at least 1 (leave it empty if it does not apply)."),
            code="invalid_quantity",
            field="quantity",
        )
    if quantity is not None:
        _check_at_most(quantity, field="quantity")
    unit = clean_text(data.unit or "")
    if len(unit) > 20:
        raise NeedError(_("The unit has at most 20 characters."), code="too_long", field="unit")
    count = data.beneficiary_count
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise NeedError(
            _("The number of people helped must be a whole number of at least 1."),
            code="invalid_beneficiary_count",
            field="beneficiary_count",
        )
    _check_at_most(count, field="beneficiary_count")
    if data.needed_by is not None and data.needed_by < timezone.localdate():
        raise NeedError(
            _("The date it is needed by has already passed: choose today or a later day."),
            code="needed_by_in_past",
            field="needed_by",
        )
    return {
        "community": data.community,
        "category": data.category,
        "sub_kind": data.sub_kind,
        "summary": summary,
        "description": description,
        "quantity": quantity,
        "unit": unit,
        "urgency": data.urgency,
        "needed_by": data.needed_by,
        "beneficiary_count": count,
    }


def check_need_input(data: NeedInput) -> dict:
    """The public part cleaned and checked as `submit_need` would; NeedError when refused (writes nothing)."""
    return _clean_need_input(data)


def _clean_sensitive(details: dict | None) -> dict:
    """The sensitive fields that were filled in, cleaned; {} when none was."""
    if not details:
        return {}
    unknown = set(details) - set(NeedSensitiveDetails.FIELDS)
    if unknown:
        raise NeedError(
            _("Unknown sensitive field: %(names)s.") % {"names": ", ".join(sorted(unknown))},
            code="unknown_field",
            field="sensitive",
        )
    cleaned = {}
    for name in NeedSensitiveDetails.FIELDS:
        value = details.get(name)
        if name in ("low_income", "about_minor"):
            if value not in (None, "", False, True):
                raise NeedError(_("Answer yes or no."), code="invalid", field=f"sensitive.{name}")
            if value:
                cleaned[name] = True
            continue
        text = clean_text(value or "")
        if len(text) > SENSITIVE_TEXT_MAX:
            raise NeedError(
                _("This text is too long: at most %(max)d characters, this one has %(n)d.")
                % {"max": SENSITIVE_TEXT_MAX, "n": len(text)},
                code="too_long",
                field=f"sensitive.{name}",
            )
        if text:
            cleaned[name] = text
    return cleaned


def _clean_basis(basis: LegalBasisInput | None, community: Area) -> LegalBasisInput:
    if basis is None or not basis.basis:
        raise NeedError(
            _(
                "Sensitive details (name, phone, address, ID number, health, income, anything about a "
                "child) need a legal basis: record the person's consent, the statutory duty or the emergency."
            ),
            code="sensitive_without_legal_basis",
            field="legal_basis",
        )
    if basis.basis not in NeedSensitiveDetails.LegalBasis.values:
        raise NeedError(_("Choose a legal basis."), code="invalid_legal_basis", field="legal_basis")
    note = clean_text(basis.note or "")
    if len(note) > NOTE_MAX:
        raise NeedError(_("The note is too long."), code="too_long", field="basis_note")
    if basis.basis == NeedSensitiveDetails.LegalBasis.CONSENT:
        if basis.given_by not in NeedSensitiveDetails.GivenBy.values:
            raise NeedError(
                _("Say who gave the consent: the person helped, their guardian or a family member."),
                code="consent_given_by_required",
                field="consent_given_by",
            )
        served = scope_for_organization
        for organization in basis.share_with:
            if organization.type != Organization.Type.HUB or not served(organization).contains(
                _fresh(community)
            ):
                raise NeedError(
                    _("Details can be shared only with hub organisations that serve this community."),
                    code="share_with_invalid",
                    field="share_with",
                )
    elif not note:
        raise NeedError(
            _("Name the statutory duty or describe the emergency that allows holding these details."),
            code="basis_note_required",
            field="basis_note",
        )
    return LegalBasisInput(
        basis=basis.basis,
        note=note,
        given_by=basis.given_by if basis.basis == NeedSensitiveDetails.LegalBasis.CONSENT else "",
        given_at=basis.given_at or timezone.now(),
        publish_summary=bool(basis.publish_summary),
        share_with=list(basis.share_with) if basis.basis == NeedSensitiveDetails.LegalBasis.CONSENT else [],
    )


# --- who may act ---------------------------------------------------------------------------------------


def _fresh(area: Area) -> Area:
    """`area` with its path as stored now (an instance read earlier may hold a renumbered path)."""
    return Area.objects.only("path", "level").get(pk=area.pk)


def _require_staff(actor: Actor, area: Area, *, min_role=StaffAssignment.Role.STAFF) -> None:
    """Staff with `min_role` over `area`; out of scope is NotFound, a lesser role Forbidden."""
    user = actor.user
    if user is None or not user.is_authenticated or not user.is_active:
        raise NotFoundError()
    area = _fresh(area)
    role = role_in_area(user, area)
    if role is None:
        raise NotFoundError()
    if StaffAssignment.RANK[role] < StaffAssignment.RANK[min_role]:
        raise ForbiddenError()


def _is_poster(actor: Actor, need: Need) -> bool:
    return bool(actor.user_id) and need.posted_by_id is not None and need.posted_by.user_id == actor.user_id


def _check_submitter(*, actor: Actor, source: str, community: Area, posted_by: Person | None) -> None:
    if source == Need.Source.PORTAL:
        if posted_by is None or actor.user_id is None or posted_by.user_id != actor.user_id:
            raise NotFoundError()
        if posted_by.community_id != community.pk:
            raise NeedError(
                _("You can post a need for your own community only."),
                code="not_your_community",
                field="community",
            )
    elif source == Need.Source.STAFF:
        _require_staff(actor, community)
        if posted_by is not None and posted_by.community_id != community.pk:
            raise NeedError(
                _("The resident lives in another community."), code="not_your_community", field="posted_by"
            )
    elif source == Need.Source.API:
        if actor.organization is None or not scope_for_organization(actor.organization).contains(
            _fresh(community)
        ):
            raise NotFoundError()
    else:
        raise NeedError(_("Unknown source."), code="invalid_source", field="source")


# --- submission ----------------------------------------------------------------------------------------


def submit_need(
    *,
    data: NeedInput,
    source: str,
    actor: Actor,
    posted_by: Person | None = None,
    sensitive: dict | None = None,
    basis: LegalBasisInput | None = None,
    illustrative: bool = False,
) -> Need:
    """Enter a need for review from any surface; flag likely duplicates to staff. `illustrative` marks an
    invented need of the demonstration data.

    Raises NeedError for bad input (nothing written), NotFoundError when the community is outside the
    actor's reach, ForbiddenError for a viewer.
    """
    cleaned = _clean_need_input(data)
    _check_submitter(actor=actor, source=source, community=data.community, posted_by=posted_by)
    details = _clean_sensitive(sensitive)
    clean_basis = _clean_basis(basis, data.community) if details else None
    with transaction.atomic():
        need = Need.objects.create(
            **cleaned,
            status=S.SUBMITTED,
            source=source,
            source_organization=actor.organization if source == Need.Source.API else None,
            posted_by=posted_by,
            entered_by=actor.user if actor.user_id else None,
            is_illustrative=illustrative,
        )
        NeedStatusChange.objects.create(
            need=need, from_status="", to_status=S.SUBMITTED, changed_by=_user(actor)
        )
        record_audit(
            actor=actor,
            action=AuditAction.NEED_SUBMITTED,
            obj=need,
            area=need.community,
            summary=f"#{need.pk} {need.get_source_display()}",
            data={"source": source, "category": need.category.code},
        )
        if details:
            _write_sensitive(need=need, details=details, basis=clean_basis, actor=actor)
        flag_duplicates(need=need, actor=actor)
    return need


def _user(actor: Actor):
    return actor.user if actor.user_id else None


def _write_sensitive(
    *, need: Need, details: dict, basis: LegalBasisInput, actor: Actor, recorded_by=None
) -> NeedSensitiveDetails:
    """Encrypt and store the details with their basis. `recorded_by`: who recorded a consent kept from
    before (a correction of the details under the same consent); by default the actor records it now."""
    consent = basis.basis == NeedSensitiveDetails.LegalBasis.CONSENT
    record, created = NeedSensitiveDetails.objects.update_or_create(
        need=need,
        defaults={
            "ciphertext": crypto.encrypt(json.dumps(details, ensure_ascii=False)),
            "phone_index": crypto.blind_index(details.get("phone", "")),
            "id_number_index": crypto.blind_index(details.get("id_number", "")),
            "legal_basis": basis.basis,
            "basis_note": basis.note,
            "consent_given_by": basis.given_by,
            "consent_given_at": basis.given_at if consent else None,
            "consent_recorded_by": recorded_by or _user(actor),
            "consent_publish_summary": basis.publish_summary,
            "consent_withdrawn_at": None,
        },
    )
    record.share_with.set(basis.share_with)
    # Which fields, never their values: the audit log is read by every staff member of the area.
    record_audit(
        actor=actor,
        action=AuditAction.NEED_SENSITIVE_SAVED,
        obj=need,
        area=need.community,
        summary=f"#{need.pk} {record.get_legal_basis_display()}",
        data={
            "fields": sorted(details),
            "basis": basis.basis,
            "share_with": [o.pk for o in basis.share_with],
            "replaced": not created,
        },
    )
    return record


def record_sensitive_details(
    *, need: Need, details: dict, basis: LegalBasisInput, actor: Actor, new_consent: bool = False
) -> NeedSensitiveDetails:
    """Record, or correct, a need's sensitive details with their legal basis: staff of the need's area
    holding `needs.view_sensitive` (correcting means seeing them). The whole record is replaced.

    Consent already on record stays as given (who, when, who recorded it) while the details are corrected,
    unless `new_consent` says the person consented again now. Consent that was withdrawn is never revived
    by a correction: it takes `new_consent` or another legal basis. Raises NeedError (nothing written),
    NotFound out of scope, Forbidden for a viewer or without the permission.
    """
    require_sensitive_access(need=need, actor=actor)
    cleaned = _clean_sensitive(details)
    if not cleaned:
        raise NeedError(_("Fill in at least one detail."), code="sensitive_empty", field="sensitive")
    clean_basis = _clean_basis(basis, need.community)
    with transaction.atomic():
        old = NeedSensitiveDetails.objects.select_for_update().filter(need=need).first()
        recorded_by = None
        consent = clean_basis.basis == NeedSensitiveDetails.LegalBasis.CONSENT
        if consent and old is not None and old.legal_basis == clean_basis.basis and not new_consent:
            if old.consent_withdrawn_at is not None:
                raise NeedError(
                    _(
                        "The person withdrew their consent on %(date)s. Record these details again only "
                        "with a new consent (tick “they consented again”) or another legal basis."
                    )
                    % {"date": timezone.localtime(old.consent_withdrawn_at).strftime("%Y-%m-%d")},
                    code="consent_withdrawn",
                    field="new_consent",
                )
            clean_basis.given_at = old.consent_given_at
            recorded_by = old.consent_recorded_by
        record = _write_sensitive(
            need=need, details=cleaned, basis=clean_basis, actor=actor, recorded_by=recorded_by
        )
        flag_duplicates(need=need, actor=actor)
    return record


def flag_duplicates(*, need: Need, actor: Actor) -> list[Need]:
    """Flag open needs that look like `need`: same community and category with a similar summary
    (difflib ratio ≥ DUPLICATE_SIMILARITY), or the same beneficiary (blind index of phone or ID number)."""
    open_needs = Need.objects.filter(status__in=OPEN_STATUSES).exclude(pk=need.pk)
    candidates = open_needs.filter(community=need.community, category=need.category).only("pk", "summary")
    similar = [
        other.pk
        for other in candidates.order_by("-created_at")[:DUPLICATE_CANDIDATES]
        if difflib.SequenceMatcher(None, need.summary, other.summary).ratio() >= DUPLICATE_SIMILARITY
    ]
    same_person: list[int] = []
    record = NeedSensitiveDetails.objects.filter(need=need).first()
    if record is not None:
        for column in ("phone_index", "id_number_index"):
            value = getattr(record, column)
            if value:
                same_person += list(
                    NeedSensitiveDetails.objects.filter(**{column: value}, need__status__in=OPEN_STATUSES)
                    .exclude(need=need)
                    .values_list("need_id", flat=True)
                )
    ids = sorted(set(similar) | set(same_person))
    if ids:
        need.possible_duplicates.add(*ids)
        record_audit(
            actor=actor,
            action=AuditAction.NEED_DUPLICATE_FLAGGED,
            obj=need,
            area=need.community,
            summary=f"#{need.pk}",
            data={"similar_summary": sorted(set(similar)), "same_beneficiary": sorted(set(same_person))},
        )
    return list(Need.objects.filter(pk__in=ids))


# --- status changes ------------------------------------------------------------------------------------


def _status_text(need: Need, to_status: str):
    texts = {
        S.PUBLISHED: _("Your need #%(id)s has been published: neighbours can now offer help."),
        S.DECLINED: _("Your need #%(id)s was not published. Open it to read why."),
        S.MATCHED: _("Help has been found for your need #%(id)s."),
        S.IN_PROGRESS: _("Help with your need #%(id)s is under way."),
        S.MET: _("Your need #%(id)s has been met."),
        S.WITHDRAWN: _("Your need #%(id)s has been withdrawn."),
    }
    return texts[to_status] % {"id": need.pk}


MY_PAGE_URL = "/me/"


def change_need_status(
    *,
    need: Need,
    to_status: str,
    actor: Actor,
    note: str = "",
    allow_poster: bool = False,
    decided_by_match: bool = False,
) -> Need:
    """Move `need` to `to_status` if the transition table allows it (compare-and-set), audited, on the
    timeline, and the poster told. Staff of the need's area act; the poster only where `allow_poster`;
    `decided_by_match`: needs.matches checked the actor (staff, or the key of the organisation that sent it).

    Raises NeedError for a change the table refuses or a lost race, NotFound/Forbidden for the actor.
    """
    if not decided_by_match and not (allow_poster and _is_poster(actor, need)):
        _require_staff(actor, need.community)
    note = clean_text(note or "")
    if len(note) > NOTE_MAX:
        raise NeedError(
            _("The note is too long: at most %(max)d characters.") % {"max": NOTE_MAX},
            code="too_long",
            field="note",
        )
    if to_status not in TRANSITIONS.get(need.status, ()):
        raise NeedError(
            _("A need that is %(from)s cannot become %(to)s.")
            % {
                "from": need.get_status_display(),
                "to": Need.Status(to_status).label if to_status in S.values else to_status,
            },
            code="invalid_transition",
            field="status",
        )
    with transaction.atomic():
        _apply_status(need=need, to_status=to_status, actor=actor, note=note)
        if to_status in NOTIFIED_STATUSES and need.posted_by_id and not _is_poster(actor, need):
            _notify(
                person=need.posted_by,
                kind=NotificationKind.NEED_STATUS,
                text=_status_text(need, to_status),
                actor=actor,
                key=f"need:{need.pk}:status:{to_status}:{need.timeline.count()}",
            )
    return need


def _apply_status(*, need: Need, to_status: str, actor: Actor, note: str) -> None:
    """Compare-and-set the status, then the timeline line and the audit event (inside a transaction)."""
    from_status = need.status
    now = timezone.now()
    updates = {"status": to_status, "updated_at": now}
    if to_status == S.PUBLISHED and need.published_at is None:
        updates["published_at"] = now
    changed = Need.objects.filter(pk=need.pk, status=from_status).update(**updates)
    if changed == 0:
        raise ConflictError(
            _("Someone changed this need at the same time: reload it and try again."), code="need_changed"
        )
    for name, value in updates.items():
        setattr(need, name, value)
    NeedStatusChange.objects.create(
        need=need, from_status=from_status, to_status=to_status, changed_by=_user(actor), note=note
    )
    record_audit(
        actor=actor,
        action=AuditAction.NEED_STATUS_CHANGED,
        obj=need,
        area=need.community,
        summary=f"#{need.pk} {Need.Status(from_status).label} → {Need.Status(to_status).label}",
        data={"from": from_status, "to": to_status},
    )
    webhooks.need_status_changed(need, from_status, to_status)  # an organisation's need: its webhooks
    if to_status not in PUBLIC_STATUSES:
        expire_need_matches(need=need, actor=actor)  # its proposed matches can no longer be accepted


def _notify(
    *, person: Person | None, kind: str, text, actor: Actor, key: str, url: str = MY_PAGE_URL
) -> None:
    if person is None:
        return
    notify(person=person, kind=kind, text=text, url=url, actor=actor, key=key)


# What the nightly matching proposed a need's matches on: a change to one of them expires its proposals.
MATCHED_ON = frozenset({"community", "category", "sub_kind", "quantity", "needed_by"})


def edit_need(*, need: Need, data: NeedInput, actor: Actor) -> Need:
    """Change a need's public part (moderation: editing out identifying details). Staff of its area only."""
    _require_staff(actor, need.community)
    if need.status not in OPEN_STATUSES:
        raise NeedError(_("A closed need cannot be edited."), code="need_closed")
    cleaned = _clean_need_input(data)
    if cleaned["community"].pk != need.community_id:
        _require_staff(actor, cleaned["community"])
    changed = sorted(k for k, v in cleaned.items() if getattr(need, k) != v)
    if not changed:
        return need
    with transaction.atomic():
        for name in changed:
            setattr(need, name, cleaned[name])
        need.save(update_fields=[*changed, "updated_at"])
        record_audit(
            actor=actor,
            action=AuditAction.NEED_EDITED,
            obj=need,
            area=need.community,
            summary=f"#{need.pk}",
            data={"fields": changed},
        )
        if MATCHED_ON.intersection(changed):
            expire_need_matches(need=need, actor=actor, reason="need_changed")
    return need


def publish_need(
    *, need: Need, actor: Actor, summary: str | None = None, description: str | None = None, note: str = ""
) -> Need:
    """Publish a submitted need, with the reviewer's edits to the summary and description.

    Refused when the need's consent does not cover publishing its summary, or was withdrawn.
    """
    _require_staff(actor, need.community)
    record = NeedSensitiveDetails.objects.filter(need=need).first()
    if (
        record is not None
        and record.legal_basis == NeedSensitiveDetails.LegalBasis.CONSENT
        and (not record.consent_publish_summary or record.consent_withdrawn_at is not None)
    ):
        raise NeedError(
            _("The consent recorded for this need does not allow publishing its summary."),
            code="no_consent_to_publish",
        )
    with transaction.atomic():
        if summary is not None or description is not None:
            edit_need(
                need=need,
                data=NeedInput(
                    community=need.community,
                    category=need.category,
                    sub_kind=need.sub_kind,
                    summary=need.summary if summary is None else summary,
                    description=need.description if description is None else description,
                    quantity=need.quantity,
                    unit=need.unit,
                    urgency=need.urgency,
                    needed_by=None
                    if need.needed_by and need.needed_by < timezone.localdate()
                    else need.needed_by,
                    beneficiary_count=need.beneficiary_count,
                ),
                actor=actor,
            )
        change_need_status(need=need, to_status=S.PUBLISHED, actor=actor, note=note)
    return need


def decline_need(*, need: Need, actor: Actor, note: str) -> Need:
    """Decline a submitted need; `note` tells the poster why (required)."""
    if not clean_text(note or ""):
        raise NeedError(_("Tell the resident why the need is declined."), code="note_required", field="note")
    return change_need_status(need=need, to_status=S.DECLINED, actor=actor, note=note)


def withdraw_need(*, need: Need, actor: Actor, note: str = "") -> Need:
    """Withdraw a need: its poster, or staff of its area."""
    return change_need_status(need=need, to_status=S.WITHDRAWN, actor=actor, note=note, allow_poster=True)


def withdraw_consent(*, need: Need, actor: Actor) -> NeedSensitiveDetails:
    """Record that the consent for a need's details is withdrawn (the poster or staff): sharing stops at
    once, and a need published on that consent leaves the public list (PIPL art. 15)."""
    if not _is_poster(actor, need):
        _require_staff(actor, need.community)
    record = NeedSensitiveDetails.objects.filter(need=need).first()
    if record is None or not record.consent_active:
        raise NeedError(_("There is no active consent to withdraw for this need."), code="no_active_consent")
    with transaction.atomic():
        changed = NeedSensitiveDetails.objects.filter(pk=record.pk, consent_withdrawn_at__isnull=True).update(
            consent_withdrawn_at=timezone.now(), consent_publish_summary=False
        )
        if not changed:
            raise ConflictError(_("The consent was already withdrawn."), code="consent_withdrawn")
        record.share_with.clear()
        record.refresh_from_db()
        record_audit(
            actor=actor,
            action=AuditAction.NEED_CONSENT_WITHDRAWN,
            obj=need,
            area=need.community,
            summary=f"#{need.pk}",
        )
        if need.status in PUBLIC_STATUSES or need.status == S.SUBMITTED:
            _apply_status(
                need=need, to_status=S.WITHDRAWN, actor=actor, note=str(_("Consent was withdrawn."))
            )
    return record


# --- sensitive details: reading ------------------------------------------------------------------------

UNREADABLE = "unreadable"


def _decrypt_record(record: NeedSensitiveDetails) -> dict:
    try:
        return json.loads(crypto.decrypt(record.ciphertext))
    except crypto.UnreadableError:
        return {UNREADABLE: True}


def can_view_sensitive(user, need: Need) -> bool:
    if user is None or not user.is_authenticated or not user.has_perm("needs.view_sensitive"):
        return False
    role = role_in_area(user, _fresh(need.community))
    return role is not None and StaffAssignment.RANK[role] >= StaffAssignment.RANK[StaffAssignment.Role.STAFF]


def require_sensitive_access(*, need: Need, actor: Actor) -> None:
    """Staff of the need's area holding `needs.view_sensitive`, or NotFound (out of scope) / Forbidden."""
    _require_staff(actor, need.community)
    if not actor.user.has_perm("needs.view_sensitive"):
        raise ForbiddenError(_("Seeing sensitive details needs the “view sensitive details” permission."))


def view_sensitive_details(*, need: Need, actor: Actor) -> tuple[NeedSensitiveDetails | None, dict]:
    """Return a need's sensitive record and its decrypted fields for staff of its area holding
    `needs.view_sensitive`; every view writes an audit event. `{"unreadable": True}` when no current key
    decrypts the record. Raises NotFound out of scope, Forbidden without the permission."""
    require_sensitive_access(need=need, actor=actor)
    record = NeedSensitiveDetails.objects.filter(need=need).prefetch_related("share_with").first()
    fields = _decrypt_record(record) if record is not None else {}
    record_audit(
        actor=actor,
        action=AuditAction.NEED_SENSITIVE_VIEWED,
        obj=need,
        area=need.community,
        summary=f"#{need.pk}",
        data={"unreadable": bool(fields.get(UNREADABLE))},
    )
    return record, fields


def sensitive_for_organization(needs, organization: Organization, *, actor: Actor) -> dict[int, dict]:
    """The decrypted details of those `needs` whose active consent names `organization`, by need id.

    One audit event lists the needs read (so a list of 500 writes one row). Withdrawn consent gives
    nothing, from the next read on.
    """
    ids = [n.pk for n in needs]
    if not ids:
        return {}
    records = NeedSensitiveDetails.objects.filter(
        need_id__in=ids,
        legal_basis=NeedSensitiveDetails.LegalBasis.CONSENT,
        consent_withdrawn_at__isnull=True,
        share_with=organization,
    )
    shared = {r.need_id: _decrypt_record(r) for r in records}
    if shared:
        record_audit(
            actor=actor,
            action=AuditAction.NEED_SENSITIVE_VIEWED,
            summary=str(len(shared)),
            data={"needs": sorted(shared), "organization": organization.pk},
        )
    return shared


# --- expiry --------------------------------------------------------------------------------------------


def expire_needs(*, today: datetime.date | None = None, actor: Actor | None = None) -> int:
    """Close open needs whose needed-by date has passed and tell each poster once. Safe to run twice."""
    actor = actor or Actor.system(AuditEvent.Surface.TASK)
    today = today or timezone.localdate()
    expired = 0
    for need in Need.objects.filter(status__in=EXPIRING_STATUSES, needed_by__lt=today).select_related(
        "community", "posted_by"
    ):
        with transaction.atomic():
            try:
                _apply_status(need=need, to_status=S.EXPIRED, actor=actor, note="")
            except ConflictError:
                continue  # changed since it was read: the next run decides
            _notify(
                person=need.posted_by,
                kind=NotificationKind.NEED_EXPIRED,
                text=_(
                    "Your need #%(id)s reached its date and was closed. "
                    "You can post it again if help is still needed."
                )
                % {"id": need.pk},
                actor=actor,
                key=f"need:{need.pk}:expired",
            )
        expired += 1
    return expired


# --- offers --------------------------------------------------------------------------------------------


class OfferError(DomainError):
    code = "offer_invalid"


def make_offer(
    *,
    need: Need,
    actor: Actor,
    person: Person | None = None,
    organization: Organization | None = None,
    message="",
    resource=None,
) -> Offer:
    """Offer help with a published need ("I can help"); the poster is told. `resource`, optional, is one of
    the offerer's own available resources."""
    if need.status not in PUBLIC_STATUSES:
        raise NotFoundError()
    if person is None and organization is None:
        raise OfferError(_("Say who offers the help."), code="offer_without_offerer")
    if person is not None and (actor.user_id is None or person.user_id != actor.user_id):
        raise NotFoundError()
    if organization is not None and actor.organization != organization:
        raise NotFoundError()
    if person is not None and need.posted_by_id == person.pk:
        raise OfferError(_("This is your own need."), code="own_need")
    text = clean_text(message or "")
    if len(text) > MESSAGE_MAX:
        raise OfferError(
            _("The message is too long: at most %(max)d characters.") % {"max": MESSAGE_MAX},
            code="too_long",
            field="message",
        )
    if resource is not None and not _offers_own_resource(resource, person=person, organization=organization):
        raise OfferError(
            _("Choose one of your own resources that is still available."),
            code="invalid_resource",
            field="resource",
        )
    if (
        person is not None
        and Offer.objects.filter(
            need=need, offered_by=person, status__in=(Offer.Status.OFFERED, Offer.Status.ACCEPTED)
        ).exists()
    ):
        raise ConflictError(_("You have already offered help with this need."), code="already_offered")
    try:
        with transaction.atomic():
            offer = Offer.objects.create(
                need=need, offered_by=person, organization=organization, message=text, resource=resource
            )
            record_audit(
                actor=actor,
                action=AuditAction.OFFER_MADE,
                obj=offer,
                area=need.community,
                summary=f"#{need.pk}",
            )
            _notify(
                person=need.posted_by,
                kind=NotificationKind.NEED_OFFER,
                text=_("Someone offered help with your need #%(id)s. Open “my page” to see the offer.")
                % {"id": need.pk},
                actor=actor,
                key=f"need:{need.pk}:offer:{offer.pk}",
            )
    except IntegrityError:
        raise ConflictError(_("You have already offered help with this need."), code="already_offered")
    return offer


def _offers_own_resource(resource, *, person, organization) -> bool:
    if resource.status != Resource.Status.AVAILABLE:
        return False
    if person is not None:
        return resource.owner_person_id == person.pk
    return organization is not None and resource.owner_organization_id == organization.pk


OFFER_TRANSITIONS = {
    Offer.Status.OFFERED: frozenset({Offer.Status.ACCEPTED, Offer.Status.DECLINED, Offer.Status.WITHDRAWN}),
    Offer.Status.ACCEPTED: frozenset({Offer.Status.DONE, Offer.Status.WITHDRAWN}),
}


def decide_offer(*, offer: Offer, to_status: str, actor: Actor) -> Offer:
    """Accept, decline or close an offer (the need's poster or staff), or withdraw it (the offerer).

    Accepting an offer on a published need marks the need matched. The offerer is told of the decision.
    """
    need = offer.need
    is_offerer = (
        actor.user_id is not None and offer.offered_by_id and offer.offered_by.user_id == actor.user_id
    )
    if to_status == Offer.Status.WITHDRAWN:
        if not is_offerer:
            _require_staff(actor, need.community)
    elif not _is_poster(actor, need):
        _require_staff(actor, need.community)
    if to_status not in OFFER_TRANSITIONS.get(offer.status, ()):
        raise OfferError(
            _("This offer cannot change that way any more."), code="invalid_transition", field="status"
        )
    with transaction.atomic():
        changed = Offer.objects.filter(pk=offer.pk, status=offer.status).update(
            status=to_status, decided_at=timezone.now()
        )
        if not changed:
            raise ConflictError(
                _("Someone changed this offer at the same time: reload it."), code="offer_changed"
            )
        from_status, offer.status = offer.status, to_status
        record_audit(
            actor=actor,
            action=AuditAction.OFFER_STATUS_CHANGED,
            obj=offer,
            area=need.community,
            summary=f"#{need.pk} {Offer.Status(from_status).label} → {Offer.Status(to_status).label}",
            data={"from": from_status, "to": to_status},
        )
        if to_status == Offer.Status.ACCEPTED and need.status == S.PUBLISHED:
            _apply_status(need=need, to_status=S.MATCHED, actor=actor, note="")
        if to_status in (Offer.Status.ACCEPTED, Offer.Status.DECLINED) and offer.offered_by_id:
            texts = {
                Offer.Status.ACCEPTED: _("Your offer of help with need #%(id)s was accepted. Thank you!"),
                Offer.Status.DECLINED: _("Your offer of help with need #%(id)s was not taken up this time."),
            }
            _notify(
                person=offer.offered_by,
                kind=NotificationKind.OFFER_STATUS,
                text=texts[to_status] % {"id": need.pk},
                actor=actor,
                key=f"offer:{offer.pk}:{to_status}",
            )
    return offer


# Match review (needs/matches.py), re-exported here; last, because that module uses the services above.
from .matches import (  # noqa: E402, F401 - re-exported
    MatchError,
    accept_match,
    decline_match,
    expire_need_matches,
    expire_stale_matches,
    fulfil_match,
)
