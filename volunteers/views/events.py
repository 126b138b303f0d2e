"""Portal pages of events: the list by date and series, an event's page, signing up and cancelling, my
sign-ups with my place in line, confirming an offered place, the page a scanned QR code opens, and each
community's calendar feed.

The list and an event's page are public (anyone may see what is on); for an anonymous visitor they are
served from the public page cache (charity.public_pages), which every sign-up throws away because every
sign-up writes an audit event. Everything that writes needs a login and goes through the services.
"""

from __future__ import annotations

import datetime
from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from charity import my_page
from charity.errors import DomainError
from charity.models import Area, AuditEvent, Person
from charity.public_pages import local_to, public_page
from charity.services import Actor

from .. import ical, qr, services
from ..forms_events import SignUpForm
from ..models import Event, EventSeries, Signup, VolunteerRole

LIST_LIMIT = 200
STATUS = Signup.Status


def _actor(request) -> Actor:
    return Actor.from_request(request, AuditEvent.Surface.PORTAL)


def _person_or_none(request) -> Person | None:
    if not request.user.is_authenticated:
        return None
    return Person.objects.select_related("community").filter(user=request.user).first()


def _person(request) -> Person:
    """The resident behind the login; staff logins without a resident record get a 404 here."""
    person = _person_or_none(request)
    if person is None:
        raise Http404
    return person


