from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources, widgets
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, XLSX
from rest_framework_api_key.models import APIKey
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from .admin_base import ROLE, ScopedAdminMixin, ScopedReadOnlyAdmin
from .models import Area, AuditEvent, Organization, OrganizationAPIKey, Person, StaffAssignment
from .scoping import scope_for_user
from .services import Actor, create_api_key, revoke_api_key
from .validators import normalize_mobile

IMPORT_FORMATS = [XLSX, CSV]


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


class ScopedResource(resources.ModelResource):
    def __init__(self, user=None, **kwargs):
        super().__init__(**kwargs)
        self.user = user


class OrganizationResource(ScopedResource):
    area = fields.Field(attribute="area", column_name="area")

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


class PersonResource(ScopedResource):
    community = fields.Field(attribute="community", column_name="community")

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
        if row.get("mobile") not in (None, ""):
            try:
                row["mobile"] = normalize_mobile(str(row["mobile"]).removesuffix(".0"))
            except ValidationError as exc:
                raise ValueError(exc.messages[0])


class ScopedImportExportAdmin(ScopedAdminMixin, ImportExportModelAdmin):
    formats = IMPORT_FORMATS

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "user": request.user}

    def get_export_resource_kwargs(self, request, **kwargs):
        return {**super().get_export_resource_kwargs(request, **kwargs), "user": request.user}


@admin.register(Area)
class AreaAdmin(ScopedAdminMixin, TreeAdmin):
    scope_area_field = ""
    change_role = ROLE.MANAGER
    form = movenodeform_factory(Area)
    list_display = ["name", "level", "division_code", "is_illustrative"]
    list_filter = ["level", "is_illustrative"]
    search_fields = ["name", "division_code"]

    def _area_of(self, obj):
        return obj


class APIKeyInline(admin.TabularInline):
    model = OrganizationAPIKey
    fields = ["prefix", "name", "created", "expiry_date", "revoked"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("API keys (create them under “organisation API keys”)")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Organization)
class OrganizationAdmin(ScopedImportExportAdmin):
    resource_classes = [OrganizationResource]
    list_display = ["name", "type", "area", "registration", "hub", "contact_name"]
    list_filter = ["type", "registration", ("area", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "credit_code", "contact_name"]
    list_select_related = ["area", "hub"]
    autocomplete_fields = ["hub"]
    filter_horizontal = ["served_areas"]
    inlines = [APIKeyInline]


@admin.register(Person)
class PersonAdmin(ScopedImportExportAdmin):
    resource_classes = [PersonResource]
    scope_area_field = "community"
    list_display = ["name", "masked_mobile_display", "community", "is_leader", "recruited_by", "organization"]
    list_filter = ["is_leader", ("community", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "mobile"]
    list_select_related = ["community", "recruited_by", "organization"]
    autocomplete_fields = ["recruited_by", "organization"]
    raw_id_fields = ["user"]

    @admin.display(description=_("mobile number"), ordering="mobile")
    def masked_mobile_display(self, obj):
        return obj.masked_mobile


@admin.register(StaffAssignment)
class StaffAssignmentAdmin(ScopedAdminMixin, admin.ModelAdmin):
    change_role = ROLE.MANAGER
    list_display = ["user", "area", "role"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__first_name", "area__name"]
    list_select_related = ["user", "area"]
    raw_id_fields = ["user"]


@admin.register(OrganizationAPIKey)
class OrganizationAPIKeyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Keys are created through the service, shown once, and revoked (never edited or deleted)."""

    scope_area_field = "organization__area"
    change_role = ROLE.MANAGER
    list_display = ["prefix", "name", "organization", "created", "expiry_date", "_has_expired", "revoked"]
    list_filter = ["revoked", ("organization", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["prefix", "name", "organization__name"]
    list_select_related = ["organization"]
    actions = ["revoke_keys"]

    def get_fields(self, request, obj=None):
        return (
            ["organization", "name", "expiry_date"]
            if obj is None
            else ["organization", "name", "prefix", "created", "expiry_date", "revoked", "created_by"]
        )

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        api_key, key = create_api_key(
            organization=obj.organization,
            name=obj.name,
            expiry_date=obj.expiry_date,
            actor=Actor.from_request(request, AuditEvent.Surface.ADMIN),
        )
        obj.pk = api_key.pk
        messages.warning(
            request,
            format_html(
                gettext(
                    "The API key for {} is: {} — copy it now: it is stored hashed and will never be shown "
                    "again."
                ),
                api_key.organization.name,
                key,
            ),
        )

    def log_addition(self, request, obj, message):
        pass  # the audit log records the creation

    @admin.action(description=_("Revoke the selected API keys"))
    def revoke_keys(self, request, queryset):
        actor = Actor.from_request(request, AuditEvent.Surface.ADMIN)
        n = 0
        for api_key in queryset.filter(revoked=False).select_related("organization"):
            revoke_api_key(api_key=api_key, actor=actor)
            n += 1
        self.message_user(request, gettext("%(n)d API keys revoked.") % {"n": n})


@admin.register(AuditEvent)
class AuditEventAdmin(ScopedReadOnlyAdmin):
    list_display = [
        "created_at",
        "action",
        "surface",
        "actor_user",
        "actor_organization",
        "object_type",
        "object_id",
        "summary",
    ]
    list_filter = ["surface", "action"]
    search_fields = ["summary", "object_id", "action"]
    list_select_related = ["actor_user", "actor_organization"]
    date_hierarchy = "created_at"


class StaffAssignmentInline(admin.TabularInline):
    model = StaffAssignment
    extra = 0
    raw_id_fields = ["area"]


User = get_user_model()
admin.site.unregister(User)
# The library's own keys belong to no organisation and so to no scope; staff issue organisation keys above.
admin.site.unregister(APIKey)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [StaffAssignmentInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("staff_assignments")
