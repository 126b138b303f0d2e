"""State changes of the core structure layer. Every one writes its audit event in the same transaction."""

from __future__ import annotations

import datetime
import hmac
import math
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import public_pages
from .db import insert_row
from .errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from .logsafety import mask_mobiles
from .messaging import send_message
from .models import (
    Area,
    AuditAction,
    AuditEvent,
    Category,
    Consent,
    OneTimeCode,
    Organization,
    OrganizationAPIKey,
    OutboxMessage,
    Person,
    StaffAssignment,
)
from .scoping import role_in_area, scope_for_organization, scope_for_user
from .validators import clean_text, mask_mobile, normalize_key, normalize_mobile


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


# Built once: `AuditAction.values` makes a new list on every call, and every donation asks.
_AUDIT_ACTIONS = frozenset(AuditAction.values)


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
    if action not in _AUDIT_ACTIONS:
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
    written = insert_row(audit_event(**event))
    public_pages.audit_recorded(written)
    return written


class RegistrationError(DomainError):
    code = "registration_invalid"


class CodeError(DomainError):
    """A one-time code that does not prove the number: wrong, expired, used or out of attempts."""

    code = "code_invalid"


class RateLimitedError(DomainError):
    code = "too_many_requests"
    status = 429


# --- one-time codes -------------------------------------------------------------------------------------


def _code_hash(*, mobile: str, purpose: str, code: str) -> str:
    """The keyed hash stored for a code: HMAC-SHA256 with SECRET_KEY, bound to the number and the purpose."""
    return salted_hmac("charity.OneTimeCode", f"{purpose}:{mobile}:{code}", algorithm="sha256").hexdigest()


def _wait_minutes(oldest: datetime.datetime, window: datetime.timedelta) -> int:
    return max(1, math.ceil((oldest + window - timezone.now()).total_seconds() / 60))


def _check_code_limits(*, mobile: str, ip: str | None) -> None:
    """Raise RateLimitedError if `mobile` or `ip` has asked for as many codes as a window allows."""
    now = timezone.now()
    checks = [(Q(mobile=mobile), settings.ONE_TIME_CODE_LIMITS_PER_NUMBER, "number")]
    if ip:
        checks.append((Q(requester_ip=ip), settings.ONE_TIME_CODE_LIMITS_PER_ADDRESS, "address"))
    for who, limits, kind in checks:
        for limit, window in limits:
            recent = list(
                OneTimeCode.objects.filter(who, created_at__gt=now - window)
                .order_by("-created_at")
                .values_list("created_at", flat=True)[:limit]
            )
            if len(recent) < limit:
                continue
            minutes = _wait_minutes(recent[-1], window)
            if kind == "number":
                message = ngettext(
                    "Too many codes were asked for this number. Please try again in %(n)d minute.",
                    "Too many codes were asked for this number. Please try again in %(n)d minutes.",
                    minutes,
                )
            else:
                message = ngettext(
                    "Too many codes were asked from your network. Please try again in %(n)d minute.",
                    "Too many codes were asked from your network. Please try again in %(n)d minutes.",
                    minutes,
                )
            raise RateLimitedError(message % {"n": minutes}, field="mobile")