def _number(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None


def _events():
    return services.with_places(
        Event.objects.select_related("community", "series", "organizer").annotate(
            role_places=Count("roles", distinct=True)
        )
    )


# --- the list and an event's page ----------------------------------------------------------------------


@public_page(params=("community", "series"))
def event_list(request):
    now = timezone.now()
    community = series = None
    community_id, series_id = _number(request.GET.get("community")), _number(request.GET.get("series"))
    rows = _events().filter(ends_at__gte=now).order_by("starts_at", "pk")
    if community_id:
        community = Area.objects.filter(pk=community_id, level=Area.Level.COMMUNITY).first()
        if community is None:
            raise Http404
        local_to(request, community.pk)
        rows = rows.filter(community=community)
    if series_id:
        series = EventSeries.objects.select_related("community").filter(pk=series_id).first()
        if series is None:
            raise Http404
        rows = rows.filter(series=series)
    rows = list(rows[:LIST_LIMIT])
    for event in rows:
        event.left = max(event.capacity - event.taken, 0)
    days = [
        (day, list(group))
        for day, group in groupby(rows, key=lambda e: timezone.localtime(e.starts_at).date())
    ]
    all_series = (
        EventSeries.objects.filter(community=community).order_by("name") if community is not None else []
    )
    person = _person_or_none(request)
    mine = {}
    if person is not None and rows:
        mine = dict(
            Signup.objects.filter(person=person, event__in=rows, status__in=Signup.ACTIVE).values_list(
                "event_id", "status"
            )
        )
    return render(
        request,
        "volunteers/event_list.html",
        {
            "days": days,
            "community": community,
            "series": series,
            "all_series": all_series,
            "mine": mine,
            "truncated": len(rows) == LIST_LIMIT,
        },
    )


def _detail_context(request, event: Event, person: Person | None, form=None) -> dict:
    roles = list(
        VolunteerRole.objects.filter(event=event)
        .annotate(
            taken=Count("signups", filter=Q(signups__status__in=services.events.HOLDING)),
            waiting=Count("signups", filter=Q(signups__status=STATUS.WAITING)),
        )
        .order_by("pk")
    )
    for role in roles:
        role.left = max(role.capacity - role.taken, 0)
    signup = None
    is_volunteer = False
    if person is not None:
        signup = (
            services.with_waiting_position(Signup.objects.filter(event=event, person=person))
            .filter(status__in=Signup.ACTIVE)
            .select_related("role")
            .first()
        )
        is_volunteer = hasattr(person, "volunteer") and person.volunteer.status == "active"
    now = timezone.now()
    return {
        "event": event,
        "roles": roles,
        "left": max(event.capacity - event.taken, 0),
        "signup": signup,
        "person": person,
        "is_volunteer": is_volunteer,
        "open": event.status == Event.Status.PUBLISHED and now <= event.signup_deadline,
        "uninsured": event.is_risky and event.insurance_recorded_at is None,
        "form": form or SignUpForm(),
        "calendar_url": reverse("volunteers:event_calendar", args=[event.community_id]),
        "now": now,
    }


@public_page()
def event_detail(request, pk):
    event = get_object_or_404(_events(), pk=pk)
    local_to(request, event.community_id)
    return render(
        request, "volunteers/event_detail.html", _detail_context(request, event, _person_or_none(request))
    )


@login_required
@require_POST
def event_sign_up(request, pk):
    person = _person(request)
    event = get_object_or_404(Event.objects.select_related("community"), pk=pk)
    form = SignUpForm(request.POST)
    if not form.is_valid():
        context = _detail_context(request, get_object_or_404(_events(), pk=pk), person, form)
        return render(request, "volunteers/event_detail.html", context, status=400)
    data = form.cleaned_data
    role = None
    role_id = request.POST.get("role", "")
    if role_id:
        role = (
            VolunteerRole.objects.filter(pk=int(role_id), event=event).first()
            if role_id.isdigit() and len(role_id) < 19
            else None
        )
        if role is None:
            messages.error(request, _("Choose one of this event's volunteer roles."))
            return redirect("volunteers:event_detail", pk=pk)
    try:
        signup = services.sign_up(
            event=event,
            person=person,
            role=role,
            participant_age=None if role else data["participant_age"],
            guardian_name=data["guardian_name"],
            actor=_actor(request),
        )
    except DomainError as exc:
        if exc.field in form.fields:
            form.add_error(exc.field, str(exc.message))
            context = _detail_context(request, get_object_or_404(_events(), pk=pk), person, form)
            return render(request, "volunteers/event_detail.html", context, status=400)
        messages.error(request, str(exc.message))
        return redirect("volunteers:event_detail", pk=pk)
    if signup.status == STATUS.CONFIRMED:
        messages.success(request, _("You are signed up. See you there!"))
    else:
        position = services.waiting_position(signup)
        messages.success(
            request,
            _(
                "The event is full: you are number %(n)d on the waiting list. "
                "We will tell you if a place opens."
            )
            % {"n": position},
        )
    return redirect("volunteers:my_signups")


def _own_signup(request, pk) -> Signup:
    person = _person(request)
    return get_object_or_404(
        Signup.objects.select_related("event__community", "person"), pk=pk, person=person
    )


@login_required
@require_POST
def signup_cancel(request, pk):
    signup = _own_signup(request, pk)
    try:
        services.cancel_signup(signup=signup, actor=_actor(request))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Your sign-up is cancelled. Thank you for making the place free."))
    return redirect("volunteers:my_signups")


@login_required
@require_POST
def signup_confirm(request, pk):
    signup = _own_signup(request, pk)
    try:
        services.confirm_offer(signup=signup, actor=_actor(request))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The place is yours. See you there!"))
    return redirect("volunteers:my_signups")


def _my_signups(person: Person):
    return (
        services.with_waiting_position(Signup.objects.filter(person=person))
        .select_related("event", "event__series", "role")
        .order_by("-event__starts_at", "-pk")
    )


@login_required
def my_signups(request):
    person = _person(request)
    rows = list(_my_signups(person)[:LIST_LIMIT])
    now = timezone.now()
    return render(
        request,
        "volunteers/event_my_signups.html",
        {
            "upcoming": [s for s in rows if s.event.ends_at >= now][::-1],
            "past": [s for s in rows if s.event.ends_at < now],
            "now": now,
        },
    )


# --- self-check-in by the event's QR code --------------------------------------------------------------


@login_required
def self_check_in(request, token):
    """GET shows the event and a button (a scan must not check anyone in by itself); POST checks in."""
    person = _person(request)
    error = event = signup = None
    try:
        event = Event.objects.filter(pk=qr.read_token(token)).first()
        if event is None:
            raise qr.TokenError(
                _("This check-in code is not valid. Scan the code on the event's poster again.")
            )
    except DomainError as exc:
        error = str(exc.message)
    if event is not None:
        signup = Signup.objects.filter(event=event, person=person, status__in=Signup.ACTIVE).first()
        if request.method == "POST":
            try:
                signup = services.self_check_in(token=token, person=person, actor=_actor(request))
            except DomainError as exc:
                error = str(exc.message)
            else:
                messages.success(request, _("You are checked in. Welcome!"))
                return redirect("volunteers:event_self_check_in", token=token)
        elif signup is None:
            error = _("You are not signed up for this event.")
    status = 400 if error and request.method == "POST" else 200
    return render(
        request,
        "volunteers/event_check_in.html",
        {"event": event, "signup": signup, "error": error, "token": token},
        status=status,
    )


# --- the calendar feed ---------------------------------------------------------------------------------


def event_calendar(request, pk):
    """A community's events as an iCalendar feed (RFC 5545) a phone's calendar subscribes to."""
    community = get_object_or_404(Area, pk=pk, level=Area.Level.COMMUNITY)
    since = timezone.now() - datetime.timedelta(days=ical.PAST_DAYS)
    events = list(
        Event.objects.filter(community=community, ends_at__gte=since)
        .select_related("series", "organizer")
        .order_by("starts_at", "pk")[: ical.MAX_EVENTS]
    )
    body = ical.calendar(
        name=_("%(community)s events") % {"community": community.name},
        events=events,
        host=request.get_host(),
        url_for=lambda e: request.build_absolute_uri(reverse("volunteers:event_detail", args=[e.pk])),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="events-{community.pk}.ics"'
    response["Cache-Control"] = "public, max-age=900"
    return response


urlpatterns: list = [
    path("events/", event_list, name="event_list"),
    path("events/mine/", my_signups, name="my_signups"),
    path("events/<int:pk>/", event_detail, name="event_detail"),
    path("events/<int:pk>/sign-up/", event_sign_up, name="event_sign_up"),
    path("events/signups/<int:pk>/cancel/", signup_cancel, name="signup_cancel"),
    path("events/signups/<int:pk>/confirm/", signup_confirm, name="signup_confirm"),
    path("events/check-in/<str:token>/", self_check_in, name="event_self_check_in"),
    path("events/community/<int:pk>/calendar.ics", event_calendar, name="event_calendar"),
]


# --- "my page" -----------------------------------------------------------------------------------------


def _when(value):
    return value.isoformat() if value is not None else None


def export_signups(person: Person) -> list[dict]:
    return [
        {
            "event": s.event.title,
            "starts_at": _when(s.event.starts_at),
            "role": s.role.name if s.role else None,
            "status": s.status,
            "participant_age": s.participant_age,
            "guardian_name": s.guardian_name,
            "signed_up": _when(s.created_at),
            "checked_in": _when(s.checked_in_at),
            "checked_out": _when(s.checked_out_at),
            "cancelled": _when(s.cancelled_at),
        }
        for s in Signup.objects.filter(person=person).select_related("event", "role").order_by("pk")
    ]


def erase_signups(person: Person, actor: Actor) -> dict:
    """Delete my account: open sign-ups of events still to come are cancelled (their places go to the next
    in line); the guardian's name and the age given are cleared. Past sign-ups stay, linked to the
    anonymised person (a volunteer's service record points at its sign-up)."""
    system = Actor.system(AuditEvent.Surface.SYSTEM)
    now = timezone.now()
    cancelled = 0
    for signup in Signup.objects.filter(person=person, status__in=Signup.ACTIVE, event__ends_at__gt=now):
        try:
            services.cancel_signup(signup=signup, actor=system)
            cancelled += 1
        except DomainError:
            pass
    Signup.objects.filter(person=person).update(guardian_name="", participant_age=None)
    return {"signups_cancelled": cancelled}


def register_my_page():
    my_page.register_section(
        "event_signups",
        title=gettext_lazy("My events"),
        template="volunteers/event_my_section.html",
        context=lambda request, person: {
            "signups": list(
                _my_signups(person).filter(event__ends_at__gte=timezone.now(), status__in=Signup.ACTIVE)[:20]
            )[::-1]
        },
    )
    my_page.register_export("event_signups", export_signups)
    my_page.register_erasure("event_signups", erase_signups)
