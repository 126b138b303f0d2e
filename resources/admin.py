"""The resources registry in the admin: resources (import from paper, export), the loan desk, waiting lists,
exchange claims. Nothing is saved here: every write goes through resources.services.

The loan desk is the loan admin itself: "add" lends a copy (resources.services.lend_tool), an open loan's
change page takes it back with notes on its condition (return_tool), the "late" filter is the overdue list
the daily task keeps, and "renew" is an action. Waiting lists are read and thinned here; residents join them
on the portal (or staff add them).
"""

import datetime
import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AdminDateWidget
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export import widgets

from charity.admin import (
    ScopedAreaWidget,
    ScopedImportExportAdmin,
    ScopedResource,
    ServiceAdminMixin,
    ServiceFormMixin,
    admin_actor,
    column,
)
from charity.admin_base import ROLE, ScopedAdminMixin, has_role
from charity.errors import DomainError
from charity.models import Area, AuditAction, Category, Organization, Person
from charity.scoping import scope_for_user
from charity.services import record_audit
from charity.templatetags.money import format_fen
from charity.validators import normalize_mobile
from funds.models import Fund

from . import services
from .models import HELP_KINDS, Claim, Loan, Resource, WaitlistEntry

WEEKDAYS = {
    **{str(i + 1): i for i in range(7)},
    **{name: i for i, name in enumerate(["一", "二", "三", "四", "五", "六", "日"])},
    "天": 6,
    **{name.lower(): i for i, name in enumerate(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])},
}
SLOT_LINE = re.compile(
    r"^\s*(?:周|星期|礼拜)?\s*(?P<day>[1-7一二三四五六日天]|mon|tue|wed|thu|fri|sat|sun)\w*\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*[-–~至]\s*(?P<end>\d{1,2}:\d{2})\s*$",
    re.IGNORECASE,
)


def parse_slots(text: str) -> list[tuple[int, datetime.time, datetime.time]]:
    """Weekly slots written one a line, e.g. "周六 9:00-12:00" or "6 09:00-12:00" (1 = Monday)."""
    slots = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        match = SLOT_LINE.match(line)
        if match is None:
            raise forms.ValidationError(
                gettext("Write each weekly time on its own line, like “周六 9:00-12:00”: “%(line)s” is not.")
                % {"line": line.strip()[:50]}
            )
        try:
            start = datetime.time.fromisoformat(match["start"].zfill(5))
            end = datetime.time.fromisoformat(match["end"].zfill(5))
        except ValueError:
            raise forms.ValidationError(
                gettext("“%(line)s” is not a time of day.") % {"line": line[:50]}
            ) from None
        slots.append((WEEKDAYS[match["day"].lower()[:3]], start, end))
    return slots


def format_slots(resource: Resource) -> str:
    names = ["一", "二", "三", "四", "五", "六", "日"]
    return "\n".join(
        f"周{names[s.weekday]} {s.start_time:%H:%M}-{s.end_time:%H:%M}" for s in resource.slots.all()
    )


# --- resources -----------------------------------------------------------------------------------------


class ConstraintsInServiceMixin:
    """Leave the table's CHECK constraints to the service, which says which field is wrong and why: the
    model form would answer "constraint resource_quantity_positive is violated" instead."""

    def _post_clean(self):
        instance = self.instance
        full_clean = instance.full_clean
        instance.full_clean = lambda *args, **kwargs: full_clean(*args, **kwargs, validate_constraints=False)
        try:
            super()._post_clean()
        finally:
            del instance.full_clean