def request_code(*, mobile: str, purpose: str, ip: str | None, actor: Actor) -> None:
    """Send a one-time code to `mobile` for sign-up or a password reset, within the rate limits.

    Answers the same whether or not the number has a login, so a stranger learns nothing: on sign-up a
    number that already has one is told so by message (log in, or reset the password) instead of getting a
    code; on a reset a number without one gets nothing. Either way the request is recorded and counted.
    Raises RegistrationError for a malformed number, RateLimitedError past a limit.
    """
    if purpose not in OneTimeCode.Purpose.values:
        raise ValueError(f"unknown purpose {purpose!r}")
    try:
        mobile = normalize_mobile(mobile)
    except ValidationError as exc:
        raise RegistrationError(exc.messages[0], field="mobile")
    minutes = int(settings.ONE_TIME_CODE_LIFETIME.total_seconds() // 60)
    with transaction.atomic():
        _check_code_limits(mobile=mobile, ip=ip)
        person = Person.objects.filter(mobile=mobile).select_related("community").first()
        has_login = person is not None and person.user_id is not None
        code = f"{secrets.randbelow(1_000_000):06d}"
        sent = ""
        if purpose == OneTimeCode.Purpose.SIGNUP and has_login:
            sent = OutboxMessage.Kind.ALREADY_REGISTERED
            text = _(
                "[Community charity] This number already has an account. Log in with it, or reset your "
                "password on the log-in page. If you did not ask, ignore this message."
            )
        elif purpose == OneTimeCode.Purpose.SIGNUP:
            sent = OutboxMessage.Kind.SIGNUP_CODE
            text = _(
                "[Community charity] Your sign-up code is %(code)s, valid for %(minutes)d minutes. Do not "
                "share it with anyone."
            ) % {"code": code, "minutes": minutes}
        elif has_login:
            sent = OutboxMessage.Kind.RESET_CODE
            text = _(
                "[Community charity] Your code to reset your password is %(code)s, valid for %(minutes)d "
                "minutes. Do not share it with anyone, staff included."
            ) % {"code": code, "minutes": minutes}
        # Only a code that was sent can match: the others get an empty hash.
        code_sent = sent in (OutboxMessage.Kind.SIGNUP_CODE, OutboxMessage.Kind.RESET_CODE)
        OneTimeCode.objects.create(
            mobile=mobile,
            purpose=purpose,
            code_hash=_code_hash(mobile=mobile, purpose=purpose, code=code) if code_sent else "",
            expires_at=timezone.now() + settings.ONE_TIME_CODE_LIFETIME,
            requester_ip=ip,
        )
        if sent:
            send_message(mobile=mobile, kind=sent, text=text, actor=actor, secret=code if code_sent else "")
        record_audit(
            actor=actor,
            action=AuditAction.CODE_REQUESTED,
            area=person.community if person else None,
            summary=mask_mobile(mobile),
            data={"mobile": mask_mobile(mobile), "purpose": purpose, "sent": sent or "nothing", "ip": ip},
        )


def _check_code(*, mobile: str, purpose: str, code: str) -> OneTimeCode:
    """Return the number's latest code of `purpose` if `code` matches it; else raise CodeError.

    Precondition: not inside a transaction the caller rolls back — a wrong guess is counted (and committed)
    before the error is raised, so that the attempts limit holds.
    """
    code = normalize_key(code or "").replace(" ", "")
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise CodeError(_("Enter the 6-digit code from the message."), field="code")
    error = None
    with transaction.atomic():
        row = (
            OneTimeCode.objects.select_for_update()
            .filter(mobile=mobile, purpose=purpose)
            .order_by("-created_at", "-id")
            .first()
        )
        if row is None or row.expires_at <= timezone.now():
            error = CodeError(
                _("This code has expired. Ask for a new one."), code="code_expired", field="code"
            )
        elif row.used_at is not None:
            error = CodeError(
                _("This code has already been used. Ask for a new one."), code="code_used", field="code"
            )
        elif row.attempts >= settings.ONE_TIME_CODE_MAX_ATTEMPTS:
            error = CodeError(
                _("Too many wrong codes. Ask for a new one."), code="code_attempts_exhausted", field="code"
            )
        elif not hmac.compare_digest(row.code_hash, _code_hash(mobile=mobile, purpose=purpose, code=code)):
            OneTimeCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
            left = settings.ONE_TIME_CODE_MAX_ATTEMPTS - row.attempts - 1
            if left > 0:
                message = ngettext(
                    "The code is not right. You can try %(n)d more time.",
                    "The code is not right. You can try %(n)d more times.",
                    left,
                ) % {"n": left}
            else:
                message = _("The code is not right, and that was the last try. Ask for a new one.")
            error = CodeError(message, code="code_wrong", field="code")
    if error is not None:
        raise error
    return row


def _use_code(row: OneTimeCode) -> None:
    """Mark a checked code used (compare-and-set: of two requests with one code, one wins)."""
    used = OneTimeCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=timezone.now())
    if not used:
        raise CodeError(
            _("This code has already been used. Ask for a new one."), code="code_used", field="code"
        )


def opaque_username() -> str:
    """A username that says nothing about the person: "r" and 10 random characters."""
    User = get_user_model()
    while True:
        username = "r" + secrets.token_hex(5)
        if not User.objects.filter(username=username).exists():
            return username


def _validate_new_password(password: str, user, field: str) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise RegistrationError(" ".join(exc.messages), field=field)


def register_resident(
    *,
    mobile: str,
    code: str,
    name: str,
    community: Area,
    password: str,
    consent: bool,
    actor: Actor,
    recruited_by: Person | None = None,
) -> Person:
    """Create a resident's login once the one-time code proves the mobile number is theirs.

    If staff already entered a Person with this number and no login, the login is attached to that record
    (it keeps the name and community staff entered). Records the sign-up consent (which version of the
    privacy notice, when). Raises RegistrationError naming the field at fault, CodeError for the code,
    ConflictError if the number already has a login. Precondition: see `_check_code`.
    """
    name = clean_text(name or "")
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
    _validate_new_password(password, User(username=mobile, first_name=name), "password")
    if not consent:
        raise RegistrationError(_("You need to agree before signing up."), field="consent")
    row = _check_code(mobile=mobile, purpose=OneTimeCode.Purpose.SIGNUP, code=code)
    duplicate = ConflictError(
        _("This mobile number already has an account. Log in, or reset your password."),
        code="mobile_taken",
        field="mobile",
    )
    try:
        with transaction.atomic():
            _use_code(row)
            person = Person.objects.select_for_update().filter(mobile=mobile).first()
            if person is not None and person.user_id is not None:
                raise duplicate
            user = User.objects.create_user(username=opaque_username(), password=password, first_name=name)
            attached = person is not None
            if person is None:
                person = Person.objects.create(
                    name=name, mobile=mobile, community=community, user=user, recruited_by=recruited_by
                )
            else:
                # Staff entered this resident before they signed up, and the code proved the number is theirs.
                person.user = user
                person.save(update_fields=["user"])
            consent_row = Consent.objects.create(
                person=person,
                kind=Consent.Kind.SIGNUP_PRIVACY,
                text_version=settings.PRIVACY_NOTICE_VERSION,
            )
            record_audit(
                actor=actor,
                action=AuditAction.RESIDENT_REGISTERED,
                obj=person,
                area=person.community,
                summary=person.name,
                data={"attached_to_existing_record": attached},
            )
            record_audit(
                actor=actor,
                action=AuditAction.CONSENT_GIVEN,
                obj=consent_row,
                area=person.community,
                summary=f"{person.name}: {consent_row.get_kind_display()}",
                data={"kind": consent_row.kind, "text_version": consent_row.text_version},
            )
    except IntegrityError:
        raise duplicate
    return person


