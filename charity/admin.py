"""The core admin: areas, organisations, people, staff roles, API keys, the audit log, users.

Thin over charity.services (DESIGN.md §2): no core model is saved here. Each admin's `write()` calls the
services; its form runs `write()` once in a rolled-back savepoint while validating, so a refusal (a role
too low, an area outside the user's own, a level that does not fit) shows on the form, then save_model runs
it for real. Deleting goes through a service too. See docs/security.md for the decisions.
"""

import copy

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models as dj_models
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources, widgets
from import_export.admin import ImportExportModelAdmin
from rest_framework_api_key.models import APIKey
from treebeard.admin import TreeAdmin
from treebeard.forms import MoveNodeForm, movenodeform_factory

from . import spreadsheets
from .admin_accounts import set_password_urls
from .admin_base import ROLE, ScopedAdminMixin, ScopedReadOnlyAdmin, has_role
from .admin_export import FULL_MOBILE_PERMISSION, AuditedExportMixin, may_export_personal_data
from .audit_display import actor_name, describe, details
from .errors import DomainError, ForbiddenError, NotFoundError
from .logsafety import mask_mobiles
from .models import Area, AuditEvent, Category, Organization, OrganizationAPIKey, Person, StaffAssignment
from .scoping import scope_for_user
from .services import (
    Actor,
    create_api_key,
    delete_area,
    delete_organization,
    delete_person,
    grant_staff_role,
    move_area,
    record_import,
    record_permission_change,
    remove_staff_role,
    revoke_api_key,
    save_area,
    save_category,
    save_organization,
    save_person,
    set_served_areas,
)
from .spreadsheet_columns import ChoiceWidget, LabelledHeadersMixin, TextWidget, YesNoWidget
from .templatetags.admin_audit import admin_url, user_name
from .validators import mask_mobile, normalize_mobile

IMPORT_FORMATS = [spreadsheets.XLSX, spreadsheets.CSV]  # they refuse a sheet past IMPORT_MAX_ROWS


def admin_actor(request) -> Actor:
    return Actor.from_request(request, AuditEvent.Surface.ADMIN)


# --- writing through services ---------------------------------------------------------------------------


class _DryRun(Exception):
    pass


class ServiceFormMixin:
    """A ModelForm whose admin writes through services: validating runs the admin's `write()` on a copy of
    the instance inside a savepoint that is always rolled back, and shows a DomainError on the form."""

    request = None
    model_admin = None

    def _post_clean(self):
        super()._post_clean()
        if self.errors or self.request is None:
            return
        trial = copy.copy(self.instance)
        trial._state = copy.copy(self.instance._state)
        try:
            with transaction.atomic():
                self.model_admin.write(self.request, trial, self)
                raise _DryRun
        except _DryRun:
            pass
        except NotFoundError:  # something the user picked leads outside their areas (e.g. a parent's parent)
            self.add_error(None, gettext("This change reaches outside the areas you manage."))
        except DomainError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, str(exc.message))


class ServiceAdminMixin:
    """For a ModelAdmin whose form is a ServiceFormMixin: save and delete only through `write`/`remove`."""

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"request": request, "model_admin": self})

    def write(self, request, obj, form):
        raise NotImplementedError

    def remove(self, request, obj):
        raise NotImplementedError

    def save_form(self, request, form, change):
        return form.instance  # the form's values are on it already; nothing is written here

    def save_model(self, request, obj, form, change):
        self.write(request, obj, form)

    def save_related(self, request, form, formsets, change):
        for formset in formsets:  # many-to-many fields are the services' business (write)
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        try:
            self.remove(request, obj)
        except DomainError as exc:
            # Refused after the confirmation page (a race): undo the delete view's log entry too, and say why.
            if transaction.get_connection().in_atomic_block:
                transaction.set_rollback(True)
            request._delete_refused = True
            messages.error(request, str(exc.message))

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)
            if getattr(request, "_delete_refused", False):
                return

    def message_user(self, request, message, level=messages.INFO, *args, **kwargs):
        if level == messages.SUCCESS and getattr(request, "_delete_refused", False):
            return  # the bulk delete action's "successfully deleted" after a refusal
        return super().message_user(request, message, level, *args, **kwargs)

    def response_delete(self, request, obj_display, obj_id):
        if getattr(request, "_delete_refused", False):
            return redirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))
        return super().response_delete(request, obj_display, obj_id)


