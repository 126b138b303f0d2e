"""Portal pages of service hours: my hours and certificates, self-reporting, printing, public verification.

"My hours" and the certificate pages are for the logged-in volunteer (a certificate's page also opens for
staff of the volunteer's community, who reach it from the admin). The verification page is public: given a
certificate number it says whether it is genuine and shows the volunteer number, the issuer, the hours and
the dates — never a name or an ID number. Numbers carry a random check code, and lookups are limited per
address (CERTIFICATE_VERIFY_LIMIT a CERTIFICATE_VERIFY_WINDOW seconds) so numbers cannot be tried in bulk.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from charity import my_page
from charity.auth import client_ip
from charity.errors import DomainError
from charity.models import AuditEvent, Person
from charity.services import Actor

from .. import certificates as certificate_files
from ..forms_hours import SelfReportForm, VerifyForm
from ..models import Certificate, ServiceRecord, Volunteer
from ..services import hours as hours_services

logger = logging.getLogger(__name__)

VERIFY_LIMIT = getattr(settings, "CERTIFICATE_VERIFY_LIMIT", 30)
VERIFY_WINDOW = getattr(settings, "CERTIFICATE_VERIFY_WINDOW", 600)


def _actor(request) -> Actor:
    return Actor.from_request(request, AuditEvent.Surface.PORTAL)


def _person(request) -> Person:
    person = Person.objects.select_related("community").filter(user=request.user).first()
    if person is None:
        raise Http404
    return person


def _volunteer(person: Person) -> Volunteer | None:
    return Volunteer.objects.filter(person=person).first()


def my_hours_context(person: Person) -> dict:
    """The volunteer's confirmed total, records with their status, and certificates (three queries)."""
    volunteer = _volunteer(person)
    if volunteer is None:
        return {"volunteer": None}
    records = list(
        ServiceRecord.objects.filter(volunteer=volunteer)
        .select_related("organizer")
        .order_by("-started_at", "-id")[:200]
    )
    totals = ServiceRecord.objects.filter(volunteer=volunteer).aggregate(
        confirmed=Sum("minutes", filter=Q(status=ServiceRecord.Status.CONFIRMED)),
        waiting=Count("id", filter=Q(status=ServiceRecord.Status.SUBMITTED)),
    )
    certs = list(
        Certificate.objects.filter(volunteer=volunteer).select_related("issuer").order_by("-issued_on", "-id")
    )
    for record in records:
        record.hours_text = hours_services.format_hours(record.minutes)
    for cert in certs:
        cert.hours_text = hours_services.format_hours(cert.total_minutes)
    return {
        "volunteer": volunteer,
        "records": records,
        "certificates": certs,
        "confirmed_hours": hours_services.format_hours(totals["confirmed"] or 0),
        "waiting_count": totals["waiting"],
    }


@login_required
def my_hours(request):
    person = _person(request)
    return render(request, "volunteers/hours_mine.html", my_hours_context(person))


@login_required
def report(request):
    person = _person(request)
    volunteer = _volunteer(person)
    if volunteer is None:
        messages.error(request, _("Register as a volunteer first: hours are recorded for volunteers."))
        return redirect("volunteers:my_hours")
    form = SelfReportForm(request.POST or None, community=person.community)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            hours_services.record_service(
                volunteer=volunteer,
                organizer=data["organizer"],
                community=person.community,
                content=data["content"],
                started_at=data["started_at"],
                ended_at=data["ended_at"],
                minutes=data["minutes"],
                source=ServiceRecord.Source.SELF_REPORTED,
                actor=_actor(request),
            )
        except DomainError as exc:
            field = {"started_at": "start", "ended_at": "end", "minutes": "hours"}.get(exc.field, exc.field)
            form.add_error(field if field in form.fields else None, str(exc.message))
        else:
            messages.success(request, _("Thank you: the organiser will confirm your hours."))
            return redirect("volunteers:my_hours")
    return render(request, "volunteers/hours_report.html", {"form": form})


