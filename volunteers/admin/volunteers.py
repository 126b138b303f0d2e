"""Volunteers and community leaders in the admin. Nothing is saved here: every write goes through
volunteers.services (registration).

- Volunteers: the list and the change page never show the ID number. Staff holding
  `volunteers.view_sensitive_volunteer` open "show ID number" (a POST, audited) on the change page. "Add"
  registers through `register_volunteer` (the same checks as the portal). Rosters are imported from Excel
  or CSV: the dry run lists every refused row (a malformed ID number or a wrong check digit, an ID number
  twice in the file or already registered, a minor without a guardian) with the ID numbers masked. The export
  holds ID numbers only for those allowed to see them, names and mobiles only with
  charity.export_personal_data, and never a cell a spreadsheet would run as a formula.
- Community leaders: the list with "one brings many" numbers, and each leader's page ("leaders' reach":
  found → trained → responsibilities, the people they brought in and the hours those served, the events
  they organised). Responsibilities are recorded and ended on their own admin.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from import_export import fields, widgets

from charity import crypto
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
from charity.admin_export import may_export_personal_data
from charity.errors import DomainError
from charity.models import Area, AuditAction, Organization, Person
from charity.scoping import scope_for_user
from charity.services import record_audit, save_person
from charity.spreadsheet_columns import YesNoWidget, clean_cell
from charity.validators import mask_mobile, normalize_mobile
from resources.admin import ConstraintsInServiceMixin, parse_slots

from .. import selectors, services
from ..models import LeaderProfile, LeaderRole, Volunteer
from ..services.registration import check_id_number, may_see_id_numbers, volunteer_age

SENSITIVE_PERMISSION = "volunteers.view_sensitive_volunteer"
WEEKDAY_NAMES = ["一", "二", "三", "四", "五", "六", "日"]


def format_slots(volunteer: Volunteer) -> str:
    time = volunteer.offered_time
    if time is None:
        return ""
    return "\n".join(
        f"周{WEEKDAY_NAMES[s.weekday]} {s.start_time:%H:%M}-{s.end_time:%H:%M}" for s in time.slots.all()
    )


def _mask(number: str) -> str:
    return "*" * max(0, len(number) - 4) + number[-4:] if number else ""


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


# --- volunteers ----------------------------------------------------------------------------------------


class VolunteerAddForm(ConstraintsInServiceMixin, ServiceFormMixin, forms.ModelForm):
    """Register a resident as a volunteer: the same checks as the portal (register_volunteer)."""

    id_number = forms.CharField(
        label=_("ID number"),
        max_length=100,
        help_text=_("Stored encrypted; the list and this page never show it again."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    weekly_slots = forms.CharField(
        label=_("weekly availability"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One a line, like “周六 9:00-12:00”."),
    )
    guardian_consent = forms.BooleanField(
        label=_("the guardian consents"),
        required=False,
        help_text=_("Needed for a volunteer under the guardian-consent age."),
    )

    class Meta:
        model = Volunteer
        fields = [
            "person",
            "id_type",
            "birth_date",
            "skills",
            "teams",
            "guardian_name",
            "guardian_relation",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "birth_date" in self.fields:
            self.fields["birth_date"].required = False
            self.fields["birth_date"].help_text = _(
                "Only for an ID document other than a resident identity card (that one carries the date)."
            )
        if "skills" in self.fields:
            self.fields["skills"].max_length = None
            self.fields["skills"].widget.attrs.pop("maxlength", None)
            self.fields["skills"].validators = []

    def clean_weekly_slots(self):
        return parse_slots(self.cleaned_data.get("weekly_slots") or "")


class VolunteerChangeForm(ConstraintsInServiceMixin, ServiceFormMixin, forms.ModelForm):
    weekly_slots = VolunteerAddForm.base_fields["weekly_slots"]

    class Meta:
        model = Volunteer
        fields = ["skills", "teams"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "weekly_slots" in self.fields:
            self.fields["weekly_slots"].initial = format_slots(self.instance)
        if "skills" in self.fields:
            self.fields["skills"].max_length = None
            self.fields["skills"].widget.attrs.pop("maxlength", None)
            self.fields["skills"].validators = []

    def clean_weekly_slots(self):
        return parse_slots(self.cleaned_data.get("weekly_slots") or "")


class TeamsWidget(widgets.Widget):
    """A teams column: team names separated by 、 , ; or new lines, among the volunteer teams in scope."""

    def __init__(self, user=None):
        super().__init__()
        self.user = user

    def clean(self, value, row=None, **kwargs):
        text = clean_cell(value)
        if not text:
            return []
        names = [n.strip() for n in text.replace("、", ",").replace(";", ",").replace("\n", ",").split(",")]
        teams = []
        scope = scope_for_user(self.user, min_role=ROLE.VIEWER)
        for name in filter(None, names):
            found = list(
                scope.filter(
                    Organization.objects.filter(type=Organization.Type.VOLUNTEER_TEAM, name=name), "area"
                )[:2]
            )
            if len(found) != 1:
                raise ValueError(
                    gettext("No single volunteer team “%(v)s” in your areas.") % {"v": name[:50]}
                )
            teams.append(found[0])
        return teams

    def render(self, value, obj=None, **kwargs):
        return "、".join(t.name for t in value) if value else ""


class VolunteerResource(ScopedResource):
    """A roster: one volunteer a row, always new (a volunteer already registered is refused, as is an ID
    number that appears twice in the file). A resident not yet known is added with the name, mobile and
    community of the row. Each row goes through register_volunteer; the import is one more audit event."""

    number = fields.Field(attribute="number", column_name=_("volunteer number"), readonly=True)
    name = fields.Field(column_name=_("full name"))
    mobile = fields.Field(column_name=_("mobile number"))
    community = fields.Field(column_name=_("community"))
    id_type = column(Volunteer, "id_type")
    id_number = fields.Field(column_name=_("ID number"))
    birth_date = column(Volunteer, "birth_date", widget=widgets.DateWidget())
    skills = column(Volunteer, "skills")
    teams = fields.Field(column_name=_("volunteer teams"))
    availability = fields.Field(column_name=_("weekly availability"))
    guardian_name = column(Volunteer, "guardian_name")
    guardian_relation = column(Volunteer, "guardian_relation")
    guardian_consent = fields.Field(column_name=_("the guardian consents"), widget=YesNoWidget())
    status = column(Volunteer, "status", readonly=True)
    scope_area_field = "person__community"
    personal_fields = ("name", "mobile", "birth_date", "guardian_name", "guardian_relation")

    class Meta:
        model = Volunteer
        fields = (
            "id",
            "number",
            "name",
            "mobile",
            "community",
            "id_type",
            "id_number",
            "birth_date",
            "skills",
            "teams",
            "availability",
            "guardian_name",
            "guardian_relation",
            "guardian_consent",
            "status",
        )
        clean_model_instances = False
        skip_unchanged = False

    def __init__(self, user=None, **kwargs):
        super().__init__(user=user, **kwargs)
        self.fields["community"].widget = ScopedAreaWidget(user, level=Area.Level.COMMUNITY)
        self.fields["teams"].widget = TeamsWidget(user)
        self._seen: dict[str, int] = {}
        self._rows: dict[int, dict] = {}

    # --- export ---

    def get_queryset(self):
        return (
            selectors.with_details(super().get_queryset())
            .select_related("offered_time")
            .prefetch_related("offered_time__slots")
        )

    def may_see_id_numbers(self) -> bool:
        return self.user is not None and self.user.is_active and self.user.has_perm(SENSITIVE_PERMISSION)

    def get_export_fields(self, selected_fields=None):
        export_fields = super().get_export_fields(selected_fields)
        if self.may_see_id_numbers():
            return export_fields
        return [f for f in export_fields if f is not self.fields["id_number"]]

    def dehydrate_name(self, obj):
        return obj.person.name if obj.person_id else ""

    def dehydrate_mobile(self, obj):
        if not obj.person_id:
            return ""
        mobile = obj.person.mobile or ""
        return mobile if may_export_personal_data(self.user) else mask_mobile(mobile)

    def dehydrate_community(self, obj):
        return obj.person.community.name if obj.person_id else ""

    def dehydrate_id_number(self, obj):
        # Staff of the row's area with the permission only (the export drops the column for the rest);
        # the import's preview shows the last four characters.
        if not obj.id_ciphertext or getattr(self, "_importing", False):
            return _mask(self._rows.get(id(obj), {}).get("number", ""))
        if not (self.may_see_id_numbers() and may_see_id_numbers(self.user, obj.person.community)):
            return ""
        try:
            return crypto.decrypt(obj.id_ciphertext)
        except crypto.UnreadableError:
            return ""

    def dehydrate_teams(self, obj):
        return "、".join(t.name for t in obj.teams.all()) if obj.pk else ""

    def dehydrate_availability(self, obj):
        return format_slots(obj).replace("\n", "; ") if obj.pk else ""

    def dehydrate_guardian_consent(self, obj):
        return gettext("yes") if obj.guardian_consent_at else ""

    # --- import ---

    def get_user_visible_fields(self):
        return [
            f for f in super().get_user_visible_fields() if f.column_name != self.fields["status"].column_name
        ]

    def before_import(self, dataset, **kwargs):
        self._importing = True
        super().before_import(dataset, **kwargs)

    def _cell(self, row, name):
        return row.get(str(self.fields[name].column_name))

    def _clean(self, row, name, errors):
        try:
            return self.fields[name].clean(row)
        except (ValueError, ValidationError) as exc:
            errors[name] = [str(getattr(exc, "message", None) or exc.args[0] if exc.args else exc)]
            return None
        except KeyError:
            return None

    def before_import_row(self, row, **kwargs):
        """Read and check the row; the ID number in the row is masked at once, so no page shows it."""
        row_number = kwargs.get("row_number") or 0
        errors: dict[str, list[str]] = {}
        id_column = str(self.fields["id_number"].column_name)
        raw_number = clean_cell(row.get(id_column))
        if id_column in row:
            row[id_column] = _mask(raw_number)
        id_type = self._clean(row, "id_type", errors) or Volunteer.IdType.RESIDENT_ID
        number = ""
        try:
            number, _birth = check_id_number(id_type, raw_number)
        except DomainError as exc:
            errors["id_number"] = [str(exc.message)]
        if number:
            index = crypto.blind_index(number)
            if index in self._seen:
                errors["id_number"] = [
                    gettext("This ID number is also on row %(row)d of this file: a volunteer registers once.")
                    % {"row": self._seen[index]}
                ]
            else:
                self._seen[index] = row_number
        mobile_text = clean_cell(self._cell(row, "mobile")).removesuffix(".0")
        mobile = ""
        if not mobile_text:
            errors["mobile"] = [
                gettext("Enter the volunteer's mobile number: it finds or adds the resident.")
            ]
        else:
            try:
                mobile = normalize_mobile(mobile_text)
            except ValidationError as exc:
                errors["mobile"] = exc.messages
        community = self._clean(row, "community", errors)
        teams = self._clean(row, "teams", errors) or []
        availability = []
        try:
            availability = parse_slots(
                clean_cell(self._cell(row, "availability")).replace(";", "\n").replace("；", "\n")
            )
        except ValidationError as exc:
            errors["availability"] = exc.messages
        birth_date = self._clean(row, "birth_date", errors)
        consent = self._clean(row, "guardian_consent", errors)
        if errors:
            raise ValidationError(errors)
        self._pending = {
            "id_type": id_type,
            "number": number,
            "mobile": mobile,
            "name": clean_cell(self._cell(row, "name")),
            "community": community,
            "teams": teams,
            "availability": availability,
            "birth_date": birth_date,
            "skills": clean_cell(self._cell(row, "skills")),
            "guardian_name": clean_cell(self._cell(row, "guardian_name")),
            "guardian_relation": clean_cell(self._cell(row, "guardian_relation")),
            "guardian_consent": bool(consent),
        }

    def get_or_init_instance(self, instance_loader, row):
        return self.init_instance(row), True  # a roster only adds volunteers

    def import_instance(self, instance, row, **kwargs):
        self._rows[id(instance)] = self._pending

    def _person(self, data) -> Person:
        person = Person.objects.select_related("community").filter(mobile=data["mobile"]).first()
        scope = scope_for_user(self.user, min_role=ROLE.STAFF)
        if person is not None:
            if not scope.contains(person.community):
                raise ValidationError(
                    {
                        "mobile": gettext(
                            "This mobile number is registered outside the areas you manage: it cannot be "
                            "imported here."
                        )
                    }
                )
            return person
        if not data["name"]:
            raise ValidationError({"name": gettext("Enter the name of a resident not yet registered.")})
        if data["community"] is None:
            raise ValidationError(
                {"community": gettext("Enter the community of a resident not yet registered.")}
            )
        return save_person(
            person=Person(name=data["name"][:50], mobile=data["mobile"], community=data["community"]),
            actor=self.actor(),
            audited=False,
        )

    def save_through_service(self, instance):
        data = self._rows.get(id(instance)) or {}
        with transaction.atomic():
            person = self._person(data)
            volunteer = services.register_volunteer(
                person=person,
                id_type=data["id_type"],
                id_number=data["number"],
                birth_date=data["birth_date"],
                skills=data["skills"],
                teams=data["teams"],
                availability=data["availability"],
                guardian_name=data["guardian_name"],
                guardian_relation=data["guardian_relation"],
                guardian_consent=data["guardian_consent"],
                source=Volunteer.Source.IMPORT,
                actor=self.actor(),
            )
        instance.pk, instance.number, instance.person = volunteer.pk, volunteer.number, person
        instance.id_ciphertext, instance.status = volunteer.id_ciphertext, volunteer.status

    def do_instance_save(self, instance, is_create):
        try:
            self.save_through_service(instance)
        except DomainError as exc:
            field = exc.field if exc.field in self.fields else "__all__"
            raise ValidationError({field: [str(exc.message)]})

    def save_m2m(self, instance, row, **kwargs):
        pass  # the teams were set by register_volunteer

    def after_import(self, dataset, result, **kwargs):
        super(ScopedResource, self).after_import(dataset, result, **kwargs)
        self._importing = False
        if kwargs.get("dry_run"):
            return
        totals = {k: int(result.totals.get(k, 0)) for k in ("new", "update", "skip", "invalid", "error")}
        record_audit(
            actor=self.actor(),
            action=AuditAction.VOLUNTEERS_IMPORTED,
            summary=f"{kwargs.get('file_name') or ''}: +{totals['new']}"[:300],
            data={"file": kwargs.get("file_name") or "", **totals},
        )


class StatusFilter(admin.SimpleListFilter):
    title = _("age")
    parameter_name = "minor"

    def lookups(self, request, model_admin):
        return [("yes", _("registered with a guardian's consent"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(guardian_name="")
        return queryset


@admin.register(Volunteer)
class VolunteerAdmin(ServiceAdminMixin, ScopedImportExportAdmin):
    resource_classes = [VolunteerResource]
    scope_area_field = "person__community"
    list_display = ["number", "person", "community_display", "teams_display", "skills_short", "status"]
    list_filter = [
        "status",
        "id_type",
        StatusFilter,
        ("person__community", admin.RelatedOnlyFieldListFilter),
        ("teams", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["number", "person__name", "skills"]
    autocomplete_fields = ["person"]
    filter_horizontal = ["teams"]
    actions = ["suspend_volunteers", "reinstate_volunteers", "mark_left"]

    def get_queryset(self, request):
        return selectors.with_details(super().get_queryset(request))

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = VolunteerAddForm if obj is None else VolunteerChangeForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return [
                "person",
                "id_type",
                "id_number",
                "birth_date",
                "skills",
                "teams",
                "weekly_slots",
                "guardian_name",
                "guardian_relation",
                "guardian_consent",
            ]
        editable = ["skills", "teams", "weekly_slots"] if self.has_change_permission(request, obj) else []
        return [*self.get_readonly_fields(request, obj), *editable]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        shown = [
            "number",
            "person",
            "community_display",
            "id_type",
            "id_number_link"
            if may_see_id_numbers(request.user, obj.person.community)
            else "id_number_display",
            "birth_date",
            "age_display",
            "guardian_name",
            "guardian_relation",
            "guardian_consent_at",
            "status",
            "source",
            "registered_by",
            "registered_at",
            "offered_skill",
            "offered_time",
        ]
        if not self.has_change_permission(request, obj):
            shown += ["skills", "teams_display", "weekly_slots"]
        return shown

    def has_delete_permission(self, request, obj=None):
        return False  # a volunteer leaves; their hours and certificates keep pointing at them

    @admin.display(description=_("community"), ordering="person__community__name")
    def community_display(self, obj):
        return obj.person.community.name

    @admin.display(description=_("volunteer teams"))
    def teams_display(self, obj):
        return "、".join(t.name for t in obj.teams.all())

    @admin.display(description=_("skills"))
    def skills_short(self, obj):
        return obj.skills[:40]

    @admin.display(description=_("age"))
    def age_display(self, obj):
        return volunteer_age(obj)

    @admin.display(description=_("weekly availability"))
    def weekly_slots(self, obj):
        return format_slots(obj) if obj.pk else ""

    @admin.display(description=_("ID number"))
    def id_number_display(self, obj):
        if not obj.id_ciphertext:
            return gettext("erased at the volunteer's request")
        return gettext("hidden (encrypted)")

    @admin.display(description=_("ID number"))
    def id_number_link(self, obj):
        """For staff allowed to see ID numbers: the way to the audited page (never the number itself)."""
        if not obj.id_ciphertext:
            return gettext("erased at the volunteer's request")
        url = reverse("admin:volunteers_volunteer_id_number", args=[obj.pk])
        return format_html(
            '<a href="{}">{}</a> <span class="help">{}</span>',
            url,
            gettext("Show the ID number"),
            gettext("(recorded in the audit log)"),
        )

    @method_decorator(sensitive_post_parameters("id_number"))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    # --- actions ---

    def _staff_rows(self, request, queryset):
        return (
            self.scope(request, ROLE.STAFF)
            .filter(queryset, "person__community")
            .select_related("person", "person__community", "offered_skill", "offered_time")
        )

    def _set_status(self, request, queryset, status, done):
        if not has_role(request.user, ROLE.STAFF):
            return
        _each(
            request,
            self._staff_rows(request, queryset),
            lambda v, actor: services.set_volunteer_status(volunteer=v, status=status, actor=actor),
            done,
        )

    @admin.action(description=_("Suspend the selected volunteers"))
    def suspend_volunteers(self, request, queryset):
        self._set_status(request, queryset, Volunteer.Status.SUSPENDED, gettext("%(n)d suspended."))

    @admin.action(description=_("Reinstate the selected volunteers"))
    def reinstate_volunteers(self, request, queryset):
        self._set_status(request, queryset, Volunteer.Status.ACTIVE, gettext("%(n)d reinstated."))

    @admin.action(description=_("Record that the selected volunteers left"))
    def mark_left(self, request, queryset):
        self._set_status(request, queryset, Volunteer.Status.LEFT, gettext("%(n)d marked as left."))

    # --- writing ---

    def write(self, request, obj, form):
        data = form.cleaned_data
        actor = admin_actor(request)
        if obj.pk is None:
            volunteer = services.register_volunteer(
                person=data["person"],
                id_type=data["id_type"],
                id_number=data["id_number"],
                birth_date=data.get("birth_date"),
                skills=data.get("skills") or "",
                teams=list(data.get("teams") or ()),
                availability=data.get("weekly_slots") or (),
                guardian_name=data.get("guardian_name") or "",
                guardian_relation=data.get("guardian_relation") or "",
                guardian_consent=bool(data.get("guardian_consent")),
                source=Volunteer.Source.STAFF,
                actor=actor,
            )
            obj.pk, obj.number = volunteer.pk, volunteer.number
            return
        services.update_volunteer(
            volunteer=Volunteer.objects.select_related("person", "offered_skill", "offered_time").get(
                pk=obj.pk
            ),
            skills=data.get("skills"),
            teams=list(data.get("teams") or ()),
            availability=data.get("weekly_slots"),
            actor=actor,
        )

    def log_addition(self, request, obj, message):
        pass  # the service wrote the audit event; the admin's own log would repeat it

    def log_change(self, request, obj, message):
        pass

    # --- the audited ID number page ---

    def get_urls(self):
        return [
            path(
                "<int:pk>/id-number/",
                self.admin_site.admin_view(self.id_number_view),
                name="volunteers_volunteer_id_number",
            ),
            *super().get_urls(),
        ]

    def id_number_view(self, request, pk):
        """GET asks; POST shows the number once and writes the audit event (so no prefetch reveals it)."""
        volunteer = self.get_queryset(request).filter(pk=pk).first()
        if volunteer is None:
            raise Http404
        if not may_see_id_numbers(request.user, volunteer.person.community):
            raise PermissionDenied
        number = None
        if request.method == "POST":
            try:
                number = services.reveal_id_number(volunteer=volunteer, actor=admin_actor(request))
            except DomainError as exc:
                if exc.status == 404:
                    raise Http404 from None
                messages.error(request, str(exc.message))
        response = TemplateResponse(
            request,
            "admin/volunteers/volunteer/id_number.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "volunteer": volunteer,
                "id_number": number,
                "title": gettext("ID number of volunteer %(number)s") % {"number": volunteer.number},
            },
        )
        add_never_cache_headers(response)
        return response


# --- community leaders ---------------------------------------------------------------------------------


class LeaderProfileForm(ServiceFormMixin, forms.ModelForm):
    class Meta:
        model = LeaderProfile
        fields = ["person", "found_through", "found_note", "found_on"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "found_on" in self.fields:
            self.fields["found_on"].required = False


@admin.register(LeaderProfile)
class LeaderProfileAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Community leaders (社区能人) with "one brings many" numbers; each leader's page shows their path."""

    form = LeaderProfileForm
    scope_area_field = "person__community"
    list_display = [
        "person",
        "community_display",
        "found_through",
        "found_on",
        "role_count_display",
        "recruit_count_display",
        "recruit_hours_display",
        "reach_link",
    ]
    list_filter = ["found_through", ("person__community", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["person__name"]
    autocomplete_fields = ["person"]

    def get_queryset(self, request):
        return selectors.leaders_with_reach(super().get_queryset(request))

    def get_fields(self, request, obj=None):
        if obj is None:
            return LeaderProfileForm.Meta.fields
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["person", "found_through", "found_note", "found_on", "marked_by", "created_at", "reach_link"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("community"), ordering="person__community__name")
    def community_display(self, obj):
        return obj.person.community.name

    @admin.display(description=_("responsibilities"), ordering="role_count")
    def role_count_display(self, obj):
        return obj.role_count

    @admin.display(description=_("people brought in"), ordering="recruit_count")
    def recruit_count_display(self, obj):
        return obj.recruit_count

    @admin.display(description=_("hours they served"), ordering="recruit_minutes")
    def recruit_hours_display(self, obj):
        return f"{obj.recruit_minutes / 60:g}"

    @admin.display(description=_("leader's reach"))
    def reach_link(self, obj):
        url = reverse("admin:volunteers_leaderprofile_reach", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Path and reach"))

    def write(self, request, obj, form):
        data = form.cleaned_data
        profile = services.mark_leader(
            person=data["person"],
            found_through=data["found_through"],
            found_note=data.get("found_note") or "",
            found_on=data.get("found_on"),
            actor=admin_actor(request),
        )
        obj.pk = profile.pk

    def log_addition(self, request, obj, message):
        pass

    def get_urls(self):
        return [
            path(
                "<int:pk>/reach/",
                self.admin_site.admin_view(self.reach_view),
                name="volunteers_leaderprofile_reach",
            ),
            *super().get_urls(),
        ]

    def reach_view(self, request, pk):
        profile = self.get_queryset(request).filter(pk=pk).first()
        if profile is None or not self.has_view_permission(request, profile):
            raise Http404
        leader_path = selectors.leader_path(profile.person)
        return TemplateResponse(
            request,
            "admin/volunteers/leaderprofile/reach.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "profile": profile,
                "path": leader_path,
                "may_record": self.scope(request, ROLE.STAFF).contains(profile.person.community),
                "title": gettext("Leader's reach: %(name)s") % {"name": profile.person.name},
            },
        )


class LeaderRoleForm(ConstraintsInServiceMixin, ServiceFormMixin, forms.ModelForm):
    class Meta:
        model = LeaderRole
        fields = ["person", "kind", "organization", "event", "note", "started_on", "ended_on"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "started_on" in self.fields:
            self.fields["started_on"].required = False


class EndRoleForm(ServiceFormMixin, forms.ModelForm):
    class Meta:
        model = LeaderRole
        fields = ["ended_on"]


class OpenRoleFilter(admin.SimpleListFilter):
    title = _("ended")
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", _("still held")), ("no", _("ended"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(ended_on__isnull=True)
        if self.value() == "no":
            return queryset.filter(ended_on__isnull=False)
        return queryset


@admin.register(LeaderRole)
class LeaderRoleAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    scope_area_field = "person__community"
    list_display = ["person", "kind", "organization", "event", "started_on", "ended_on"]
    list_filter = ["kind", OpenRoleFilter, ("person__community", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["person", "organization", "event"]
    search_fields = ["person__name", "note"]
    autocomplete_fields = ["person"]
    actions = ["end_roles"]

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = LeaderRoleForm if obj is None else EndRoleForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return LeaderRoleForm.Meta.fields
        readonly = self.get_readonly_fields(request, obj)
        return readonly if "ended_on" in readonly else [*readonly, "ended_on"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        shown = ["person", "kind", "organization", "event", "note", "started_on", "recorded_by", "created_at"]
        if obj.ended_on is not None or not self.has_change_permission(request, obj):
            shown.append("ended_on")
        return shown

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "event" and field is not None:
            field.queryset = self.scope(request, ROLE.VIEWER).filter(field.queryset, "community")
        if db_field.name == "person" and field is not None:
            field.queryset = field.queryset.filter(leader_profile__isnull=False)
        return field

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("End the selected responsibilities today"))
    def end_roles(self, request, queryset):
        if not has_role(request.user, ROLE.STAFF):
            return
        _each(
            request,
            self.scope(request, ROLE.STAFF)
            .filter(queryset, "person__community")
            .filter(ended_on__isnull=True)
            .select_related("person", "person__community"),
            lambda role, actor: services.end_leader_role(role=role, actor=actor),
            gettext("%(n)d ended."),
        )

    def write(self, request, obj, form):
        data = form.cleaned_data
        actor = admin_actor(request)
        if obj.pk is None:
            role = services.record_leader_role(
                person=data["person"],
                kind=data["kind"],
                organization=data.get("organization"),
                event=data.get("event"),
                note=data.get("note") or "",
                started_on=data.get("started_on"),
                ended_on=data.get("ended_on"),
                actor=actor,
            )
            obj.pk = role.pk
            return
        ended_on = data.get("ended_on")
        if ended_on is None:
            raise DomainError(_("Enter the day the responsibility ended."), field="ended_on")
        current = LeaderRole.objects.select_related("person", "person__community").get(pk=obj.pk)
        services.end_leader_role(role=current, ended_on=ended_on, actor=actor)

    def log_addition(self, request, obj, message):
        pass

    def log_change(self, request, obj, message):
        pass
