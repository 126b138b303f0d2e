"""Portal pages of the resources registry, the tool library and the exchange: thin, for logged-in residents.

None of them is cached as a public page: each shows what the resident may claim, borrow or has offered.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from charity.errors import DomainError
from charity.models import AuditEvent, Person
from charity.services import Actor

from . import selectors, services
from .forms import OfferForm
from .models import Claim, Loan, Resource, WaitlistEntry


def _actor(request) -> Actor:
    return Actor.from_request(request, AuditEvent.Surface.PORTAL)


def _person(request) -> Person:
    """The resident behind the login; staff logins without a resident record get a 404 here."""
    person = Person.objects.select_related("community").filter(user=request.user).first()
    if person is None:
        raise Http404
    return person


def _refused(request, exc: DomainError) -> None:
    messages.error(request, str(exc.message))


@login_required
def index(request):
    person = _person(request)
    kind = request.GET.get("kind", "")
    rows = (
        selectors.with_details(selectors.list_resources_reaching(person.community))
        .filter(status=Resource.Status.AVAILABLE)
        .order_by("-created_at", "-id")
    )
    if kind in Resource.Kind.values:
        rows = rows.filter(kind=kind)
    return render(
        request,
        "resources/index.html",
        {"resources": rows[:100], "kinds": Resource.Kind.choices, "kind": kind, "person": person},
    )


@login_required
def offer(request):
    person = _person(request)
    form = OfferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.offer_resource(
                actor=_actor(request),
                owner_person=person,
                community=person.community,
                kind=data["kind"],
                title=data["title"],
                description=data["description"],
                quantity=data["quantity"],
                unit=data["unit"],
                reach=data["reach"],
                available_from=data["available_from"],
                available_until=data["available_until"],
                for_exchange=data["for_exchange"],
                help_kinds=data["help_kinds"],
                categories=data["categories"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            messages.success(request, _("Thank you: your offer is on the list."))
            return redirect("resources:my_resources")
    return render(request, "resources/offer.html", {"form": form})


@login_required
def exchange(request):
    person = _person(request)
    items = list(selectors.list_open_exchange(person.community)[:200])
    mine = set(
        Claim.objects.filter(claimant=person, resource__in=items)
        .exclude(status=Claim.Status.CANCELLED)
        .values_list("resource_id", flat=True)
    )
    return render(request, "resources/exchange.html", {"items": items, "claimed": mine, "person": person})


@login_required
@require_POST
def claim(request, pk):
    person = _person(request)
    item = get_object_or_404(
        selectors.list_resources_reaching(person.community).filter(for_exchange=True), pk=pk
    )
    try:
        services.claim_item(resource=item, person=person, actor=_actor(request))
    except DomainError as exc:
        _refused(request, exc)
        return redirect("resources:exchange")
    messages.success(request, _("Claimed. The giver will hand it over to you."))
    return redirect("resources:my_claims")


@login_required
def tools(request):
    person = _person(request)
    rows = list(selectors.list_tools(person.community)[:200])
    waiting = set(
        WaitlistEntry.objects.filter(person=person, status__in=WaitlistEntry.ACTIVE).values_list(
            "resource_id", flat=True
        )
    )
    return render(request, "resources/tools.html", {"tools": rows, "waiting": waiting})


@login_required
@require_POST
def wait(request, pk):
    person = _person(request)
    tool = get_object_or_404(
        selectors.list_resources_reaching(person.community).filter(kind=Resource.Kind.TOOL), pk=pk
    )
    try:
        entry = services.join_waitlist(resource=tool, person=person, actor=_actor(request))
    except DomainError as exc:
        _refused(request, exc)
        return redirect("resources:tools")
    if entry.status == WaitlistEntry.Status.READY:
        messages.success(request, _("A copy is kept for you: collect it at the loan desk."))
    else:
        messages.success(request, _("You are on the waiting list: we will tell you when it is your turn."))
    return redirect("resources:my_loans")


@login_required
def my_resources(request):
    person = _person(request)
    return render(request, "resources/my_resources.html", {"resources": selectors.list_my_resources(person)})


@login_required
@require_POST
def hand_over(request, pk):
    person = _person(request)
    row = get_object_or_404(
        Claim.objects.select_related("resource", "claimant"), pk=pk, resource__owner_person=person
    )
    try:
        services.hand_over_claim(claim=row, actor=_actor(request))
    except DomainError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("Handed over: thank you."))
    return redirect("resources:my_resources")


@login_required
def my_claims(request):
    person = _person(request)
    return render(request, "resources/my_claims.html", {"claims": selectors.list_my_claims(person)})


@login_required
@require_POST
def cancel(request, pk):
    person = _person(request)
    row = get_object_or_404(Claim.objects.select_related("resource"), pk=pk, claimant=person)
    try:
        services.cancel_claim(claim=row, actor=_actor(request))
    except DomainError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("Your claim is cancelled."))
    return redirect("resources:my_claims")


@login_required
def my_loans(request):
    person = _person(request)
    return render(
        request,
        "resources/my_loans.html",
        {"loans": selectors.list_my_loans(person), "places": selectors.list_my_waitlist(person)},
    )


@login_required
@require_POST
def renew(request, pk):
    person = _person(request)
    loan = get_object_or_404(Loan.objects.select_related("resource"), pk=pk, borrower=person)
    try:
        services.renew_loan(loan=loan, actor=_actor(request))
    except DomainError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("Renewed: the new due date is shown below."))
    return redirect("resources:my_loans")


@login_required
@require_POST
def leave(request, pk):
    person = _person(request)
    entry = get_object_or_404(WaitlistEntry.objects.select_related("resource"), pk=pk, person=person)
    try:
        services.leave_waitlist(entry=entry, actor=_actor(request))
    except DomainError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("You left the waiting list."))
    return redirect("resources:my_loans")
