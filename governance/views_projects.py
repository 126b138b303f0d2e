"""Portal pages of service projects (mobile-first, no JavaScript): a community's projects, and a project's
page with its goals, milestones, progress, the money it received, the evaluation, residents' ratings, the
disclosure calendar and the disclosures with their corrections, and the events it runs.

Public pages are cached for anonymous visitors (`public_page`); a logged-in resident of the community gets the
rating form. A refusal is shown in the service's own words and changes nothing. Raters are never named.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from charity.errors import DomainError, NotFoundError
from charity.models import Area, AuditEvent, Person
from charity.public_pages import local_to, public_page
from charity.services import Actor

from . import disclosure_calendar as dc
from . import services
from .forms_projects import RatingForm
from .models import Project
from .selectors_projects import get_public_project, list_community_projects, project_record, rating_of

P = Project.Status
RATABLE = (P.RUNNING, P.ENDED, P.EVALUATED)


def _actor(request) -> Actor:
    return Actor.from_request(request, AuditEvent.Surface.PORTAL)


@public_page()
def community_projects(request, pk):
    area = get_object_or_404(Area, pk=pk, level=Area.Level.COMMUNITY)
    local_to(request, area.pk)
    rows = list_community_projects(area)
    return render(
        request,
        "governance/projects/list.html",
        {
            "area": area,
            "current": [p for p in rows if p.status in (P.PLANNED, P.RUNNING)],
            "past": [p for p in rows if p.status in (P.ENDED, P.EVALUATED)],
        },
    )


def _rating_state(request, project) -> dict:
    """Whether the viewer may rate now, and if not, why (the page says it instead of showing the form)."""
    state = {"open": project.status in RATABLE, "person": None, "mine": None, "resident_here": False}
    if not state["open"] or not request.user.is_authenticated:
        return state
    person = Person.objects.filter(user=request.user).first()
    state["person"] = person
    if person is not None:
        state["resident_here"] = person.community_id == project.community_id
        state["mine"] = rating_of(project, person)
    return state


def _render_project(request, project, *, form=None, refusal="", status=200):
    record = project_record(project)
    rating = _rating_state(request, project)
    evaluation = record.evaluation
    return render(
        request,
        "governance/projects/project.html",
        {
            "project": project,
            "community": project.community,
            "record": record,
            "criteria": services.criteria_lines(project.evaluation_criteria),
            "open_items": [i for i in record.calendar if i.is_open],
            "rating": rating,
            "form": form if form is not None else RatingForm(),
            "refusal": refusal,
            "stars": range(1, 6),
            "met_count": sum(1 for r in evaluation.criteria_results if r["met"]) if evaluation else 0,
            "today": timezone.localdate(),
            "OVERDUE": dc.OVERDUE,
        },
        status=status,
    )


@public_page()
def project_page(request, pk):
    project = get_public_project(pk)
    if project is None:
        raise Http404
    local_to(request, project.community_id)
    return _render_project(request, project)


@login_required
@require_POST
def rate(request, pk):
    project = get_public_project(pk)
    if project is None:
        raise Http404
    form = RatingForm(request.POST)
    if not form.is_valid():
        return _render_project(request, project, form=form, status=400)
    try:
        services.rate_project(
            actor=_actor(request),
            project=project,
            rating=form.cleaned_data["rating"],
            comment=form.cleaned_data["comment"],
        )
    except DomainError as exc:
        if isinstance(exc, NotFoundError):
            raise Http404 from None
        if exc.field == "comment":
            form.add_error("comment", str(exc.message))
            return _render_project(request, project, form=form, status=exc.status)
        return _render_project(request, project, form=form, refusal=str(exc.message), status=exc.status)
    messages.success(request, _("Thank you: your rating is on the project's page, without your name."))
    return redirect("governance:project", pk=project.pk)