# --- import and export ----------------------------------------------------------------------------------


class ScopedAreaWidget(widgets.ForeignKeyWidget):
    """An area column in an import file: its id, division code or name, within the importer's areas."""

    def __init__(self, user=None, level=None):
        super().__init__(Area, "name")
        self.user, self.level = user, level

    def clean(self, value, row=None, **kwargs):
        value = str(value or "").strip()
        if not value:
            return None
        qs = (
            Area.objects.filter(scope_for_user(self.user, min_role=ROLE.STAFF).q())
            if self.user
            else Area.objects
        )
        if self.level:
            qs = qs.filter(level=self.level)
        if value.isdigit():
            found = list(qs.filter(division_code=value)[:2]) or list(qs.filter(pk=int(value))[:2])
        else:
            found = list(qs.filter(name=value)[:2])
        if not found:
            raise ValueError(gettext("No area “%(v)s” among the areas you manage.") % {"v": value})
        if len(found) > 1:
            raise ValueError(
                gettext("More than one area is called “%(v)s”: use its id instead.") % {"v": value}
            )
        return found[0]

    def render(self, value, obj=None, **kwargs):
        return value.name if value else ""


def column(model, name, **kwargs) -> fields.Field:
    """A spreadsheet column for a model field, headed by the field's label in the user's language: 是/否
    for a yes/no field, labels for a choice field (charity.spreadsheet_columns)."""
    field = model._meta.get_field(name)
    if "widget" not in kwargs:
        if isinstance(field, dj_models.BooleanField):
            kwargs["widget"] = YesNoWidget()
        elif field.choices:
            kwargs["widget"] = ChoiceWidget(field.choices)
        else:
            kwargs["widget"] = TextWidget()
    return fields.Field(attribute=name, column_name=field.verbose_name, **kwargs)


class ScopedResource(LabelledHeadersMixin, resources.ModelResource):
    """A resource bound to the user who imports or exports with it.

    Rows of a file are matched only among the rows the user may change (`get_queryset`, which the library's
    instance loader asks), so a row can never reach, reveal or rename a record outside their areas. The id
    column is exported but never imported. Saving goes through the model's service; the import as a whole
    is one audit event. `personal_fields` are exported only with charity.export_personal_data.
    """

    scope_area_field = "area"
    personal_fields: tuple[str, ...] = ()
    id = fields.Field(attribute="id", column_name=_("record number"), readonly=True)

    def __init__(self, user=None, **kwargs):
        super().__init__(**kwargs)
        self.user = user

    def get_queryset(self):
        scope = scope_for_user(self.user, min_role=ROLE.STAFF)
        return scope.filter(super().get_queryset(), self.scope_area_field)

    def get_user_visible_fields(self):
        # The import page lists the columns a file may hold: not the record number, which is never read.
        return [f for f in super().get_user_visible_fields() if not f.readonly]

    def get_export_fields(self, selected_fields=None):
        export_fields = super().get_export_fields(selected_fields)
        if may_export_personal_data(self.user):
            return export_fields
        personal = [self.fields[name] for name in self.personal_fields]
        return [f for f in export_fields if f not in personal]

    def actor(self) -> Actor:
        return Actor(surface=AuditEvent.Surface.ADMIN, user=self.user)

    def save_through_service(self, instance):
        raise NotImplementedError

    def do_instance_save(self, instance, is_create):
        try:
            self.save_through_service(instance)
        except DomainError as exc:
            raise ValidationError({exc.field or "__all__": [str(exc.message)]})

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        if not kwargs.get("dry_run"):
            record_import(
                actor=self.actor(),
                model=self._meta.model,
                totals=result.totals,
                file_name=kwargs.get("file_name") or "",
            )


