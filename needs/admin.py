"""The needs registry in the admin: the review queue, publish and decline, assisted entry with the consent
recorded, the audited sensitive-details view, offers, and import/export of needs collected on paper.

Nothing is saved here: every write goes through needs.services (charity.admin's ServiceAdminMixin).
"""

import copy

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export import fields, widgets

from charity.admin import (
    ScopedAreaWidget,
    ScopedImportExportAdmin,
    ScopedResource,
    ServiceAdminMixin,
    ServiceFormMixin,
    admin_actor,
    column,
)
from charity.admin_base import ROLE, ScopedAdminMixin
from charity.errors import DomainError
from charity.models import Area, Category, Organization

from . import admin_matches, services  # noqa: F401 - admin_matches registers the match review queue
from .models import Need, NeedSensitiveDetails, NeedStatusChange, Offer
from .services import LegalBasisInput, NeedInput

SENSITIVE_LABELS = {
    "name": _("beneficiary's name"),
    "phone": _("beneficiary's phone"),
    "address": _("address"),
    "id_number": _("ID card number"),
    "health": _("health"),
    "low_income": _("low-income household (低保/低收入)"),
    "about_minor": _("about a minor"),
    "minor_notes": _("notes about the minor"),
}


def need_input(cleaned: dict, community=None) -> NeedInput:
    return NeedInput(
        community=community or cleaned.get("community"),
        category=cleaned.get("category"),
        sub_kind=cleaned.get("sub_kind") or "",
        summary=cleaned.get("summary") or "",
        description=cleaned.get("description") or "",
        quantity=cleaned.get("quantity"),
        unit=cleaned.get("unit") or "",
        urgency=cleaned.get("urgency") or Need.Urgency.ROUTINE,
        needed_by=cleaned.get("needed_by"),
        beneficiary_count=cleaned.get("beneficiary_count") or 1,
    )


class NeedForm(ServiceFormMixin, forms.ModelForm):
    """The public part, plus (when adding) the sensitive details and their legal basis for assisted entry."""

    s_name = forms.CharField(label=SENSITIVE_LABELS["name"], required=False, max_length=500)
    s_phone = forms.CharField(label=SENSITIVE_LABELS["phone"], required=False, max_length=500)
    s_address = forms.CharField(label=SENSITIVE_LABELS["address"], required=False, max_length=500)
    s_id_number = forms.CharField(label=SENSITIVE_LABELS["id_number"], required=False, max_length=500)
    s_health = forms.CharField(label=SENSITIVE_LABELS["health"], required=False, max_length=500)
    s_low_income = forms.BooleanField(label=SENSITIVE_LABELS["low_income"], required=False)
    s_about_minor = forms.BooleanField(label=SENSITIVE_LABELS["about_minor"], required=False)
    s_minor_notes = forms.CharField(label=SENSITIVE_LABELS["minor_notes"], required=False, max_length=500)
    legal_basis = forms.ChoiceField(
        label=_("legal basis"),
        required=False,
        choices=[("", "---------"), *NeedSensitiveDetails.LegalBasis.choices],
    )
    basis_note = forms.CharField(label=_("which duty or emergency"), required=False, max_length=500)
    consent_given_by = forms.ChoiceField(
        label=_("consent given by"),
        required=False,
        choices=[("", "---------"), *NeedSensitiveDetails.GivenBy.choices],
    )
    consent_publish_summary = forms.BooleanField(
        label=_("agreed that the summary is published"), required=False
    )
    share_with = forms.ModelMultipleChoiceField(
        label=_("agreed to share with"), required=False, queryset=Organization.objects.none()
    )

    class Meta:
        model = Need
        fields = [
            "community",
            "category",
            "sub_kind",
            "summary",
            "description",
            "quantity",
            "unit",
            "urgency",
            "needed_by",
            "beneficiary_count",
        ]
        widgets = {"summary": forms.Textarea(attrs={"rows": 3})}

    def sensitive(self) -> dict:
        return sensitive_from(self.cleaned_data)

    def basis(self) -> LegalBasisInput | None:
        return basis_from(self.cleaned_data)


def sensitive_from(data: dict) -> dict:
    return {name: data.get(f"s_{name}") for name in NeedSensitiveDetails.FIELDS if data.get(f"s_{name}")}


