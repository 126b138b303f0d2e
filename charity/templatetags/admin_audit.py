"""The audit log in the admin's own pages: the index's "recent actions" and an object's history."""

from django import template
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db.models import Q
from django.urls import NoReverseMatch, reverse

from ..audit_display import describe
from ..logsafety import mask_mobiles
from ..models import AuditEvent
from ..scoping import scope_for_user

register = template.Library()

# Log-ins, failed log-ins and codes are the account's, not work done in the admin.
NOT_WORK = Q(action__startswith="account.")


def admin_url(event: AuditEvent) -> str:
    """The admin page of the object an event is about, or "" (gone, or not in the admin)."""
    obj = getattr(event, "named_object", None)
    if obj is None or type(obj) not in admin.site._registry:
        return ""
    opts = obj._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(obj.pk)])
    except NoReverseMatch:
        return ""


def _latest(events, limit):
    events = describe(
        events.exclude(NOT_WORK)
        .select_related("actor_user", "actor_organization")
        .order_by("-created_at", "-id")[: int(limit)]
    )
    for event in events:
        event.admin_url = admin_url(event)
    return events


@register.simple_tag
def recent_audit_events(user, limit=10):
    """The user's own latest changes, as sentences, newest first: what they did through any surface."""
    if not getattr(user, "is_authenticated", False):
        return []
    return _latest(AuditEvent.objects.filter(actor_user=user), limit)


@register.simple_tag
def recent_area_events(user, limit=10):
    """What others recorded lately in the user's areas (donations through the API, imports, a colleague's
    changes): the audit log's latest lines they may see, as sentences."""
    if not getattr(user, "is_authenticated", False):
        return []
    scope = scope_for_user(user)
    if not scope.everything and not scope.paths:
        return []
    return _latest(scope.filter(AuditEvent.objects.exclude(actor_user=user), "area"), limit)


@register.filter
def user_name(user) -> str:
    """A user as the admin's pages name them: their name, else their login with a mobile number masked."""
    if user is None:
        return ""
    return user.get_full_name() or mask_mobiles(user.get_username())