class OrganizationResource(ScopedResource):
    name = column(Organization, "name")
    type = column(Organization, "type")
    area = column(Organization, "area")
    registration = column(Organization, "registration")
    credit_code = column(Organization, "credit_code")
    description = column(Organization, "description")
    contact_name = column(Organization, "contact_name")
    contact_phone = column(Organization, "contact_phone")
    personal_fields = ("contact_name", "contact_phone")

    class Meta:
        model = Organization
        fields = (
            "id",
            "name",
            "type",
            "area",
            "registration",
            "credit_code",
            "description",
            "contact_name",
            "contact_phone",
        )
        import_id_fields = ("name", "area")
        clean_model_instances = True
        skip_unchanged = True

    def __init__(self, user=None, **kwargs):
        super().__init__(user=user, **kwargs)
        self.fields["area"].widget = ScopedAreaWidget(user)

    def save_through_service(self, instance):
        save_organization(organization=instance, actor=self.actor(), audited=False)


class PersonResource(ScopedResource):
    name = column(Person, "name")
    mobile = column(Person, "mobile")
    community = column(Person, "community")
    is_leader = column(Person, "is_leader")
    scope_area_field = "community"

    class Meta:
        model = Person
        fields = ("id", "name", "mobile", "community", "is_leader")
        import_id_fields = ("mobile",)
        clean_model_instances = True
        skip_unchanged = True

    def __init__(self, user=None, **kwargs):
        super().__init__(user=user, **kwargs)
        self.fields["community"].widget = ScopedAreaWidget(user, level=Area.Level.COMMUNITY)

    def before_import_row(self, row, **kwargs):
        mobile = str(self.fields["mobile"].column_name)
        if row.get(mobile) not in (None, ""):
            try:
                row[mobile] = normalize_mobile(str(row[mobile]).removesuffix(".0"))
            except ValidationError as exc:
                raise ValidationError({"mobile": exc.messages})

    def after_init_instance(self, instance, new, row, **kwargs):
        # Not found among the importer's people, yet registered: someone outside their areas. Refused like
        # any invalid row, saying nothing of who it is or where (issue 7).
        mobile = row.get(str(self.fields["mobile"].column_name))
        if new and mobile and Person.objects.filter(mobile=mobile).exists():
            raise ValidationError(
                {
                    "mobile": gettext(
                        "This mobile number is already registered outside the areas you manage: it cannot "
                        "be imported here."
                    )
                }
            )

    def save_through_service(self, instance):
        save_person(person=instance, actor=self.actor(), audited=False)


class ScopedImportExportAdmin(
    AuditedExportMixin, ScopedAdminMixin, spreadsheets.SpreadsheetImportMixin, ImportExportModelAdmin
):
    formats = IMPORT_FORMATS

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "user": request.user}

    def get_export_resource_kwargs(self, request, **kwargs):
        return {**super().get_export_resource_kwargs(request, **kwargs), "user": request.user}


# --- areas ----------------------------------------------------------------------------------------------


