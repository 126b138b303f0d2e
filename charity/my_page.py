"""My page (我的, /me/): the registry the apps fill, the data download and the account deletion (issue 10).

charity cannot import the apps above it (needs, resources, funds…: docs/architecture.md), so each app
registers what it holds about a person in its AppConfig.ready():

    from charity import my_page
    my_page.register_section("needs", title=_("My needs"), template="needs/_my_needs.html",
                             context=lambda request, person: {"needs": ...})
    my_page.register_export("needs", lambda person: [...])          # JSON-serialisable
    my_page.register_erasure("needs", lambda person, actor: ...)    # anonymise or delete

- A **section** is a snippet on /me/: `context(request, person)` returns the snippet's context; it reads only
  the person's own rows (the person is the scope) and costs a fixed number of queries.
- An **export** adds `{name: fn(person)}` to "download all my data" (PIPL art. 45, the right to a copy).
- An **erasure** runs when the person deletes their account (PIPL art. 47), inside the transaction that
  anonymises the Person: delete what nobody else needs; anonymise (cut the link to the person, clear names
  and numbers) what the ledger or another person's record must keep. It may return a dict of counts, kept in
  the `person.erased` audit event (counts only, never a detail). An exception rolls the whole deletion back.

Registration replaces an earlier one of the same name, so a module imported twice registers once.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .errors import DomainError
from .models import AuditAction, Consent, OneTimeCode, OutboxMessage, Person
from .services import Actor, opaque_username, record_audit

# What an erased person's name becomes: data, not interface text, so one fixed word in the platform's
# language rather than the language of whoever deleted the account.
ERASED_NAME = "已注销用户"


@dataclass(frozen=True)
class Section:
    name: str
    title: object
    template: str
    context: Callable


_sections: dict[str, Section] = {}
_exports: dict[str, Callable] = {}
_erasures: dict[str, Callable] = {}

# The keys charity itself writes in the download: an app cannot register one of these.
_OWN_KEYS = frozenset({"format", "exported_at", "person", "login", "consents", "notifications", "settings"})


def _check_name(name: str) -> None:
    if not name or name in _OWN_KEYS:
        raise ValueError(f"{name!r} cannot name a section, an export or an erasure")


def register_section(name: str, *, title, template: str, context: Callable) -> None:
    """Show `template` on "my page" under `title`, rendered with `context(request, person)`."""
    _check_name(name)
    _sections[name] = Section(name=name, title=title, template=template, context=context)


def register_export(name: str, fn: Callable) -> None:
    """Add `fn(person)` (a dict or list of JSON-serialisable values) to the download under `name`."""
    _check_name(name)
    _exports[name] = fn


def register_erasure(name: str, fn: Callable) -> None:
    """Run `fn(person, actor)` when the person deletes their account (see the module docstring)."""
    _check_name(name)
    _erasures[name] = fn


def sections() -> list[Section]:
    return list(_sections.values())


def section_blocks(request, person: Person) -> list[dict]:
    """Each registered section rendered, in registration order: {"name", "title", "html"}.

    A section's template gets exactly what its `context` returned (and `request`, `person`), nothing of
    the page around it.
    """
    blocks = []
    for section in _sections.values():
        context = {"person": person, **section.context(request, person)}
        html = render_to_string(section.template, context, request=request)
        blocks.append({"name": section.name, "title": section.title, "html": html})
    return blocks


# --- download all my data (PIPL art. 45) ----------------------------------------------------------------


def _when(value):
    return value.isoformat() if isinstance(value, datetime.date | datetime.datetime) else value


def export_person_data(person: Person) -> dict:
    """Everything the platform holds about `person`, as one JSON-serialisable dict.

    The person's own rows only; the mobile number in full (it is theirs). Then one key per registered app.
    """
    person = Person.objects.select_related("community", "organization", "user").get(pk=person.pk)
    user = person.user
    data = {
        "format": "community-charity/my-data/1",
        "exported_at": timezone.now().isoformat(),
        "person": {
            "name": person.name,
            "mobile": person.mobile,
            "community": person.community.name,
            "represents_organisation": person.organization.name if person.organization_id else None,
            "community_leader": person.is_leader,
            "created_at": _when(person.created_at),
        },
        "login": {
            "username": user.username,
            "date_joined": _when(user.date_joined),
            "last_login": _when(user.last_login),
        }
        if user
        else None,
        "consents": [
            {
                "kind": c.kind,
                "organisation": c.organization.name if c.organization_id else None,
                "text_version": c.text_version,
                "given_at": _when(c.given_at),
                "withdrawn_at": _when(c.withdrawn_at),
            }
            for c in person.consents.select_related("organization").order_by("given_at", "id")
        ],
        "notifications": [
            {
                "kind": n.kind,
                "text": n.text,
                "url": n.url,
                "created_at": _when(n.created_at),
                "read_at": _when(n.read_at),
            }
            for n in person.notifications.order_by("created_at", "id")
        ],
        "settings": {
            "notifications_not_sent_to_mobile": sorted(
                person.notification_preferences.filter(enabled=False).values_list("kind", flat=True)
            )
        },
    }
    for name, fn in _exports.items():
        data[name] = fn(person)
    return data


def export_own_data(*, person: Person, actor: Actor) -> dict:
    """The download of "my page": `export_person_data`, with an audit event (a copy of personal data left)."""
    data = export_person_data(person)
    record_audit(
        actor=actor,
        action=AuditAction.DATA_EXPORTED,
        obj=person,
        area=person.community,
        summary="",
        # The shape of every export's event (charity.audit_display reads it): one person's row, as JSON.
        data={
            "model": Person._meta.label_lower,
            "rows": 1,
            "format": "json",
            "own_data": True,
            "sections": sorted(k for k in data if k not in ("format", "exported_at")),
        },
    )
    return data


# --- delete my account (PIPL art. 47) --------------------------------------------------------------------


class ErasureError(DomainError):
    code = "erasure_refused"


def erase_person(*, person: Person, password: str, actor: Actor) -> dict:
    """Delete `person`'s account at their request: anonymise what must be kept, delete the rest. Audited.

    The password proves it is them. Staff accounts are closed by an administrator, not here. Afterwards:
    the Person row stays (other records point at it: donations, audit events) with a placeholder name, no
    mobile, no organisation and no login; the login stays (audit events point at it) but is deactivated,
    with an opaque username, no name or e-mail and an unusable password, so nobody logs in with it again;
    consents are withdrawn now; notifications, notification settings, one-time codes and outbox messages to
    the number are deleted; every registered erasure runs. One `person.erased` audit event, with counts only.
    The audit log is append-only and is not rewritten (docs/my-page.md).
    """
    user = person.user
    if user is None or not user.is_active:
        raise ErasureError(_("This account cannot be deleted here."))
    if user.is_staff or user.is_superuser:
        raise ErasureError(
            _("A staff account is closed by an administrator. Please ask them."), code="staff_account"
        )
    if not password or not user.check_password(password):
        raise ErasureError(
            _("The password is not right. Nothing was deleted."), code="wrong_password", field="password"
        )
    now = timezone.now()
    with transaction.atomic():
        person = Person.objects.select_for_update().select_related("community").get(pk=person.pk)
        counts = {}
        for name, fn in _erasures.items():
            result = fn(person, actor)
            if isinstance(result, dict):
                counts[name] = result
        mobile = person.mobile
        open_consents = Consent.objects.filter(person=person, withdrawn_at__isnull=True)
        counts["consents_withdrawn"] = open_consents.update(withdrawn_at=now)
        counts["notifications_deleted"] = person.notifications.all().delete()[0]
        person.notification_preferences.all().delete()
        if mobile:
            OutboxMessage.objects.filter(mobile=mobile).delete()
            OneTimeCode.objects.filter(mobile=mobile).delete()
        # Unlinked from the login too: the person no longer counts among a community's signed-up residents.
        Person.objects.filter(pk=person.pk).update(
            name=ERASED_NAME, mobile=None, organization=None, is_leader=False, user=None
        )
        type(user).objects.filter(pk=user.pk).update(
            username=opaque_username(),
            first_name="",
            last_name="",
            email="",
            is_active=False,
            password=make_password(None),
        )
        record_audit(
            actor=actor,
            action=AuditAction.PERSON_ERASED,
            obj=person,
            area=person.community,
            summary="",
            data=counts,
        )
    return counts
