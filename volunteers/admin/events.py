"""Events in the admin: series, events with their volunteer roles, sign-up lists with the waiting list in
order, the check-in desk and the printable QR poster. Nothing is saved here: every write goes through
volunteers.services (events).

- An event's page edits it (save_event), its volunteer roles inline (save_role / remove_role) and records the
  accident insurance of a risky event (record_insurance, when the insurance field is filled in). Its links
  open the sign-up list, the check-in desk and the QR poster.
- Sign-ups: participants, volunteers by role, the waiting list in arrival order with each person's place in
  line; "add" signs a resident up at the desk (sign_up, the same rules as the portal); actions cancel,
  check in and check out.
- The check-in desk is one page per event made for a tablet: a big button per person to check in or out.
- The poster is a page to print: the event and a QR code of its signed self-check-in link (volunteers.qr).
- "Cancel the selected events" asks for the reason the people who signed up are told.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from charity.admin import ServiceAdminMixin, ServiceFormMixin, admin_actor
from charity.admin_base import ROLE, ScopedAdminMixin
from charity.errors import DomainError
from charity.models import Area
from governance.models import Project

from .. import qr, services
from ..models import Event, EventSeries, Signup, VolunteerRole
from ..services.events import EVENT_FIELDS, HOLDING

STATUS = Signup.Status


def _refusal(request, exc: DomainError):
    if exc.status == 404:
        raise Http404
    if exc.status == 403:
        raise PermissionDenied
    messages.error(request, str(exc.message))


class ConstraintsInService:
    """Leave the table's CHECK constraints to the service, which names the field and says why."""

    def _post_clean(self):
        instance = self.instance
        full_clean = instance.full_clean
        instance.full_clean = lambda *a, **k: full_clean(*a, **k, validate_constraints=False)
        try:
            super()._post_clean()
        finally:
            del instance.full_clean


# --- series --------------------------------------------------------------------------------------------


class SeriesForm(ConstraintsInService, ServiceFormMixin, forms.ModelForm):
    class Meta:
        model = EventSeries
        fields = ["community", "organizer", "name", "description"]


