"""Audit events as a clerk reads them: one sentence each, names instead of ids, yuan instead of fen.

The log stores codes (the action, the object's type and id) and structured details, written once in
whatever language was active; this turns them into text when they are shown, in the reader's language:
"登记捐赠：官北沟社区慈善基金 ¥1,234.56（居民，张建国）", never `donation.posted funds.donation#7`.

Each app says how its own actions read (`register`), naming the objects a sentence needs, so that a page of
a hundred events looks them up in one query per model rather than one per event. An action nobody
registered reads as its label and the event's summary, with any "N fen" in it shown in yuan.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .logsafety import mask_mobiles
from .models import AuditAction, AuditEvent, Consent, NotificationKind, OneTimeCode, StaffAssignment
from .templatetags.money import format_fen

Ref = tuple[str, object]  # (model label in lower case, primary key)

# What a sentence names through an object, fetched with it: {"funds.donation": ("fund",)}. Apps add theirs.
SELECT_RELATED: dict[str, tuple[str, ...]] = {"charity.organizationapikey": ("organization",)}


class Objects:
    """The objects a page of events names, fetched in one query per model."""

    def __init__(self, refs: Iterable[Ref]):
        wanted: dict[str, set] = defaultdict(set)
        for label, pk in refs:
            if label and pk not in (None, ""):
                wanted[label].add(str(pk))
        self._found: dict[str, dict[str, object]] = {}
        for label, pks in wanted.items():
            try:
                model = apps.get_model(label)
            except (LookupError, ValueError):
                continue
            field = model._meta.pk
            keys = []
            for pk in pks:
                try:
                    keys.append(field.to_python(pk))
                except Exception:  # an id of the wrong shape names nothing
                    continue
            rows = model._default_manager.select_related(*SELECT_RELATED.get(label, ())).in_bulk(keys)
            self._found[label] = {str(k): v for k, v in rows.items()}

    def get(self, label: str, pk):
        return self._found.get(label, {}).get(str(pk)) if pk not in (None, "") else None

    def of(self, event: AuditEvent):
        """The event's own object, if it still exists."""
        return self.get(event.object_type, event.object_id)


Text = Callable[[AuditEvent, Objects], str]
RefsOf = Callable[[AuditEvent], Iterable[Ref]]

_TEXTS: dict[str, Text] = {}
_REFS: dict[str, RefsOf] = {}


def own_object(event: AuditEvent) -> list[Ref]:
    return [(event.object_type, event.object_id)] if event.object_type else []


def register(*actions: str, refs: RefsOf = own_object) -> Callable[[Text], Text]:
    """Say how `actions` read: the decorated function returns what follows the action's label."""

    def decorate(text: Text) -> Text:
        for action in actions:
            if action not in AuditAction.values:
                raise ValueError(f"unknown audit action {action!r}")
            _TEXTS[action] = text
            _REFS[action] = refs
        return text

    return decorate


_FEN = re.compile(r"(?<![\w.])(-?\d+) fen\b")


def yuan_in(text: str) -> str:
    """Old summaries and unregistered actions: "5000 fen" → "¥50.00"."""
    return _FEN.sub(lambda m: format_fen(int(m[1])), text or "")


def name_of(obj, fallback: str = "") -> str:
    return str(obj) if obj is not None else fallback


def join(*parts) -> str:
    """Parts of a detail, in the reader's punctuation ("，" in Chinese)."""
    return gettext("; ").join(str(p) for p in parts if p not in (None, ""))


def with_note(text, note) -> str:
    """`text (note)`, in the reader's brackets ("text（note）" in Chinese); just `text` without a note."""
    if note in (None, ""):
        return str(text)
    return gettext("%(text)s (%(note)s)") % {"text": text, "note": note}


def label_of(choices, code) -> str:
    """A choice's label in the reader's language; an unknown code as it is."""
    return str(dict(choices).get(code, code or ""))


def default_text(event: AuditEvent, objects: Objects) -> str:
    obj = objects.of(event)
    return name_of(obj, yuan_in(event.summary))


