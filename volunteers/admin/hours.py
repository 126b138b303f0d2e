"""Service hours and certificates in the admin. Nothing is saved here: every write goes through
volunteers.services.hours.

- Service records: the organiser enters hours ("add"), confirms them in bulk (an action, or every waiting
  record of an event), rejects them with a reason (an action with a page asking why), exports the confirmed
  ones for the national volunteer system, and issues a certificate from one volunteer's confirmed records
  (an action with a page asking for the issuer's person in charge, handler and contact).
- Certificates: read, printed (the portal's printable page and PDF, which open for staff of the volunteer's
  community), revoked with a reason (a page of their own). They are issued from the records list only.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from charity.admin import ServiceAdminMixin, ServiceFormMixin, admin_actor
from charity.admin_base import ROLE, ScopedAdminMixin, has_role
from charity.errors import DomainError

from .. import hours_export
from ..models import Certificate, Event, ServiceRecord, Volunteer
from ..services import hours as services

NOTE_MAX = 500


class ServiceRecordForm(ServiceFormMixin, forms.ModelForm):
    """The organiser enters hours: who, for which organiser and community, what, from when to when.

    The model's own checks are left to the service (it says which field is wrong and why); `minutes` may be
    left empty for the whole quarter hours between start and end.
    """

    class Meta:
        model = ServiceRecord
        fields = [
            "volunteer",
            "organizer",
            "community",
            "event",
            "content",
            "started_at",
            "ended_at",
            "minutes",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "minutes" in self.fields:
            self.fields["minutes"].required = False

    def _post_clean(self):
        instance = self.instance
        instance.full_clean = lambda *args, **kwargs: None  # the service checks (see the docstring)
        try:
            super()._post_clean()
        finally:
            del instance.full_clean


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (the volunteer is told)"), max_length=NOTE_MAX, widget=forms.Textarea
    )


class IssueForm(forms.Form):
    person_in_charge = forms.CharField(label=_("Issuer's person in charge"), max_length=50)
    handler = forms.CharField(label=_("Handled by"), max_length=50)
    contact = forms.CharField(label=_("Issuer's contact"), max_length=100)


def _selected(request, queryset) -> list[str]:
    return [str(pk) for pk in queryset.values_list("pk", flat=True)]


@admin.register(ServiceRecord)
class ServiceRecordAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    form = ServiceRecordForm
    scope_area_field = "community"
    list_display = [
        "volunteer",
        "content",
        "started_at",
        "hours_display",
        "status",
        "source",
        "organizer",
        "community",
        "event",
    ]
    list_filter = [
        "status",
        "source",
        ("event", admin.RelatedOnlyFieldListFilter),
        ("community", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["volunteer", "organizer", "community", "event"]
    search_fields = ["volunteer__number", "content"]
    date_hierarchy = "started_at"
    actions = ["confirm_records", "reject_records", "issue_certificate", "export_national"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ServiceRecordForm.Meta.fields
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "volunteer",
            "organizer",
            "community",
            "event",
            "signup",
            "content",
            "started_at",
            "ended_at",
            "minutes",
            "status",
            "source",
            "rejection_reason",
            "entered_by",
            "decided_by",
            "decided_at",
            "created_at",
        ]

    def has_change_permission(self, request, obj=None):
        # Records are not edited: confirmed or rejected by the actions, entered anew when wrong.
        return super().has_change_permission(request, obj) and obj is None

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is None:
            return field
        scope = self.scope(request, self.change_role)
        if db_field.name == "volunteer":
            field.queryset = scope.filter(Volunteer.objects.all(), "person__community")
        elif db_field.name == "event":
            field.queryset = scope.filter(Event.objects.all(), "community")
        return field

    @admin.display(description=_("hours"))
    def hours_display(self, obj):
        return services.format_hours(obj.minutes)

    def write(self, request, obj, form):
        record = services.record_service(
            volunteer=obj.volunteer,
            organizer=obj.organizer,
            community=obj.community,
            content=obj.content,
            started_at=obj.started_at,
            ended_at=obj.ended_at,
            minutes=obj.minutes,
            event=obj.event,
            source=ServiceRecord.Source.ORGANISER,
            actor=admin_actor(request),
        )
        obj.pk = record.pk

    # --- actions ----------------------------------------------------------------------------------------

    @admin.action(description=_("Confirm the selected hours"))
    def confirm_records(self, request, queryset):
        if not has_role(request.user, ROLE.STAFF):
            raise PermissionDenied
        actor = admin_actor(request)
        done = 0
        for record in queryset.select_related("community"):
            try:
                services.confirm_record(record=record, actor=actor)
                done += 1
            except DomainError as exc:
                messages.error(request, f"{record}: {exc.message}")
        if done:
            messages.success(request, gettext("%(n)d confirmed.") % {"n": done})

    @admin.action(description=_("Reject the selected hours (with a reason)"))
    def reject_records(self, request, queryset):
        if not has_role(request.user, ROLE.STAFF):
            raise PermissionDenied
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            actor = admin_actor(request)
            done = 0
            for record in queryset.select_related("community"):
                try:
                    services.reject_record(record=record, reason=form.cleaned_data["reason"], actor=actor)
                    done += 1
                except DomainError as exc:
                    messages.error(request, f"{record}: {exc.message}")
            if done:
                messages.success(request, gettext("%(n)d rejected.") % {"n": done})
            return None
        return self._intermediate(
            request, queryset, form, "reject_records", _("Reject service hours"), _("Reject")
        )

    @admin.action(description=_("Issue a certificate for the selected confirmed hours"))
    def issue_certificate(self, request, queryset):
        if not has_role(request.user, ROLE.STAFF):
            raise PermissionDenied
        records = list(queryset.select_related("volunteer__person__community", "organizer"))
        volunteers = {r.volunteer_id for r in records}
        organisers = {r.organizer_id for r in records}
        if len(volunteers) != 1 or len(organisers) != 1:
            messages.error(
                request,
                gettext("Choose the records of one volunteer organised by one organisation (the issuer)."),
            )
            return None
        form = IssueForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                certificate = services.issue_certificate(
                    volunteer=records[0].volunteer,
                    issuer=records[0].organizer,
                    records=records,
                    actor=admin_actor(request),
                    **form.cleaned_data,
                )
            except DomainError as exc:
                messages.error(request, str(exc.message))
                return None
            messages.success(
                request, gettext("Certificate %(number)s issued.") % {"number": certificate.number}
            )
            return HttpResponseRedirect(reverse("admin:volunteers_certificate_change", args=[certificate.pk]))
        total = sum(r.minutes for r in records)
        return self._intermediate(
            request,
            queryset,
            form,
            "issue_certificate",
            _("Issue a certificate"),
            _("Issue"),
            extra={
                "issuer": records[0].organizer,
                "volunteer": records[0].volunteer,
                "hours": services.format_hours(total),
            },
        )

    @admin.action(description=_("Export the selected confirmed hours for the national volunteer system"))
    def export_national(self, request, queryset):
        data = hours_export.export_workbook(queryset, user=request.user, actor=admin_actor(request))
        response = HttpResponse(
            data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = 'attachment; filename="service-hours.xlsx"'
        return response

    def _intermediate(self, request, queryset, form, action, title, button, extra=None):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "button": button,
            "form": form,
            "action": action,
            "records": queryset.select_related("volunteer", "organizer")[:200],
            "selected": _selected(request, queryset),
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            **(extra or {}),
        }
        return TemplateResponse(request, "admin/volunteers/hours_action.html", context)


# --- certificates --------------------------------------------------------------------------------------


@admin.register(Certificate)
class CertificateAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_area_field = "volunteer__person__community"
    list_display = ["number", "volunteer", "issuer", "hours_display", "issued_on", "revoked_display"]
    list_filter = [("issuer", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["volunteer", "issuer"]
    search_fields = ["number", "volunteer__number"]
    readonly_fields = [
        "number",
        "sequence",
        "issuer",
        "volunteer",
        "content",
        "first_date",
        "last_date",
        "hours_display",
        "person_in_charge",
        "handler",
        "contact",
        "issued_on",
        "issued_by",
        "revoked_at",
        "revoked_reason",
        "revoked_by",
        "printing",
    ]
    fields = readonly_fields

    def has_add_permission(self, request, *args):
        return False  # issued from the service records list (its "issue a certificate" action)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("hours"))
    def hours_display(self, obj):
        return services.format_hours(obj.total_minutes)

    @admin.display(description=_("revoked"), boolean=True)
    def revoked_display(self, obj):
        return obj.revoked_at is not None

    @admin.display(description=_("print"))
    def printing(self, obj):
        links = format_html(
            '<a href="{}" target="_blank">{}</a> · <a href="{}">{}</a>',
            reverse("volunteers:certificate", args=[obj.pk]),
            gettext("Printable page"),
            reverse("volunteers:certificate_pdf", args=[obj.pk]),
            gettext("PDF file"),
        )
        if obj.revoked_at is None:
            links = format_html(
                '{} · <a href="{}">{}</a>',
                links,
                reverse("admin:volunteers_certificate_revoke", args=[obj.pk]),
                gettext("Revoke"),
            )
        return links

    def get_urls(self):
        return [
            path(
                "<path:object_id>/revoke/",
                self.admin_site.admin_view(self.revoke_view),
                name="volunteers_certificate_revoke",
            ),
            *super().get_urls(),
        ]

    def revoke_view(self, request, object_id):
        if not str(object_id).isdigit():
            raise Http404
        certificate = get_object_or_404(self.get_queryset(request), pk=int(object_id))
        if not self.scope(request, ROLE.STAFF).contains(certificate.volunteer.person.community):
            raise PermissionDenied
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.revoke_certificate(
                    certificate=certificate, reason=form.cleaned_data["reason"], actor=admin_actor(request)
                )
            except DomainError as exc:
                form.add_error("reason", str(exc.message))
            else:
                messages.success(
                    request, gettext("Certificate %(number)s revoked.") % {"number": certificate.number}
                )
                return HttpResponseRedirect(
                    reverse("admin:volunteers_certificate_change", args=[certificate.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Revoke certificate %(number)s") % {"number": certificate.number},
            "form": form,
            "certificate": certificate,
            "opts": self.model._meta,
            "original": certificate,
        }
        return TemplateResponse(request, "admin/volunteers/certificate_revoke.html", context)
