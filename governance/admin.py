"""Committee admin: thin, every change goes through governance.services."""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.utils.html import format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from charity.admin_base import ROLE, ScopedAdminMixin, has_role
from charity.errors import DomainError
from charity.models import AuditEvent, Person
from charity.scoping import scope_for_user
from charity.services import Actor
from charity.templatetags.money import format_fen
from funds.models import Fund

from .models import Committee, Membership
from .selectors import (
    composition_issues,
    current_members,
    eligible_organizations,
    prefetched_members,
    with_current_members,
)
from .services import (
    RULE_FIELDS,
    add_member,
    change_member_role,
    check_new_member,
    check_voting_rules,
    create_committee,
    end_membership,
    rename_committee,
    update_voting_rules,
)


def _new_member(data: dict) -> dict:
    """A new membership row's cleaned data, as check_new_member and add_member take it."""
    return {
        "person": data["person"],
        "organization": data.get("organization"),
        "role": data["role"],
        "term_start": data["term_start"],
        "term_end": data.get("term_end"),
    }


def _add_domain_error(form, exc: DomainError):
    form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))


class MembershipFormSet(forms.BaseInlineFormSet):
    """Ask the services' checks before anything is saved, so a refusal is a form error, not a 500."""

    def clean(self):
        super().clean()
        committee = self.instance
        if getattr(committee, "fund_id", None) is None:
            return
        new_people = set()
        for form in self.forms:
            if not form.has_changed() or not form.is_valid():
                continue
            data = form.cleaned_data
            if form.instance.pk is None:
                if data["person"].pk in new_people:
                    form.add_error("person", gettext("This person is listed twice."))
                    continue
                new_people.add(data["person"].pk)
                try:
                    check_new_member(committee=committee, **_new_member(data))
                except DomainError as exc:
                    _add_domain_error(form, exc)
            else:
                fixed = {"person", "organization", "term_start"} & set(form.changed_data)
                if fixed:
                    form.add_error(
                        None,
                        gettext(
                            "The person, the organisation represented and the start of a term cannot be "
                            "changed: end this membership and add a new one."
                        ),
                    )
                if "term_end" in form.changed_data:
                    if form.initial.get("term_end"):
                        form.add_error("term_end", gettext("This membership has already ended."))
                    elif data.get("term_end") is None:
                        form.add_error("term_end", gettext("Enter the last day of the term."))


