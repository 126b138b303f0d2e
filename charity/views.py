"""Public portal pages of the core layer: thin, reads through selectors, writes through services."""

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import my_page, notifications
from .auth import axes_username, client_ip
from .errors import DomainError
from .forms import (
    DeleteAccountForm,
    MobileForm,
    MobileLoginForm,
    NotificationSettingsForm,
    PasswordChangeForm,
    PasswordResetForm,
    SignUpForm,
)
from .models import Area, AuditEvent, OneTimeCode, Organization, Person
from .public_pages import local_to, public_page
from .selectors import get_area_chain, list_communities, list_organizations_serving
from .services import (
    Actor,
    change_password,
    register_resident,
    request_code,
    reset_password_with_code,
)
from .validators import mask_mobile


@public_page()
def home(request):
    communities = list(list_communities())
    parents = {a.path: a for a in Area.objects.filter(depth__lt=4)}
    rows = [(c, [parents.get(c.path[: i * Area.steplen]) for i in range(1, c.depth)]) for c in communities]
    person = getattr(request.user, "person", None) if request.user.is_authenticated else None
    return render(request, "charity/home.html", {"rows": rows, "person": person})


@public_page()
def community(request, pk):
    area = get_object_or_404(Area, pk=pk, level=Area.Level.COMMUNITY)
    local_to(request, area.pk)  # its residents' count
    organizations = list(list_organizations_serving(area))
    runners = [
        o
        for o in organizations
        if o.type in (Organization.Type.NEIGHBOURHOOD_COMMITTEE, Organization.Type.HUB)
    ]
    others = [o for o in organizations if o not in runners]
    chain = get_area_chain(area)[:-1]
    return render(
        request,
        "charity/community.html",
        {
            "area": area,
            "chain": chain,
            # A star on a touch screen explains nothing: say once, in words, what it means.
            "chain_illustrative": any(a.is_illustrative for a in chain),
            "runners": runners,
            "organizations": others,
            # Signed up: people with a login, not the residents staff entered (issue 7).
            "people_count": area.people.filter(user__isnull=False).count(),
            "leaders_count": area.people.filter(is_leader=True).count(),
        },
    )


@public_page()
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


def _actor(request) -> Actor:
    return Actor.from_request(request, AuditEvent.Surface.PORTAL)