def basis_from(data: dict) -> LegalBasisInput | None:
    if not data.get("legal_basis"):
        return None
    return LegalBasisInput(
        basis=data["legal_basis"],
        note=data.get("basis_note") or "",
        given_by=data.get("consent_given_by") or "",
        publish_summary=bool(data.get("consent_publish_summary")),
        share_with=list(data.get("share_with") or []),
    )


SENSITIVE_FORM_FIELDS = [
    *(f"s_{name}" for name in NeedSensitiveDetails.FIELDS),
    "legal_basis",
    "basis_note",
    "consent_given_by",
    "consent_publish_summary",
    "share_with",
]


class SensitiveDetailsForm(forms.Form):
    """Enter or correct a need's sensitive details and their legal basis (the whole record is replaced):
    the same fields as assisted entry's, and whether the person consented again."""

    required_css_class = "required"  # the admin's bold label

    new_consent = forms.BooleanField(
        label=_("they consented again"),
        required=False,
        help_text=_(
            "Tick only when the person (or their guardian) gave their consent again now: the consent's "
            "date becomes today. Leave it empty to correct the details under the consent already recorded."
        ),
    )

    def __init__(self, *args, hubs, **kwargs):
        super().__init__(*args, **kwargs)
        fields = {name: copy.deepcopy(NeedForm.base_fields[name]) for name in SENSITIVE_FORM_FIELDS}
        fields["share_with"].queryset = hubs
        fields["legal_basis"].required = True
        self.fields = {**fields, "new_consent": self.fields["new_consent"]}

    @staticmethod
    def initial_from(record: NeedSensitiveDetails | None, values: dict) -> dict:
        if record is None:
            return {}
        initial = {f"s_{k}": v for k, v in values.items() if k in NeedSensitiveDetails.FIELDS}
        return initial | {
            "legal_basis": record.legal_basis,
            "basis_note": record.basis_note,
            "consent_given_by": record.consent_given_by,
            "consent_publish_summary": record.consent_publish_summary,
            "share_with": [o.pk for o in record.share_with.all()],
        }


class TimelineInline(admin.TabularInline):
    model = NeedStatusChange
    extra = 0
    can_delete = False
    fields = ["changed_at", "from_status", "to_status", "changed_by", "note"]
    readonly_fields = fields
    verbose_name_plural = _("timeline (shown to the poster)")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CategoryWidget(widgets.ForeignKeyWidget):
    """A category column: its code, Chinese or English name."""

    def __init__(self):
        super().__init__(Category, "code")

    def clean(self, value, row=None, **kwargs):
        value = str(value or "").strip()
        if not value:
            return None
        found = (
            Category.objects.filter(is_active=True)
            .filter(
                **{"code": value}
                if value.isascii() and "-" not in value and " " not in value
                else {"name_zh": value}
            )
            .first()
            or Category.objects.filter(is_active=True, name_en=value).first()
        )
        if found is None:
            raise ValueError(gettext("No category “%(v)s”.") % {"v": value})
        return found

    def render(self, value, obj=None, **kwargs):
        return value.name if value else ""