class MembershipInline(admin.TabularInline):
    model = Membership
    formset = MembershipFormSet
    fields = ["person", "organization", "category", "role", "term_start", "term_end"]
    # The category follows from the organisation represented (resident without one): shown, not typed.
    readonly_fields = ["category"]
    extra = 0
    can_delete = False  # memberships end; their history stays
    verbose_name_plural = _("members (end a term by entering its last day; never delete)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("person", "organization")

    def has_view_permission(self, request, obj=None):
        return has_role(request.user, ROLE.VIEWER)

    def has_add_permission(self, request, obj=None):
        return has_role(request.user, ROLE.STAFF)

    def has_change_permission(self, request, obj=None):
        return has_role(request.user, ROLE.STAFF)

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is None or db_field.name not in ("person", "organization"):
            return field
        object_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
        committee = (
            Committee.objects.select_related("fund__community").filter(pk=object_id).first()
            if object_id
            else None
        )
        if committee is None:
            # A committee being created has no members yet; offer only what the clerk may act in.
            scope = scope_for_user(request.user, min_role=ROLE.STAFF)
            if not scope.everything:
                prefix = "community__" if db_field.name == "person" else "area__"
                field.queryset = field.queryset.filter(scope.q(prefix))
            return field
        # The organisations that may send a member, and the people of the community or representing them
        # (the service refuses anyone else anyway).
        eligible = eligible_organizations(committee.fund.community)
        if db_field.name == "organization":
            field.queryset = eligible
        else:
            field.queryset = Person.objects.filter(
                Q(community_id=committee.fund.community_id) | Q(organization__in=eligible)
            )
        return field


class CommitteeForm(forms.ModelForm):
    """The committee and its voting rules; the amount threshold is typed in yuan (stored in fen)."""

    high_amount_threshold_yuan = forms.DecimalField(
        label=_("amount threshold (yuan)"),
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text=_("Above this amount a proposal needs the higher approval. Usually ¥50,000.00."),
    )

    class Meta:
        model = Committee
        fields = ["fund", "name", *(f for f in RULE_FIELDS if f != "high_amount_threshold_fen")]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fen = self.instance.high_amount_threshold_fen
        if fen is not None:
            self.initial.setdefault("high_amount_threshold_yuan", Decimal(fen).scaleb(-2))

    def clean(self):
        data = super().clean()
        yuan = data.get("high_amount_threshold_yuan")
        if yuan is not None:
            data["high_amount_threshold_fen"] = int(yuan.scaleb(2))  # exact: at most two decimals
        rules = {f: data.get(f) for f in RULE_FIELDS}
        if all(isinstance(v, int) for v in rules.values()):
            try:
                check_voting_rules(rules)
            except DomainError as exc:
                _add_domain_error(self, exc)
        return data


@admin.register(Committee)
class CommitteeAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_area_field = "fund__community"
    form = CommitteeForm
    inlines = [MembershipInline]
    list_display = ["name", "fund", "community", "voting_members", "issues_column"]
    list_select_related = ["fund", "fund__community"]
    search_fields = ["name", "fund__name"]
    readonly_fields = ["composition_warnings"]
    fieldsets = [
        (None, {"fields": ["fund", "name", "composition_warnings"]}),
        (
            _("Voting rules"),
            {
                "fields": [
                    ("quorum_numerator", "quorum_denominator"),
                    ("approval_numerator", "approval_denominator"),
                    ("high_approval_numerator", "high_approval_denominator"),
                    "high_amount_threshold_yuan",
                    "notice_days",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        return with_current_members(super().get_queryset(request))

    def has_delete_permission(self, request, obj=None):
        # A committee's record stays, with its members' history (memberships end, never vanish); deleting
        # would take them with it, outside any service and unaudited.
        return False

    def get_readonly_fields(self, request, obj=None):
        # A committee stays with the fund it was created for.
        return ["fund", *self.readonly_fields] if obj is not None else self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "fund" and field is not None:
            scope = self.scope(request, self.change_role)
            qs = Fund.objects.filter(kind=Fund.Kind.COMMUNITY, committee__isnull=True)
            field.queryset = qs if scope.everything else qs.filter(scope.q("community__"))
        return field

    @admin.display(description=_("amount threshold (yuan)"))
    def high_amount_threshold_yuan(self, obj):
        return format_fen(obj.high_amount_threshold_fen)  # a viewer's read-only page

    @admin.display(description=_("community"), ordering="fund__community__name")
    def community(self, obj):
        return obj.fund.community

    def _members(self, obj):
        if hasattr(obj, "current_memberships"):
            return prefetched_members(obj)
        return current_members(obj)

    @admin.display(description=_("voting members"))
    def voting_members(self, obj):
        return sum(1 for m in self._members(obj) if m.is_voting)

    @admin.display(description=_("composition warnings"))
    def issues_column(self, obj):
        issues = composition_issues(obj, self._members(obj))
        return "; ".join(i["message"] for i in issues) if issues else "✓"

    @admin.display(description=_("composition warnings"))
    def composition_warnings(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        issues = composition_issues(obj, self._members(obj))
        if not issues:
            return gettext("None: the composition meets the rules.")
        return format_html_join("", "<p>⚠ {}</p>", ((i["message"],) for i in issues))

    def _actor(self, request):
        return Actor.from_request(request, AuditEvent.Surface.ADMIN)

    def save_model(self, request, obj, form, change):
        actor = self._actor(request)
        rules = {f: form.cleaned_data[f] for f in RULE_FIELDS}
        if not change:
            created = create_committee(fund=obj.fund, name=obj.name, actor=actor, **rules)
            obj.pk = created.pk
            obj.created_at = created.created_at
            obj._state.adding = False
            return
        rename_committee(committee=obj, name=form.cleaned_data["name"], actor=actor)
        update_voting_rules(committee=obj, actor=actor, **rules)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        actor = self._actor(request)
        committee = form.instance
        # What the admin's change message (LogEntry) reads from a saved formset.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for f in formset.forms:
            if not f.has_changed():
                continue
            data = f.cleaned_data
            if f.instance.pk is None:
                formset.new_objects.append(add_member(committee=committee, actor=actor, **_new_member(data)))
                continue
            original = Membership.objects.get(pk=f.instance.pk)
            if "role" in f.changed_data:
                change_member_role(
                    membership=original, category=original.category, role=data["role"], actor=actor
                )
            if "term_end" in f.changed_data and data.get("term_end"):
                end_membership(membership=original, term_end=data["term_end"], actor=actor)
            formset.changed_objects.append((original, f.changed_data))

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        committee = form.instance
        issues = composition_issues(committee)
        if issues:
            messages.warning(
                request,
                gettext("Check the committee's composition: %(issues)s")
                % {"issues": " ".join(i["message"] for i in issues)},
            )


from .admin_meetings import ActionItemAdmin, MeetingAdmin  # noqa: E402, F401  (registers meetings)
from .admin_projects import DisclosureAdmin, ProjectAdmin  # noqa: E402, F401  (registers projects)
from .admin_proposals import ProposalAdmin  # noqa: E402, F401  (registers the proposal admin)
from .admin_topics import TopicAdmin  # noqa: E402, F401  (registers the topics' moderation)
