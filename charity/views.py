"""Public portal pages of the core layer: thin, reads through selectors, writes through services."""

from django.contrib import messages
from django.contrib.auth import login, logout
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .errors import DomainError
from .forms import MobileLoginForm, SignUpForm
from .models import Area, AuditEvent, Organization
from .selectors import get_area_chain, list_communities, list_organizations_serving
from .services import Actor, register_resident


def home(request):
    communities = list(list_communities())
    parents = {a.path: a for a in Area.objects.filter(depth__lt=4)}
    rows = [(c, [parents.get(c.path[: i * Area.steplen]) for i in range(1, c.depth)]) for c in communities]
    person = getattr(request.user, "person", None) if request.user.is_authenticated else None
    return render(request, "charity/home.html", {"rows": rows, "person": person})


def community(request, pk):
    area = get_object_or_404(Area, pk=pk, level=Area.Level.COMMUNITY)
    organizations = list(list_organizations_serving(area))
    runners = [
        o
        for o in organizations
        if o.type in (Organization.Type.NEIGHBOURHOOD_COMMITTEE, Organization.Type.HUB)
    ]
    others = [o for o in organizations if o not in runners]
    return render(
        request,
        "charity/community.html",
        {
            "area": area,
            "chain": get_area_chain(area)[:-1],
            "runners": runners,
            "organizations": others,
            "people_count": area.people.count(),
            "leaders_count": area.people.filter(is_leader=True).count(),
        },
    )


def organization(request, pk):
    org = get_object_or_404(Organization.objects.select_related("area", "hub"), pk=pk)
    return render(
        request,
        "charity/organization.html",
        {
            "org": org,
            "served": list(org.served_areas.order_by("path")),
            "members": list(org.members.order_by("name")) if org.type == Organization.Type.HUB else [],
        },
    )


def signup(request):
    if request.method == "POST":
        form = SignUpForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                person = register_resident(
                    name=data["name"],
                    mobile=data["mobile"],
                    community=data["community"],
                    password=data["password1"],
                    actor=Actor(surface=AuditEvent.Surface.PORTAL),
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
            else:
                login(request, person.user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, _("Welcome, %(name)s! You are signed up.") % {"name": person.name})
                return redirect("portal:community", pk=person.community_id)
    else:
        form = SignUpForm(initial={"community": request.GET.get("community")})
    return render(request, "charity/signup.html", {"form": form})


def login_view(request):
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = ""
    if request.method == "POST":
        form = MobileLoginForm(request, data=request.POST)
        if form.is_valid():
            login(request, form.get_user())
            return redirect(next_url or "portal:home")
    else:
        form = MobileLoginForm(request)
    return render(request, "charity/login.html", {"form": form, "next": next_url})


@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, _("You are logged out."))
    return redirect("portal:home")


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