class ResourceForm(ConstraintsInServiceMixin, ServiceFormMixin, forms.ModelForm):
    weekly_slots = forms.CharField(
        label=_("weekly availability"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Venues and time only: one a line, like “周六 9:00-12:00”."),
    )
    help_kinds = forms.MultipleChoiceField(
        label=_("kinds of help it gives"),
        choices=HELP_KINDS,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Skills and time only: the nightly matching prefers them for needs of these kinds."),
    )

    class Meta:
        model = Resource
        fields = [
            "kind",
            "title",
            "description",
            "owner_person",
            "owner_organization",
            "community",
            "reach",
            "categories",
            "quantity",
            "unit",
            "available_from",
            "available_until",
            "for_exchange",
            "help_kinds",
            "amount_fen",
            "fund",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "weekly_slots" in self.fields:
            self.fields["weekly_slots"].initial = format_slots(self.instance)
        if "categories" in self.fields:
            self.fields["categories"].queryset = Category.objects.filter(is_active=True)
        if "description" in self.fields:
            # The service names the limit with the length entered; the browser must not cut the text.
            self.fields["description"].max_length = None
            self.fields["description"].widget.attrs.pop("maxlength", None)
            self.fields["description"].validators = []

    def clean_weekly_slots(self):
        return parse_slots(self.cleaned_data.get("weekly_slots") or "")


def _each(request, queryset, call, done_message):
    actor = admin_actor(request)
    done = 0
    for obj in queryset:
        try:
            call(obj, actor)
            done += 1
        except DomainError as exc:
            messages.error(request, f"{obj}: {exc.message}")
    if done:
        messages.success(request, done_message % {"n": done})


class PersonByMobileWidget(widgets.ForeignKeyWidget):
    """An owner column: the resident's mobile number, among the people of the importer's areas."""

    def __init__(self, user=None):
        super().__init__(Person, "mobile")
        self.user = user

    def clean(self, value, row=None, **kwargs):
        value = str(value or "").strip().removesuffix(".0")
        if not value:
            return None
        try:
            mobile = normalize_mobile(value)
        except Exception:
            raise ValueError(gettext("“%(v)s” is not a mobile number.") % {"v": value[:20]}) from None
        found = (
            scope_for_user(self.user, min_role=ROLE.STAFF)
            .filter(Person.objects.filter(mobile=mobile), "community")
            .first()
        )
        if found is None:
            raise ValueError(gettext("No resident with this mobile number among the people you manage."))
        return found

    def render(self, value, obj=None, **kwargs):
        return value.masked_mobile if value else ""


class OrganizationByNameWidget(widgets.ForeignKeyWidget):
    """An owner column: an organisation's name, among the organisations of the importer's areas."""

    def __init__(self, user=None):
        super().__init__(Organization, "name")
        self.user = user

    def clean(self, value, row=None, **kwargs):
        value = str(value or "").strip()
        if not value:
            return None
        found = list(
            scope_for_user(self.user, min_role=ROLE.STAFF).filter(
                Organization.objects.filter(name=value), "area"
            )[:2]
        )
        if len(found) != 1:
            raise ValueError(
                gettext("No single organisation “%(v)s” among those you manage.") % {"v": value[:50]}
            )
        return found[0]


class ResourceResource(ScopedResource):
    """Resources collected on paper: one row each, matched on community and title (re-importing a file
    changes the rows it made instead of adding them again). Columns are labels in the user's language."""

    kind = column(Resource, "kind")
    title = column(Resource, "title")
    description = column(Resource, "description")
    owner_person = column(Resource, "owner_person")
    owner_organization = column(Resource, "owner_organization")
    community = column(Resource, "community")
    reach = column(Resource, "reach")
    quantity = column(Resource, "quantity", widget=widgets.IntegerWidget())
    unit = column(Resource, "unit")
    available_from = column(Resource, "available_from", widget=widgets.DateWidget())
    available_until = column(Resource, "available_until", widget=widgets.DateWidget())
    for_exchange = column(Resource, "for_exchange")
    status = column(Resource, "status", readonly=True)
    scope_area_field = "community"
    personal_fields = ("owner_person",)

    class Meta:
        model = Resource
        fields = (
            "id",
            "kind",
            "title",
            "description",
            "owner_person",
            "owner_organization",
            "community",
            "reach",
            "quantity",
            "unit",
            "available_from",
            "available_until",
            "for_exchange",
            "status",
        )
        import_id_fields = ("community", "title")
        clean_model_instances = False
        skip_unchanged = True

    def __init__(self, user=None, **kwargs):
        super().__init__(user=user, **kwargs)
        self.fields["community"].widget = ScopedAreaWidget(user, level=Area.Level.COMMUNITY)
        self.fields["owner_person"].widget = PersonByMobileWidget(user)
        self.fields["owner_organization"].widget = OrganizationByNameWidget(user)

    def get_queryset(self):
        return super().get_queryset().select_related("community", "owner_person", "owner_organization")

    def save_through_service(self, instance):
        if instance.reach in (None, ""):
            instance.reach = Resource.Reach.COMMUNITY
        if instance.quantity is None:
            instance.quantity = 1
        services.save_resource(resource=instance, actor=self.actor())

    def after_import(self, dataset, result, **kwargs):
        # The import as a whole is one audit event with its counts (each row's save is not audited apart).
        super(ScopedResource, self).after_import(dataset, result, **kwargs)
        if kwargs.get("dry_run"):
            return
        totals = {k: int(result.totals.get(k, 0)) for k in ("new", "update", "skip", "invalid", "error")}
        record_audit(
            actor=self.actor(),
            action=AuditAction.RESOURCES_IMPORTED,
            summary=f"{kwargs.get('file_name') or ''}: +{totals['new']} ~{totals['update']}"[:300],
            data={"file": kwargs.get("file_name") or "", **totals},
        )


@admin.register(Resource)
class ResourceAdmin(ServiceAdminMixin, ScopedImportExportAdmin):
    form = ResourceForm
    resource_classes = [ResourceResource]
    scope_area_field = "community"
    list_display = ["title", "kind", "status", "free_display", "community", "for_exchange", "available_until"]
    list_filter = ["kind", "status", "for_exchange", ("community", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["community"]
    search_fields = ["title"]
    autocomplete_fields = ["owner_person", "owner_organization"]
    readonly_fields = ["status", "taken", "donation"]
    actions = ["withdraw_resources"]

    def get_fields(self, request, obj=None):
        return [
            *ResourceForm.Meta.fields[:9],
            "weekly_slots",
            *ResourceForm.Meta.fields[9:],
            *self.readonly_fields,
        ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "fund" and field is not None:
            field.queryset = self.scope(request, self.change_role).filter(Fund.objects.all(), "community")
        return field

    def has_delete_permission(self, request, obj=None):
        return False  # withdrawn, never deleted: loans, claims and pledges keep pointing at it

    @admin.display(description=_("weekly availability"))
    def weekly_slots(self, obj):
        """The slots on a viewer's read-only page (the form field has the same name)."""
        return format_slots(obj) if obj.pk else ""

    @admin.display(description=_("free"))
    def free_display(self, obj):
        return f"{obj.free} / {obj.quantity}"

    @admin.action(description=_("Withdraw the selected resources"))
    def withdraw_resources(self, request, queryset):
        _each(
            request,
            queryset,
            lambda r, actor: services.set_resource_status(
                resource=r, status=Resource.Status.WITHDRAWN, actor=actor
            ),
            gettext("%(n)d withdrawn."),
        )

    # --- honouring a money pledge -------------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<int:pk>/honour/",
                self.admin_site.admin_view(self.honour_view),
                name="resources_resource_honour",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        resource = self.get_object(request, unquote(object_id))
        may_honour = (
            resource is not None
            and resource.kind == Resource.Kind.MONEY_PLEDGE
            and resource.donation_id is None
            and resource.status in (Resource.Status.AVAILABLE, Resource.Status.RESERVED)
            and self._allowed(request, resource, ROLE.STAFF)
        )
        return super().change_view(
            request, object_id, form_url, {"may_honour": may_honour, **(extra_context or {})}
        )

    def honour_view(self, request, pk):
        """Record the money a pledge promised as a donation (resources.services.honour_pledge): staff of the
        pledge's community; any other resource, or one out of scope, is not found."""
        resource = (
            self.get_queryset(request)
            .select_related("community", "owner_person", "owner_organization", "fund", "donation")
            .filter(pk=pk, kind=Resource.Kind.MONEY_PLEDGE)
            .first()
        )
        if resource is None:
            raise Http404
        if not self._allowed(request, resource, ROLE.STAFF):
            raise PermissionDenied
        form = HonourPledgeForm(request.POST or None, resource=resource)
        if request.method == "POST" and form.is_valid() and resource.donation_id is None:
            data = form.cleaned_data
            try:
                donation = services.honour_pledge(
                    resource=resource,
                    actor=admin_actor(request),
                    received_on=data["received_on"],
                    receipt_no=data["receipt_no"],
                    receipt_waived=data["receipt_waived"],
                    fund=data["fund"],
                )
            except DomainError as exc:
                if exc.status == 404:
                    raise Http404
                if exc.status == 403:
                    raise PermissionDenied
                self.message_user(request, str(exc.message), messages.ERROR)
                if exc.field in form.fields:
                    form.add_error(exc.field, str(exc.message))
            else:
                self.message_user(
                    request,
                    gettext("The pledge was honoured: %(amount)s recorded as a donation to %(fund)s.")
                    % {"amount": format_fen(donation.amount_fen), "fund": donation.fund.name},
                    messages.SUCCESS,
                )
                return redirect(reverse("admin:resources_resource_change", args=[resource.pk]))
        return TemplateResponse(
            request,
            "admin/resources/resource/honour.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "resource": resource,
                "amount": format_fen(resource.amount_fen),
                "form": form,
                "open": resource.donation_id is None
                and resource.status in (Resource.Status.AVAILABLE, Resource.Status.RESERVED),
                "title": gettext("Honour a money pledge"),
            },
        )

    def write(self, request, obj, form):
        try:
            services.save_resource(
                resource=obj,
                actor=admin_actor(request),
                categories=form.cleaned_data.get("categories"),
                slots=form.cleaned_data.get("weekly_slots"),
            )
        except DomainError as exc:
            if exc.field == "slots":  # the service's argument is this form's "weekly_slots"
                exc.field = "weekly_slots"
            raise


class HonourPledgeForm(forms.Form):
    """What honour_pledge needs: the fund that received the money, the day, the host's receipt or waiver."""

    required_css_class = "required"  # the admin's bold label

    fund = forms.ModelChoiceField(label=_("fund that received the money"), queryset=Fund.objects.none())
    received_on = forms.DateField(label=_("received on"), widget=AdminDateWidget)
    receipt_no = forms.CharField(label=_("receipt number"), required=False, max_length=64)
    receipt_waived = forms.BooleanField(label=_("donor waived the donation receipt"), required=False)

    def __init__(self, *args, resource: Resource, **kwargs):
        super().__init__(*args, **kwargs)
        # The pledge's community's own open funds, or city-wide ones (as when it was offered).
        self.fields["fund"].queryset = Fund.objects.filter(
            Q(community=resource.community_id) | Q(community__isnull=True), status=Fund.Status.OPEN
        ).order_by("name")
        self.fields["fund"].initial = resource.fund_id
        self.fields["received_on"].initial = timezone.localdate()


# --- the loan desk -------------------------------------------------------------------------------------


class LendForm(ConstraintsInServiceMixin, ServiceFormMixin, forms.ModelForm):
    """Lend a copy: the tool, the borrower, the day it is due back, its condition now."""

    class Meta:
        model = Loan
        fields = ["resource", "borrower", "due", "condition_at_lend"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "due" in self.fields:  # the usual loan, so the desk changes it only for a longer or shorter one
            self.fields["due"].initial = timezone.localdate() + datetime.timedelta(days=services.LOAN_DAYS)


class ReturnForm(ServiceFormMixin, forms.ModelForm):
    """Take a tool back: tick "returned" and note its condition."""

    returned = forms.BooleanField(label=_("returned now"), required=False)

    class Meta:
        model = Loan
        fields = ["condition_at_return"]


class LateFilter(admin.SimpleListFilter):
    title = _("late")
    parameter_name = "late"

    def lookups(self, request, model_admin):
        return [("yes", _("late (the overdue list)")), ("open", _("still out"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(returned_at__isnull=True, due__lt=timezone.localdate())
        if self.value() == "open":
            return queryset.filter(returned_at__isnull=True)
        return queryset


@admin.register(Loan)
class LoanAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    scope_area_field = "resource__community"
    # On a phone the first columns are what is seen: which tool, who has it, when it is due, whether late.
    list_display = ["resource", "borrower", "due", "late_display", "start", "returned_at"]
    list_filter = [LateFilter, ("resource__community", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["resource", "borrower"]
    search_fields = ["resource__title", "borrower__name"]
    autocomplete_fields = ["resource", "borrower"]
    actions = ["renew_loans"]

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = LendForm if obj is None else ReturnForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return LendForm.Meta.fields
        if obj.returned_at is None:
            return [*self.get_readonly_fields(request, obj), "returned", "condition_at_return"]
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        shown = ["resource", "borrower", "start", "due", "condition_at_lend", "renewals", "overdue_since"]
        return shown + (["returned_at", "condition_at_return"] if obj.returned_at else [])

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.returned_at is None)

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "resource" and field is not None:
            field.queryset = self.scope(request, self.change_role).filter(
                Resource.objects.filter(kind=Resource.Kind.TOOL), "community"
            )
        return field

    @admin.display(description=_("late"), boolean=True)
    def late_display(self, obj):
        return obj.returned_at is None and obj.due < timezone.localdate()

    @admin.action(description=_("Renew the selected loans by two weeks"))
    def renew_loans(self, request, queryset):
        _each(
            request,
            queryset.select_related("resource"),
            lambda loan, actor: services.renew_loan(loan=loan, actor=actor),
            gettext("%(n)d renewed."),
        )

    def write(self, request, obj, form):
        actor = admin_actor(request)
        if obj.pk is None:
            result = services.lend_tool(
                resource=obj.resource,
                borrower=obj.borrower,
                due=obj.due,
                condition=obj.condition_at_lend,
                actor=actor,
            )
            obj.pk = result.pk
        elif form.cleaned_data.get("returned"):
            services.return_tool(
                loan=obj, actor=actor, condition=form.cleaned_data.get("condition_at_return")
            )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # "Saved" must not hide that nothing was returned: say what happened.
        if change and not form.cleaned_data.get("returned"):
            messages.warning(request, gettext("Nothing changed: tick “returned now” to take the tool back."))


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """The waiting lists of the tool library, first come first served; staff take places off."""

    scope_area_field = "resource__community"
    list_display = ["resource", "person", "status", "created_at", "ready_at"]
    list_filter = ["status", ("resource__community", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["resource", "person"]
    search_fields = ["resource__title", "person__name"]
    ordering = ["resource", "created_at", "id"]
    actions = ["remove_from_waitlist"]
    readonly_fields = ["resource", "person", "status", "created_at", "ready_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status__in=WaitlistEntry.ACTIVE)

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Take the selected places off the waiting list"))
    def remove_from_waitlist(self, request, queryset):
        if not has_role(request.user, ROLE.STAFF):
            return
        staff_scope = self.scope(request, ROLE.STAFF)
        _each(
            request,
            staff_scope.filter(queryset, "resource__community").select_related("resource", "person"),
            lambda entry, actor: services.leave_waitlist(entry=entry, actor=actor),
            gettext("%(n)d taken off."),
        )


@admin.register(Claim)
class ClaimAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Claims on exchange items: staff confirm a hand-over or cancel for the giver."""

    scope_area_field = "resource__community"
    list_display = ["resource", "claimant", "status", "created_at", "handed_over_at"]
    list_filter = ["status", ("resource__community", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["resource", "claimant"]
    search_fields = ["resource__title", "claimant__name"]
    actions = ["hand_over_claims", "cancel_claims"]
    readonly_fields = ["resource", "claimant", "status", "created_at", "handed_over_at", "cancelled_at"]

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _staff_rows(self, request, queryset):
        return (
            self.scope(request, ROLE.STAFF)
            .filter(queryset, "resource__community")
            .select_related("resource", "claimant")
        )

    @admin.action(description=_("Confirm the selected items were handed over"))
    def hand_over_claims(self, request, queryset):
        if not has_role(request.user, ROLE.STAFF):
            return
        _each(
            request,
            self._staff_rows(request, queryset),
            lambda claim, actor: services.hand_over_claim(claim=claim, actor=actor),
            gettext("%(n)d handed over."),
        )

    @admin.action(description=_("Cancel the selected claims"))
    def cancel_claims(self, request, queryset):
        if not has_role(request.user, ROLE.STAFF):
            return
        _each(
            request,
            self._staff_rows(request, queryset),
            lambda claim, actor: services.cancel_claim(claim=claim, actor=actor),
            gettext("%(n)d cancelled."),
        )