def create_api_key(
    *, organization: Organization, name: str, actor: Actor, expiry_date: datetime.datetime | None = None
) -> tuple[OrganizationAPIKey, str]:
    """Create an API key for an organisation; return it with the plain key, which is shown only once.

    Staff need the manager role where the organisation is (NotFoundError / ForbiddenError otherwise).
    """
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the key a name, e.g. the system that will use it."), field="name")
    _require_role(actor, organization.area, ROLE.MANAGER)
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
    """Revoke an API key for good (the library forbids un-revoking); staff need the manager role."""
    _require_role(actor, api_key.organization.area, ROLE.MANAGER)
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


# --- passwords and log-ins ------------------------------------------------------------------------------


def _notify_password_changed(*, user, actor: Actor, by_staff: bool = False) -> None:
    """Tell the owner of the number that the password changed, so a change they did not make is noticed."""
    person = Person.objects.filter(user=user).exclude(mobile=None).first()
    if person is None:
        return
    if by_staff:
        text = _(
            "[Community charity] Staff of your neighbourhood committee set a new password for your account. "
            "If you did not ask for this, contact the committee."
        )
    else:
        text = _(
            "[Community charity] The password of your account was changed. If it was not you, reset it on "
            "the log-in page or contact your neighbourhood committee."
        )
    send_message(mobile=person.mobile, kind=OutboxMessage.Kind.PASSWORD_CHANGED, text=text, actor=actor)


def _person_of(user) -> Person | None:
    return Person.objects.filter(user=user).select_related("community").first()


def change_password(*, user, old_password: str, new_password: str, actor: Actor) -> None:
    """Change a logged-in user's own password. Raises RegistrationError naming the field at fault."""
    if not user.check_password(old_password or ""):
        raise RegistrationError(_("Your current password is not right."), field="old_password")
    _validate_new_password(new_password, user, "new_password1")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        person = _person_of(user)
        record_audit(
            actor=actor,
            action=AuditAction.PASSWORD_CHANGED,
            obj=person or user,
            area=person.community if person else None,
            summary=person.name if person else user.get_username(),
        )
        _notify_password_changed(user=user, actor=actor)


def reset_password_with_code(*, mobile: str, code: str, new_password: str, actor: Actor):
    """Set a new password for the login of `mobile` once its reset code proves the number; return the user.

    Raises RegistrationError naming the field at fault, CodeError for the code (a number without a login
    was sent none, so every code is wrong for it). Precondition: see `_check_code`.
    """
    try:
        mobile = normalize_mobile(mobile)
    except ValidationError as exc:
        raise RegistrationError(exc.messages[0], field="mobile")
    person = Person.objects.filter(mobile=mobile, user__isnull=False).select_related("user").first()
    User = get_user_model()
    _validate_new_password(new_password, person.user if person else User(username=mobile), "new_password1")
    row = _check_code(mobile=mobile, purpose=OneTimeCode.Purpose.RESET, code=code)
    with transaction.atomic():
        _use_code(row)
        person = (
            Person.objects.select_for_update(of=("self",))
            .filter(mobile=mobile, user__isnull=False)
            .select_related("user", "community")
            .first()
        )
        if person is None:  # the login was removed after the code was sent
            raise CodeError(_("This code has expired. Ask for a new one."), code="code_expired", field="code")
        person.user.set_password(new_password)
        person.user.save(update_fields=["password"])
        record_audit(
            actor=actor,
            action=AuditAction.PASSWORD_RESET_BY_CODE,
            obj=person,
            area=person.community,
            summary=person.name,
            data={"mobile": mask_mobile(mobile)},
        )
    return person.user


