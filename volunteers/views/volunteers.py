"""Portal pages of volunteer registration, for a logged-in resident: register, "my volunteering" (number,
teams, skills, weekly time; change them; stop volunteering), and the volunteer's part of "my page" (the
section, the data download with the last four characters of the ID number only, and erasure).

None of them is cached as a public page, and none shows the ID number.
"""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from charity import my_page
from charity.errors import DomainError
from charity.models import Area, AuditEvent, Organization, Person
from charity.services import Actor

from .. import selectors, services
from ..forms_volunteers import (
    LeaveForm,
    RegistrationForm,
    VolunteerDetailsForm,
    choices_from_slots,
    slots_from_choices,
)
from ..models import Volunteer

# A resident whose registrations were refused this many times for an ID number already registered waits
# an hour: the refusal says a number is registered, which must not be tried number after number.
REFUSED_ID_LIMIT = 5
REFUSED_ID_WINDOW = 3600


def _actor(request) -> Actor:
    return Actor.from_request(request, AuditEvent.Surface.PORTAL)


def _person(request) -> Person:
    """The resident behind the login; staff logins without a resident record get a 404 here."""
    person = Person.objects.select_related("community").filter(user=request.user).first()
    if person is None:
        raise Http404
    return person


def _teams_for(community: Area):
    """Volunteer teams working in `community` or in an area above it."""
    paths = [community.path[: i * Area.steplen] for i in range(1, community.depth + 1)]
    return Organization.objects.filter(type=Organization.Type.VOLUNTEER_TEAM, area__path__in=paths).order_by(
        "name", "id"
    )


def _private(response):
    add_never_cache_headers(response)
    return response


def _apply_error(form, exc: DomainError) -> None:
    field = {"availability": "availability"}.get(exc.field, exc.field)
    form.add_error(field if field in form.fields else None, str(exc.message))


@sensitive_post_parameters("id_number")
@login_required
def register(request):
    person = _person(request)
    if Volunteer.objects.filter(person=person).exists():
        return redirect("volunteers:volunteer_me")
    teams = _teams_for(person.community)
    form = RegistrationForm(request.POST or None, teams=teams)
    probe_key = f"volunteer-register-refused:{person.pk}"
    if request.method == "POST" and cache.get(probe_key, 0) >= REFUSED_ID_LIMIT:
        # Whether an ID number is registered must not be something one can try number after number.
        form.is_valid()
        form.add_error(
            None,
            _("Too many ID numbers were refused: please try again in an hour, or ask the community's staff."),
        )
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            volunteer = services.register_volunteer(
                person=person,
                id_type=data["id_type"],
                id_number=data["id_number"],
                birth_date=data.get("birth_date"),
                skills=data.get("skills") or "",
                teams=list(data.get("teams") or ()),
                availability=slots_from_choices(data.get("availability")),
                guardian_name=data.get("guardian_name") or "",
                guardian_relation=data.get("guardian_relation") or "",
                guardian_consent=bool(data.get("guardian_consent")),
                source=Volunteer.Source.PORTAL,
                actor=_actor(request),
            )
        except DomainError as exc:
            if exc.code == "duplicate_id_number":
                cache.add(probe_key, 0, timeout=REFUSED_ID_WINDOW)
                cache.incr(probe_key)
            _apply_error(form, exc)
        else:
            messages.success(
                request,
                _("Welcome! Your volunteer number is %(number)s.") % {"number": volunteer.number},
            )
            return redirect("volunteers:volunteer_me")
    if request.method == "POST" and "id_number" in form.data:
        # Never send the typed number back in the page: the resident types it again.
        form.data = form.data.copy()
        form.data["id_number"] = ""
    return _private(render(request, "volunteers/volunteer_register.html", {"form": form, "person": person}))


