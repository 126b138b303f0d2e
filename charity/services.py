"""State changes of the core structure layer. Every one writes its audit event in the same transaction."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from .db import insert_row
from .errors import ConflictError, DomainError
from .models import Area, AuditAction, AuditEvent, Organization, OrganizationAPIKey, Person
from .validators import normalize_mobile


@dataclass(frozen=True)
class Actor:
    """Who is acting and through which surface. Services take it explicitly (no thread-locals)."""

    surface: str
    user: object | None = None
    organization: Organization | None = None

    @classmethod
    def system(cls, surface: str = AuditEvent.Surface.SYSTEM) -> Actor:
        return cls(surface=surface)

    @classmethod
    def from_request(cls, request, surface: str) -> Actor:
        auth = getattr(request, "auth", None)
        if isinstance(auth, OrganizationAPIKey):
            return cls(surface=surface, organization=auth.organization)
        user = getattr(request, "user", None)
        return cls(surface=surface, user=user if user is not None and user.is_authenticated else None)

    @property
    def user_id(self):
        return getattr(self.user, "pk", None)


def audit_event(
    *,
    actor: Actor,
    action: str,
    obj=None,
    area: Area | None = None,
    summary: str = "",
    data: dict | None = None,
) -> AuditEvent:
    """The unsaved audit event of a change; `record_audit` writes it (or a one-statement write path does)."""
    if action not in AuditAction.values:
        raise ValueError(f"unknown audit action {action!r}: add it to charity.models.AuditAction")
    return AuditEvent(
        actor_user_id=actor.user_id,
        actor_organization=actor.organization,
        surface=actor.surface,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        area=area,
        summary=str(summary)[:300],
        data=data or {},
    )


def record_audit(**event) -> AuditEvent:
    """Append one audit event (the arguments of `audit_event`). Call inside the transaction of the change."""
    return insert_row(audit_event(**event))


class RegistrationError(DomainError):
    code = "registration_invalid"


def register_resident(
    *,
    name: str,
    mobile: str,
    community: Area,
    password: str,
    actor: Actor,
    recruited_by: Person | None = None,
) -> Person:
    """Create a resident's login and Person record. Raises RegistrationError naming the field at fault."""
    name = (name or "").strip()
    if not name:
        raise RegistrationError(_("Enter your name."), field="name")
    if len(name) > 50:
        raise RegistrationError(_("A name has at most 50 characters."), field="name")
    try:
        mobile = normalize_mobile(mobile)
    except ValidationError as exc:
        raise RegistrationError(exc.messages[0], field="mobile")
    if community is None or community.level != Area.Level.COMMUNITY:
        raise RegistrationError(_("Choose your community."), field="community")
    User = get_user_model()
    try:
        validate_password(password, User(username=mobile, first_name=name))
    except ValidationError as exc:
        raise RegistrationError(" ".join(exc.messages), field="password")
    duplicate = ConflictError(
        _(
            "This mobile number is already registered. Log in instead, or reset your password at the "
            "neighbourhood committee."
        ),
        code="mobile_taken",
        field="mobile",
    )
    if User.objects.filter(username=mobile).exists():
        raise duplicate
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=mobile, password=password, first_name=name)
            person = Person.objects.filter(mobile=mobile, user__isnull=True).first()
            if person is None:
                person = Person.objects.create(
                    name=name, mobile=mobile, community=community, user=user, recruited_by=recruited_by
                )
            else:
                # Staff entered this resident before they signed up: attach the login to that record.
                person.user = user
                person.save(update_fields=["user"])
            record_audit(
                actor=actor, action=AuditAction.RESIDENT_REGISTERED, obj=person, area=community, summary=name
            )
    except IntegrityError:
        raise duplicate
    return person


def create_api_key(
    *, organization: Organization, name: str, actor: Actor, expiry_date: datetime.datetime | None = None
) -> tuple[OrganizationAPIKey, str]:
    """Create an API key for an organisation; return it with the plain key, which is shown only once."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the key a name, e.g. the system that will use it."), field="name")
    with transaction.atomic():
        api_key, key = OrganizationAPIKey.objects.create_key(
            name=name[:50], organization=organization, expiry_date=expiry_date, created_by=actor.user
        )
        record_audit(
            actor=actor,
            action=AuditAction.API_KEY_CREATED,
            obj=api_key,
            area=organization.area,
            summary=f"{organization.name}: {api_key.prefix}",
        )
    return api_key, key


def revoke_api_key(*, api_key: OrganizationAPIKey, actor: Actor) -> None:
    """Revoke an API key for good (the library forbids un-revoking)."""
    with transaction.atomic():
        updated = OrganizationAPIKey.objects.filter(pk=api_key.pk, revoked=False).update(revoked=True)
        if updated:
            record_audit(
                actor=actor,
                action=AuditAction.API_KEY_REVOKED,
                obj=api_key,
                area=api_key.organization.area,
                summary=f"{api_key.organization.name}: {api_key.prefix}",
            )
    api_key.revoked = True
