"""Public portal pages served from the cache, thrown away as soon as the money or records behind them move.

A public page (a fund, a community, an organisation, a committee) is the same for every visitor who is not
logged in and reads the same language, and it changes only when something is written — and every write goes
through a service that records an audit event (docs/conventions.md). So:

- A page is cached per view, path, allowed query parameters, language and local date, and only for a visitor
  with no session and no pending message: a logged-in person, or anyone a form has just answered, always
  gets the page rendered for them. Nothing of one visitor (login, language, messages, CSRF token) can reach
  another.
- Each cached page remembers the *versions* it was rendered under: the city-wide version, and the version of
  each community whose money or residents it shows (`local_to`). A version is a random token in the cache.
- Recording an audit event bumps versions (`audit_recorded`): a donation, refund or other posting bumps its
  community's version; a change of a fund, an organisation, an area, a committee... bumps the city-wide one;
  a log-in or a code request bumps nothing. An action not listed bumps the city-wide version, so a new kind of
  write can make pages slower, never stale.
- A version is bumped at once (the writer's own next read sees its change) and again when the transaction
  commits: a page rendered by another visitor in between, from the data before the commit, is stored under
  the first token and thrown away at the second.
- Versions are read before the data they guard, so a page is never stored under a version newer than its data.

With Redis (production) the versions are shared by every web worker, Celery worker and command: a change is
on the page at the next request. With the local-memory cache (the embedded default) each process has its own
versions, so pages live only PUBLIC_PAGE_CACHE_SECONDS (1 s by default there) — still within a second of a
change. docs/performance.md has the reasoning and the figures.
"""

import datetime
import functools
import hashlib
import re
import secrets

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from rest_framework.response import Response

from .models import Area, AuditAction

# Writes that change nothing a public page shows.
UNSEEN_ACTIONS = frozenset(
    {
        AuditAction.API_KEY_CREATED,
        AuditAction.API_KEY_REVOKED,
        AuditAction.LOGGED_IN,
        AuditAction.LOGIN_FAILED,
        AuditAction.LOCKED_OUT,
        AuditAction.PASSWORD_CHANGED,
        AuditAction.PASSWORD_RESET_BY_CODE,
        AuditAction.PASSWORD_RESET_BY_STAFF,
        AuditAction.CODE_REQUESTED,
        AuditAction.STAFF_ROLE_GRANTED,
        AuditAction.STAFF_ROLE_REMOVED,
        AuditAction.USER_PERMISSIONS_CHANGED,
        AuditAction.DATA_EXPORTED,
        AuditAction.LEDGER_VERIFIED,
        # needs registry: nothing public shows these
        AuditAction.NEED_DUPLICATE_FLAGGED,
        AuditAction.NEED_SENSITIVE_SAVED,
        AuditAction.NEED_SENSITIVE_VIEWED,
        AuditAction.NEED_CONSENT_WITHDRAWN,
        # notifications: a person's own setting (person.erased is city-wide: a fund page may show their name)
        AuditAction.NOTIFICATION_SETTING_CHANGED,
    }
)
# Frequent writes whose effect stays within the community of their audit event's area (a giving day's
# gifts must not re-render every page of the city): money posted to or taken from one community's fund, and
# a resident signing up there.
COMMUNITY_ACTIONS = frozenset(
    {
        AuditAction.DONATION_POSTED,
        AuditAction.DONATION_REFUNDED,
        # needs registry: a community's needs list
        AuditAction.NEED_SUBMITTED,
        AuditAction.NEED_EDITED,
        AuditAction.NEED_STATUS_CHANGED,
        AuditAction.NEEDS_IMPORTED,
        AuditAction.OFFER_MADE,
        AuditAction.OFFER_STATUS_CHANGED,
        AuditAction.LEDGER_POSTED,
        AuditAction.LEDGER_REVERSED,
        AuditAction.FUNDS_WITHDRAWN,
        AuditAction.INCOME_RECORDED,
        AuditAction.RESIDENT_REGISTERED,
        # resources/: every write is local to the resource's community
        AuditAction.RESOURCE_OFFERED,
        AuditAction.RESOURCE_CHANGED,
        AuditAction.RESOURCE_STATUS_CHANGED,
        AuditAction.PLEDGE_HONOURED,
        AuditAction.TOOL_LENT,
        AuditAction.TOOL_RETURNED,
        AuditAction.LOAN_RENEWED,
        AuditAction.LOAN_OVERDUE,
        AuditAction.WAITLIST_JOINED,
        AuditAction.WAITLIST_LEFT,
        AuditAction.ITEM_CLAIMED,
        AuditAction.CLAIM_HANDED_OVER,
        AuditAction.CLAIM_CANCELLED,
        AuditAction.ITEM_EXPIRED,
        # residents' topics (governance/topics.py): a community's topics and a topic's page
        AuditAction.TOPIC_RAISED,
        AuditAction.TOPIC_SUPPORTED,
        AuditAction.TOPIC_SUPPORT_WITHDRAWN,
        AuditAction.TOPIC_COMMENTED,
        AuditAction.TOPIC_COMMENT_HIDDEN,
        AuditAction.TOPIC_HIDDEN,
        AuditAction.TOPIC_ANSWERED,
        AuditAction.TOPIC_MERGED,
        AuditAction.TOPIC_BECAME_PROJECT,
        # service projects (governance/projects.py): a community's projects and a project's page
        AuditAction.PROJECT_CREATED,
        AuditAction.PROJECT_PLAN_CHANGED,
        AuditAction.PROJECT_STARTED,
        AuditAction.PROJECT_ENDED,
        AuditAction.PROJECT_CANCELLED,
        AuditAction.MILESTONE_ADDED,
        AuditAction.MILESTONE_REACHED,
        AuditAction.PROJECT_PROGRESS_REPORTED,
        AuditAction.PROJECT_EVALUATED,
        AuditAction.PROJECT_RATED,
        AuditAction.PROJECT_RATING_HIDDEN,
        AuditAction.DISCLOSURE_PUBLISHED,
        AuditAction.DISCLOSURE_CORRECTED,
    }
)