class NeedResource(ScopedResource):
    """Needs collected on paper: one row per need, entered as staff (no sensitive details on paper rows)."""

    community = column(Need, "community")
    category = column(Need, "category")
    sub_kind = column(Need, "sub_kind")
    summary = column(Need, "summary")
    description = column(Need, "description")
    quantity = column(Need, "quantity", widget=widgets.IntegerWidget())
    unit = column(Need, "unit")
    urgency = column(Need, "urgency")
    needed_by = column(Need, "needed_by", widget=widgets.DateWidget())
    beneficiary_count = column(Need, "beneficiary_count", widget=widgets.IntegerWidget())
    status = fields.Field(attribute="status", column_name=_("status"), readonly=True)
    beneficiary_name = fields.Field(column_name=SENSITIVE_LABELS["name"], readonly=True)
    beneficiary_phone = fields.Field(column_name=SENSITIVE_LABELS["phone"], readonly=True)
    beneficiary_address = fields.Field(column_name=SENSITIVE_LABELS["address"], readonly=True)
    scope_area_field = "community"
    sensitive_columns = ("beneficiary_name", "beneficiary_phone", "beneficiary_address")

    class Meta:
        model = Need
        fields = (
            "id",
            "community",
            "category",
            "sub_kind",
            "summary",
            "description",
            "quantity",
            "unit",
            "urgency",
            "needed_by",
            "beneficiary_count",
            "status",
            "beneficiary_name",
            "beneficiary_phone",
            "beneficiary_address",
        )
        import_id_fields = ("community", "summary")
        clean_model_instances = False
        skip_unchanged = True

    def __init__(self, user=None, **kwargs):
        super().__init__(user=user, **kwargs)
        self.fields["community"].widget = ScopedAreaWidget(user, level=Area.Level.COMMUNITY)
        self.fields["category"].widget = CategoryWidget()
        self._decrypted: dict[int, dict] = {}

    def get_queryset(self):
        return super().get_queryset().select_related("community", "category", "sensitive")

    def _may_see_sensitive(self) -> bool:
        return self.user is not None and self.user.is_active and self.user.has_perm("needs.view_sensitive")

    def get_export_fields(self, selected_fields=None):
        export_fields = super().get_export_fields(selected_fields)
        if self._may_see_sensitive():
            return export_fields
        hidden = [self.fields[name] for name in self.sensitive_columns]
        return [f for f in export_fields if f not in hidden]

    def get_user_visible_fields(self):
        return [
            f for f in super().get_user_visible_fields() if f.column_name not in self._sensitive_headers()
        ]

    def _sensitive_headers(self):
        return {self.fields[name].column_name for name in self.sensitive_columns}

    def _details(self, need) -> dict:
        if need.pk not in self._decrypted:
            record = getattr(need, "sensitive", None) if hasattr(need, "sensitive") else None
            self._decrypted[need.pk] = services._decrypt_record(record) if record is not None else {}
        return self._decrypted[need.pk]

    def dehydrate_beneficiary_name(self, need):
        return self._details(need).get("name", "") if self._may_see_sensitive() else ""

    def dehydrate_beneficiary_phone(self, need):
        return self._details(need).get("phone", "") if self._may_see_sensitive() else ""

    def dehydrate_beneficiary_address(self, need):
        return self._details(need).get("address", "") if self._may_see_sensitive() else ""

    def dehydrate_status(self, need):
        return need.get_status_display()

    def save_through_service(self, instance):
        actor = self.actor()
        if instance.pk:
            current = Need.objects.select_related("community").get(pk=instance.pk)
            services.edit_need(
                need=current, data=need_input(vars(instance) | _relations(instance)), actor=actor
            )
            return
        need = services.submit_need(
            data=need_input(vars(instance) | _relations(instance)), source=Need.Source.STAFF, actor=actor
        )
        instance.pk = need.pk


def _relations(instance) -> dict:
    return {"community": instance.community, "category": instance.category}


