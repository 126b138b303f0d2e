"""The fund's promises in the admin: restriction changes with the donor's consent, leftover decisions, and
investment income. Each add form carries out its service (funds.services) when it is cleaned, inside the
admin's one transaction for the add: a refusal shows on the form with what the staff member typed, and
nothing is written; the records are never changed or deleted (docs/fund-rules.md)."""

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.db.models import Q, Sum
from django.utils.translation import gettext_lazy as _

from charity.admin_base import ROLE, ScopedAdminMixin
from charity.errors import DomainError
from charity.models import AuditEvent
from charity.services import Actor
from charity.templatetags.money import format_fen

from . import services
from .models import Fund, InvestmentIncome, LeftoverDecision, RestrictionChange, Transaction


def amount_field():
    return forms.DecimalField(
        label=_("amount (yuan)"), min_value=Decimal("0.01"), max_digits=14, decimal_places=2
    )


class ServiceForm(forms.ModelForm):
    """An add form whose clean() records the change through its service; `result` is what it recorded."""

    request = None
    result = None

    def record(self, actor: Actor, data: dict):
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        if self.errors or self.request is None:
            return cleaned
        data = dict(cleaned)
        if "amount_yuan" in data:
            data["amount_fen"] = int(data.pop("amount_yuan") * 100)
        try:
            self.result = self.record(Actor.from_request(self.request, AuditEvent.Surface.ADMIN), data)
        except DomainError as exc:
            field = {"amount_fen": "amount_yuan", "from_fund": "fund"}.get(exc.field, exc.field)
            self.add_error(field if field in self.fields else None, str(exc.message))
        return cleaned

    def _post_clean(self):
        pass  # the service checked and wrote the record; there is no unsaved row to clean


class RestrictionChangeForm(ServiceForm):
    amount_yuan = amount_field()

    class Meta:
        model = RestrictionChange
        fields = [
            "fund",
            "from_purpose",
            "to_fund",
            "to_purpose",
            "consent_by",
            "consent_on",
            "consent_record",
        ]

    def record(self, actor, data):
        return services.change_restriction(actor=actor, **data)


class LeftoverDecisionForm(ServiceForm):
    class Meta:
        model = LeftoverDecision
        fields = ["fund", "purpose", "basis", "to_fund", "to_purpose", "reason", "decided_on"]

    def record(self, actor, data):
        return services.decide_leftover(actor=actor, **data)


class InvestmentIncomeForm(ServiceForm):
    amount_yuan = amount_field()

    class Meta:
        model = InvestmentIncome
        fields = ["fund", "memo"]

    def record(self, actor, data):
        return services.record_investment_income(actor=actor, **data)


class ServiceAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Added through a service form, then never changed or deleted; the service writes the audit event."""

    scope_area_field = "fund__community"
    list_select_related = ["fund"]
    date_hierarchy = None

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.request = request
        return form

    def get_fields(self, request, obj=None):
        if obj is None:
            return super().get_fields(request, obj)
        return [f.name for f in self.model._meta.fields if f.name not in ("id",)]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj is not None else []

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name in ("fund", "to_fund") and field is not None:
            # Open funds where the user may act: another community's fund is neither offered nor accepted.
            field.queryset = self.scope(request, self.change_role).filter(
                Fund.objects.filter(status=Fund.Status.OPEN), "community"
            )
        return field

    def save_model(self, request, obj, form, change):
        obj.pk = form.result.pk
        obj.refresh_from_db()

    def log_addition(self, request, obj, message):
        pass  # the service wrote the audit event

    @admin.display(description=_("amount"), ordering="amount_fen")
    def amount_display(self, obj):
        return format_fen(obj.amount_fen)


@admin.register(RestrictionChange)
class RestrictionChangeAdmin(ServiceAdmin):
    form = RestrictionChangeForm
    list_display = [
        "consent_on",
        "fund",
        "from_purpose",
        "to_fund",
        "to_purpose",
        "amount_display",
        "consent_by",
    ]
    list_select_related = ["fund", "to_fund"]
    search_fields = ["from_purpose", "to_purpose", "consent_by", "consent_record"]


@admin.register(LeftoverDecision)
class LeftoverDecisionAdmin(ServiceAdmin):
    form = LeftoverDecisionForm
    change_role = ROLE.MANAGER  # it closes a fund (or a purpose), as closing funds does
    list_display = ["decided_on", "fund", "purpose", "basis", "to_fund", "to_purpose", "amount_display"]
    list_select_related = ["fund", "to_fund"]
    search_fields = ["purpose", "to_purpose", "reason"]


@admin.register(InvestmentIncome)
class InvestmentIncomeAdmin(ServiceAdmin):
    form = InvestmentIncomeForm
    list_display = ["posted_at", "fund", "memo", "amount_display"]

    def get_queryset(self, request):
        credited = Sum("entries__amount_fen", filter=Q(entries__amount_fen__gt=0))
        return (
            super()
            .get_queryset(request)
            .filter(kind=Transaction.Kind.INVESTMENT_INCOME)
            .annotate(amount_fen=credited)
        )