# Writes that change nothing the API answers either (a subset of UNSEEN_ACTIONS): the other unseen ones —
# a need's sensitive details saved or their consent withdrawn, a staff role — change what some API caller
# reads, so they bump the API's own version (`_API`).
API_UNSEEN_ACTIONS = frozenset(
    {
        AuditAction.LOGGED_IN,
        AuditAction.LOGIN_FAILED,
        AuditAction.LOCKED_OUT,
        AuditAction.PASSWORD_CHANGED,
        AuditAction.PASSWORD_RESET_BY_CODE,
        AuditAction.PASSWORD_RESET_BY_STAFF,
        AuditAction.CODE_REQUESTED,
        AuditAction.API_KEY_CREATED,
        AuditAction.DATA_EXPORTED,
        AuditAction.LEDGER_VERIFIED,
        AuditAction.NEED_SENSITIVE_VIEWED,
        AuditAction.NOTIFICATION_SETTING_CHANGED,
    }
)
assert API_UNSEEN_ACTIONS <= UNSEEN_ACTIONS

_PAGE_NUMBER = re.compile(r"\d{1,6}")
_CITY = "city"
_API = "api"
# The length of one level of an area's path (treebeard's steplen): a community's tree versions are those of
# its path and each of its prefixes, so a change in a community shows to a reader of any area above it.
_STEPLEN = Area.steplen


def _key(*parts) -> str:
    return ":".join([settings.PUBLIC_PAGE_CACHE_PREFIX, *map(str, parts)])


def _version_key(scope) -> str:
    return _key("v", scope)


def _new_token() -> str:
    return secrets.token_hex(8)


def _bump(scopes) -> None:
    cache.set_many({_version_key(s): _new_token() for s in scopes}, timeout=None)


def tree_scopes(path: str) -> list[str]:
    """The tree versions a change at the area with `path` bumps: its own and each ancestor's."""
    return [f"tree:{path[:end]}" for end in range(_STEPLEN, len(path) + 1, _STEPLEN)]


def _scopes_of(event) -> list:
    if event.action in UNSEEN_ACTIONS:
        return [] if event.action in API_UNSEEN_ACTIONS else [_API]
    if event.action not in COMMUNITY_ACTIONS or not event.area_id:
        return [_CITY]
    # The event's area as written (no query); without it, the API's readers are told through `_API`.
    area = event._state.fields_cache.get("area")
    return [event.area_id, *(tree_scopes(area.path) if area is not None else [_API])]


def audit_recorded(event) -> None:
    """Throw away the cached pages and API answers an audit event's change may alter (called for every
    event written)."""
    scopes = _scopes_of(event)
    if not scopes:
        return
    _bump(scopes)
    transaction.on_commit(functools.partial(_bump, scopes))


def _versions(scopes: list) -> dict:
    """The current token of each scope, creating the missing ones (so no page is stored under 'none')."""
    keys = {_version_key(s): s for s in scopes}
    found = cache.get_many(list(keys))
    missing = [k for k in keys if k not in found]
    for k in missing:
        cache.add(k, _new_token(), timeout=None)
    if missing:
        found.update(cache.get_many(missing))
    return {keys[k]: v for k, v in found.items()}


