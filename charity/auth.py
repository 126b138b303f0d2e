"""Log-in: residents by mobile number, staff by username; brute-force lock-out (django-axes); the audit of
log-ins and failed log-ins. See docs/accounts.md."""

from __future__ import annotations

import ipaddress

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.shortcuts import render
from django.urls import reverse
from django.utils.crypto import salted_hmac

from .models import AuditEvent, Person
from .services import record_failed_login, record_locked_out, record_login
from .validators import mask_mobile, normalize_mobile


class MobileOrUsernameBackend(ModelBackend):
    """Authenticate a resident by the mobile number on their Person record, anyone else by username.

    Usernames are opaque ("r" and random characters), never a mobile number: what looks like a mobile
    number is looked up on Person only.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        try:
            mobile = normalize_mobile(username)
        except ValidationError:
            return super().authenticate(request, username=str(username).strip(), password=password, **kwargs)
        person = Person.objects.filter(mobile=mobile, user__isnull=False).select_related("user").first()
        if person is None:
            # Hash anyway, so an unknown number takes as long as a wrong password (Django's own defence).
            get_user_model()().set_password(password)
            return None
        user = person.user
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies of our own the address the
    outermost of them saw (counted from the right of X-Forwarded-For, which a client cannot forge)."""
    candidate = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(forwarded) >= count:
            candidate = forwarded[-count]
    try:
        return str(ipaddress.ip_address(candidate or ""))
    except ValueError:
        return None


def login_name(raw) -> tuple[str, str | None]:
    """What a log-in attempt names, as logs may show it: (label, mobile or None).

    A mobile number is masked and given a short keyed hash, so one number is one account for the lock-out
    without the number itself ever being stored; an existing username is itself; anything else is only a
    keyed hash ("?#…"): it may be a password typed into the wrong box.
    """
    raw = str(raw or "")
    try:
        mobile = normalize_mobile(raw)
    except ValidationError:
        username = raw.strip()[:150]
        if get_user_model().objects.filter(username=username).exists():
            return username, None
        return f"?#{_digest(username)}", None
    return f"{mask_mobile(mobile)}#{_digest(mobile)}", mobile


def _digest(value: str) -> str:
    return salted_hmac("charity.auth.login_name", value, algorithm="sha256").hexdigest()[:12]


def axes_username(request, credentials) -> str:
    """The account a log-in attempt is counted against (AXES_USERNAME_CALLABLE)."""
    raw = (credentials or {}).get("username")
    if raw is None and request is not None:
        data = getattr(request, "POST", {})
        raw = data.get("username") or data.get("mobile")
    return login_name(raw)[0]


def lockout_response(request, original_response=None, credentials=None):
    """The page a locked-out log-in gets (AXES_LOCKOUT_CALLABLE): the portal's or the admin's look, 429."""
    context = {"minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)}
    if _surface(request) == AuditEvent.Surface.ADMIN:
        return render(
            request,
            "charity/locked_out_admin.html",
            {**admin.site.each_context(request), **context},
            status=429,
        )
    return render(request, "charity/locked_out.html", context, status=429)


def _surface(request) -> str:
    path = getattr(request, "path", "") or ""
    admin = path.startswith(reverse("admin:index"))
    return AuditEvent.Surface.ADMIN if admin else AuditEvent.Surface.PORTAL


# Signals, not services called from views: the admin's log-in is Django's own view, and the audit must see
# every log-in whichever surface it came through (STYLE.md: signals where two things must not know each
# other).


@receiver(user_logged_in, dispatch_uid="charity.auth.audit_login")
def _audit_login(sender, request, user, **kwargs):
    record_login(user=user, surface=_surface(request), ip=client_ip(request) if request else None)


@receiver(user_login_failed, dispatch_uid="charity.auth.audit_failed_login")
def _audit_failed_login(sender, credentials, request=None, **kwargs):
    label, mobile = login_name((credentials or {}).get("username"))
    record_failed_login(
        login=label,
        mobile=mobile,
        surface=_surface(request),
        ip=client_ip(request) if request is not None else None,
    )


@receiver(user_locked_out, dispatch_uid="charity.auth.audit_locked_out")
def _audit_locked_out(sender, request, username, ip_address, **kwargs):
    # Axes signals on every refused attempt during a lock-out too; record the moment the lock starts, which is
    # when it has just counted the failures.
    if getattr(request, "axes_failures_since_start", None) is None:
        return
    record_locked_out(login=username, surface=_surface(request), ip=ip_address)