def reset_resident_password_by_staff(*, person: Person, new_password: str, actor: Actor) -> None:
    """Set a new password for a resident who cannot receive a code (no phone, a lost phone).

    The acting user needs the staff role over the resident's community; out of scope is NotFoundError, as
    if the person did not exist. Only residents: a login with staff rights is refused, so no one raises
    their rights through a resident record. Raises DomainError for a person without a login, and
    RegistrationError for a weak password. Writes the audit event and tells the resident by message.
    """
    if not scope_for_user(actor.user, min_role=StaffAssignment.Role.STAFF).contains(person.community):
        raise NotFoundError()
    with transaction.atomic():
        person = (
            Person.objects.select_for_update(of=("self",))
            .select_related("user", "community")
            .get(pk=person.pk)
        )
        user = person.user
        if user is None:
            raise DomainError(
                _("%(name)s has no login yet: residents sign up with their mobile number.")
                % {"name": person.name},
                code="no_login",
            )
        if user.is_staff or user.is_superuser:
            raise DomainError(
                _("This login has staff rights: its password is changed by its owner or a superuser."),
                code="staff_login",
            )
        _validate_new_password(new_password, user, "new_password1")
        user.set_password(new_password)
        user.save(update_fields=["password"])
        record_audit(
            actor=actor,
            action=AuditAction.PASSWORD_RESET_BY_STAFF,
            obj=person,
            area=person.community,
            summary=person.name,
        )
        _notify_password_changed(user=user, actor=actor, by_staff=True)


def record_login(*, user, surface: str, ip: str | None) -> None:
    """Write the audit event of a successful log-in."""
    person = _person_of(user)
    record_audit(
        actor=Actor(surface=surface, user=user),
        action=AuditAction.LOGGED_IN,
        obj=person or user,
        area=person.community if person else None,
        summary=person.name if person else user.get_username(),
        data={"ip": ip},
    )


def record_failed_login(*, login: str, mobile: str | None, surface: str, ip: str | None) -> None:
    """Write the audit event of a failed log-in: the account tried (a number masked), never the password.

    What was typed is kept only when it names an account: a password typed into the username box must not
    land in the audit log.
    """
    User = get_user_model()
    if mobile is not None:
        person = Person.objects.filter(mobile=mobile, user__isnull=False).select_related("community").first()
        user = person.user if person else None
    else:
        user = User.objects.filter(username=login).first() if login else None
        person = _person_of(user) if user else None
    record_audit(
        actor=Actor(surface=surface),
        action=AuditAction.LOGIN_FAILED,
        obj=person or user,
        area=person.community if person else None,
        summary=login if user is not None else "",
        data={"login": login if user is not None else "", "known_account": user is not None, "ip": ip},
    )


def record_locked_out(*, login: str, surface: str, ip: str | None) -> None:
    """Write the audit event of a log-in lock-out (too many failures for an account or from an address)."""
    record_audit(
        actor=Actor(surface=surface),
        action=AuditAction.LOCKED_OUT,
        summary=login,
        data={"login": login, "ip": ip},
    )


# --- the structure layer through the admin: people, organisations, areas, staff roles ------------------
# The admin never saves these models itself: its save_model / delete_model / save_formset call these
# services, which check the actor's role where the change lands, validate, write, and audit (issue 7).

ROLE = StaffAssignment.Role
PERSON_AUDITED_FIELDS = ["name", "mobile", "community", "user", "organization", "is_leader", "recruited_by"]
ORGANIZATION_AUDITED_FIELDS = [
    "name",
    "type",
    "area",
    "registration",
    "credit_code",
    "hub",
    "description",
    "contact_name",
    "contact_phone",
    "publish_contact",
    "contact_phone_is_office",
]
AREA_AUDITED_FIELDS = ["name", "level", "division_code", "is_illustrative"]
TREE_FIELDS = ["path", "depth", "numchild"]


def is_system(actor: Actor) -> bool:
    """A command or task acting on its own: no user, no organisation."""
    return actor.user is None and actor.organization is None


def staff_role(actor: Actor, area: Area) -> str | None:
    """The role `actor`'s user holds over `area` (a superuser: manager); None without an active user."""
    user = actor.user
    if user is None or not getattr(user, "is_active", False):
        return None
    if user.is_superuser:
        return StaffAssignment.Role.MANAGER
    return role_in_area(user, area)


def is_staff_for(actor: Actor, area: Area, role: str = StaffAssignment.Role.STAFF) -> bool:
    """Whether `actor` is the system, or staff holding at least `role` over `area`."""
    if is_system(actor):
        return True
    held = staff_role(actor, area)
    return held is not None and StaffAssignment.RANK[held] >= StaffAssignment.RANK[role]


def require_staff(actor: Actor, area: Area, role: str = StaffAssignment.Role.STAFF) -> None:
    """Refuse unless `actor` is the system or staff with `role` over `area`. Out of sight answers like absent
    (NotFoundError): a user without a role there, a key outside the areas its organisation serves. In sight
    with a lesser role, or as a key (which acts for an organisation, not as staff): ForbiddenError. Callers
    holding an Area that may predate a renumbering of the tree pass it read afresh."""
    if is_staff_for(actor, area, role):
        return
    if actor.organization is not None:
        if not scope_for_organization(actor.organization).contains(area):
            raise NotFoundError()
        raise ForbiddenError()
    if staff_role(actor, area) is None:
        raise NotFoundError()
    raise ForbiddenError()