def _certificate_for(request, pk: int) -> Certificate:
    """The volunteer's own certificate, or one staff may see; anything else is 404 (the service decides)."""
    return get_object_or_404(
        Certificate.objects.select_related("issuer", "volunteer__person__community"), pk=pk
    )


@never_cache
@login_required
def certificate_page(request, pk):
    certificate = _certificate_for(request, pk)
    try:
        context = certificate_files.certificate_context(certificate=certificate, actor=_actor(request))
    except DomainError:
        raise Http404 from None
    context.update(
        verify_path=reverse("volunteers:certificate_verify"),
        pdf_url=reverse("volunteers:certificate_pdf", args=[certificate.pk]),
        back_url=reverse("volunteers:my_hours"),
    )
    return render(request, "volunteers/certificate_print.html", context)


@never_cache
@login_required
def certificate_pdf(request, pk):
    certificate = _certificate_for(request, pk)
    try:
        pdf = certificate_files.render_pdf(certificate=certificate, actor=_actor(request))
    except DomainError:
        raise Http404 from None
    except certificate_files.CertificateFontMissing:
        logger.exception("certificate PDF not made")
        messages.error(request, _("The PDF cannot be made right now: print this page instead."))
        return redirect("volunteers:certificate", pk=certificate.pk)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="certificate-{certificate.number}.pdf"'
    return response


def _over_limit(request) -> bool:
    key = f"cert-verify:{client_ip(request) or 'unknown'}"
    if cache.add(key, 1, VERIFY_WINDOW):
        return False
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, VERIFY_WINDOW)
        return False
    return count > VERIFY_LIMIT


@never_cache
def verify(request):
    """Public: is this certificate genuine? Only the number, volunteer number, issuer, hours and dates."""
    form = VerifyForm(request.GET or None)
    context = {"form": form, "looked_up": False}
    status = 200
    if request.GET and form.is_valid():
        if _over_limit(request):
            context["limited"] = True
            status = 429
        else:
            number = hours_services.normalize_certificate_number(form.cleaned_data["number"])
            found = (
                Certificate.objects.select_related("issuer", "volunteer")
                .only(
                    "number",
                    "first_date",
                    "last_date",
                    "total_minutes",
                    "issued_on",
                    "revoked_at",
                    "issuer__name",
                    "volunteer__number",
                )
                .filter(number=number)
                .first()
            )
            context.update(looked_up=True, found=found, number=number)
            if found is not None:
                context["hours"] = hours_services.format_hours(found.total_minutes)
    return render(request, "volunteers/certificate_verify.html", context, status=status)


urlpatterns = [
    path("my-hours/", my_hours, name="my_hours"),
    path("my-hours/report/", report, name="report_hours"),
    path("certificates/verify/", verify, name="certificate_verify"),
    path("certificates/<int:pk>/", certificate_page, name="certificate"),
    path("certificates/<int:pk>/pdf/", certificate_pdf, name="certificate_pdf"),
]


def export_hours(person: Person) -> dict:
    volunteer = _volunteer(person)
    if volunteer is None:
        return {}
    return {
        "service_records": [
            {
                "content": r.content,
                "organiser": r.organizer.name,
                "started_at": r.started_at.isoformat(),
                "ended_at": r.ended_at.isoformat(),
                "minutes": r.minutes,
                "status": r.status,
                "source": r.source,
                "rejection_reason": r.rejection_reason,
            }
            for r in ServiceRecord.objects.filter(volunteer=volunteer).select_related("organizer")
        ],
        "certificates": [
            {
                "number": c.number,
                "issuer": c.issuer.name,
                "minutes": c.total_minutes,
                "issued_on": c.issued_on.isoformat(),
                "revoked": c.revoked_at is not None,
            }
            for c in Certificate.objects.filter(volunteer=volunteer).select_related("issuer")
        ],
    }


def register_my_page():
    my_page.register_section(
        "service_hours",
        title=gettext_lazy("My service hours and certificates"),
        template="volunteers/hours_my_section.html",
        context=lambda request, person: my_hours_context(person),
    )
    my_page.register_export("service_hours", export_hours)
