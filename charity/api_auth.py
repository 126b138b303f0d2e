"""API authentication, permission and throttling: organisation API keys and staff sessions."""

import re

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, permissions, throttling

from .models import OrganizationAPIKey, StaffAssignment

KEYWORD = "Api-Key"
# What create_api_key issues: <8 letters or digits>.<32 letters or digits>; a little room either side.
_KEY_RE = re.compile(r"[A-Za-z0-9]{1,32}\.[A-Za-z0-9]{1,128}", re.ASCII)


class OrganizationAPIKeyAuthentication:
    """`Authorization: Api-Key <prefix>.<secret>`: the request acts for the key's organisation."""

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
        api_key = OrganizationAPIKey.objects.select_related("organization").filter(prefix=prefix).first()
        if api_key is None or not api_key.is_valid(key):
            raise exceptions.AuthenticationFailed(_("This API key is not valid."), code="invalid_api_key")
        if api_key.revoked:
            raise exceptions.AuthenticationFailed(_("This API key has been revoked."), code="revoked_api_key")
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed(_("This API key has expired."), code="expired_api_key")
        return AnonymousUser(), api_key

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
    """One budget per API key, per staff user, or per address for anything else."""

    scope = "client"

    def get_cache_key(self, request, view):
        if is_api_key(request):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