@login_required
def me(request):
    person = _person(request)
    volunteer = selectors.volunteer_of(person)
    if volunteer is None:
        return redirect("volunteers:volunteer_register")
    slots = list(volunteer.offered_time.slots.all()) if volunteer.offered_time_id else []
    teams = _teams_for(person.community)
    initial = {
        "skills": volunteer.skills,
        "teams": list(volunteer.teams.all()),
        "availability": choices_from_slots(slots),
    }
    form = VolunteerDetailsForm(request.POST or None, initial=initial, teams=teams)
    if request.method == "POST" and volunteer.status == Volunteer.Status.ACTIVE and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_volunteer(
                volunteer=volunteer,
                skills=data.get("skills") or "",
                teams=list(data.get("teams") or ()) if "teams" in form.fields else None,
                availability=slots_from_choices(data.get("availability")),
                actor=_actor(request),
            )
        except DomainError as exc:
            _apply_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("volunteers:volunteer_me")
    return _private(
        render(
            request,
            "volunteers/volunteer_me.html",
            {
                "volunteer": volunteer,
                "slots": slots,
                "form": form,
                "leave_form": LeaveForm(),
                "hours": Decimal(selectors.confirmed_minutes(volunteer)) / 60,
            },
        )
    )


@login_required
@require_POST
def leave(request):
    person = _person(request)
    volunteer = (
        Volunteer.objects.select_related("person", "offered_skill", "offered_time")
        .filter(person=person)
        .first()
    )
    if volunteer is None:
        raise Http404
    form = LeaveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tick the box to confirm."))
        return redirect("volunteers:volunteer_me")
    try:
        services.set_volunteer_status(
            volunteer=volunteer, status=Volunteer.Status.LEFT, actor=_actor(request)
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("You have stopped volunteering. Your hours and certificates stay."))
    return redirect("volunteers:volunteer_me")


urlpatterns: list = [
    path("register/", register, name="volunteer_register"),
    path("me/", me, name="volunteer_me"),
    path("me/leave/", leave, name="volunteer_leave"),
]


# --- "my page" ------------------------------------------------------------------------------------------


def _section_context(request, person):
    return {"volunteer": selectors.volunteer_of(person)}


def export_volunteer(person: Person) -> dict | None:
    """My volunteer registration (PIPL art. 45): everything, except the ID number beyond its last four
    characters — the download is a file that travels; the full number is on the card in the person's hand."""
    volunteer = selectors.volunteer_of(person)
    if volunteer is None:
        return None
    time = volunteer.offered_time
    return {
        "number": volunteer.number,
        "id_type": volunteer.id_type,
        "id_number_last_4": services.masked_id_number(volunteer)[-4:],
        "birth_date": volunteer.birth_date.isoformat(),
        "skills": volunteer.skills,
        "teams": [t.name for t in volunteer.teams.all()],
        "weekly_availability": [
            {
                "weekday": s.weekday,
                "from": s.start_time.strftime("%H:%M"),
                "until": s.end_time.strftime("%H:%M"),
            }
            for s in (time.slots.all() if time else [])
        ],
        "guardian_name": volunteer.guardian_name,
        "guardian_relation": volunteer.guardian_relation,
        "guardian_consent_at": volunteer.guardian_consent_at.isoformat()
        if volunteer.guardian_consent_at
        else None,
        "status": volunteer.status,
        "source": volunteer.source,
        "registered_at": volunteer.registered_at.isoformat(),
        "confirmed_minutes": selectors.confirmed_minutes(volunteer),
    }


def erase_volunteer(person: Person, actor: Actor) -> dict:
    """Delete my account: the ID number (ciphertext and index) and the guardian's details are erased; the
    volunteer number, date of birth and hours stay, so certificates already issued can still be verified."""
    volunteer = Volunteer.objects.select_related(
        "person", "person__community", "offered_skill", "offered_time"
    )
    volunteer = volunteer.filter(person=person).first()
    if volunteer is None:
        return {"volunteer_anonymised": 0}
    services.anonymise_volunteer(volunteer=volunteer, actor=actor)
    return {"volunteer_anonymised": 1}


def register_my_page():
    my_page.register_section(
        "volunteer",
        title=gettext_lazy("Volunteering"),
        template="volunteers/volunteer_my_section.html",
        context=_section_context,
    )
    my_page.register_export("volunteer", export_volunteer)
    my_page.register_erasure("volunteer", erase_volunteer)