class AreaForm(ServiceFormMixin, MoveNodeForm):
    """The area form: "relative to" offers the areas the user manages (and the area's own parent)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.request is None:
            return
        scope = scope_for_user(self.request.user, min_role=ROLE.MANAGER)
        if scope.everything:
            return
        field = self.fields["treebeard_ref_node"]
        parent = Area.objects.get_parent(self.instance) if self.instance.pk else None
        keep = scope.q() | Q(pk=parent.pk) if parent else scope.q()
        field.queryset = field.queryset.filter(keep)
        field.empty_label = None  # a root area is a superuser's to add
        field.required = True


@admin.register(Area)
class AreaAdmin(ServiceAdminMixin, ScopedAdminMixin, TreeAdmin):
    scope_area_field = ""
    change_role = ROLE.MANAGER
    form = movenodeform_factory(Area, form=AreaForm)
    list_display = ["name", "level", "division_code", "is_illustrative"]
    list_filter = ["level", "is_illustrative"]
    search_fields = ["name", "division_code"]

    def _area_of(self, obj):
        return obj

    def changelist_view(self, request, extra_context=None):
        # treebeard's template reads the parent its list shows, which only a GET sets: a POST that shows the
        # list again (an action refused or not chosen) would be a 500.
        request._treebeard_parent = None
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request):
        # The tree's first level is the tree's roots: for staff, it is their own areas instead (the roots are
        # above them and out of their scope, so the list would be empty).
        at_top = (
            getattr(request, "_treebeard_parent_id", "") is None
            and not getattr(request, "_ignore_treebeard_filters", False)
            and not self.is_filtered(request)
        )
        scope = self.scope(request)
        if at_top and not scope.everything:
            request._treebeard_parent = None
            return Area.objects.filter(path__in=scope.paths)
        return super().get_queryset(request)

    def has_delete_permission(self, request, obj=None):
        # Deleting takes an area out of its parent: the manager role over the parent (a root: superusers).
        if obj is None:
            return has_role(request.user, ROLE.MANAGER)
        parent = Area.objects.get_parent(obj)
        if parent is None:
            return self.scope(request, ROLE.MANAGER).everything
        return self.scope(request, ROLE.MANAGER).contains(parent)

    def write(self, request, obj, form):
        actor = admin_actor(request)
        ref = form.cleaned_data.get("treebeard_ref_node")
        position = form.cleaned_data.get("treebeard_position")
        if position == "sorted-child":
            parent = ref
        else:
            parent = Area.objects.get_parent(ref) if ref is not None else None
        if obj.pk is None:
            created = save_area(area=obj, actor=actor, parent=parent)
            obj.pk, obj.path, obj.depth, obj.numchild = (
                created.pk,
                created.path,
                created.depth,
                created.numchild,
            )
            obj._state.adding = False
            return obj
        save_area(area=obj, actor=actor)
        current = Area.objects.get_parent(Area.objects.get(pk=obj.pk))
        if (parent and parent.pk) != (current and current.pk):
            move_area(area=obj, target=ref, position=position, actor=actor)
        return obj

    def remove(self, request, obj):
        delete_area(area=obj, actor=admin_actor(request))

    def get_deleted_objects(self, objs, request):
        # An area is deleted with everything under it (treebeard), which no foreign key tells Django's
        # collector: list the areas below too, so that their people, organisations and records are shown,
        # and protect the deletion, on the confirmation page.
        below = Q(pk__in=[])
        for area in objs:
            below |= Q(path__startswith=area.path)
        return super().get_deleted_objects(list(Area.objects.filter(below).order_by("path")), request)

    def children_view(self, request, parent_id):
        # The library looks the parent up in the whole table: a parent outside the scope would answer an
        # empty list while one that does not exist answers 404, and "abc" a 500. All three are 404 here.
        if not parent_id.isdigit() or not self.get_queryset(request).filter(pk=int(parent_id)).exists():
            raise Http404
        return super().children_view(request, parent_id)

    def move_node(self, request):
        """Drag and drop in the tree: a move through `move_area`, which checks where the area goes."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        visible = self.scoped(Area.objects.all(), request)

        class MoveForm(forms.Form):
            node = forms.ModelChoiceField(queryset=visible)
            target = forms.ModelChoiceField(queryset=visible)
            relation = forms.ChoiceField(choices=(("child", "child"), ("sibling", "sibling")))

        form = MoveForm(request.POST)
        if not form.is_valid():  # an area outside the scope is as invalid as one that does not exist
            messages.error(request, gettext("Invalid form data provided"))
            return HttpResponseBadRequest("Invalid form data provided")
        node, target = form.cleaned_data["node"], form.cleaned_data["target"]
        position = {"child": "sorted-child", "sibling": "sorted-sibling"}[form.cleaned_data["relation"]]
        try:
            move_area(area=node, target=target, position=position, actor=admin_actor(request))
        except (NotFoundError, ForbiddenError):
            messages.error(request, gettext("You may move an area only between areas you manage."))
            raise PermissionDenied
        except DomainError as exc:
            messages.error(request, str(exc.message))
            return HttpResponseBadRequest(str(exc.message))
        messages.info(request, gettext("%(node)s was moved.") % {"node": node.name})
        return HttpResponse("OK")


