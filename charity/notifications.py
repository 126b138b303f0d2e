"""Notifications: a notice in the person's portal inbox, and the same text to their mobile (issue 10).

Every app tells a person something through `notify` (charity cannot import the apps; the apps import this):

    notify(person=need.posted_by, kind=NotificationKind.NEED_OFFER, text=_("Someone offered to help ..."),
           url=reverse("needs:mine", ...), actor=actor, key=f"need:{need.pk}:offer:{offer.pk}")

The rules:

- **Never a sensitive detail in `text`** (DESIGN.md §3, PIPL art. 28): no beneficiary's name, phone, address,
  ID number, health or income, nothing about a minor, no amount of money. The text goes to a mobile and may be
  read on a lock screen by anyone holding the phone, and it stays in the outbox until retention ends. Say
  *that* something happened and link to the page (`url`) where the person, logged in, reads the rest. The
  same text goes to the inbox and to the outbox, unchanged: there is no second, richer version.
- **The inbox row is always written**; delivery to the mobile happens only when the person has a mobile and
  has not turned that kind off (`NotificationPreference`). Turning a kind off means "do not text me about
  this", not "hide it from me": the portal keeps the record of what happened to their need or loan.
- **`key` makes it idempotent**: with a non-empty key, a second call for the same person and key writes
  nothing, sends nothing and returns None — so a beat task that runs twice notifies once. The unique
  constraint on (person, key) decides, so two concurrent calls on PostgreSQL still give one row.
- **No audit event per notification**: a notification is not a decision, it reports one that the sending
  app already audited (a need published, a loan overdue). What *is* the person's decision — turning a kind
  off or on — is audited (`set_notification_enabled`).
- Call it inside the transaction of the change it reports: if that rolls back, so does the notice, and the
  outbox delivers only after the commit (charity.messaging).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from .messaging import send_message
from .models import AuditAction, Notification, NotificationKind, NotificationPreference, OutboxMessage, Person
from .services import Actor, record_audit
from .validators import clean_text

TEXT_MAX = Notification._meta.get_field("text").max_length
URL_MAX = Notification._meta.get_field("url").max_length
KEY_MAX = Notification._meta.get_field("key").max_length


def _check_arguments(*, kind: str, text: str, url: str, key: str) -> str:
    """The cleaned text; ValueError for what only a programming error can cause."""
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown notification kind {kind!r}: add it to charity.models.NotificationKind")
    text = clean_text(text)
    if not text or len(text) > TEXT_MAX:
        raise ValueError(f"a notification's text has 1 to {TEXT_MAX} characters")
    # A path on this site only: a notice must never send anyone off-site (phishing looks just like this).
    if url and (not url.startswith("/") or url.startswith("//") or "\\" in url or len(url) > URL_MAX):
        raise ValueError("a notification's url is a path on this site, e.g. /me/")
    if len(key) > KEY_MAX:
        raise ValueError(f"a notification's key has at most {KEY_MAX} characters")
    return text


def notify(
    *, person: Person, kind: str, text, url: str = "", actor: Actor, key: str = ""
) -> Notification | None:
    """Write a notice to `person`'s inbox and, unless they turned `kind` off, send the text to their mobile.

    Returns the Notification, or None when `key` was already used for this person (nothing written, nothing
    sent). `text` must hold no sensitive detail (see the module docstring); it is sent as given.
    """
    text = _check_arguments(kind=kind, text=str(text), url=url, key=key)
    with transaction.atomic():
        if key and Notification.objects.filter(person=person, key=key).exists():
            return None
        try:
            # A savepoint: a concurrent call that inserted the same key first makes this insert fail on the
            # unique constraint, and the caller's transaction must stay usable.
            with transaction.atomic():
                notification = Notification.objects.create(
                    person=person, kind=kind, text=text, url=url, key=key
                )
        except IntegrityError:
            if key:
                return None
            raise
        if person.mobile and is_enabled(person, kind):
            send_message(mobile=person.mobile, kind=OutboxMessage.Kind.NOTIFICATION, text=text, actor=actor)
    return notification


def is_enabled(person: Person, kind: str) -> bool:
    """Whether `kind` goes to `person`'s mobile: yes unless they turned it off."""
    return not NotificationPreference.objects.filter(person=person, kind=kind, enabled=False).exists()


def preferences(person: Person) -> list[tuple[str, str, bool]]:
    """Every kind as (value, label, enabled), in the enum's order: one query."""
    off = set(
        NotificationPreference.objects.filter(person=person, enabled=False).values_list("kind", flat=True)
    )
    return [(value, label, value not in off) for value, label in NotificationKind.choices]


def set_notification_enabled(*, person: Person, kind: str, enabled: bool, actor: Actor) -> bool:
    """Turn `kind` on or off for `person`'s mobile; audited. Returns False when nothing changed."""
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    with transaction.atomic():
        row = NotificationPreference.objects.select_for_update().filter(person=person, kind=kind).first()
        if (row.enabled if row else True) == enabled:
            return False
        if row is None:
            # get_or_create: two submissions of the form at once must not end in an IntegrityError.
            _row, created = NotificationPreference.objects.get_or_create(
                person=person, kind=kind, defaults={"enabled": enabled}
            )
            if not created:
                return False
        else:
            row.enabled = enabled
            row.save(update_fields=["enabled", "changed_at"])
        record_audit(
            actor=actor,
            action=AuditAction.NOTIFICATION_SETTING_CHANGED,
            obj=person,
            area=person.community,
            summary=kind,
            data={"kind": kind, "enabled": enabled},
        )
    return True


# --- reads of the inbox (the person's own rows only: the person is the scope) ----------------------------


def inbox(person: Person):
    """The person's notifications, newest first."""
    return Notification.objects.filter(person=person).order_by("-created_at", "-id")


def unread_count(person: Person) -> int:
    """How many of the person's notifications are unread: one query (the partial index on unread rows)."""
    return Notification.objects.filter(person=person, read_at__isnull=True).count()


def mark_read(person: Person, ids) -> int:
    """Mark these of the person's notifications read (once: a read one keeps its first time). One query."""
    return Notification.objects.filter(person=person, pk__in=list(ids), read_at__isnull=True).update(
        read_at=timezone.now()
    )