def local_to(request, area_id) -> None:
    """Declare that the page being rendered shows money or residents of community `area_id`.

    Call it before reading that data: the version read now is the one the page is stored under.
    """
    versions = getattr(request, "_public_page_versions", None)
    if versions is not None and area_id not in versions:
        versions.update(_versions([area_id]))


def _cacheable(request) -> bool:
    return (
        settings.PUBLIC_PAGE_CACHE_SECONDS > 0
        and request.method in ("GET", "HEAD")
        # An emptied cookie (a session just ended, messages just shown) is no session and no message.
        and not request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        and not request.COOKIES.get(CookieStorage.cookie_name)
    )


def _page_key(request, view_name: str, params: tuple) -> str | None:
    query = []
    for name in params:
        value = request.GET.get(name)
        if value is None:
            continue
        if not _PAGE_NUMBER.fullmatch(value):
            return None  # odd values are rendered, not stored: nobody fills the cache with ?page=x1, x2…
        query.append(f"{name}={int(value)}")
    language = getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE)
    today: datetime.date = timezone.localdate()
    return _key("page", view_name, language, today.isoformat(), request.path, "&".join(query))


def public_page(*, params: tuple = ()):
    """Serve the decorated view's 200 answers to anonymous visitors from the cache (see the module's doc).

    `params`: the query parameters the view reads (positive whole numbers only, e.g. "page"); any other
    parameter is ignored by the view and so by the cache.
    """

    def decorator(view):
        view_name = f"{view.__module__}.{view.__qualname__}"

        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            key = _page_key(request, view_name, params) if _cacheable(request) else None
            if key is None:
                return view(request, *args, **kwargs)
            entry = cache.get(key)
            if entry is not None:
                versions, content_type, content = entry
                if _versions(list(versions)) == versions:
                    response = HttpResponse(content, content_type=content_type)
                    patch_vary_headers(response, ("Cookie",))
                    return response
            request._public_page_versions = _versions([_CITY])
            response = view(request, *args, **kwargs)
            # A page that asked for a CSRF token or set a cookie is this visitor's own: never stored.
            if (
                response.status_code == 200
                and not response.streaming
                and not response.cookies
                and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
            ):
                if hasattr(response, "render") and callable(response.render):
                    response.render()
                cache.set(
                    key,
                    (dict(request._public_page_versions), response["Content-Type"], response.content),
                    timeout=settings.PUBLIC_PAGE_CACHE_SECONDS,
                )
            patch_vary_headers(response, ("Cookie",))
            return response

        return wrapper

    return decorator


# --- API answers ------------------------------------------------------------------------------------------


def cached_api_read(request, view, read):
    """Serve a GET list or detail of a scoped API viewset to an organisation's key from the cache.

    Hub organisations poll the same lists all day; an answer changes only when something is written in the
    areas the key serves, or city-wide. The answer (its data, before rendering) is stored per viewset,
    action, organisation, language, local date and full address (host, path, query), under the versions
    of the city, of the API and of each area the key serves (`tree_scopes`): any write below one of them,
    and any city-wide write, makes the next read compute it afresh. Authentication and throttling run
    before this, so a revoked key or a spent quota is refused as ever. Staff (session) reads are never
    cached: their scope moves with their roles. `read()` computes the answer (a DRF Response).
    """
    from .models import OrganizationAPIKey

    auth = getattr(request, "auth", None)
    if settings.API_CACHE_SECONDS <= 0 or request.method != "GET" or not isinstance(auth, OrganizationAPIKey):
        return read()
    scope = getattr(auth, "verified_scope", None)
    if scope is None:
        return read()
    language = getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE)
    # The host too: the pagination links in an answer are absolute.
    target = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()[:32]
    view_name = f"{type(view).__module__}.{type(view).__qualname__}.{view.action}"
    key = _key("api", view_name, auth.organization_id, language, timezone.localdate().isoformat(), target)
    scopes = [_CITY, _API, *(f"tree:{path}" for path in scope.paths)]
    entry = cache.get(key)
    if entry is not None:
        versions, status, data = entry
        if _versions(list(versions)) == versions:
            return Response(data, status=status)
    versions = _versions(scopes)
    response = read()
    if response.status_code == 200 and not response.exception:
        cache.set(key, (versions, response.status_code, response.data), timeout=settings.API_CACHE_SECONDS)
    return response
