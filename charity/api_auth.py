"""API authentication, permission and throttling: organisation API keys and staff sessions.

docs/performance.md ("API") explains why a verified key is trusted for a few seconds and why the throttle
counts per time window.
"""

import hashlib
import re

from django.contrib.auth.models import AnonymousUser
from django.core.cache.backends.locmem import LocMemCache
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions, throttling

from .models import OrganizationAPIKey, StaffAssignment
from .scoping import scope_for_organization

KEYWORD = "Api-Key"
# What create_api_key issues: <8 letters or digits>.<32 letters or digits>; a little room either side.
_KEY_RE = re.compile(r"[A-Za-z0-9]{1,32}\.[A-Za-z0-9]{1,128}", re.ASCII)

# How long a key checked against the database is trusted for reads without checking again: a revoked or
# deleted key, or a change to the areas its organisation serves, takes effect on reads within this many
# seconds, and at once on writes, which always check the database. Expiry is checked on every request.
VERIFIED_KEY_SECONDS = 5
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Django's local-memory cache, one per process, not the shared one: a Redis GET is a round trip to another
# process on every request, as dear as what it saves under load, and a key is checked only once per process
# and VERIFIED_KEY_SECONDS either way (docs/performance.md, "API").
verified_keys = LocMemCache(
    "charity-api-verified-keys", {"TIMEOUT": VERIFIED_KEY_SECONDS, "OPTIONS": {"MAX_ENTRIES": 10_000}}
)


def verified_key_cache_key(key: str) -> str:
    """The cache entry of a verified key: a hash of the whole key, so that only that exact key finds it.

    A key with the same prefix and another secret has another hash, misses, and is checked (and refused) by
    the database; the entry holds no secret.
    """
    return "api-key:verified:" + hashlib.sha256(key.encode("ascii")).hexdigest()


class OrganizationAPIKeyAuthentication:
    """`Authorization: Api-Key <prefix>.<secret>`: the request acts for the key's organisation.

    A key the database accepted is kept in `verified_keys` for VERIFIED_KEY_SECONDS with its organisation and
    its scope, and reads within that time skip the two queries; writes always check the database.
    """

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _sep, key = header.partition(" ")
        if scheme.lower() != KEYWORD.lower():
            return None
        key = key.strip()
        prefix, dot, _secret = key.partition(".")
        if not dot or not prefix or not _KEY_RE.fullmatch(key):
            # Checked before any query: a NUL byte (which PostgreSQL refuses in a query) or a 10 KB header
            # never reaches the database.
            raise exceptions.AuthenticationFailed(
                _("Malformed API key: expected 'Authorization: Api-Key <prefix>.<secret>'."),
                code="invalid_api_key",
            )
        cache_key = verified_key_cache_key(key)
        if request.method in _SAFE_METHODS:
            api_key = verified_keys.get(cache_key)
            if api_key is not None:
                self.check_expiry(api_key)
                return AnonymousUser(), api_key
        api_key = OrganizationAPIKey.objects.select_related("organization").filter(prefix=prefix).first()
        if api_key is None or not api_key.is_valid(key):
            raise exceptions.AuthenticationFailed(_("This API key is not valid."), code="invalid_api_key")
        if api_key.revoked:
            raise exceptions.AuthenticationFailed(_("This API key has been revoked."), code="revoked_api_key")
        self.check_expiry(api_key)
        # Read with the key, and trusted as long as the key is (charity.scoping.scope_for_request uses it).
        api_key.verified_scope = scope_for_organization(api_key.organization)
        verified_keys.set(cache_key, api_key, VERIFIED_KEY_SECONDS)
        return AnonymousUser(), api_key

    @staticmethod
    def check_expiry(api_key):
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed(_("This API key has expired."), code="expired_api_key")

    def authenticate_header(self, request):
        return KEYWORD


class OrganizationAPIKeyScheme(OpenApiAuthenticationExtension):
    """Document the API key in the OpenAPI schema (else `check --deploy` warns about this class)."""

    target_class = "charity.api_auth.OrganizationAPIKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Api-Key <your key>",
        }


def is_api_key(request) -> bool:
    return isinstance(getattr(request, "auth", None), OrganizationAPIKey)


def is_staff_user(user) -> bool:
    if not (user and user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or StaffAssignment.objects.filter(user=user).exists()


class IsStaffOrOrganizationKey(permissions.BasePermission):
    """An organisation API key, or a logged-in user with a staff assignment. Nobody else."""

    message = _("This API is for hub organisations (API key) and committee staff.")

    def has_permission(self, request, view):
        if is_api_key(request):
            return True
        if not (request.user and request.user.is_authenticated):
            raise exceptions.NotAuthenticated(
                _("Authenticate with 'Authorization: Api-Key <key>' or log in as staff.")
            )
        return is_staff_user(request.user)


class PerClientThrottle(throttling.SimpleRateThrottle):
    """One budget per API key, per staff user, or per address for anything else.

    A counter per client and time window in the shared cache, raised by one atomic `incr`: DRF's own throttle
    read and wrote back the list of every request's time in the window (up to 600 of them), and two workers
    writing it at once lost each other's requests. Windows start on the clock (every minute for "600/min"),
    so a client may spend one window's budget at its end and the next one's at once after it.
    """

    scope = "client"

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        self.now = self.timer()
        # The window's number is in the key: a counter is never raised after its window, so it cannot expire
        # between Redis's EXISTS and INCRBY (which would make a counter that never expires).
        key = f"{ident}:{int(self.now // self.duration)}"
        try:
            count = self.cache.incr(key)
        except ValueError:  # the window's first request
            if self.cache.add(key, 1, self.duration + 1):
                count = 1
            else:  # another worker started the window just now
                count = self.cache.incr(key)
        if count > self.num_requests:
            return self.throttle_failure()
        return True

    def wait(self):
        """Seconds until the next window (the Retry-After header)."""
        return self.duration - self.now % self.duration

    def get_cache_key(self, request, view):
        if is_api_key(request):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
