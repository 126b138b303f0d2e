"""Portal pages of the needs registry (mobile-first, no JavaScript needed).

Public pages show summaries only and may be cached for anonymous visitors (`public_page` + `local_to`);
pages with a person's own data never are. Every write calls needs.services.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from charity.errors import DomainError
from charity.models import Area, AuditEvent, Person
from charity.public_pages import local_to, public_page
from charity.services import Actor

from . import selectors, services
from .forms import NeedPostForm, OfferForm
from .models import Need, NeedSensitiveDetails, Offer
from .services import LegalBasisInput, NeedInput


def _actor(request) -> Actor:
    return Actor.from_request(request, AuditEvent.Surface.PORTAL)


def _own_person(request) -> Person:
    person = Person.objects.select_related("community").filter(user=request.user).first()
    if person is None:
        raise Http404
    return person


@public_page()
def community_needs(request, pk):
    area = get_object_or_404(Area, pk=pk, level=Area.Level.COMMUNITY)
    local_to(request, area.pk)
    return render(
        request, "needs/community.html", {"area": area, "needs": selectors.list_public_needs(community=area)}
    )


@public_page()
def need_detail(request, pk):
    need = selectors.get_public_need(pk)
    if need is None:
        raise Http404
    local_to(request, need.community_id)
    form = None
    if request.user.is_authenticated:  # never a cached page (public_page): the choices are this person's
        form = OfferForm(person=Person.objects.filter(user=request.user).first())
    return render(request, "needs/need.html", {"need": need, "form": form})


@login_required
@require_POST
def offer_help(request, pk):
    person = _own_person(request)
    need = selectors.get_public_need(pk)
    if need is None:
        raise Http404
    form = OfferForm(request.POST, person=person)
    if not form.is_valid():
        return render(request, "needs/need.html", {"need": need, "form": form}, status=400)
    try:
        services.make_offer(
            need=need,
            actor=_actor(request),
            person=person,
            message=form.cleaned_data["message"],
            resource=form.cleaned_data.get("resource"),
        )
    except DomainError as exc:
        if exc.status == 404:
            raise Http404
        form.add_error(None, str(exc.message))
        return render(request, "needs/need.html", {"need": need, "form": form}, status=exc.status)
    messages.success(request, _("Thank you! The person who asked has been told, and staff will be in touch."))
    return redirect("needs:need", pk=need.pk)


def _need_input(form, community) -> NeedInput:
    data = form.cleaned_data
    return NeedInput(
        community=community,
        category=data["category"],
        sub_kind=data["sub_kind"],
        summary=data["summary"],
        description=data.get("description") or "",
        quantity=data.get("quantity"),
        unit=data.get("unit") or "",
        urgency=data["urgency"],
        needed_by=data.get("needed_by"),
        beneficiary_count=data.get("beneficiary_count") or 1,
    )


@never_cache
@login_required
def post_need(request):
    """Post a need: the form, then a preview of exactly what will be public, then "under review"."""
    person = _own_person(request)
    community = person.community
    if request.method != "POST":
        return render(
            request, "needs/post.html", {"form": NeedPostForm(community=community), "area": community}
        )
    form = NeedPostForm(request.POST, community=community)
    if not form.is_valid() or "edit" in request.POST:
        return render(request, "needs/post.html", {"form": form, "area": community})
    data = _need_input(form, community)
    try:
        preview = Need(**services.check_need_input(data), status=Need.Status.SUBMITTED)
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        return render(request, "needs/post.html", {"form": form, "area": community})
    address = form.cleaned_data.get("address") or ""
    share_with = list(form.cleaned_data.get("share_with") or [])
    if "confirm" not in request.POST:
        return render(
            request,
            "needs/preview.html",
            {"form": form, "need": preview, "area": community, "address": address, "share_with": share_with},
        )
    try:
        need = services.submit_need(
            data=data,
            source=Need.Source.PORTAL,
            actor=_actor(request),
            posted_by=person,
            sensitive={"address": address} if address else None,
            basis=LegalBasisInput(
                basis=NeedSensitiveDetails.LegalBasis.CONSENT,
                given_by=NeedSensitiveDetails.GivenBy.BENEFICIARY,
                publish_summary=True,
                share_with=share_with,
            )
            if address
            else None,
        )
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        return render(request, "needs/post.html", {"form": form, "area": community})
    return redirect("needs:submitted", pk=need.pk)


@never_cache
@login_required
def need_submitted(request, pk):
    person = _own_person(request)
    need = get_object_or_404(Need.objects.select_related("category", "community"), pk=pk, posted_by=person)
    return render(request, "needs/submitted.html", {"need": need, "timeline": list(need.timeline.all())})


@login_required
@require_POST
def withdraw_need(request, pk):
    person = _own_person(request)
    need = get_object_or_404(Need.objects.select_related("community", "posted_by"), pk=pk, posted_by=person)
    try:
        services.withdraw_need(need=need, actor=_actor(request))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Your need was withdrawn."))
    return redirect(reverse("portal:me") + "#me-needs")


@login_required
@require_POST
def decide_offer(request, pk):
    """The poster accepts or declines an offer on their need."""
    person = _own_person(request)
    offer = get_object_or_404(
        Offer.objects.select_related("need__community", "need__posted_by", "offered_by"),
        pk=pk,
        need__posted_by=person,
    )
    to_status = request.POST.get("status", "")
    if to_status not in (Offer.Status.ACCEPTED, Offer.Status.DECLINED, Offer.Status.DONE):
        messages.error(request, _("Choose whether to accept the offer."))
    else:
        try:
            services.decide_offer(offer=offer, to_status=to_status, actor=_actor(request))
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Saved. The person who offered has been told."))
    return redirect(reverse("portal:me") + "#me-needs")