def sentence(event: AuditEvent, objects: Objects) -> str:
    """The event as one sentence: its action, and what it was about."""
    label = event.get_action_display()
    try:
        detail = _TEXTS.get(event.action, default_text)(event, objects)
    except Exception:  # an old event whose details have another shape must still read as something
        detail = yuan_in(event.summary)
    if not detail:
        return str(label)
    # Whatever a summary carried through ("N fen" written by a service) reads in yuan.
    return gettext("%(action)s: %(detail)s") % {"action": label, "detail": yuan_in(str(detail))}


def describe(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """Set `event.sentence` on each event (one query per model they name); return them as a list."""
    events = list(events)
    refs = [ref for e in events for ref in _REFS.get(e.action, own_object)(e)]
    objects = Objects(refs)
    for event in events:
        event.sentence = sentence(event, objects)
        event.named_object = objects.of(event)
        event.actor_label = actor_name(event)
    return events


def actor_name(event: AuditEvent) -> str:
    """Who acted: a user's name (a login that is a mobile number masked), an organisation, or the system."""
    if event.actor_user_id:
        user = event.actor_user
        return user.get_full_name() or mask_mobiles(user.get_username())
    if event.actor_organization_id:
        return str(event.actor_organization)
    return str(event.get_surface_display())


# --- the core app's own actions -------------------------------------------------------------------------


def _changed_fields(event: AuditEvent, model) -> str:
    """The names of the fields a change event lists, in the reader's language ("" if none)."""
    changed = (event.data or {}).get("changed") if isinstance(event.data, dict) else None
    if not isinstance(changed, list | tuple) or model is None:
        return ""
    names = []
    for field_name in changed:
        try:
            names.append(str(model._meta.get_field(field_name).verbose_name))
        except Exception:
            continue
    return gettext(", ").join(names)


def _model_of(event: AuditEvent):
    try:
        return apps.get_model(event.object_type) if event.object_type else None
    except (LookupError, ValueError):
        return None


@register(
    AuditAction.PERSON_CHANGED,
    AuditAction.ORGANIZATION_CHANGED,
    AuditAction.AREA_CHANGED,
)
def _changed(event, objects):
    obj = objects.of(event)
    fields = _changed_fields(event, _model_of(event))
    return join(
        name_of(obj, event.summary), gettext("changed: %(fields)s") % {"fields": fields} if fields else ""
    )


@register(AuditAction.SERVED_AREAS_CHANGED)
def _served_areas(event, objects):
    data = event.data or {}
    added, removed = data.get("added") or [], data.get("removed") or []
    parts = [name_of(objects.of(event), event.summary.split(": ")[0])]
    if added:
        parts.append(gettext("added: %(areas)s") % {"areas": gettext(", ").join(added)})
    if removed:
        parts.append(gettext("removed: %(areas)s") % {"areas": gettext(", ").join(removed)})
    return join(*parts)


@register(AuditAction.CONSENT_GIVEN, AuditAction.CONSENT_WITHDRAWN)
def _consent(event, objects):
    person = event.summary.rsplit(": ", 1)[0]
    return join(person, label_of(Consent.Kind.choices, (event.data or {}).get("kind")))


@register(AuditAction.NOTIFICATION_SETTING_CHANGED)
def _notification_setting(event, objects):
    data = event.data or {}
    state = gettext("sent to the mobile") if data.get("enabled") else gettext("inbox only")
    kind = label_of(NotificationKind.choices, data.get("kind"))
    return join(name_of(objects.of(event)), with_note(kind, state))


@register(AuditAction.CODE_REQUESTED)
def _code(event, objects):
    data = event.data or {}
    return join(
        data.get("mobile") or event.summary, label_of(OneTimeCode.Purpose.choices, data.get("purpose"))
    )


def _user_refs(event):
    user = (event.data or {}).get("user")
    return [(get_user_model()._meta.label_lower, user)] + own_object(event) if user else own_object(event)


@register(AuditAction.STAFF_ROLE_GRANTED, AuditAction.STAFF_ROLE_REMOVED, refs=_user_refs)
def _staff_role(event, objects):
    data = event.data or {}
    who_where = event.summary.rsplit(": ", 1)[0].replace(" @ ", " · ")
    return join(who_where, label_of(StaffAssignment.Role.choices, data.get("role")))


@register(AuditAction.USER_PERMISSIONS_CHANGED)
def _permissions(event, objects):
    data = event.data or {}
    parts = [event.summary]
    if data.get("added"):
        parts.append(gettext("added: %(items)s") % {"items": _permission_names(data["added"])})
    if data.get("removed"):
        parts.append(gettext("removed: %(items)s") % {"items": _permission_names(data["removed"])})
    return join(*parts)


def _permission_names(codes) -> str:
    """Permission codes ("charity.export_personal_data", "group:…") by their names, in one query."""
    from django.contrib.auth.models import Permission

    wanted = [str(code).partition(".") for code in codes if not str(code).startswith("group:")]
    query = Q(pk__in=[])
    for app_label, _dot, codename in wanted:
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = {
        f"{app_label}.{codename}": name
        for app_label, codename, name in Permission.objects.filter(query).values_list(
            "content_type__app_label", "codename", "name"
        )
    }
    names = []
    for code in map(str, codes):
        if code.startswith("group:"):
            names.append(gettext("group %(name)s") % {"name": code.removeprefix("group:")})
        else:
            names.append(gettext(found[code]) if code in found else code)
    return gettext(", ").join(names)


@register(AuditAction.DATA_EXPORTED)
def _exported(event, objects):
    data = event.data or {}
    try:
        what = apps.get_model(data["model"])._meta.verbose_name_plural
    except Exception:
        what = event.summary.split(": ")[0]
    return gettext("%(what)s, %(rows)s rows (%(format)s)") % {
        "what": what,
        "rows": data.get("rows", "?"),
        "format": data.get("format", ""),
    }


@register(AuditAction.PEOPLE_IMPORTED, AuditAction.ORGANIZATIONS_IMPORTED)
def _imported(event, objects):
    data = event.data or {}
    return gettext("%(file)s: %(new)s added, %(updated)s changed, %(skipped)s unchanged") % {
        "file": data.get("file") or gettext("a file"),
        "new": data.get("new", 0),
        "updated": data.get("updated", 0),
        "skipped": data.get("skipped", 0),
    }


@register(AuditAction.API_KEY_CREATED, AuditAction.API_KEY_REVOKED)
def _api_key(event, objects):
    key = objects.of(event)
    if key is None:  # the summary is "organisation: prefix"
        return event.summary
    return gettext("%(organisation)s: “%(name)s” (prefix %(prefix)s)") % {
        "organisation": key.organization,
        "name": key.name,
        "prefix": key.prefix,
    }


@register(AuditAction.LOGIN_FAILED, AuditAction.LOCKED_OUT)
def _login_failed(event, objects):
    return mask_mobiles(event.summary)


# --- an event's stored details, for its own page ----------------------------------------------------------

# The keys of `AuditEvent.data` a clerk can read, with their labels; the rest (ids, codes, internal
# references) is left out rather than shown as JSON. Amounts (`*_fen`) are shown in yuan.
DETAIL_LABELS = {
    "amount_fen": _("amount"),
    "receipt_no": _("receipt number"),
    "purpose": _("purpose"),
    "reason": _("reason"),
    "closed_on": _("closed on"),
    "term_start": _("term start"),
    "term_end": _("term end"),
    "file": _("file"),
    "new": _("added"),
    "updated": _("changed"),
    "skipped": _("unchanged"),
    "rows": _("rows"),
    "format": _("file format"),
    "added": _("added"),
    "removed": _("removed"),
    "mobile": _("mobile number"),
    "ip": _("IP address"),
    "from_restricted_fen": _("of which restricted money"),
}


def _detail_value(key: str, value) -> str:
    if key.endswith("_fen") and isinstance(value, int):
        return format_fen(value)
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list | tuple):
        return gettext(", ").join(str(v) for v in value)
    return mask_mobiles(str(value))


def details(event: AuditEvent) -> list[tuple[str, str]]:
    """(label, value) rows of the event's details that read as something; fields changed by their names."""
    data = event.data if isinstance(event.data, dict) else {}
    rows = []
    changed = _changed_fields(event, _model_of(event))
    if changed:
        rows.append((str(_("changed fields")), changed))
    for key, label in DETAIL_LABELS.items():
        value = data.get(key)
        if value in (None, "", [], {}):
            continue
        if key in ("added", "removed") and event.action == AuditAction.USER_PERMISSIONS_CHANGED:
            value = _permission_names(value)
        rows.append((str(label), _detail_value(key, value)))
    return rows