# --- organisations --------------------------------------------------------------------------------------


class APIKeyInline(admin.TabularInline):
    model = OrganizationAPIKey
    fields = ["prefix", "name", "created", "expiry_date", "revoked"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("API keys (create them under “organisation API keys”)")

    def has_add_permission(self, request, obj=None):
        return False


class OrganizationForm(ServiceFormMixin, forms.ModelForm):
    class Meta:
        model = Organization
        fields = [
            "name",
            "type",
            "area",
            "served_areas",
            "registration",
            "credit_code",
            "hub",
            "description",
            "contact_name",
            "contact_phone",
            "publish_contact",
            "contact_phone_is_office",
        ]
        help_texts = {
            "served_areas": _(
                "An API key of this organisation acts within these areas and everything under them. Areas "
                "outside yours that it already serves are kept."
            )
        }


@admin.register(Organization)
class OrganizationAdmin(ServiceAdminMixin, ScopedImportExportAdmin):
    form = OrganizationForm
    resource_classes = [OrganizationResource]
    list_display = ["name", "type", "area", "registration", "hub", "contact_name"]
    list_filter = ["type", "registration", ("area", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "credit_code", "contact_name"]
    list_select_related = ["area", "hub"]
    autocomplete_fields = ["hub"]
    filter_horizontal = ["served_areas"]
    inlines = [APIKeyInline]

    def write(self, request, obj, form):
        actor = admin_actor(request)
        save_organization(organization=obj, actor=actor)
        if "served_areas" in form.cleaned_data:
            set_served_areas(organization=obj, areas=form.cleaned_data["served_areas"], actor=actor)
        return obj

    def remove(self, request, obj):
        delete_organization(organization=obj, actor=admin_actor(request))


# --- people ---------------------------------------------------------------------------------------------


class PersonForm(ServiceFormMixin, forms.ModelForm):
    class Meta:
        model = Person
        fields = ["name", "mobile", "community", "user", "organization", "is_leader", "recruited_by"]


class MaskedPersonForm(PersonForm):
    """For staff without charity.view_full_mobile: the number is never sent to the browser; typing a new
    one replaces it, leaving the field empty keeps it."""

    new_mobile = forms.CharField(label=_("mobile number"), required=False, max_length=30)

    class Meta:
        model = Person
        fields = ["name", "community", "user", "organization", "is_leader", "recruited_by"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.mobile:
            field = self.fields["new_mobile"]
            field.label = _("new mobile number")
            field.help_text = gettext(
                "Now %(masked)s. Enter a new number to replace it; leave this empty to keep it."
            ) % {"masked": mask_mobile(self.instance.mobile)}

    def clean_new_mobile(self):
        raw = (self.cleaned_data.get("new_mobile") or "").strip()
        if not raw:
            return ""
        try:
            mobile = normalize_mobile(raw)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages)
        if Person.objects.filter(mobile=mobile).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(
                gettext("This mobile number is already registered to another person.")
            )
        return mobile

    def clean(self):
        data = super().clean()
        if data.get("new_mobile"):
            self.instance.mobile = data["new_mobile"]
        return data


@admin.register(Person)
class PersonAdmin(ServiceAdminMixin, ScopedImportExportAdmin):
    resource_classes = [PersonResource]
    personal_data = True
    scope_area_field = "community"
    list_display = ["name", "masked_mobile_display", "community", "is_leader", "recruited_by", "organization"]
    list_filter = ["is_leader", ("community", admin.RelatedOnlyFieldListFilter)]
    # Only by name as typed; a mobile number is matched whole (get_search_results), never by a part of it,
    # which would let anyone read numbers digit by digit through the list.
    search_fields = ["name"]
    search_help_text = _("Name, or a whole mobile number.")
    list_select_related = ["community", "recruited_by", "organization"]
    autocomplete_fields = ["recruited_by", "organization"]
    raw_id_fields = ["user"]  # offered to superusers only (get_fields)

    def sees_full_mobile(self, request) -> bool:
        return request.user.has_perm(FULL_MOBILE_PERMISSION)

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = PersonForm if self.sees_full_mobile(request) else MaskedPersonForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if self.sees_full_mobile(request):
            mobile = ["mobile"]
        elif obj is not None and not self.has_change_permission(request, obj):
            mobile = ["masked_mobile_display"]  # a viewer's read-only page
        else:
            mobile = ["new_mobile"]
        # Attaching a login to a person is a superuser's: a staff member could otherwise give a resident's
        # record (and the resident's data) to any account (issue 7).
        login = ["user"] if request.user.is_superuser else (["has_login"] if obj else [])
        return ["name", *mobile, "community", *login, "organization", "is_leader", "recruited_by"]

    def get_readonly_fields(self, request, obj=None):
        return ["has_login", "masked_mobile_display"]

    @admin.display(description=_("mobile number"))
    def masked_mobile_display(self, obj):
        return obj.masked_mobile

    @admin.display(description=_("has a login"), boolean=True)
    def has_login(self, obj):
        return obj.user_id is not None

    def get_search_results(self, request, queryset, search_term):
        try:
            mobile = normalize_mobile(search_term)
        except ValidationError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(mobile=mobile), False

    def write(self, request, obj, form):
        return save_person(person=obj, actor=admin_actor(request))

    def remove(self, request, obj):
        delete_person(person=obj, actor=admin_actor(request))

    def get_urls(self):
        return set_password_urls(self) + super().get_urls()  # "Set a new password" (charity.admin_accounts)


# --- staff roles ----------------------------------------------------------------------------------------


def user_label(user) -> str:
    """A user in a list of choices: their name and login, a mobile number in it masked."""
    name = user.get_full_name() or getattr(getattr(user, "person", None), "name", "")
    username = mask_mobiles(user.get_username())
    return f"{name} ({username})" if name else username


class StaffAssignmentForm(ServiceFormMixin, forms.ModelForm):
    class Meta:
        model = StaffAssignment
        fields = ["user", "area", "role"]


@admin.register(StaffAssignment)
class StaffAssignmentAdmin(ServiceAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Roles are granted and removed through services, by managers, to users of their own areas."""

    form = StaffAssignmentForm
    change_role = ROLE.MANAGER
    list_display = ["user_display", "area", "role"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__first_name", "area__name"]
    list_select_related = ["user", "user__person", "area"]

    @admin.display(description=_("user"), ordering="user__username")
    def user_display(self, obj):
        return user_label(obj.user)

    def get_readonly_fields(self, request, obj=None):
        return ["user_display", "area"] if obj is not None else []

    def get_fields(self, request, obj=None):
        return ["user_display", "area", "role"] if obj is not None else ["user", "area", "role"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "user" and field is not None:
            field.queryset = field.queryset.select_related("person")
            field.label_from_instance = user_label
        return field

    def write(self, request, obj, form):
        assignment = grant_staff_role(user=obj.user, area=obj.area, role=obj.role, actor=admin_actor(request))
        obj.pk = assignment.pk
        obj._state.adding = False
        return obj

    def remove(self, request, obj):
        remove_staff_role(assignment=obj, actor=admin_actor(request))


# --- API keys -------------------------------------------------------------------------------------------


@admin.register(OrganizationAPIKey)
class OrganizationAPIKeyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Keys are created through the service, shown once, and revoked (never edited or deleted)."""

    scope_area_field = "organization__area"
    change_role = ROLE.MANAGER
    list_display = ["name", "organization", "prefix", "created", "expiry_date", "expired", "revoked"]
    list_filter = ["revoked", ("organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["prefix", "name", "organization__name"]
    list_select_related = ["organization"]
    actions = ["revoke_keys"]

    def get_fields(self, request, obj=None):
        return (
            ["organization", "name", "expiry_date"]
            if obj is None
            else ["organization", "name", "prefix", "created", "expiry_date", "revoked", "created_by_display"]
        )

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    @admin.display(description=_("expired"), boolean=True)
    def expired(self, obj):
        return obj.has_expired

    @admin.display(description=_("created by"))
    def created_by_display(self, obj):
        return user_name(obj.created_by) or "-"

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        api_key, key = create_api_key(
            organization=obj.organization,
            name=obj.name,
            expiry_date=obj.expiry_date,
            actor=admin_actor(request),
        )
        obj.pk = api_key.pk
        obj.prefix = api_key.prefix
        obj._plain_key = key

    def log_addition(self, request, obj, message):
        pass  # the audit log records the creation

    def response_add(self, request, obj, post_url_continue=None):
        # The key is shown once, on this page, and nowhere else: not in a message (the messages cookie would
        # carry it to the browser and back), not in a URL, not in a cache (no-store).
        opts = self.opts
        response = TemplateResponse(
            request,
            "admin/charity/organizationapikey/key_created.html",
            {
                **self.admin_site.each_context(request),
                "opts": opts,
                "title": gettext("A new API key for %(org)s") % {"org": obj.organization.name},
                "api_key": obj,
                "key": obj._plain_key,
            },
        )
        add_never_cache_headers(response)
        return response

    @admin.action(description=_("Revoke the selected API keys"), permissions=["change"])
    def revoke_keys(self, request, queryset):
        actor = admin_actor(request)
        n = 0
        mine = self.scoped(queryset, request, ROLE.MANAGER)
        for api_key in mine.filter(revoked=False).select_related("organization"):
            revoke_api_key(api_key=api_key, actor=actor)
            n += 1
        self.message_user(request, gettext("%(n)d API keys revoked.") % {"n": n})


# --- the audit log --------------------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(ScopedReadOnlyAdmin):
    """The audit log as sentences (charity.audit_display): who did what to which record, amounts in yuan;
    never the action's code, an object's id or the stored details as JSON."""

    list_display = ["sentence_display", "created_at", "actor_display", "surface"]
    list_filter = ["surface", "action"]
    search_fields = ["summary"]
    list_select_related = ["actor_user", "actor_organization"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "action",
        "sentence_display",
        "object_display",
        "actor_display",
        "surface",
        "area",
        "details_display",
    ]
    readonly_fields = fields

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        describe(changelist.result_list)  # one query per model the page's sentences name
        return changelist

    def _described(self, obj):
        if not hasattr(obj, "sentence"):
            describe([obj])
        return obj

    @admin.display(description=_("what was done"))
    def sentence_display(self, obj):
        return self._described(obj).sentence

    @admin.display(description=_("record"))
    def object_display(self, obj):
        self._described(obj)
        url = admin_url(obj)
        name = str(obj.named_object) if obj.named_object is not None else ""
        if url:
            return format_html('<a href="{}">{}</a>', url, name)
        return name or (gettext("(no longer recorded)") if obj.object_type else "-")

    @admin.display(description=_("done by"), ordering="actor_user")
    def actor_display(self, obj):
        return actor_name(obj)

    @admin.display(description=_("details"))
    def details_display(self, obj):
        rows = details(obj)
        if not rows:
            return "-"
        return format_html_join("", "<div>{}：{}</div>", rows)


# --- users: superusers only -----------------------------------------------------------------------------


class StaffAssignmentInline(admin.TabularInline):
    model = StaffAssignment
    extra = 0
    raw_id_fields = ["area"]


User = get_user_model()
admin.site.unregister(User)
# The library's own keys belong to no organisation and so to no scope; staff issue organisation keys above.
admin.site.unregister(APIKey)


def _permission_names(user) -> set[str]:
    perms = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in user.user_permissions.select_related("content_type")
    }
    return perms | {f"group:{g.name}" for g in user.groups.all()}


class SuperuserOnlyAdminMixin:
    """An admin for superusers only: anyone else gets 403 for every page, whatever the id (one that exists,
    one that does not, one that is not an id), so the answer says nothing about what exists."""

    def _is_superuser(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_module_permission(self, request):
        return self._is_superuser(request)

    def has_view_permission(self, request, obj=None):
        return self._is_superuser(request)

    def has_add_permission(self, request, *args):
        return self._is_superuser(request)

    def has_change_permission(self, request, obj=None):
        return self._is_superuser(request)

    def has_delete_permission(self, request, obj=None):
        return self._is_superuser(request)

    def history_view(self, request, object_id, extra_context=None):
        if not self._is_superuser(request):
            raise PermissionDenied  # Django looks the object up first, and redirects for a missing one
        return super().history_view(request, object_id, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        if not self._is_superuser(request):
            raise PermissionDenied
        return super().delete_view(request, object_id, extra_context)


class CategoryForm(ServiceFormMixin, forms.ModelForm):
    class Meta:
        model = Category
        fields = ["name_zh", "name_en", "code", "sort_order", "is_active"]


@admin.register(Category)
class CategoryAdmin(SuperuserOnlyAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    """The city's list of need categories: superusers add and retire them; none is ever deleted."""

    form = CategoryForm
    list_display = ["name_zh", "name_en", "code", "sort_order", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name_zh", "name_en", "code"]

    def has_delete_permission(self, request, obj=None):
        return False

    def write(self, request, obj, form):
        save_category(category=obj, actor=admin_actor(request))


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(SuperuserOnlyAdminMixin, BaseGroupAdmin):
    """Groups carry permissions (charity.export_personal_data among them): superusers only, like users."""


@admin.register(User)
class UserAdmin(SuperuserOnlyAdminMixin, BaseUserAdmin):
    """Superusers only. A login is platform-wide (roles in several areas, a resident's record, the flags that
    make a superuser), so no area's manager may see or change it; managers grant roles to the users of their
    own areas under "staff assignments". Role and permission changes here are audited like everywhere."""

    inlines = [StaffAssignmentInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("staff_assignments")

    def save_model(self, request, obj, form, change):
        request._permissions_before = _permission_names(obj) if obj.pk else set()
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        record_permission_change(
            user=form.instance,
            before=getattr(request, "_permissions_before", set()),
            after=_permission_names(form.instance),
            actor=admin_actor(request),
        )

    def save_formset(self, request, form, formset, change):
        if formset.model is not StaffAssignment:
            return super().save_formset(request, form, formset, change)
        actor, user = admin_actor(request), form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for f in formset.forms:
            original = f.instance if f.instance.pk else None
            if original is not None:
                original = StaffAssignment.objects.select_related("area").get(pk=original.pk)
            if formset._should_delete_form(f):
                if original is not None:
                    remove_staff_role(assignment=original, actor=actor)
                    formset.deleted_objects.append(original)
                continue
            if not f.has_changed():
                continue
            data = f.cleaned_data
            if original is not None and original.area_id != data["area"].pk:
                remove_staff_role(assignment=original, actor=actor)
                original = None
            assignment = grant_staff_role(user=user, area=data["area"], role=data["role"], actor=actor)
            if original is None:
                formset.new_objects.append(assignment)
            else:
                formset.changed_objects.append((assignment, f.changed_data))
