"""Coordination meetings and action items in the admin (docs/coordination.md). Thin: every write goes through
governance.meetings, and a refusal is shown on the form it came from with nothing changed (each form runs
its service once as a trial, rolled back, before the admin saves anything).

- A meeting's page: its details and minutes, inline agenda, decisions and opinions (new rows only: what was
  recorded stays), its action items per decision with a link to add one, and "approve and publish the
  minutes". Once published (or cancelled) the page is read-only.
- An action item's page: its record, escalations and progress notes; a new note (with a status, or for staff
  a new due date) is added inline.
- The overdue-items board (`actionitem/overdue/`): the overdue items of the areas the user sees, by level
  (city first), oldest first, and the user's calendar feed addresses.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminDateWidget
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from charity.admin_base import ROLE, ScopedAdminMixin, has_role
from charity.errors import DomainError
from charity.models import Organization, Person, StaffAssignment

from . import meeting_selectors as selectors
from . import services
from .admin_steps import admin_actor as _actor
from .admin_steps import table as _table
from .admin_steps import trial as _trial
from .models import ActionItem, ActionProgress, AgendaItem, Decision, Meeting, MeetingOpinion
from .views_meetings import calendar_path

MS = Meeting.Status
CLOSED_MEETING = (MS.PUBLISHED, MS.CANCELLED)


def _new_rows_checked(formset, obj, add, field_names=None):
    """`formset` whose new rows on `obj` are each checked by a trial run of `add(cleaned_data)` (rolled
    back): a refusal is shown on the row, with nothing saved."""

    class Checked(formset):
        def clean(self):
            super().clean()
            if obj is None:
                return
            for form in self.forms:
                if form.instance.pk is None and form.has_changed() and form.is_valid():
                    _trial(form, lambda f=form: add(f.cleaned_data), field_names)

    return Checked


def _limit_people_and_organizations(field, db_field, request):
    """Organisations and people a meeting of the user's areas may name: in them, or based above them."""
    if field is None:
        return field
    scope = ScopedAdminMixin().scope(request, ROLE.STAFF)
    model = db_field.related_model
    if model is Organization:
        field.queryset = selectors.reachable_organizations_for_scope(scope).order_by("name")
    elif model is Person:
        field.queryset = selectors.reachable_people_for_scope(scope).order_by("name", "id")
    return field


# --- meetings ----------------------------------------------------------------------------------------------


DETAIL_FIELDS = ["area", "kind", "title", "starts_at", "place", "convenor_organization", "convenor_person"]
PEOPLE_FIELDS = ["participant_organizations", "participant_people"]
MINUTES_FIELDS = ["minutes", "public_minutes"]


class MeetingForm(forms.ModelForm):
    publish = forms.BooleanField(
        label=_("approve and publish the minutes"),
        required=False,
        help_text=_(
            "The minutes for publication, the decisions and the opinions appear on the portal, and are never "
            "changed afterwards."
        ),
    )

    class Meta:
        model = Meeting
        fields = [*DETAIL_FIELDS, *PEOPLE_FIELDS, *MINUTES_FIELDS]

    request = None

    def details(self) -> dict:
        data = self.cleaned_data
        return {
            **{f: data.get(f) for f in DETAIL_FIELDS if f in self.fields and f != "area"},
            "participant_organizations": list(data.get("participant_organizations") or ()),
            "participant_people": list(data.get("participant_people") or ()),
        }

    def minutes_changed(self) -> bool:
        return any(f in self.changed_data for f in MINUTES_FIELDS)

    def save_through_services(self, actor, *, publish_now: bool) -> Meeting:
        """Create or change the meeting through the services (the trial run and the real one)."""
        data = self.cleaned_data
        if self.instance.pk is None:
            return services.create_meeting(area=data["area"], actor=actor, **self.details())
        meeting = services.update_meeting(meeting=self.instance, actor=actor, **self.details())
        if self.minutes_changed():
            meeting = services.record_minutes(
                meeting=meeting,
                minutes=data.get("minutes") or "",
                public_minutes=data.get("public_minutes") or "",
                actor=actor,
            )
        if publish_now and data.get("publish"):
            meeting = services.publish_minutes(meeting=meeting, actor=actor)
        return meeting

    def _post_clean(self):
        # The services check everything (and say which field is wrong and why); no model validation.
        if self.errors or self.request is None:
            return
        _trial(self, lambda: self.save_through_services(_actor(self.request), publish_now=True))