def _is_superuser(actor: Actor) -> bool:
    return is_system(actor) or bool(getattr(actor.user, "is_superuser", False))


def _require_role(actor: Actor, area: Area | None, role: str) -> None:
    """Refuse unless `actor` holds at least `role` over `area` (None: the top of the tree, superusers only).

    Raises NotFoundError when the area is outside everything the actor sees (out of scope looks absent),
    ForbiddenError when they see it with a lesser role. A system actor (command line, task) may do anything.
    """
    if _is_superuser(actor):
        return
    if actor.organization is not None:
        raise ForbiddenError(_("An API key cannot change the structure of areas, people and organisations."))
    if area is None:
        raise ForbiddenError(_("Only a superuser may act at the top of the area tree."))
    held = role_in_area(actor.user, area)
    if held is None:
        raise NotFoundError()
    if StaffAssignment.RANK[held] < StaffAssignment.RANK[role]:
        raise ForbiddenError(
            _("This needs the role “%(role)s” in %(area)s.") % {"role": ROLE(role).label, "area": area.name}
        )


def _validation_error(exc: ValidationError) -> DomainError:
    """A model's ValidationError as a DomainError naming the first field at fault."""
    if hasattr(exc, "error_dict"):
        field, errors = next(iter(exc.error_dict.items()))
        messages = [m for e in errors for m in e.messages]
        return DomainError(" ".join(messages), field=None if field == "__all__" else field)
    return DomainError(" ".join(exc.messages))


def _changed_fields(old, new, fields: list[str]) -> list[str]:
    if old is None:
        return []
    attname = {f: new._meta.get_field(f).attname for f in fields}
    return [f for f in fields if getattr(old, attname[f]) != getattr(new, attname[f])]


def _user_label(user) -> str:
    """A user as the audit log names them: never a mobile number in clear (old logins are named after one)."""
    name = user.get_full_name() or getattr(getattr(user, "person", None), "name", "") or ""
    username = mask_mobiles(user.get_username())
    return f"{name} ({username})" if name else username


def save_person(*, person: Person, actor: Actor, audited: bool = True) -> Person:
    """Create or change a person; the actor needs the staff role over the old and the new community.

    Only a superuser attaches or detaches a login (a resident's own account is theirs: issue 7). `audited`
    is False only for an import's rows, which `record_import` audits as one event. Raises NotFoundError,
    ForbiddenError, DomainError (invalid, with the field).
    """
    with transaction.atomic():
        old = None if person.pk is None else Person.objects.select_for_update().filter(pk=person.pk).first()
        if person.community_id is not None:
            _require_role(actor, person.community, ROLE.STAFF)
        if old is not None and old.community_id != person.community_id:
            _require_role(actor, old.community, ROLE.STAFF)
        if person.user_id != (old.user_id if old else None) and not _is_superuser(actor):
            raise ForbiddenError(_("Only a superuser may attach a login to a person."), field="user")
        try:
            person.full_clean()
        except ValidationError as exc:
            raise _validation_error(exc)
        changed = _changed_fields(old, person, PERSON_AUDITED_FIELDS)
        if old is not None and not changed:
            return person
        try:
            with transaction.atomic():
                person.save()
        except IntegrityError:
            raise ConflictError(
                _("This mobile number is already registered to another person."), field="mobile"
            )
        if audited:
            record_audit(
                actor=actor,
                action=AuditAction.PERSON_CREATED if old is None else AuditAction.PERSON_CHANGED,
                obj=person,
                area=person.community,
                summary=person.name,
                data={"changed": changed} if old is not None else {},
            )
    return person


def delete_person(*, person: Person, actor: Actor) -> None:
    """Delete a person (their consents go with them); needs the manager role over their community."""
    with transaction.atomic():
        _require_role(actor, person.community, ROLE.MANAGER)
        # Recorded first, while the row still has its id; a failed delete rolls both back.
        record_audit(
            actor=actor,
            action=AuditAction.PERSON_DELETED,
            obj=person,
            area=person.community,
            summary=person.name,
        )
        person.delete()


