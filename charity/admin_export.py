"""Exports from the admin, for every app: in scope, formulae as text, personal data by permission, audited.

- Scope: the rows are the admin's own scoped queryset; ids sent back by the export form (`export_items`)
  are valid only when in scope, so an id outside it is refused exactly like an id that does not exist (the
  library accepts any id of the table and then exports an empty file: an existence oracle).
- Formula injection: `IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT` (settings) switches on the library's own
  escaping hook, which the formats below implement properly: a CSV cell starting with =, +, -, @, a tab or
  a carriage return is written with a leading apostrophe (OWASP), an XLSX cell starting with = likewise
  (openpyxl writes every other string as text); numbers, dates and empty cells keep their type.
- Personal data: an admin that exports it sets `personal_data = True` (exporting at all then needs the
  `charity.export_personal_data` permission), or its resource drops or masks personal columns for users
  without it (`ScopedResource.personal_fields`, the donation export's donor names).
- Audit: every export writes one event — who, which model, how many rows, which columns, which format.
"""

import re

from django.contrib.admin.options import IncorrectLookupParameters
from django.http import Http404
from import_export.formats import base_formats
from import_export.forms import SelectableFieldsExportForm

from .admin_base import ROLE, has_role
from .models import AuditEvent
from .services import Actor, record_export

PERSONAL_DATA_PERMISSION = "charity.export_personal_data"
FULL_MOBILE_PERMISSION = "charity.view_full_mobile"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def escape_csv_cell(value):
    """A CSV cell that a spreadsheet would run as a formula, made text with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def escape_xlsx_cell(value):
    """In XLSX only a string starting with = becomes a formula (openpyxl); it is written as text."""
    if isinstance(value, str) and value.startswith("="):
        return "'" + value
    return value


def _rewrite(dataset, escape) -> None:
    for _ in range(len(dataset)):
        row = dataset.lpop()
        dataset.append([escape(cell) for cell in row])


class SafeCSV(base_formats.CSV):
    def _escape_formulae(self, dataset):  # the library's hook, called when the setting is on
        _rewrite(dataset, escape_csv_cell)


class SafeXLSX(base_formats.XLSX):
    def _escape_formulae(self, dataset):
        _rewrite(dataset, escape_xlsx_cell)


# Same order as charity.admin.IMPORT_FORMATS, so a format's number means the same on both pages.
EXPORT_FORMATS = [SafeXLSX, SafeCSV]


def may_export_personal_data(user) -> bool:
    return user is not None and user.is_active and user.has_perm(PERSONAL_DATA_PERMISSION)


class LabelledExportForm(SelectableFieldsExportForm):
    """The export page's column checkboxes, each named as its column is headed ("捐赠人"), not by the
    field's code name title-cased ("Donor Name (捐赠人)")."""

    def _get_field_label(self, resource, field_name):
        field = resource.fields.get(field_name)
        return str(field.column_name) if field is not None else super()._get_field_label(resource, field_name)


class AuditedExportMixin:
    """Put before django-import-export's ExportMixin (and beside charity.admin_base.ScopedAdminMixin)."""

    export_formats = EXPORT_FORMATS
    export_form_class = LabelledExportForm
    personal_data = False

    def has_export_permission(self, request):
        if not has_role(request.user, ROLE.VIEWER):
            return False
        return not self.personal_data or may_export_personal_data(request.user)

    def get_valid_export_item_pks(self, request):
        return self.get_queryset(request).values_list("pk", flat=True)

    def get_export_queryset(self, request):
        try:
            return super().get_export_queryset(request)
        except IncorrectLookupParameters:
            raise Http404  # a malformed id in the changelist's filters

    def get_export_data(self, file_format, request, queryset, **kwargs):
        request._export_format = file_format.get_title()
        return super().get_export_data(file_format, request, queryset, **kwargs)

    def _field_names(self, request, headers) -> list[str]:
        """The exported columns by their field names: the headers are labels in the user's language."""
        names = {}
        for resource_class in self.get_export_resource_classes(request):
            resource = resource_class(**self.get_export_resource_kwargs(request))
            names.update({str(f.column_name): name for name, f in resource.fields.items()})
        return [names.get(str(h), str(h)) for h in headers]

    def get_data_for_export(self, request, queryset, **kwargs):
        data = super().get_data_for_export(request, queryset, **kwargs)
        record_export(
            actor=Actor.from_request(request, AuditEvent.Surface.ADMIN),
            model=self.model,
            rows=len(data),
            fields=self._field_names(request, data.headers or []),
            file_format=getattr(request, "_export_format", ""),
        )
        return data
