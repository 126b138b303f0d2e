"""Funds in the admin: balances and ledger read-only, donations recorded and refunded through services."""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q, Sum
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources, widgets
from import_export.admin import ExportMixin

from charity.admin import IMPORT_FORMATS
from charity.admin_base import ROLE, ScopedAdminMixin, ScopedReadOnlyAdmin, has_role
from charity.admin_export import AuditedExportMixin, may_export_personal_data
from charity.errors import DomainError
from charity.logsafety import mask_mobiles
from charity.models import AuditAction, AuditEvent
from charity.services import Actor, record_audit
from charity.spreadsheet_columns import ChoiceWidget, YesNoWidget
from charity.templatetags.money import format_fen

from . import importing, selectors, services, tasks
from .models import Account, Donation, Entry, Fund, Transaction


class NamedFundInline(admin.TabularInline):
    model = Fund
    fk_name = "parent"
    fields = ["name", "named_after", "status"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("named funds")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Fund)
class FundAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_area_field = "community"
    # At phone width the first columns are what is seen: the fund, what it holds, whether it is open.
    list_display = ["name", "balance_display", "status", "kind", "community", "host"]
    list_filter = ["kind", "status", ("community", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "named_after"]
    # By name, in the list and in the parent fund's search box (whose pages were unordered, so a fund could
    # show on two pages or on none).
    ordering = ["name", "pk"]
    list_select_related = ["community", "host"]
    autocomplete_fields = ["parent"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    inlines = [NamedFundInline]
    actions = ["close_funds"]
    readonly_fields = [
        "status",
        "closed_on",
        "balance_display",
        "restricted_display",
        "minimum_display",
        "recent_entries",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "kind",
                    "parent",
                    "named_after",
                    "community",
                    "host",
                    "purpose",
                    "policy",
                    "opened_on",
                    "status",
                    "closed_on",
                ]
            },
        ),
        (
            _("How to give (shown on the fund's public page)"),
            {"fields": ["giving_instructions", "giving_url"]},
        ),
        (
            _("Money"),
            {"fields": ["balance_display", "restricted_display", "minimum_display", "recent_entries"]},
        ),
    ]

    def get_queryset(self, request):
        money = Q(accounts__kind__in=Account.MONEY)
        return super().get_queryset(request).annotate(money_fen=Sum("accounts__balance_fen", filter=money))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "host":
            # The host is usually a city or district body above the community: offer every federation
            # and foundation rather than only those based inside the user's areas.
            from charity.models import Organization

            kwargs["queryset"] = Organization.objects.filter(type__in=["charity_federation", "foundation"])
            return db_field.formfield(**kwargs)
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "parent" and field is not None:
            # Only funds the user may act in: another community's fund is neither accepted nor named (the
            # autocomplete widget renders the name of whatever id `?parent=` gives it).
            field.queryset = self.scope(request, self.change_role).filter(field.queryset, "community")
        return field

    @admin.display(description=_("balance"), ordering="money_fen")
    def balance_display(self, obj):
        return format_fen(getattr(obj, "money_fen", None) or 0) if obj.pk else "-"

    @admin.display(description=_("restricted"))
    def restricted_display(self, obj):
        if not obj.pk:
            return "-"
        balance = selectors.fund_balance(obj)
        if not balance.restricted_by_purpose:
            return format_fen(0)
        return format_html(
            "{}<br>{}",
            format_fen(balance.restricted_fen),
            format_html_join(
                "",
                "<div>{}: {}</div>",
                ((p, format_fen(v)) for p, v in balance.restricted_by_purpose.items()),
            ),
        )

    @admin.display(description=_("named fund minimum"))
    def minimum_display(self, obj):
        if not obj.pk or obj.kind != Fund.Kind.NAMED:
            return "-"
        minimum = selectors.named_fund_minimum_fen(obj.host)
        shortfall = selectors.named_fund_shortfall_fen(obj)
        if shortfall:
            return format_html(
                '<strong class="shortfall">{}</strong>',
                gettext("Below the host's minimum of %(min)s for a named fund by %(short)s.")
                % {"min": format_fen(minimum), "short": format_fen(shortfall)},
            )
        return gettext("At or above the host's minimum of %(min)s.") % {"min": format_fen(minimum)}

    @admin.display(description=_("recent ledger entries"))
    def recent_entries(self, obj):
        if not obj.pk:
            return "-"
        rows = selectors.list_entries(obj)[:20]
        if not rows:
            return gettext("No entries yet.")
        return format_html(
            "<table><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            gettext("posted"),
            gettext("kind"),
            gettext("account"),
            gettext("amount"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class='money'>{}</td></tr>",
                (
                    (
                        e.transaction_id,
                        timezone.localtime(e.transaction.posted_at).strftime("%Y-%m-%d %H:%M"),
                        e.transaction.get_kind_display(),
                        str(e.account),
                        format_fen(e.amount_fen),
                    )
                    for e in rows
                ),
            ),
        )

    def save_model(self, request, obj, form, change):
        obj.full_clean()
        super().save_model(request, obj, form, change)
        record_audit(
            actor=Actor.from_request(request, AuditEvent.Surface.ADMIN),
            action=AuditAction.FUND_CHANGED if change else AuditAction.FUND_CREATED,
            obj=obj,
            area=obj.community,
            summary=obj.name,
        )

    def has_delete_permission(self, request, obj=None):
        return False

    def has_close_permission(self, request):
        return has_role(request.user, ROLE.MANAGER)  # a viewer or clerk is not offered the action

    @admin.action(description=_("Close the selected funds (they take no more money)"), permissions=["close"])
    def close_funds(self, request, queryset):
        actor = Actor.from_request(request, AuditEvent.Surface.ADMIN)
        for fund in self.scoped(queryset, request, ROLE.MANAGER).filter(status=Fund.Status.OPEN):
            try:
                services.close_fund(fund=fund, actor=actor, closed_on=timezone.localdate())
            except DomainError as exc:
                self.message_user(request, f"{fund}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, gettext("%(f)s is closed.") % {"f": fund})


class DonationResource(resources.ModelResource):
    """The donation export as a clerk reads it: Chinese headers, labels for codes, yuan, 是/否."""

    id = fields.Field(attribute="id", column_name=_("record number"), readonly=True)
    received_on = fields.Field(
        attribute="received_on", column_name=_("received on"), widget=widgets.DateWidget()
    )
    fund = fields.Field(attribute="fund__name", column_name=_("fund"))
    amount = fields.Field(column_name=_("amount (yuan)"))
    donor = fields.Field(column_name=_("donor"))
    channel = fields.Field(
        attribute="channel", column_name=_("channel"), widget=ChoiceWidget(Donation.Channel.choices)
    )
    form = fields.Field(attribute="form", column_name=_("form"), widget=ChoiceWidget(Donation.Form.choices))
    restriction = fields.Field(
        attribute="restriction",
        column_name=_("restriction"),
        widget=ChoiceWidget(Donation.Restriction.choices),
    )
    purpose = fields.Field(attribute="purpose", column_name=_("restricted purpose"))
    receipt_no = fields.Field(attribute="receipt_no", column_name=_("receipt number"))
    receipt_waived = fields.Field(
        attribute="receipt_waived",
        column_name=Donation._meta.get_field("receipt_waived").verbose_name,
        widget=YesNoWidget(),
    )
    anonymous = fields.Field(attribute="anonymous", column_name=_("anonymous"), widget=YesNoWidget())
    publish_name = fields.Field(
        attribute="publish_name",
        column_name=Donation._meta.get_field("publish_name").verbose_name,
        widget=YesNoWidget(),
    )
    refunded = fields.Field(attribute="is_refunded", column_name=_("refunded"), widget=YesNoWidget())

    class Meta:
        model = Donation
        fields = (
            "id",
            "received_on",
            "fund",
            "amount",
            "donor",
            "channel",
            "form",
            "restriction",
            "purpose",
            "receipt_no",
            "receipt_waived",
            "anonymous",
            "publish_name",
            "refunded",
        )
        export_order = fields

    def __init__(self, user=None, **kwargs):
        super().__init__(**kwargs)
        self.user = user

    def dehydrate_donor(self, obj):
        # A donor's name is personal data: without charity.export_personal_data, only what the public page
        # shows (the name of a donor who consented to publish it).
        if may_export_personal_data(self.user):
            return obj.donor_display_name or ""
        return obj.public_donor_name or ""

    def dehydrate_amount(self, obj):
        # A number a spreadsheet can add up, exact: fen as a Decimal with two places, never a float.
        return Decimal(obj.amount_fen).scaleb(-2)


# The form fields that are passed to services.post_donation as they are.
DONATION_SERVICE_FIELDS = [
    "fund",
    "form",
    "channel",
    "donor_person",
    "donor_organization",
    "donor_name",
    "anonymous",
    "publish_name",
    "receipt_no",
    "receipt_waived",
    "received_on",
    "restriction",
    "restricted_fund",
    "purpose",
    "item_description",
    "item_quantity",
    "item_unit",
]


class DonationForm(forms.ModelForm):
    """clean() runs the service's own check (services.check_donation, which writes nothing), so a refusal
    shows on the form with the staff member's input intact; save_model() then records it."""

    amount_yuan = forms.DecimalField(
        label=_("amount (yuan)"),
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text=_("For goods: their valuation."),
    )
    request = None

    class Meta:
        model = Donation
        fields = DONATION_SERVICE_FIELDS

    def service_kwargs(self):
        data = {f: self.cleaned_data.get(f) for f in DONATION_SERVICE_FIELDS}
        for text_field in ("donor_name", "receipt_no", "purpose", "item_description", "item_unit"):
            data[text_field] = data[text_field] or ""
        data["amount_fen"] = int(self.cleaned_data["amount_yuan"] * 100)
        return data

    def clean(self):
        cleaned = super().clean()
        if self.errors or self.request is None:
            return cleaned
        try:
            services.check_donation(handled_by=self.request.user, check_receipt=True, **self.service_kwargs())
        except DomainError as exc:
            field = {"amount_fen": "amount_yuan"}.get(exc.field, exc.field)
            self.add_error(field if field in self.fields else None, str(exc.message))
        return cleaned

    def _post_clean(self):
        pass  # the service validates the whole donation; the model has no row to clean yet


DONATION_ADD_GROUPS = [
    (
        None,
        [
            "fund",
            "amount_yuan",
            "received_on",
            "channel",
            "form",
            "item_description",
            "item_quantity",
            "item_unit",
        ],
    ),
    (_("donor"), ["donor_person", "donor_organization", "donor_name", "anonymous", "publish_name"]),
    (_("donation receipt"), ["receipt_no", "receipt_waived"]),
    (_("restriction"), ["restriction", "restricted_fund", "purpose"]),
]
DONATION_VIEW_ONLY = [
    "amount_yuan",
    "refund_status",
    "refund_reason",
    "refund_time",
    "handled_by_display",
    "recorded_by_organization",
    "created_at",
    "transaction_link",
]


def yes_no(model, field):
    """An admin display of a yes/no field as 是/否 (Django shows an icon whose alt text is "True")."""

    @admin.display(description=model._meta.get_field(field).verbose_name)
    def show(model_admin, obj):
        return gettext("yes") if getattr(obj, field) else gettext("no")

    return show


# On a recorded donation's page: these only when set, and yes/no fields as 是/否 rather than icons.
DONATION_SHOWN_WHEN_SET = ["donor_person", "donor_organization", "donor_name", "recorded_by_organization"]
YES_NO = {f: f"{f}_yes_no" for f in ("anonymous", "publish_name", "receipt_waived")}
DONATION_VIEW_GROUPS = [
    *[(title, [YES_NO.get(f, f) for f in names]) for title, names in DONATION_ADD_GROUPS],
    (_("refund"), ["refund_status", "refund_reason", "refund_time"]),
    (
        _("how it was recorded"),
        ["handled_by_display", "recorded_by_organization", "created_at", "transaction_link"],
    ),
]


class StatementForm(forms.Form):
    fund = forms.ModelChoiceField(label=_("fund"), queryset=Fund.objects.none())
    file = forms.FileField(label=_("statement file (.xlsx or .csv)"))


@admin.register(Donation)
class DonationAdmin(AuditedExportMixin, ExportMixin, ScopedAdminMixin, admin.ModelAdmin):
    scope_area_field = "fund__community"
    resource_classes = [DonationResource]
    formats = IMPORT_FORMATS
    form = DonationForm
    # At phone width the first columns are what is seen: how much, from whom, the receipt, refunded or not.
    list_display = [
        "amount_display",
        "donor_display",
        "receipt_display",
        "refund_status",
        "received_on",
        "fund",
        "channel",
        "restriction",
    ]
    list_filter = [
        "channel",
        "restriction",
        "form",
        "received_on",
        ("fund", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["receipt_no", "donor_name", "donor_person__name", "donor_organization__name"]
    list_select_related = ["fund", "donor_person", "donor_organization"]
    autocomplete_fields = ["donor_person", "donor_organization"]
    date_hierarchy = "received_on"
    change_form_template = "admin/funds/donation/change_form.html"
    change_list_template = "admin/funds/donation/change_list.html"

    def get_export_resource_kwargs(self, request, **kwargs):
        return {**super().get_export_resource_kwargs(request, **kwargs), "user": request.user}

    def has_change_permission(self, request, obj=None):
        return False  # recorded money is corrected by a refund, never edited

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name in ("fund", "restricted_fund") and field is not None:
            scope = self.scope(request, self.change_role)
            field.queryset = scope.filter(Fund.objects.filter(status=Fund.Status.OPEN), "community")
        return field

    @admin.display(description=_("amount"), ordering="amount_fen")
    def amount_display(self, obj):
        return format_fen(obj.amount_fen)

    # The same, where the add form has its "amount (yuan)" field: a donation's page shows ¥1,234.56.
    amount_yuan = amount_display

    @admin.display(description=_("donor"))
    def donor_display(self, obj):
        return obj.donor_display_name or "-"

    @admin.display(description=_("receipt"), ordering="receipt_no")
    def receipt_display(self, obj):
        if obj.receipt_no:
            return obj.receipt_no
        return gettext("waived") if obj.receipt_waived else "-"

    @admin.display(description=_("refund status"))
    def refund_status(self, obj):
        if obj.is_refunded:
            return format_html('<strong class="refunded">{}</strong>', gettext("refunded"))
        return gettext("not refunded")

    @admin.display(description=_("refund time"))
    def refund_time(self, obj):
        if not obj.is_refunded:
            return "-"
        return timezone.localtime(obj.refund_transaction.posted_at).strftime("%Y-%m-%d %H:%M")

    anonymous_yes_no = yes_no(Donation, "anonymous")
    publish_name_yes_no = yes_no(Donation, "publish_name")
    receipt_waived_yes_no = yes_no(Donation, "receipt_waived")

    @admin.display(description=_("handled by"))
    def handled_by_display(self, obj):
        user = obj.handled_by
        return (user.get_full_name() or mask_mobiles(user.get_username())) if user else "-"

    @admin.display(description=_("ledger transaction"))
    def transaction_link(self, obj):
        links = [(reverse("admin:funds_transaction_change", args=[obj.transaction_id]), obj.transaction)]
        if obj.refund_transaction_id:
            links.append(
                (
                    reverse("admin:funds_transaction_change", args=[obj.refund_transaction_id]),
                    obj.refund_transaction,
                )
            )
        return format_html_join(gettext(", "), '<a href="{}">{}</a>', links)

    def get_fieldsets(self, request, obj=None):
        """The add form in the order a clerk fills it in; a recorded donation as one reads it, its refund
        shown apart. Fields the form has that no group names are kept, in the first group."""
        if obj is None:
            available = list(self.get_form(request, None, fields=None).base_fields)
            groups = DONATION_ADD_GROUPS
        else:
            available = [*self.get_form(request, obj, fields=None).base_fields, *DONATION_VIEW_ONLY]
            groups = DONATION_VIEW_GROUPS
            # A recorded donation reads as it is: what is empty or does not apply is not shown as "-".
            empty = {f for f in DONATION_SHOWN_WHEN_SET if not getattr(obj, f"{f}_id", getattr(obj, f, None))}
            if obj.form == Donation.Form.MONEY:
                empty |= {"item_description", "item_quantity", "item_unit"}
            if obj.restriction == Donation.Restriction.UNRESTRICTED:
                empty |= {"restricted_fund", "purpose"}
            if not obj.is_refunded:
                empty |= {"refund_reason", "refund_time"}
            available = [YES_NO.get(f, f) for f in available if f not in empty]
        named = {f for _title, names in groups for f in names}
        fieldsets = []
        for title, names in groups:
            present = [f for f in names if f in available]
            if title is None:
                present += [f for f in available if f not in named and f != "amount_yuan"]
            if present:
                fieldsets.append((title, {"fields": present}))
        return fieldsets

    def change_view(self, request, object_id, form_url="", extra_context=None):
        donation = self.get_object(request, unquote(object_id))  # out of scope: 404
        may_refund = not donation.is_refunded and self._allowed(request, donation, ROLE.STAFF)
        return super().change_view(
            request, object_id, form_url, {"may_refund": may_refund, **(extra_context or {})}
        )

    def audit_history_refs(self, obj):
        refs = [("funds.donation", str(obj.pk)), ("funds.transaction", str(obj.transaction_id))]
        if obj.refund_transaction_id:
            refs.append(("funds.transaction", str(obj.refund_transaction_id)))
        return refs

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.request = request
        return form

    def save_model(self, request, obj, form, change):
        donation = services.post_donation(
            actor=Actor.from_request(request, AuditEvent.Surface.ADMIN),
            handled_by=request.user,
            **form.service_kwargs(),
        )
        obj.pk = donation.pk
        obj.refresh_from_db()

    def log_addition(self, request, obj, message):
        pass  # the service writes the audit event

    def get_urls(self):
        return [
            path(
                "<int:pk>/refund/", self.admin_site.admin_view(self.refund_view), name="funds_donation_refund"
            ),
            path(
                "import-statement/",
                self.admin_site.admin_view(self.import_view),
                name="funds_donation_import_statement",
            ),
            path(
                "import-statement/<str:job>/",
                self.admin_site.admin_view(self.import_job_view),
                name="funds_donation_import_statement_job",
            ),
            *super().get_urls(),
        ]

    def refund_view(self, request, pk):
        donation = self.get_queryset(request).filter(pk=pk).first()
        if donation is None:
            raise Http404
        if not self._allowed(request, donation, ROLE.STAFF):
            raise PermissionDenied
        error = None
        if request.method == "POST":
            try:
                services.refund_donation(
                    donation=donation,
                    reason=request.POST.get("reason", ""),
                    actor=Actor.from_request(request, AuditEvent.Surface.ADMIN),
                )
            except DomainError as exc:
                error = exc.message
            else:
                self.message_user(request, gettext("The donation was refunded: a reversal was posted."))
                return redirect(reverse("admin:funds_donation_change", args=[pk]))
        return TemplateResponse(
            request,
            "admin/funds/donation/refund.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "donation": donation,
                "amount": format_fen(donation.amount_fen),
                "error": error,
                "title": gettext("Refund a donation"),
            },
        )

    def _statement_form(self, request, **kwargs) -> StatementForm:
        form = StatementForm(request.POST or None, request.FILES or None, **kwargs)
        form.fields["fund"].queryset = self.scope(request, ROLE.STAFF).filter(
            Fund.objects.filter(status=Fund.Status.OPEN), "community"
        )
        return form

    def import_view(self, request):
        """Upload a statement: it is checked (or applied) by a Celery task, whose page this redirects to."""
        if not has_role(request.user, ROLE.STAFF):
            raise PermissionDenied
        form = self._statement_form(request)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            job = importing.start_import_job(
                fund=form.cleaned_data["fund"],
                filename=upload.name,
                raw=upload.read(),
                user=request.user,
                dry_run="apply" not in request.POST,
            )
            # A worker imports it while the page waits (a 100,000-row statement outlasts a web request's
            # timeout; docs/performance.md); without a broker (make run, the tests) it runs here, at once.
            tasks.import_statement.delay(job)
            return redirect(reverse("admin:funds_donation_import_statement_job", args=[job]))
        return self._statement_page(request, form)

    def import_job_view(self, request, job):
        """The page of one import: its progress until it is done, then its report. Only for the staff member
        who started it, while the fund is in their scope; anyone else gets 404."""
        if not has_role(request.user, ROLE.STAFF):
            raise PermissionDenied
        state = importing.import_job(job)
        funds = self.scope(request, ROLE.STAFF).filter(Fund.objects.all(), "community")
        if state is None or state["user"] != request.user.pk or not funds.filter(pk=state["fund"]).exists():
            raise Http404
        report = state.get("report")
        if report is not None and report.applied:
            self.message_user(
                request,
                gettext("%(n)d donations recorded, %(s)d already recorded.")
                % {"n": report.record_count, "s": report.skipped_count},
            )
        form = StatementForm(initial={"fund": state["fund"]})
        form.fields["fund"].queryset = self._statement_form(request).fields["fund"].queryset
        return self._statement_page(request, form, state=state)

    def _statement_page(self, request, form, state=None):
        report = (state or {}).get("report")
        return TemplateResponse(
            request,
            "admin/funds/donation/import_statement.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "form": form,
                "job": state,
                "waiting": state is not None and state["state"] in ("queued", "running"),
                "report": report,
                "error": (state or {}).get("error"),
                "applied": bool(report and report.applied),
                "title": gettext("Import a donation statement"),
                "listed_rows": importing.LISTED_ROWS,
                "listed_errors": importing.LISTED_ERRORS,
                "job_minutes": importing.JOB_SECONDS // 60,
                "total": format_fen(report.total_fen) if report else "",
            },
        )


@admin.register(Transaction)
class TransactionAdmin(ScopedReadOnlyAdmin):
    scope_area_field = "fund__community"
    list_display = ["id", "posted_at", "kind", "fund", "memo", "posted_by", "reverses"]
    list_filter = ["kind", ("fund", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["memo", "id"]
    list_select_related = ["fund", "actor_user", "actor_organization"]

    @admin.display(description=_("posted by"))
    def posted_by(self, obj):
        if obj.actor_user_id:
            return obj.actor_user.get_full_name() or mask_mobiles(obj.actor_user.get_username())
        return str(obj.actor_organization) if obj.actor_organization_id else "-"


@admin.register(Entry)
class EntryAdmin(ScopedReadOnlyAdmin):
    scope_area_field = "account__fund__community"
    list_display = ["id", "amount_display", "account", "transaction"]
    fields = ["transaction", "account", "amount_display"]  # yuan, not the stored fen
    readonly_fields = fields
    list_select_related = ["transaction", "account__fund"]
    list_filter = ["account__kind"]

    @admin.display(description=_("amount"))
    def amount_display(self, obj):
        return format_fen(obj.amount_fen)


@admin.register(Account)
class AccountAdmin(ScopedReadOnlyAdmin):
    scope_area_field = "fund__community"
    list_display = ["fund", "balance_display", "kind", "purpose"]
    fields = ["fund", "kind", "purpose", "balance_display"]  # yuan, not the stored fen
    readonly_fields = fields
    list_filter = ["kind"]
    list_select_related = ["fund"]

    @admin.display(description=_("balance"))
    def balance_display(self, obj):
        return format_fen(obj.balance_fen)


# Restriction changes, leftover decisions and investment income: their own module, registered with this one.
from . import admin_promises  # noqa: E402, F401