def save_organization(*, organization: Organization, actor: Actor, audited: bool = True) -> Organization:
    """Create or change an organisation; the actor needs the staff role where it is and where it was.

    The areas it serves are set apart, by `set_served_areas` (they set its API keys' scope). Publishing the
    contact person is their recorded consent: the audit event says when it was given or withdrawn.
    """
    with transaction.atomic():
        old = (
            None
            if organization.pk is None
            else Organization.objects.select_for_update().filter(pk=organization.pk).first()
        )
        if organization.area_id is not None:
            _require_role(actor, organization.area, ROLE.STAFF)
        if old is not None and old.area_id != organization.area_id:
            _require_role(actor, old.area, ROLE.STAFF)
        try:
            organization.full_clean()
        except ValidationError as exc:
            raise _validation_error(exc)
        changed = _changed_fields(old, organization, ORGANIZATION_AUDITED_FIELDS)
        if old is not None and not changed:
            return organization
        try:
            with transaction.atomic():
                organization.save()
        except IntegrityError:
            raise ConflictError(_("An organisation with this name or credit code is already recorded."))
        if audited:
            data = {"changed": changed} if old is not None else {}
            if old is None or "publish_contact" in changed:
                data["publish_contact"] = organization.publish_contact
            record_audit(
                actor=actor,
                action=AuditAction.ORGANIZATION_CREATED if old is None else AuditAction.ORGANIZATION_CHANGED,
                obj=organization,
                area=organization.area,
                summary=organization.name,
                data=data,
            )
    return organization


def set_served_areas(*, organization: Organization, areas, actor: Actor) -> list[int]:
    """Set the areas an organisation serves, as far as the actor reaches; return the new ids.

    The served areas are its API keys' scope, so the change is audited with the old and the new list.
    Areas outside the actor's own (which their form cannot show) are kept as they are, never dropped; an
    area given outside them is refused as absent (NotFoundError).
    """
    with transaction.atomic():
        _require_role(actor, organization.area, ROLE.STAFF)
        old = set(organization.served_areas.values_list("pk", flat=True))
        chosen = {a.pk for a in areas}
        if _is_superuser(actor):
            new = chosen
        else:
            reach = scope_for_user(actor.user, min_role=ROLE.STAFF)
            reachable = set(Area.objects.filter(reach.q(), pk__in=old | chosen).values_list("pk", flat=True))
            if chosen - reachable:
                raise NotFoundError(field="served_areas")
            new = chosen | (old - reachable)
        if new == old:
            return sorted(new)
        organization.served_areas.set(sorted(new))
        names = dict(Area.objects.filter(pk__in=old | new).values_list("pk", "name"))
        record_audit(
            actor=actor,
            action=AuditAction.SERVED_AREAS_CHANGED,
            obj=organization,
            area=organization.area,
            summary=f"{organization.name}: {'、'.join(names[p] for p in sorted(new)) or '—'}",
            data={
                "old": sorted(old),
                "new": sorted(new),
                "added": [names[p] for p in sorted(new - old)],
                "removed": [names[p] for p in sorted(old - new)],
            },
        )
    return sorted(new)


def delete_organization(*, organization: Organization, actor: Actor) -> None:
    """Delete an organisation (its API keys go with it); needs the manager role where it is.

    Raises ConflictError while anything recorded still points at it (donations, audit events of its keys).
    """
    with transaction.atomic():
        _require_role(actor, organization.area, ROLE.MANAGER)
        record_audit(
            actor=actor,
            action=AuditAction.ORGANIZATION_DELETED,
            obj=organization,
            area=organization.area,
            summary=organization.name,
        )
        try:
            with transaction.atomic():
                organization.delete()
        except ProtectedError:
            raise ConflictError(
                _("%(name)s still has records that point at it (donations, funds or its keys' history).")
                % {"name": organization.name}
            )


def _actor_area(actor: Actor) -> Area | None:
    """The area an event of the actor's whole scope is filed under: where their areas meet (None: all)."""
    if _is_superuser(actor) or actor.user is None:
        return None
    paths = scope_for_user(actor.user).paths
    if not paths:
        return None
    common = paths[0]
    for path in paths[1:]:
        while not path.startswith(common):
            common = common[: -Area.steplen]
    return Area.objects.filter(path=common).first() if common else None


def record_import(*, actor: Actor, model, totals: dict, file_name: str = "") -> AuditEvent:
    """Audit one import of people or organisations as one event with its counts (its rows are not)."""
    action = {Person: AuditAction.PEOPLE_IMPORTED, Organization: AuditAction.ORGANIZATIONS_IMPORTED}[model]
    counts = {k: int(totals.get(k, 0)) for k in ("new", "update", "skip", "delete", "invalid", "error")}
    return record_audit(
        actor=actor,
        action=action,
        area=_actor_area(actor),
        summary=f"{file_name}: +{counts['new']} ~{counts['update']}"[:300],
        data={
            "file": file_name,
            "new": counts["new"],
            "updated": counts["update"],
            "skipped": counts["skip"],
            "deleted": counts["delete"],
        },
    )


def _parent(area: Area) -> Area | None:
    return Area.objects.get_parent(area)


def _check_level(level: str, parent: Area | None, children_levels=()) -> None:
    order = Area.LEVEL_ORDER
    if parent is not None and order.index(parent.level) >= order.index(level):
        raise DomainError(
            _("A %(level)s cannot sit under a %(parent)s.")
            % {"level": Area.Level(level).label, "parent": Area.Level(parent.level).label},
            field="level",
        )
    if any(order.index(c) <= order.index(level) for c in children_levels):
        raise DomainError(_("This area has areas under it of the same or a higher level."), field="level")