def _code_sent_message(request):
    # The same words whether or not the number has a login: a stranger learns nothing from them.
    messages.info(
        request,
        _("If this number can receive messages, a code is on its way. It is valid for %(n)d minutes.")
        % {"n": int(settings.ONE_TIME_CODE_LIFETIME.total_seconds() // 60)},
    )


def _ask_for_code(request, *, purpose, session_key, template, next_view):
    """The first step of sign-up and of a password reset: the number, within the code limits."""
    status = 200
    if request.method == "POST":
        form = MobileForm(request.POST)
        if form.is_valid():
            mobile = form.cleaned_data["mobile"]
            try:
                request_code(mobile=mobile, purpose=purpose, ip=client_ip(request), actor=_actor(request))
            except DomainError as exc:
                form.add_error("mobile", str(exc.message))
                status = exc.status
            else:
                # In the session, not the URL: numbers stay out of addresses and access logs.
                request.session[session_key] = mobile
                _code_sent_message(request)
                return redirect(next_view)
    else:
        form = MobileForm(initial={"mobile": request.session.get(session_key, "")})
    return render(request, template, {"form": form}, status=status)


def signup(request):
    if request.GET.get("community", "").isdigit():
        request.session["signup_community"] = request.GET["community"]
    return _ask_for_code(
        request,
        purpose=OneTimeCode.Purpose.SIGNUP,
        session_key="signup_mobile",
        template="charity/signup.html",
        next_view="portal:signup_confirm",
    )


def signup_confirm(request):
    mobile = request.session.get("signup_mobile")
    if not mobile:
        return redirect("portal:signup")
    if request.method == "POST":
        form = SignUpForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                person = register_resident(
                    mobile=mobile,
                    code=data["code"],
                    name=data["name"],
                    community=data["community"],
                    password=data["password1"],
                    consent=data["consent"],
                    actor=_actor(request),
                )
            except DomainError as exc:
                field = {"password": "password1"}.get(exc.field, exc.field)
                form.add_error(field if field in form.fields else None, str(exc.message))
            else:
                request.session.pop("signup_mobile", None)
                request.session.pop("signup_community", None)
                login(request, person.user, backend="charity.auth.MobileOrUsernameBackend")
                messages.success(request, _("Welcome, %(name)s! You are signed up.") % {"name": person.name})
                return redirect("portal:community", pk=person.community_id)
    else:
        form = SignUpForm(initial={"community": request.session.get("signup_community")})
    return render(
        request, "charity/signup_confirm.html", {"form": form, "masked_mobile": mask_mobile(mobile)}
    )


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


def password_reset(request):
    return _ask_for_code(
        request,
        purpose=OneTimeCode.Purpose.RESET,
        session_key="reset_mobile",
        template="charity/password_reset.html",
        next_view="portal:password_reset_confirm",
    )


def password_reset_confirm(request):
    mobile = request.session.get("reset_mobile")
    if not mobile:
        return redirect("portal:password_reset")
    if request.method == "POST":
        form = PasswordResetForm(request.POST)
        if form.is_valid():
            try:
                reset_password_with_code(
                    mobile=mobile,
                    code=form.cleaned_data["code"],
                    new_password=form.cleaned_data["new_password1"],
                    actor=_actor(request),
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
            else:
                request.session.pop("reset_mobile", None)
                # The code proved the number: lift a lock-out of this account so its owner can log in now.
                axes_reset(username=axes_username(request, {"username": mobile}))
                messages.success(request, _("Your password is changed. Log in with the new one."))
                return redirect("portal:login")
    else:
        form = PasswordResetForm()
    return render(
        request, "charity/password_reset_confirm.html", {"form": form, "masked_mobile": mask_mobile(mobile)}
    )


@login_required
def password_change(request):
    if request.method == "POST":
        form = PasswordChangeForm(request.POST)
        if form.is_valid():
            try:
                change_password(
                    user=request.user,
                    old_password=form.cleaned_data["old_password"],
                    new_password=form.cleaned_data["new_password1"],
                    actor=_actor(request),
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
            else:
                update_session_auth_hash(request, request.user)  # this session stays, the others end
                messages.success(request, _("Your password is changed."))
                return redirect("portal:home")
    else:
        form = PasswordChangeForm()
    return render(request, "charity/password_change.html", {"form": form})


def privacy(request):
    return render(
        request,
        "charity/privacy.html",
        {
            "version": settings.PRIVACY_NOTICE_VERSION,
            "message_days": settings.MESSAGE_RETENTION_DAYS,
        },
    )


@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, _("You are logged out."))
    return redirect("portal:home")


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


# --- my page and notifications (issue 10) -----------------------------------------------------------------

INBOX_PAGE_SIZE = 20


def _own_person(request) -> Person:
    """The person behind this login, or 404: /me/ shows a person their own data only (staff have none)."""
    person = Person.objects.select_related("community").filter(user=request.user).first()
    if person is None:
        raise Http404
    request.user.person = person  # caches it for the header (base.html): no second query, nothing saved
    return person


@never_cache
@login_required
def me(request):
    person = _own_person(request)
    return render(
        request,
        "charity/me.html",
        {"person": person, "sections": my_page.section_blocks(request, person)},
    )


@never_cache
@login_required
def notification_list(request):
    """The inbox, newest first; opening it marks the notices shown read (and only those)."""
    person = _own_person(request)
    page = Paginator(notifications.inbox(person), INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    unread = {n.pk for n in rows if n.read_at is None}
    if unread:
        notifications.mark_read(person, unread)
    return render(request, "charity/notifications.html", {"page": page, "rows": rows, "unread": unread})


@never_cache
@login_required
def notification_open(request, pk):
    """Follow a notice's link (a path on this site), marking it read; another person's notice is 404."""
    person = _own_person(request)
    notification = get_object_or_404(notifications.inbox(person), pk=pk)
    notifications.mark_read(person, [notification.pk])
    target = notification.url
    if not target or not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect("portal:notifications")
    return redirect(target)


@never_cache
@login_required
def notification_settings(request):
    person = _own_person(request)
    current = notifications.preferences(person)
    if request.method == "POST":
        form = NotificationSettingsForm(request.POST)
        if form.is_valid():
            chosen = set(form.cleaned_data["kinds"])
            actor = _actor(request)
            with transaction.atomic():
                for kind, _label, _enabled in current:
                    notifications.set_notification_enabled(
                        person=person, kind=kind, enabled=kind in chosen, actor=actor
                    )
            messages.success(request, _("Your choices are saved."))
            return redirect("portal:notification_settings")
    else:
        form = NotificationSettingsForm(initial={"kinds": [kind for kind, _label, on in current if on]})
    return render(request, "charity/notifications_settings.html", {"form": form})


@never_cache
@login_required
def my_data(request):
    """Download all my data (PIPL art. 45): one JSON file."""
    person = _own_person(request)
    data = my_page.export_own_data(person=person, actor=_actor(request))
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = 'attachment; filename="my-data.json"'
    return response


@never_cache
@login_required
def delete_account(request):
    """Delete my account (PIPL art. 47): a page that explains it, then a POST with the box ticked and the
    password."""
    person = _own_person(request)
    status = 200
    if request.method == "POST":
        form = DeleteAccountForm(request.POST)
        if form.is_valid():
            try:
                my_page.erase_person(
                    person=person, password=form.cleaned_data["password"], actor=_actor(request)
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
                status = exc.status
            else:
                logout(request)
                messages.info(request, _("Your account is deleted. Thank you for taking part."))
                return redirect("portal:home")
        else:
            status = 400
    else:
        form = DeleteAccountForm()
    return render(request, "charity/me_delete.html", {"form": form, "person": person}, status=status)