class _NewRowsOnlyInline(admin.TabularInline):
    """Rows recorded stay as they were: new ones are added (through a service), none changed or deleted."""

    extra = 1
    can_delete = False
    service_fields: dict = {}

    def has_view_permission(self, request, obj=None):
        return has_role(request.user, ROLE.VIEWER)

    def has_add_permission(self, request, obj=None):
        return obj is not None and obj.status not in CLOSED_MEETING and has_role(request.user, ROLE.STAFF)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return _limit_people_and_organizations(field, db_field, request)

    def get_formset(self, request, obj=None, **kwargs):
        return _new_rows_checked(
            super().get_formset(request, obj, **kwargs),
            obj,
            lambda data: self.add(obj, data, _actor(request)),
        )

    def add(self, meeting, data, actor):
        raise NotImplementedError


class AgendaInline(_NewRowsOnlyInline):
    model = AgendaItem
    fields = ["position", "title", "notes", "source", "action_item"]
    readonly_fields = ["position", "source", "action_item"]
    verbose_name_plural = _("agenda (open action items come first, by themselves)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("action_item")

    def add(self, meeting, data, actor):
        return services.add_agenda_item(
            meeting=meeting, title=data["title"], notes=data["notes"], actor=actor
        )


class DecisionInline(_NewRowsOnlyInline):
    model = Decision
    fields = ["position", "text"]
    readonly_fields = ["position"]
    verbose_name_plural = _("decisions (published with the minutes)")

    def add(self, meeting, data, actor):
        return services.record_decision(meeting=meeting, text=data["text"], actor=actor)


class OpinionInline(_NewRowsOnlyInline):
    model = MeetingOpinion
    fields = ["speaker_person", "speaker_organization", "text"]
    verbose_name_plural = _("supervisors' opinions, verbatim")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("speaker_person", "speaker_organization")

    def add(self, meeting, data, actor):
        return services.record_meeting_opinion(
            meeting=meeting,
            text=data["text"],
            speaker_person=data.get("speaker_person"),
            speaker_organization=data.get("speaker_organization"),
            actor=actor,
        )


@admin.register(Meeting)
class MeetingAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_area_field = "area"
    form = MeetingForm
    list_display = ["title", "area", "level", "kind", "starts_at", "status"]
    list_filter = ["status", "kind", "area__level"]
    list_select_related = ["area"]
    search_fields = ["title"]
    date_hierarchy = "starts_at"
    filter_horizontal = PEOPLE_FIELDS
    actions = ["cancel_meetings"]

    def get_fieldsets(self, request, obj=None):
        details = [*DETAIL_FIELDS, *PEOPLE_FIELDS]
        if obj is None:
            return [(None, {"fields": details})]
        record = ["status", "minutes_approved_at", *MINUTES_FIELDS]
        if obj.status not in CLOSED_MEETING and self._allowed(request, obj, ROLE.STAFF):
            record.append("publish")
        return [
            (None, {"fields": details}),
            (_("Minutes"), {"fields": record}),
            (_("What follows each decision up"), {"fields": ["action_items_table"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        fixed = ["area", "status", "minutes_approved_at", "action_items_table"]
        if obj.status in CLOSED_MEETING:
            return [*fixed, *DETAIL_FIELDS, *PEOPLE_FIELDS, *MINUTES_FIELDS]
        return fixed

    def get_inlines(self, request, obj):
        return [] if obj is None else [AgendaInline, DecisionInline, OpinionInline]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status in CLOSED_MEETING:
            return False  # the record of a published or cancelled meeting is read, never changed
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return _limit_people_and_organizations(field, db_field, request)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        return _limit_people_and_organizations(field, db_field, request)

    @admin.display(description=_("level"), ordering="area__level")
    def level(self, obj):
        return obj.area.get_level_display()

    @admin.display(description=_("action items"))
    def action_items_table(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        decisions = obj.decisions.prefetch_related(
            "action_items__area", "action_items__owner_organization", "action_items__owner_person"
        )
        parts = []
        can_add = obj.status != MS.CANCELLED
        add_url = reverse("admin:governance_actionitem_add")
        for n, decision in enumerate(decisions, start=1):
            rows = [
                (
                    format_html(
                        '<a href="{}">{}</a>',
                        reverse("admin:governance_actionitem_change", args=[item.pk]),
                        item.title,
                    ),
                    item.owner_organization or item.owner_person or "—",
                    f"{item.due_on:%Y-%m-%d}",
                    item.get_status_display(),
                    item.area.name,
                )
                for item in decision.action_items.all()
            ]
            add = (
                format_html(
                    '<a class="addlink" href="{}?decision={}">{}</a>', add_url, decision.pk, gettext("add")
                )
                if can_add
                else ""
            )
            table = _table(
                [
                    gettext("action item"),
                    gettext("owner"),
                    gettext("due"),
                    gettext("status"),
                    gettext("chased at"),
                ],
                rows,
            )
            parts.append(format_html("<p><strong>{}.</strong> {} {}</p>{}", n, decision.text, add, table))
        if not parts:
            return gettext("Record the meeting's decisions first; then add what follows each up.")
        return format_html_join("", "{}", ((p,) for p in parts))

    # --- saving: through the services ---------------------------------------------------------------------

    def save_form(self, request, form, change):
        return form.instance

    def save_model(self, request, obj, form, change):
        saved = form.save_through_services(_actor(request), publish_now=False)
        obj.pk = saved.pk
        obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        inline = next(
            i for i in self.get_inline_instances(request, form.instance) if i.model is formset.model
        )
        actor = _actor(request)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for f in formset.forms:
            if f.instance.pk is None and f.has_changed():
                formset.new_objects.append(inline.add(form.instance, f.cleaned_data, actor))

    def save_related(self, request, form, formsets, change):
        for formset in formsets:
            self.save_formset(request, form, formset, change)
        if change and form.cleaned_data.get("publish"):
            services.publish_minutes(meeting=form.instance, actor=_actor(request))
            self.message_user(request, gettext("The minutes are approved and published on the portal."))

    @admin.action(description=_("Cancel the selected planned meetings"), permissions=["change"])
    def cancel_meetings(self, request, queryset):
        done = 0
        for meeting in queryset:
            try:
                services.cancel_meeting(meeting=meeting, actor=_actor(request))
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{meeting}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, gettext("%(n)d meeting(s) cancelled.") % {"n": done})


# --- action items ------------------------------------------------------------------------------------------


class ActionItemForm(forms.ModelForm):
    class Meta:
        model = ActionItem
        fields = ["decision", "title", "description", "owner_person", "owner_organization", "due_on"]
        widgets = {"due_on": AdminDateWidget}

    request = None

    def arguments(self) -> dict:
        return {f: self.cleaned_data.get(f) for f in self.Meta.fields}

    def _post_clean(self):
        if self.errors or self.request is None or self.instance.pk is not None:
            return
        _trial(
            self,
            lambda: services.create_action_item(actor=_actor(self.request), **self.arguments()),
            {"owner": "owner_organization"},
        )


class ProgressForm(forms.ModelForm):
    new_due_on = forms.DateField(
        label=_("new due date"),
        required=False,
        widget=AdminDateWidget,
        help_text=_("Staff only; say why in the note."),
    )

    class Meta:
        model = ActionProgress
        fields = ["noted_on", "note", "to_status"]
        widgets = {"noted_on": AdminDateWidget}


class ProgressInline(admin.TabularInline):
    model = ActionProgress
    form = ProgressForm
    fields = ["noted_on", "note", "to_status", "new_due_on", "by_user", "by_organization"]
    readonly_fields = ["by_user", "by_organization"]
    extra = 1
    can_delete = False
    verbose_name_plural = _("progress notes (add one; what was noted stays)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by_user", "by_organization")

    @admin.display(description=_("new due date"))
    def new_due_on(self, obj):
        return "—"  # a recorded note shows no form field: a due date it moved is in the audit log

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields

    def get_fields(self, request, obj=None):
        return self.fields

    def has_view_permission(self, request, obj=None):
        return has_role(request.user, ROLE.VIEWER)

    def has_add_permission(self, request, obj=None):
        return (
            obj is not None
            and obj.status in ActionItem.OPEN_STATUSES
            and ScopedAdminMixin().scope(request, ROLE.STAFF).contains(obj.area)
        )

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_formset(self, request, obj=None, **kwargs):
        return _new_rows_checked(
            super().get_formset(request, obj, **kwargs),
            obj,
            lambda data: record_progress(obj, data, _actor(request)),
            {"status": "to_status", "due_on": "new_due_on"},
        )


def record_progress(item, data, actor):
    return services.update_action_item(
        item=item,
        note=data.get("note") or "",
        status=data.get("to_status") or "",
        noted_on=data.get("noted_on"),
        due_on=data.get("new_due_on"),
        actor=actor,
    )


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("overdue (open, past the due date)"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status__in=ActionItem.OPEN_STATUSES, due_on__lt=timezone.localdate())
        return queryset


ITEM_RECORD_FIELDS = [
    "meeting",
    "decision",
    "title",
    "description",
    "owner_person",
    "owner_organization",
    "area",
    "due_on",
    "status",
    "overdue_since",
    "escalations",
    "escalation_table",
    "created_at",
    "closed_at",
]


@admin.register(ActionItem)
class ActionItemAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_area_field = "area"
    form = ActionItemForm
    change_list_template = "admin/governance/actionitem/change_list.html"
    list_display = ["title", "area", "meeting", "owner", "due_on", "status", "overdue", "escalations"]
    list_filter = ["status", OverdueFilter, "area__level"]
    list_select_related = ["area", "decision__meeting", "owner_person", "owner_organization"]
    search_fields = ["title"]

    def get_queryset(self, request):
        # Chased in the user's areas, or decided by a meeting there (an escalated item stays readable below).
        queryset = admin.ModelAdmin.get_queryset(self, request)
        return queryset.filter(selectors.in_scope_q(self.scope(request)))

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return has_role(request.user, ROLE.VIEWER)
        scope = self.scope(request)
        return scope.contains(obj.area) or scope.contains(obj.decision.meeting.area)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status not in ActionItem.OPEN_STATUSES:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        return ActionItemForm.Meta.fields if obj is None else ITEM_RECORD_FIELDS

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ITEM_RECORD_FIELDS

    def get_inlines(self, request, obj):
        return [] if obj is None else [ProgressInline]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and db_field.name == "decision":
            scope = self.scope(request, ROLE.STAFF)
            field.queryset = scope.filter(
                Decision.objects.exclude(meeting__status=MS.CANCELLED).select_related("meeting"),
                "meeting__area",
            )
            field.label_from_instance = lambda d: f"{d.meeting.title} · {d.text[:60]}"
        return _limit_people_and_organizations(field, db_field, request)

    @admin.display(description=_("meeting"), ordering="decision__meeting__starts_at")
    def meeting(self, obj):
        return obj.decision.meeting

    @admin.display(description=_("owner"))
    def owner(self, obj):
        return obj.owner_organization or obj.owner_person

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, obj):
        return selectors.is_overdue(obj)

    @admin.display(description=_("escalations"))
    def escalation_table(self, obj):
        rows = [
            (
                f"{timezone.localtime(e.escalated_at):%Y-%m-%d}",
                e.from_area.name,
                e.to_area.name,
                e.overdue_days,
            )
            for e in obj.escalation_log.select_related("from_area", "to_area")
        ]
        return _table([gettext("when"), gettext("from"), gettext("to"), gettext("days overdue")], rows)

    # --- saving: through the services ---------------------------------------------------------------------

    def save_form(self, request, form, change):
        return form.instance

    def save_model(self, request, obj, form, change):
        if change:
            return  # the record is read-only: progress is added inline
        created = services.create_action_item(actor=_actor(request), **form.arguments())
        obj.pk = created.pk
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        actor = _actor(request)
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            for f in formset.forms:
                if f.instance.pk is None and f.has_changed():
                    formset.new_objects.append(record_progress(form.instance, f.cleaned_data, actor))

    # --- the overdue-items board --------------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "overdue/",
                self.admin_site.admin_view(self.overdue_board_view),
                name="governance_actionitem_overdue",
            ),
            *super().get_urls(),
        ]

    def overdue_board_view(self, request):
        """The overdue items of the areas the user sees, by level (city first), oldest first."""
        if not has_role(request.user, ROLE.VIEWER):
            raise Http404
        scope = self.scope(request)
        groups = selectors.overdue_board(scope)
        feeds = [
            (a.area, request.build_absolute_uri(calendar_path(request.user, a.area)))
            for a in StaffAssignment.objects.filter(user=request.user)
            .select_related("area")
            .order_by("area__path")
        ]
        return TemplateResponse(
            request,
            "admin/governance/actionitem/overdue_board.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": gettext("Overdue action items"),
                "groups": groups,
                "total": sum(len(items) for _level, _label, items in groups),
                "feeds": feeds,
                "escalate_days": settings.ACTION_ITEM_ESCALATE_DAYS,
            },
        )