def _area_ref(area: Area | None) -> dict | None:
    return None if area is None else {"id": area.pk, "name": area.name}


def _resort(area: Area) -> None:
    """Put a renamed area back in its place among its siblings (the tree is kept sorted by name)."""
    parent = _parent(area)
    if parent is not None:
        Area.objects.move(area, parent, pos="sorted-child")
    else:
        Area.objects.move(area, Area.objects.get_first_root_node(), pos="sorted-sibling")
    area.refresh_from_db()


def save_area(*, area: Area, actor: Actor, parent: Area | None = None) -> Area:
    """Create an area under `parent` (None: a new root), or change an existing one's own fields.

    Creating needs the manager role over the parent (a root: a superuser); changing needs it over the area.
    Moving is `move_area`. Audited under the parent, so that the events never stop an empty area's deletion.
    """
    with transaction.atomic():
        creating = area.pk is None
        old = None if creating else Area.objects.select_for_update().get(pk=area.pk)
        if creating:
            parent = (
                None if parent is None else Area.objects.get(pk=parent.pk)
            )  # the caller's copy stays as it is
            _require_role(actor, parent, ROLE.MANAGER)
            _check_level(area.level, parent)
        else:
            _require_role(actor, old, ROLE.MANAGER)
            parent = _parent(old)
            children = Area.objects.get_children(old).values_list("level", flat=True)
            _check_level(area.level, parent, children)
        try:
            area.full_clean(exclude=TREE_FIELDS)
        except ValidationError as exc:
            raise _validation_error(exc)
        try:
            with transaction.atomic():
                if creating:
                    area = (
                        Area.objects.add_child(parent, instance=area)
                        if parent is not None
                        else Area.objects.add_root(instance=area)
                    )
                    changed = []
                else:
                    changed = _changed_fields(old, area, AREA_AUDITED_FIELDS)
                    if not changed:
                        return area
                    area.save(update_fields=changed)
                    if "name" in changed:
                        _resort(area)
        except IntegrityError:
            raise ConflictError(_("Another area already has this division code."), field="division_code")
        record_audit(
            actor=actor,
            action=AuditAction.AREA_CREATED if creating else AuditAction.AREA_CHANGED,
            obj=area,
            area=parent,
            summary=area.name,
            data={"changed": changed, "parent": _area_ref(parent)}
            if not creating
            else {"parent": _area_ref(parent)},
        )
    return area


MOVE_POSITIONS = ("sorted-child", "sorted-sibling")


def move_area(*, area: Area, target: Area | None, position: str, actor: Actor) -> Area:
    """Move an area (and everything under it) to be a child or a sibling of `target` (None: a root).

    Moving takes an area from one part of the tree to another, so the actor needs the manager role over
    both its parent now and its parent after — in practice a superuser or a manager of a common ancestor;
    otherwise a community's staff could cut the street office's oversight (issue 7). Raises NotFoundError,
    ForbiddenError, DomainError (a position, a level or a target inside the area itself).
    """
    if position not in MOVE_POSITIONS:
        raise DomainError(_("Choose where the area goes: as a child or as a sibling."), field="position")
    with transaction.atomic():
        area = Area.objects.select_for_update().get(pk=area.pk)
        old_parent = _parent(area)
        if target is None:
            new_parent = None
        else:
            target = Area.objects.get(pk=target.pk)
            new_parent = target if position == "sorted-child" else _parent(target)
        _require_role(actor, old_parent, ROLE.MANAGER)
        _require_role(actor, new_parent, ROLE.MANAGER)
        if new_parent is not None and new_parent.path.startswith(area.path):
            raise DomainError(_("An area cannot be moved under itself."), field="target")
        if (new_parent and new_parent.pk) == (old_parent and old_parent.pk):
            return area
        _check_level(area.level, new_parent)
        old_path = area.path
        if new_parent is None:
            Area.objects.move(area, Area.objects.get_first_root_node(), pos="sorted-sibling")
        else:
            Area.objects.move(area, new_parent, pos="sorted-child")
        area.refresh_from_db()
        record_audit(
            actor=actor,
            action=AuditAction.AREA_MOVED,
            obj=area,
            area=new_parent,
            summary=f"{area.name}: {old_parent.name if old_parent else '—'} → "
            f"{new_parent.name if new_parent else '—'}",
            data={
                "from_parent": _area_ref(old_parent),
                "to_parent": _area_ref(new_parent),
                "old_path": old_path,
                "new_path": area.path,
            },
        )
    return area


def delete_area(*, area: Area, actor: Actor) -> None:
    """Delete an area with everything under it; needs the manager role over its parent (a root: superuser).

    Raises ConflictError while people, organisations, funds or audit events still point at it.
    """
    with transaction.atomic():
        parent = _parent(area)
        _require_role(actor, parent, ROLE.MANAGER)
        record_audit(actor=actor, action=AuditAction.AREA_DELETED, obj=area, area=parent, summary=area.name)
        try:
            with transaction.atomic():
                # treebeard deletes the area with everything under it
                Area.objects.filter(pk=area.pk).delete()
        except ProtectedError:
            raise ConflictError(
                _("%(name)s still has people, organisations, funds or records in it: it cannot be deleted.")
                % {"name": area.name}
            )