@admin.register(EventSeries)
class EventSeriesAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    form = SeriesForm
    scope_area_field = "community"
    list_display = ["name", "community", "organizer", "event_count"]
    list_filter = [("community", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["community", "organizer"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_events=Count("events"))

    @admin.display(description=_("events"), ordering="n_events")
    def event_count(self, obj):
        return obj.n_events

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "community" and field is not None:
            field.queryset = field.queryset.filter(level=Area.Level.COMMUNITY)
        return field

    def has_delete_permission(self, request, obj=None):
        return False  # events point at it; a series is renamed, never deleted

    def write(self, request, obj, form):
        services.save_series(series=obj, actor=admin_actor(request))


# --- events and their volunteer roles ------------------------------------------------------------------


class EventForm(ConstraintsInService, ServiceFormMixin, forms.ModelForm):
    record_insurance = forms.CharField(
        label=_("record accident insurance (insurer, policy number)"),
        required=False,
        max_length=500,
        help_text=_("A risky event takes volunteers once its insurance is recorded here."),
    )

    class Meta:
        model = Event
        fields = list(EVENT_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("description", "risk_notice", "title", "place"):
            if name in self.fields:
                self.fields[name].max_length = None
                self.fields[name].widget.attrs.pop("maxlength", None)
                self.fields[name].validators = []
        for name in ("signup_deadline", "cancellation_cutoff"):
            if name in self.fields:
                self.fields[name].required = False
                self.fields[name].help_text = _("Empty: when the event starts.")


class RoleForm(ConstraintsInService, forms.ModelForm):
    class Meta:
        model = VolunteerRole
        fields = ["name", "description", "capacity"]

    def clean(self):
        data = super().clean()
        # The places a smaller capacity would take away from people already holding them: said here, on the
        # row, rather than after the event was saved.
        if self.instance.pk and data.get("capacity") is not None:
            held = Signup.objects.filter(role=self.instance, status__in=HOLDING).count()
            if data["capacity"] < held:
                self.add_error(
                    "capacity",
                    gettext("%(held)d places are already taken: the capacity cannot be less.")
                    % {"held": held},
                )
        if self.instance.pk and data.get("DELETE") and Signup.objects.filter(role=self.instance).exists():
            raise forms.ValidationError(
                gettext("Volunteers have signed up for this role: it cannot be removed.")
            )
        return data


class RoleInline(admin.TabularInline):
    model = VolunteerRole
    form = RoleForm
    extra = 1
    fields = ["name", "description", "capacity", "taken_display"]
    readonly_fields = ["taken_display"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_taken=Count("signups", filter=Q(signups__status__in=HOLDING)),
                n_waiting=Count("signups", filter=Q(signups__status=STATUS.WAITING)),
            )
        )

    @admin.display(description=_("taken / waiting"))
    def taken_display(self, obj):
        if obj.pk is None:
            return ""
        return f"{getattr(obj, 'n_taken', 0)} / {getattr(obj, 'n_waiting', 0)}"

    def has_add_permission(self, request, obj=None):
        return self.model_admin_allows(request, obj)

    def has_change_permission(self, request, obj=None):
        return self.model_admin_allows(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.model_admin_allows(request, obj)

    def has_view_permission(self, request, obj=None):
        return True  # the event admin decided who sees the event

    def model_admin_allows(self, request, obj):
        return self.admin_site._registry[Event].has_change_permission(request, obj)


class SignupFormSet(forms.BaseInlineFormSet):
    """Read-only rows; the hidden id of each offers only this event's sign-ups (Django's offers every one)."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "id" in form.fields:
            form.fields["id"].queryset = Signup.objects.filter(event_id=self.instance.pk or 0)


class SignupInline(admin.TabularInline):
    """The event's sign-up list on its page: participants, then each role; confirmed, offered, waiting."""

    model = Signup
    formset = SignupFormSet
    extra = 0
    can_delete = False
    fields = [
        "person",
        "role",
        "status",
        "position_display",
        "offer_expires_at",
        "checked_in_at",
        "checked_out_at",
    ]
    readonly_fields = fields
    verbose_name_plural = _("sign-ups (the waiting list in order)")

    def get_queryset(self, request):
        return _ordered(services.with_waiting_position(super().get_queryset(request))).select_related(
            "event", "person", "role__event"
        )

    @admin.display(description=_("place in line"))
    def position_display(self, obj):
        return obj.position if obj.status == STATUS.WAITING else ""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True


def _ordered(queryset):
    """Participants first, then roles; in each, places held, offered, waiting (in arrival order), the rest."""
    rank = Case(
        When(status=STATUS.CONFIRMED, then=Value(0)),
        When(status=STATUS.OFFERED, then=Value(1)),
        When(status=STATUS.WAITING, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    return queryset.annotate(status_rank=rank).order_by("event_id", "slot", "status_rank", "pk")


class CancelEventsForm(forms.Form):
    reason = forms.CharField(
        label=_("reason (the people who signed up are told)"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@admin.register(Event)
class EventAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    form = EventForm
    inlines = [RoleInline, SignupInline]
    scope_area_field = "community"
    list_display = [
        "title",
        "starts_at",
        "kind",
        "series",
        "community",
        "places_display",
        "status",
        "risk_display",
    ]
    list_filter = ["status", "kind", "is_risky", ("series", admin.RelatedOnlyFieldListFilter), "starts_at"]
    list_select_related = ["community", "series"]
    search_fields = ["title", "place"]
    date_hierarchy = "starts_at"
    ordering = ["-starts_at", "-id"]
    actions = ["cancel_events"]
    readonly_fields = ["status", "insurance_note", "insurance_recorded_at", "links"]

    def get_queryset(self, request):
        return services.with_places(super().get_queryset(request))

    def get_fields(self, request, obj=None):
        fields = [*EVENT_FIELDS]
        if obj is None:
            return fields
        return [*fields, "record_insurance", *self.readonly_fields]

    @admin.display(description=_("places taken / waiting"))
    def places_display(self, obj):
        return f"{obj.taken}/{obj.capacity} · {obj.waiting}"

    @admin.display(description=_("risky, insured"))
    def risk_display(self, obj):
        if not obj.is_risky:
            return "—"
        return gettext("insured") if obj.insurance_recorded_at else gettext("not insured yet")

    @admin.display(description=_("sign-ups and check-in"))
    def links(self, obj):
        if obj.pk is None:
            return ""
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a> · <a href="{}" target="_blank">{}</a>',
            reverse("admin:volunteers_signup_changelist") + f"?event__id__exact={obj.pk}",
            gettext("sign-up list"),
            reverse("admin:volunteers_event_desk", args=[obj.pk]),
            gettext("check-in desk"),
            reverse("admin:volunteers_event_poster", args=[obj.pk]),
            gettext("QR poster to print"),
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is None:
            return field
        scope = self.scope(request, self.change_role)
        if db_field.name == "community":
            field.queryset = field.queryset.filter(level=Area.Level.COMMUNITY)
        elif db_field.name == "series":
            field.queryset = scope.filter(EventSeries.objects.all(), "community")
        elif db_field.name == "project":
            field.queryset = scope.filter(
                Project.objects.exclude(status=Project.Status.CANCELLED), "community"
            )
        return field

    def has_delete_permission(self, request, obj=None):
        return False  # cancelled, never deleted: sign-ups and hours point at it

    def write(self, request, obj, form):
        actor = admin_actor(request)
        services.save_event(event=obj, actor=actor)
        note = (form.cleaned_data.get("record_insurance") or "").strip()
        if note:
            services.record_insurance(event=obj, note=note, actor=actor)

    def save_formset(self, request, form, formset, change):
        # What the admin's change message reads; the services below write (and audit) the rows.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if formset.model is not VolunteerRole:
            return
        actor = admin_actor(request)
        for row in formset.forms:
            if not hasattr(row, "cleaned_data") or not row.cleaned_data:
                continue
            role = row.instance
            try:
                if row.cleaned_data.get("DELETE"):
                    if role.pk:
                        services.remove_role(role=role, actor=actor)
                elif row.has_changed() or role.pk is None:
                    role.event = form.instance
                    services.save_role(role=role, actor=actor)
            except DomainError as exc:
                messages.error(request, f"{role.name}: {exc.message}")

    @admin.action(
        description=_("Cancel the selected events (the people signed up are told)"), permissions=["change"]
    )
    def cancel_events(self, request, queryset):
        form = CancelEventsForm(request.POST if "reason" in request.POST else None)
        if form.is_bound and form.is_valid():
            actor = admin_actor(request)
            done = 0
            for event in queryset.select_related("community", "organizer"):
                try:
                    services.cancel_event(event=event, reason=form.cleaned_data["reason"], actor=actor)
                    done += 1
                except DomainError as exc:
                    messages.error(request, f"{event}: {exc.message}")
            if done:
                messages.success(request, gettext("%(n)d cancelled.") % {"n": done})
            return None
        return TemplateResponse(
            request,
            "admin/volunteers/checkin_cancel_events.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "events": queryset,
                "form": form,
                "action": "cancel_events",
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "title": gettext("Cancel events"),
            },
        )

    # --- the check-in desk and the poster --------------------------------------------------------------

    def get_urls(self):
        return [
            path("<int:pk>/desk/", self.admin_site.admin_view(self.desk_view), name="volunteers_event_desk"),
            path(
                "<int:pk>/poster/",
                self.admin_site.admin_view(self.poster_view),
                name="volunteers_event_poster",
            ),
            *super().get_urls(),
        ]

    def _event(self, request, pk) -> Event:
        event = (
            self.get_queryset(request)
            .select_related("community", "organizer", "series")
            .filter(pk=pk)
            .first()
        )
        if event is None:
            raise Http404
        return event

    def desk_view(self, request, pk):
        """One page per event for the desk: each person with a big check-in or check-out button."""
        event = self._event(request, pk)
        may_act = self._allowed(request, event, ROLE.STAFF)
        if request.method == "POST":
            if not may_act:
                raise PermissionDenied
            signup_id = request.POST.get("signup") or ""
            signup = (
                Signup.objects.filter(pk=int(signup_id), event=event).first()
                if signup_id.isdigit() and len(signup_id) < 19
                else None
            )
            if signup is None:
                raise Http404
            signup.event = event
            try:
                if request.POST.get("op") == "out":
                    done = services.check_out(signup=signup, actor=admin_actor(request))
                    if done.hours_error:
                        messages.warning(
                            request,
                            gettext("%(name)s checked out; no hours recorded: %(why)s")
                            % {"name": signup.person.name, "why": done.hours_error},
                        )
                    else:
                        messages.success(
                            request, gettext("%(name)s checked out.") % {"name": signup.person.name}
                        )
                else:
                    services.check_in(signup=signup, actor=admin_actor(request))
                    messages.success(request, gettext("%(name)s checked in.") % {"name": signup.person.name})
            except DomainError as exc:
                _refusal(request, exc)
            query = request.POST.get("q", "")
            url = reverse("admin:volunteers_event_desk", args=[event.pk])
            return redirect(f"{url}?q={query}" if query else url)
        query = (request.GET.get("q") or "").strip()[:50]
        rows = _ordered(
            services.with_waiting_position(Signup.objects.filter(event=event, status__in=Signup.ACTIVE))
        ).select_related("person", "role")
        if query:
            rows = rows.filter(Q(person__name__icontains=query) | Q(person__mobile__endswith=query))
        rows = list(rows[:1000])
        counts = Signup.objects.filter(event=event).aggregate(
            here=Count("pk", filter=Q(checked_in_at__isnull=False, checked_out_at__isnull=True)),
            left=Count("pk", filter=Q(checked_out_at__isnull=False)),
            expected=Count("pk", filter=Q(status=STATUS.CONFIRMED)),
        )
        return TemplateResponse(
            request,
            "admin/volunteers/checkin_desk.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "event": event,
                "rows": rows,
                "counts": counts,
                "query": query,
                "may_act": may_act,
                "title": gettext("Check-in desk"),
            },
        )

    def poster_view(self, request, pk):
        """A page to print and put up at the entrance: scanning its code opens the self-check-in page."""
        event = self._event(request, pk)
        url = request.build_absolute_uri(qr.check_in_path(event))
        return TemplateResponse(
            request,
            "admin/volunteers/checkin_poster.html",
            {
                "event": event,
                "qr": qr.qr_svg(url),
                "url": url,
                "expired": event.ends_at <= timezone.now(),
                "title": event.title,
            },
        )


# --- sign-ups ------------------------------------------------------------------------------------------


class SignupForm(ServiceFormMixin, forms.ModelForm):
    """Sign a resident up at the desk: the same rules as the portal (services.sign_up)."""

    class Meta:
        model = Signup
        fields = ["event", "person", "role", "participant_age", "guardian_name"]


class PlaceFilter(admin.SimpleListFilter):
    title = _("place")
    parameter_name = "place"

    def lookups(self, request, model_admin):
        return [
            ("participants", _("participants")),
            ("volunteers", _("volunteers")),
            ("waiting", _("waiting list")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "participants":
            return queryset.filter(role__isnull=True)
        if self.value() == "volunteers":
            return queryset.filter(role__isnull=False)
        if self.value() == "waiting":
            return queryset.filter(status=STATUS.WAITING)
        return queryset


@admin.register(Signup)
class SignupAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    form = SignupForm
    scope_area_field = "event__community"
    list_display = [
        "person",
        "event",
        "role",
        "status",
        "position_display",
        "offer_expires_at",
        "checked_in_at",
        "checked_out_at",
    ]
    list_filter = [PlaceFilter, "status", ("event", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["person", "event", "role__event"]
    search_fields = ["person__name", "event__title"]
    autocomplete_fields = ["person"]
    actions = ["cancel_signups", "check_in_signups", "check_out_signups"]

    def get_queryset(self, request):
        # Not ModelAdmin's: it orders by get_ordering() before the annotations ordering needs exist.
        return _ordered(services.with_waiting_position(self.scoped(Signup.objects.all(), request)))

    def get_ordering(self, request):
        return ["event_id", "slot", "status_rank", "pk"]

    @admin.display(description=_("place in line"))
    def position_display(self, obj):
        return obj.position if obj.status == STATUS.WAITING else ""

    def get_fields(self, request, obj=None):
        if obj is None:
            return SignupForm.Meta.fields
        return [*SignupForm.Meta.fields, "volunteer", "status", "created_at", "check_in_method"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return self.get_fields(request, obj)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # cancelled, never deleted

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is None:
            return field
        scope = self.scope(request, self.change_role)
        if db_field.name == "event":
            field.queryset = scope.filter(Event.objects.filter(status=Event.Status.PUBLISHED), "community")
        elif db_field.name == "role":
            field.queryset = scope.filter(VolunteerRole.objects.select_related("event"), "event__community")
        return field

    def write(self, request, obj, form):
        data = form.cleaned_data
        signup = services.sign_up(
            event=data["event"],
            person=data["person"],
            role=data.get("role"),
            participant_age=data.get("participant_age"),
            guardian_name=data.get("guardian_name") or "",
            actor=admin_actor(request),
        )
        obj.pk = signup.pk
        obj.status = signup.status

    def save_model(self, request, obj, form, change):
        self.write(request, obj, form)
        obj._state.adding = False

    def _each(self, request, queryset, call, done_message):
        actor = admin_actor(request)
        done = 0
        for signup in queryset.select_related("event__community", "person"):
            try:
                call(signup, actor)
                done += 1
            except DomainError as exc:
                messages.error(request, f"{signup.person.name}: {exc.message}")
        if done:
            messages.success(request, done_message % {"n": done})

    @admin.action(
        description=_("Cancel the selected sign-ups (places go to the waiting list)"), permissions=["change"]
    )
    def cancel_signups(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda s, a: services.cancel_signup(signup=s, actor=a),
            gettext("%(n)d cancelled."),
        )

    @admin.action(description=_("Check in the selected people"), permissions=["change"])
    def check_in_signups(self, request, queryset):
        self._each(
            request, queryset, lambda s, a: services.check_in(signup=s, actor=a), gettext("%(n)d checked in.")
        )

    @admin.action(description=_("Check out the selected people"), permissions=["change"])
    def check_out_signups(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda s, a: services.check_out(signup=s, actor=a),
            gettext("%(n)d checked out."),
        )
