"""Coordination meetings on the portal, and the iCalendar feed of a level's meetings for its staff.

The portal shows published meetings only: the redacted minutes, the decisions and what happened to each
(its action items' status, due date, escalations and dated progress notes) — "what happened to what was
decided". Never the internal minutes, never a person's name: an owner that is a person reads as "a named
person", an opinion as its organisation's.

The feed (docs/coordination.md, "Calendar feed") is for staff: a calendar app cannot log in, so the address
carries a token (an HMAC of the user, the area and the user's password hash, keyed with SECRET_KEY). It
works while the user is active and still sees the area; changing the password changes every token. Anything
else — a wrong token, an area out of the user's sight — is 404, as for an address that does not exist.
"""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from charity import ical
from charity.models import Area
from charity.public_pages import public_page
from charity.scoping import scope_for_user

from . import meeting_selectors as selectors
from .models import ActionItem, AgendaItem

PRODID = "-//community-charity//coordination meetings//ZH"
MEETING_HOURS = 2  # a meeting has a start only; calendars show it as two hours


# --- the portal ---------------------------------------------------------------------------------------------


@public_page()
def community_meetings(request, pk):
    """The published meetings of a community and of the street, district and city above it."""
    area = get_object_or_404(Area, pk=pk, level=Area.Level.COMMUNITY)
    meetings = selectors.list_public_meetings(area)
    return render(
        request,
        "governance/meetings/list.html",
        {
            "area": area,
            "here": [m for m in meetings if m.area_id == area.pk],
            "above": [m for m in meetings if m.area_id != area.pk],
        },
    )


def _follow_up(item: ActionItem, today: datetime.date) -> None:
    """What a resident reads of an action item: overdue or not, and where it was escalated."""
    item.is_overdue = selectors.is_overdue(item, today)
    item.escalated_to = [e.to_area.name for e in item.escalation_log.all()]


@public_page(params=("community",))
def meeting_page(request, pk):
    """One published meeting: its minutes for publication, decisions and what happened to each."""
    meeting = selectors.get_public_meeting(pk)
    if meeting is None:
        raise Http404
    today = timezone.localdate()
    decisions = list(meeting.decisions.all())
    for decision in decisions:
        for item in decision.action_items.all():
            _follow_up(item, today)
    community = None
    community_pk = request.GET.get("community", "")
    if community_pk.isdigit() and len(community_pk) < 19:
        # The community the reader came from (a street's meeting is read from each community below it).
        community = Area.objects.filter(
            pk=int(community_pk), level=Area.Level.COMMUNITY, path__startswith=meeting.area.path
        ).first()
    if community is None and meeting.area.level == Area.Level.COMMUNITY:
        community = meeting.area
    return render(
        request,
        "governance/meetings/meeting.html",
        {
            "meeting": meeting,
            "community": community,
            "decisions": decisions,
            "agenda": [a for a in meeting.agenda.all() if a.source == AgendaItem.Source.PLANNED],
            "followed_up": [a for a in meeting.agenda.all() if a.source != AgendaItem.Source.PLANNED],
            "opinions": list(meeting.opinions.all()),
        },
    )


# --- the calendar feed for staff ----------------------------------------------------------------------------


def calendar_token(user, area: Area) -> str:
    """The secret part of a staff member's feed address for `area` (see the module's docstring)."""
    return salted_hmac(
        "governance.meeting-calendar", f"{user.pk}:{area.pk}:{user.password}", algorithm="sha256"
    ).hexdigest()[:40]


def calendar_path(user, area: Area) -> str:
    return reverse("governance:meeting_calendar", args=[area.pk, user.pk, calendar_token(user, area)])


def _meeting_lines(meeting, *, dtstamp: str, domain: str, url: str) -> list[str]:
    lines = [
        f"UID:meeting-{meeting.pk}@{domain}",
        f"DTSTAMP:{dtstamp}",
        f"DTSTART:{ical.utc(meeting.starts_at)}",
        f"DTEND:{ical.utc(meeting.starts_at + datetime.timedelta(hours=MEETING_HOURS))}",
        f"SUMMARY:{ical.escape(f'{meeting.get_kind_display()}：{meeting.title}')}",
        f"CATEGORIES:{ical.escape(meeting.area.name)}",
        f"URL:{url}",
        "STATUS:CANCELLED" if meeting.status == meeting.Status.CANCELLED else "STATUS:CONFIRMED",
    ]
    if meeting.place:
        lines.append(f"LOCATION:{ical.escape(meeting.place)}")
    return lines


def _item_lines(item: ActionItem, *, dtstamp: str, domain: str, url: str, today: datetime.date) -> list[str]:
    summary = _("Action item due: %(title)s") % {"title": item.title}
    if selectors.is_overdue(item, today):
        summary = _("Overdue action item: %(title)s") % {"title": item.title}
    description = _("Decided at “%(meeting)s”.") % {"meeting": item.decision.meeting.title}
    if item.owner_organization is not None:
        description += " " + _("Owner: %(owner)s.") % {"owner": item.owner_organization.name}
    return [
        f"UID:action-item-{item.pk}@{domain}",
        f"DTSTAMP:{dtstamp}",
        f"DTSTART;VALUE=DATE:{ical.day(item.due_on)}",
        f"DTEND;VALUE=DATE:{ical.day(item.due_on + datetime.timedelta(days=1))}",
        f"SUMMARY:{ical.escape(summary)}",
        f"DESCRIPTION:{ical.escape(description)}",
        "TRANSP:TRANSPARENT",
        f"URL:{url}",
    ]


def meeting_calendar(request, area_pk, user_pk, token):
    """A level's meetings and its open action items' due dates, for the calendar app of one of its staff."""
    user = get_user_model().objects.filter(pk=user_pk, is_active=True).first()
    area = Area.objects.filter(pk=area_pk).first()
    if user is None or area is None or not constant_time_compare(token, calendar_token(user, area)):
        raise Http404
    if not scope_for_user(user).contains(area):
        raise Http404  # the role was removed: the address stops working
    meetings, items = selectors.calendar_entries(area)
    dtstamp = ical.stamp()
    domain = request.get_host().split(":")[0]
    today = timezone.localdate()
    events = [
        _meeting_lines(
            m,
            dtstamp=dtstamp,
            domain=domain,
            url=request.build_absolute_uri(reverse("admin:governance_meeting_change", args=[m.pk])),
        )
        for m in meetings
    ] + [
        _item_lines(
            i,
            dtstamp=dtstamp,
            domain=domain,
            today=today,
            url=request.build_absolute_uri(reverse("admin:governance_actionitem_change", args=[i.pk])),
        )
        for i in items
    ]
    body = ical.write(
        name=_("%(area)s: meetings and action items") % {"area": area.name}, prodid=PRODID, events=events
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="meetings-{area.pk}.ics"'
    response["Cache-Control"] = "private, no-store"
    return response
