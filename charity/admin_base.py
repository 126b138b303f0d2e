"""The admin's scoping, shared by every app: a staff user sees and edits only their areas.

Permissions follow the staff assignment's role rather than per-model Django permissions: a viewer may
look, staff may add and change, a manager may also delete and manage API keys. Superusers see everything.
Rows outside the user's areas are filtered out of every list, so opening one by URL is a 404, exactly as for
a row that does not exist: nothing reveals that it does.
"""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q
from django.http import Http404

from .audit_display import describe
from .models import Area, AuditEvent, Organization, Person, StaffAssignment
from .scoping import Scope, scope_for_user
from .selectors import list_users_in_scope

ROLE = StaffAssignment.Role


def has_role(user, min_role) -> bool:
    scope = scope_for_user(user, min_role=min_role)
    return scope.everything or bool(scope.paths)


class ScopedAdminMixin:
    """Mix into a ModelAdmin. `scope_area_field` is the path from the model to its Area ("" for Area)."""

    scope_area_field = "area"
    change_role = ROLE.STAFF
    delete_role = ROLE.MANAGER

    def scope(self, request, min_role=ROLE.VIEWER) -> Scope:
        return scope_for_user(request.user, min_role=min_role)

    def scoped(self, queryset, request, min_role=ROLE.VIEWER):
        scope = self.scope(request, min_role)
        if scope.everything:
            return queryset
        prefix = f"{self.scope_area_field}__" if self.scope_area_field else ""
        return queryset.filter(scope.q(prefix))

    def get_queryset(self, request):
        return self.scoped(super().get_queryset(request), request)

    def get_object(self, request, object_id, from_field=None):
        # Django redirects a missing object to the admin index with a message; out of scope must be a plain
        # 404 that says nothing of whether the object exists elsewhere (DESIGN.md §3).
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj

    def _area_of(self, obj):
        area = obj
        for part in filter(None, self.scope_area_field.split("__")):
            area = getattr(area, part, None)
        return area

    def _allowed(self, request, obj, min_role) -> bool:
        if not has_role(request.user, min_role):
            return False
        return obj is None or self.scope(request, min_role).contains(self._area_of(obj))

    def has_module_permission(self, request):
        return has_role(request.user, ROLE.VIEWER)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request, obj, ROLE.VIEWER)

    def has_add_permission(self, request, *args):
        return has_role(request.user, self.change_role)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, obj, self.change_role)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, obj, self.delete_role)

    # Import/export permissions (django-import-export asks these).
    def has_import_permission(self, request):
        return has_role(request.user, self.change_role)

    def has_export_permission(self, request):
        return has_role(request.user, ROLE.VIEWER)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        self._limit_choices(field, db_field, request)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        help_text = kwargs.get("help_text", db_field.help_text)
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and isinstance(field.widget, FilteredSelectMultiple):
            # Django appends "Hold down Control, or Command on a Mac…" to every multiple choice: the two
            # boxes of filter_horizontal are worked with the arrows, so the hint only confuses.
            field.help_text = help_text
        self._limit_choices(field, db_field, request)
        return field

    # --- history: what the services recorded -----------------------------------------------------------

    def audit_history_refs(self, obj) -> list[tuple[str, str]]:
        """The (model label, id) pairs whose audit events make up `obj`'s history; add related records."""
        return [(obj._meta.label_lower, str(obj.pk))]

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))  # out of scope: 404
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        which = Q(pk__in=[])
        for label, pk in self.audit_history_refs(obj):
            which |= Q(object_type=label, object_id=str(pk))
        events = describe(
            AuditEvent.objects.filter(which)
            .select_related("actor_user", "actor_organization")
            .order_by("created_at", "id")
        )
        context = {"audit_events": events, **(extra_context or {})}
        return super().history_view(request, object_id, context)

    def _limit_choices(self, field, db_field, request):
        """Offer only the areas, organisations, people and users the user may act in."""
        if field is None or not isinstance(db_field, models.ForeignKey | models.ManyToManyField):
            return
        scope = self.scope(request, self.change_role)
        if scope.everything:
            return
        model = db_field.related_model
        if model is Area:
            field.queryset = field.queryset.filter(scope.q())
        elif model is Organization:
            field.queryset = field.queryset.filter(scope.q("area__"))
        elif model is Person:
            field.queryset = field.queryset.filter(scope.q("community__"))
        elif model is get_user_model():
            field.queryset = list_users_in_scope(scope, field.queryset)


class ReadOnlyAdminMixin:
    """For append-only records: viewable, never added, changed or deleted through the admin."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ScopedReadOnlyAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    pass