def _refresh_is_staff(user) -> None:
    """A staff role lets its holder into the admin; the last one removed closes it (superusers keep it)."""
    is_staff = user.is_superuser or StaffAssignment.objects.filter(user_id=user.pk).exists()
    # An update, not save(): the object in memory may be stale (a form's dry run set it, then rolled back).
    type(user).objects.filter(pk=user.pk).exclude(is_staff=is_staff).update(is_staff=is_staff)
    user.is_staff = is_staff


def grant_staff_role(*, user, area: Area, role: str, actor: Actor) -> StaffAssignment:
    """Give `user` the role `role` over `area` (or change the role they hold there); needs the manager role.

    The user becomes staff (may log in to the admin). Audited with the role before and after.
    """
    if role not in ROLE.values:
        raise DomainError(_("Choose a role: viewer, staff or manager."), field="role")
    with transaction.atomic():
        _require_role(actor, area, ROLE.MANAGER)
        assignment = StaffAssignment.objects.select_for_update().filter(user=user, area=area).first()
        previous = assignment.role if assignment else None
        if previous == role:
            return assignment
        try:
            with transaction.atomic():
                if assignment is None:
                    assignment = StaffAssignment.objects.create(user=user, area=area, role=role)
                else:
                    assignment.role = role
                    assignment.save(update_fields=["role"])
        except IntegrityError:
            raise ConflictError(_("This user already has a role in this area."), field="user")
        _refresh_is_staff(user)
        record_audit(
            actor=actor,
            action=AuditAction.STAFF_ROLE_GRANTED,
            obj=assignment,
            area=area,
            summary=f"{_user_label(user)} @ {area.name}: {ROLE(role).label}",
            data={"user": user.pk, "role": role, "previous_role": previous},
        )
    return assignment


def remove_staff_role(*, assignment: StaffAssignment, actor: Actor) -> None:
    """Take a role away; needs the manager role over its area. Audited; the last role closes the admin."""
    with transaction.atomic():
        _require_role(actor, assignment.area, ROLE.MANAGER)
        user, area, role = assignment.user, assignment.area, assignment.role
        record_audit(
            actor=actor,
            action=AuditAction.STAFF_ROLE_REMOVED,
            obj=assignment,
            area=area,
            summary=f"{_user_label(user)} @ {area.name}: {ROLE(role).label}",
            data={"user": user.pk, "role": role},
        )
        StaffAssignment.objects.filter(pk=assignment.pk).delete()
        _refresh_is_staff(user)


def record_permission_change(*, user, before: set[str], after: set[str], actor: Actor) -> AuditEvent | None:
    """Audit a change to a user's own permissions and groups (e.g. charity.export_personal_data)."""
    if before == after:
        return None
    return record_audit(
        actor=actor,
        action=AuditAction.USER_PERMISSIONS_CHANGED,
        summary=_user_label(user),
        data={"user": user.pk, "added": sorted(after - before), "removed": sorted(before - after)},
    )


def record_export(*, actor: Actor, model, rows: int, fields: list[str], file_format: str) -> AuditEvent:
    """Audit an export: who, which model, how many rows, which columns, in which format."""
    label = model._meta.label_lower
    return record_audit(
        actor=actor,
        action=AuditAction.DATA_EXPORTED,
        area=_actor_area(actor),
        summary=f"{model._meta.verbose_name_plural}: {rows} ({file_format})",
        data={"model": label, "rows": rows, "fields": list(fields), "format": file_format},
    )


# --- need categories ------------------------------------------------------------------------------------

CATEGORY_AUDITED_FIELDS = ["code", "name_zh", "name_en", "sort_order", "is_active"]


def save_category(*, category: Category, actor: Actor) -> Category:
    """Add a need category or change one: the list is the city's, so superusers only (docs/domain.md)."""
    if not _is_superuser(actor):
        raise ForbiddenError(_("Only a superuser may change the list of categories."))
    with transaction.atomic():
        old = None if category.pk is None else Category.objects.select_for_update().get(pk=category.pk)
        for field in ("code", "name_zh", "name_en"):
            setattr(category, field, clean_text(getattr(category, field)))
        try:
            category.full_clean()
        except ValidationError as exc:
            raise _validation_error(exc)
        changed = _changed_fields(old, category, CATEGORY_AUDITED_FIELDS)
        if old is not None and not changed:
            return category
        try:
            with transaction.atomic():
                category.save()
        except IntegrityError:
            raise ConflictError(_("A category with this code or name already exists."))
        record_audit(
            actor=actor,
            action=AuditAction.CATEGORY_SAVED,
            obj=category,
            summary=f"{category.name_zh} / {category.name_en}",
            data={"changed": changed} if old is not None else {"created": True},
        )
    return category