@admin.register(Need)
class NeedAdmin(ServiceAdminMixin, ScopedImportExportAdmin):
    form = NeedForm
    resource_classes = [NeedResource]
    scope_area_field = "community"
    list_display = ["summary_short", "status", "urgency", "needed_by", "category", "community", "flags"]
    list_filter = ["status", "urgency", "category", ("community", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["community", "category"]
    search_fields = ["summary"]
    date_hierarchy = None
    actions = ["publish_needs", "decline_needs"]
    inlines = [TimelineInline]
    readonly_fields = [
        "status",
        "source",
        "source_organization",
        "posted_by",
        "entered_by",
        "published_at",
        "duplicates_display",
        "sensitive_link",
        "offers_display",
    ]

    def get_fieldsets(self, request, obj=None):
        public = (
            None,
            {
                "fields": [
                    "community",
                    "category",
                    "sub_kind",
                    "summary",
                    "description",
                    "quantity",
                    "unit",
                    "urgency",
                    "needed_by",
                    "beneficiary_count",
                ]
            },
        )
        if obj is None:
            return [
                public,
                (
                    _("Sensitive details (encrypted; only staff with the permission see them)"),
                    {"fields": [f"s_{name}" for name in NeedSensitiveDetails.FIELDS]},
                ),
                (
                    _("Legal basis for the sensitive details"),
                    {
                        "fields": [
                            "legal_basis",
                            "basis_note",
                            "consent_given_by",
                            "consent_publish_summary",
                            "share_with",
                        ]
                    },
                ),
            ]
        return [
            public,
            (
                _("Review"),
                {
                    "fields": [
                        "status",
                        "duplicates_display",
                        "sensitive_link",
                        "offers_display",
                        "source",
                        "source_organization",
                        "posted_by",
                        "entered_by",
                        "published_at",
                    ]
                },
            ),
        ]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        scope = self.scope(request, ROLE.STAFF)
        hubs = Organization.objects.filter(type=Organization.Type.HUB)
        if not scope.everything:
            hubs = hubs.filter(scope.q("area__"))
        form.base_fields["share_with"].queryset = hubs
        return form

    def has_delete_permission(self, request, obj=None):
        return False  # a need is withdrawn or declined, never deleted: its timeline stays

    @admin.display(description=_("public summary"), ordering="summary")
    def summary_short(self, need):
        return need.summary[:60]

    @admin.display(description=_("check"))
    def flags(self, need):
        return gettext("possible duplicate") if need.duplicate_count else ""

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(duplicate_count=Count("possible_duplicates"))

    @admin.display(description=_("possible duplicates"))
    def duplicates_display(self, need):
        # Those of the same community: whoever sees this need sees them (a same-beneficiary flag in another
        # community shows to staff above both, and in the audit log).
        visible = need.possible_duplicates.filter(community=need.community_id)
        if not visible:
            return "—"
        return format_html_join(
            ", ",
            '<a href="{}">#{} {}</a>',
            ((reverse("admin:needs_need_change", args=[d.pk]), d.pk, d.summary[:30]) for d in visible),
        )

    @admin.display(description=_("sensitive details"))
    def sensitive_link(self, need):
        if not NeedSensitiveDetails.objects.filter(need=need).exists():
            return format_html(
                '<a href="{}">{}</a> ({})',
                reverse("admin:needs_need_sensitive_edit", args=[need.pk]),
                gettext("Record sensitive details"),
                gettext("only with the “view sensitive details” permission; every view is recorded"),
            )
        return format_html(
            '<a href="{}">{}</a> ({})',
            reverse("admin:needs_need_sensitive", args=[need.pk]),
            gettext("See the sensitive details"),
            gettext("only with the “view sensitive details” permission; every view is recorded"),
        )

    @admin.display(description=_("offers of help"))
    def offers_display(self, need):
        offers = list(need.offers.all())
        if not offers:
            return "—"
        return format_html_join(
            ", ",
            '<a href="{}">#{} {}</a>',
            (
                (reverse("admin:needs_offer_change", args=[o.pk]), o.pk, o.get_status_display())
                for o in offers
            ),
        )

    def write(self, request, obj, form):
        actor = admin_actor(request)
        if obj.pk is None:
            need = services.submit_need(
                data=need_input(form.cleaned_data),
                source=Need.Source.STAFF,
                actor=actor,
                sensitive=form.sensitive(),
                basis=form.basis(),
            )
            obj.pk = need.pk
            obj._state.adding = False
            obj.status = need.status
            return need
        current = Need.objects.select_related("community", "category").get(pk=obj.pk)
        return services.edit_need(need=current, data=need_input(form.cleaned_data), actor=actor)

    def log_addition(self, request, obj, message):
        pass  # the service writes the audit event

    def log_change(self, request, obj, message):
        pass

    # --- actions ----------------------------------------------------------------------------------------

    def _act(self, request, queryset, do, done_message):
        done, refused = 0, []
        for need in queryset.select_related("community", "posted_by"):
            try:
                do(need)
            except DomainError as exc:
                refused.append(f"#{need.pk}: {exc.message}")
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"n": done}, messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    @admin.action(description=_("Publish the selected needs (after review)"), permissions=["change"])
    def publish_needs(self, request, queryset):
        actor = admin_actor(request)
        self._act(
            request,
            queryset,
            lambda need: services.publish_need(need=need, actor=actor),
            gettext("%(n)d needs published."),
        )

    @admin.action(description=_("Decline the selected needs"), permissions=["change"])
    def decline_needs(self, request, queryset):
        actor = admin_actor(request)
        note = gettext("Not published after review. Staff will contact you if anything needs explaining.")
        self._act(
            request,
            queryset,
            lambda need: services.decline_need(need=need, actor=actor, note=note),
            gettext("%(n)d needs declined."),
        )

    # --- the audited sensitive-details view -------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<int:pk>/sensitive/",
                self.admin_site.admin_view(self.sensitive_view),
                name="needs_need_sensitive",
            ),
            path(
                "<int:pk>/sensitive/edit/",
                self.admin_site.admin_view(self.sensitive_edit_view),
                name="needs_need_sensitive_edit",
            ),
            *super().get_urls(),
        ]

    def _hubs(self, request):
        scope = self.scope(request, ROLE.STAFF)
        hubs = Organization.objects.filter(type=Organization.Type.HUB).order_by("name")
        return hubs if scope.everything else hubs.filter(scope.q("area__"))

    def sensitive_edit_view(self, request, pk):
        """Enter or correct the sensitive details and their legal basis (services.record_sensitive_details).
        Showing the form filled in is a view of the details, audited as one."""
        need = self.get_queryset(request).select_related("community").filter(pk=pk).first()
        if need is None:
            raise Http404
        actor = admin_actor(request)
        try:
            services.require_sensitive_access(need=need, actor=actor)
        except DomainError as exc:
            if exc.status == 404:
                raise Http404
            raise PermissionDenied(str(exc.message))
        hubs, unreadable = self._hubs(request), False
        if request.method == "POST":
            form = SensitiveDetailsForm(request.POST, hubs=hubs)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    services.record_sensitive_details(
                        need=need,
                        details=sensitive_from(data),
                        basis=basis_from(data),
                        actor=actor,
                        new_consent=data["new_consent"],
                    )
                except DomainError as exc:
                    if exc.status in (403, 404):
                        raise PermissionDenied(str(exc.message))
                    name = exc.field or ""
                    name = f"s_{name.split('.', 1)[1]}" if name.startswith("sensitive.") else name
                    form.add_error(name if name in form.fields else None, str(exc.message))
                else:
                    self.message_user(
                        request, gettext("The sensitive details were saved (encrypted)."), messages.SUCCESS
                    )
                    return HttpResponseRedirect(reverse("admin:needs_need_change", args=[need.pk]))
        else:
            record, values = services.view_sensitive_details(need=need, actor=actor)
            unreadable = bool(values.get(services.UNREADABLE))
            form = SensitiveDetailsForm(
                initial=SensitiveDetailsForm.initial_from(record, {} if unreadable else values), hubs=hubs
            )
        return TemplateResponse(
            request,
            "admin/needs/need/sensitive_edit.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "need": need,
                "form": form,
                "unreadable": unreadable,
                "title": gettext("Enter or correct the sensitive details of need #%(id)s") % {"id": need.pk},
            },
        )

    def sensitive_view(self, request, pk):
        need = self.get_queryset(request).select_related("community").filter(pk=pk).first()
        if need is None:
            raise Http404
        try:
            record, values = services.view_sensitive_details(need=need, actor=admin_actor(request))
        except DomainError as exc:
            if exc.status == 404:
                raise Http404
            raise PermissionDenied(str(exc.message))
        unreadable = bool(values.get(services.UNREADABLE))
        rows = (
            []
            if unreadable
            else [(SENSITIVE_LABELS[k], values[k]) for k in NeedSensitiveDetails.FIELDS if k in values]
        )
        return TemplateResponse(
            request,
            "admin/needs/need/sensitive.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "need": need,
                "record": record,
                "rows": rows,
                "unreadable": unreadable,
                "share_with": list(record.share_with.all()) if record else [],
                "title": gettext("Sensitive details of need #%(id)s") % {"id": need.pk},
            },
        )


@admin.register(Offer)
class OfferAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Offers are made on the portal or through the API and decided by the poster or staff (services)."""

    scope_area_field = "need__community"
    list_display = ["id", "need", "status", "created_at"]
    list_filter = ["status"]
    list_select_related = ["need"]
    fields = [
        "need",
        "offered_by",
        "organization",
        "resource",
        "message",
        "status",
        "created_at",
        "decided_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Webhooks of hub organisations and their delivery log; matching runs, and "start a run for my area".
from . import admin_runs, admin_webhooks  # noqa: E402, F401
