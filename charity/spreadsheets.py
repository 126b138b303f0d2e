"""Read uploaded spreadsheets without believing what they say about themselves.

An .xlsx file is a zip of XML that declares its own size: a 5 KB file can claim 16,384 columns by
1,048,576 rows (`<dimension ref="A1:XFD1048576"/>`), or hold one row numbered 1,048,576, and a reader that
trusts either fills memory with empty cells. So the first sheet is read streaming (openpyxl's read-only
mode) with the declared dimensions thrown away, at most MAX_COLUMNS columns, and the reading stops at the
real last row: the end of the sheet's XML, or EMPTY_RUN empty rows in a row (a gap that long is padding,
never data). A file with more than `settings.IMPORT_MAX_ROWS` rows is refused as soon as the row past the
limit is read, and an archive that would unpack to more than MAX_UNZIPPED_BYTES is refused before any of it
is read. CSV is read the same way: blank lines skipped, refused past the limit.

Two surfaces use this: the donation statement import (funds/importing.py) and every admin import, through
the XLSX and CSV formats below, which replace django-import-export's own in `charity.admin.IMPORT_FORMATS`.
"""

from __future__ import annotations

import csv
import io
import zipfile

import tablib
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from import_export.formats import base_formats
from import_export.tmp_storages import CacheStorage

from .errors import DomainError

MAX_COLUMNS = 100
EMPTY_RUN = 1000
MAX_UNZIPPED_BYTES = 100 * 2**20


class SpreadsheetError(DomainError):
    code = "invalid_spreadsheet"


class SpreadsheetTooLarge(SpreadsheetError):
    code = "spreadsheet_too_large"


def max_rows() -> int:
    """How many rows (besides the header) one import may hold."""
    return settings.IMPORT_MAX_ROWS


def _too_many_rows(limit: int) -> SpreadsheetTooLarge:
    return SpreadsheetTooLarge(_("At most %(n)d rows can be imported at once.") % {"n": limit})


def _is_empty(value) -> bool:
    return value is None or value == ""


def read_xlsx(raw: bytes, *, limit: int | None = None) -> list[list]:
    """Return the first sheet's non-empty rows, header first, each without its trailing empty cells.

    Raises SpreadsheetError for a file that is not a readable workbook, SpreadsheetTooLarge for one with
    more than `limit` rows after the header (default: settings.IMPORT_MAX_ROWS) or one that unpacks to more
    than MAX_UNZIPPED_BYTES.
    """
    from openpyxl import load_workbook

    limit = max_rows() if limit is None else limit
    unreadable = SpreadsheetError(_("This Excel file cannot be read. Save it again as .xlsx or CSV."))
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unzipped = sum(item.file_size for item in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise unreadable
    if unzipped > MAX_UNZIPPED_BYTES:
        raise SpreadsheetTooLarge(
            _("This Excel file unpacks to more than %(mb)d MB: split it, or save it as CSV.")
            % {"mb": MAX_UNZIPPED_BYTES // 2**20}
        )
    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged file
        raise unreadable
    rows: list[list] = []
    try:
        sheet = book.active
        if sheet is None or not hasattr(sheet, "reset_dimensions"):
            raise unreadable
        sheet.reset_dimensions()
        empty_run = 0
        for values in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
            row = list(values)
            while row and _is_empty(row[-1]):
                row.pop()
            if not row:
                empty_run += 1
                if empty_run >= EMPTY_RUN:
                    break
                continue
            empty_run = 0
            rows.append(row)
            if len(rows) > limit + 1:
                raise _too_many_rows(limit)
    except SpreadsheetError:
        raise
    except Exception:
        raise unreadable
    finally:
        book.close()
    return rows


def read_csv(text: str, *, limit: int | None = None, dialect=csv.excel) -> list[list[str]]:
    """Return the non-empty rows of CSV `text`, header first. Raises SpreadsheetTooLarge past `limit`."""
    limit = max_rows() if limit is None else limit
    rows: list[list[str]] = []
    for row in csv.reader(io.StringIO(text), dialect):
        if all(_is_empty(cell) for cell in row):
            continue
        rows.append(row)
        if len(rows) > limit + 1:
            raise _too_many_rows(limit)
    return rows


# --- django-import-export -----------------------------------------------------------------------------


class XLSX(base_formats.XLSX):
    """django-import-export's XLSX format, reading through read_xlsx."""

    def create_dataset(self, in_stream):
        rows = read_xlsx(in_stream)
        dataset = tablib.Dataset()
        if not rows:
            return dataset
        width = max(len(row) for row in rows)
        dataset.headers = rows[0] + [None] * (width - len(rows[0]))
        for row in rows[1:]:
            dataset.append(row + [None] * (width - len(row)))
        return dataset


class CSV(base_formats.CSV):
    """django-import-export's CSV format, refusing a file past the row limit before tablib reads it."""

    def create_dataset(self, in_stream, **kwargs):
        if isinstance(in_stream, bytes) and self.encoding:
            in_stream = in_stream.decode(self.encoding)
        if isinstance(in_stream, str):
            read_csv(in_stream)
        return super().create_dataset(in_stream, **kwargs)


class ImportFileStorage(CacheStorage):
    """Where an admin import keeps the uploaded file between its preview and its confirmation: the cache,
    for LIFETIME seconds, never the temporary folder (an abandoned import left residents' names and mobile
    numbers there for good). Shared by every web process when the cache is Redis, as in production."""

    LIFETIME = 30 * 60
    CACHE_LIFETIME = LIFETIME
    CACHE_PREFIX = "charity-import-file-"


class SpreadsheetImportMixin:
    """For an ImportMixin admin: say what is wrong with a refused file, and what to do when the file
    kept for confirmation has expired, instead of an exception's class name or a server error."""

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, DomainError):
            form.add_error("import_file", str(e.message))
        else:
            message = _("This file cannot be read in the chosen format (%(error)s): check the format.")
            form.add_error("import_file", message % {"error": type(e).__name__})

    def process_import(self, request, **kwargs):
        # The library answers a GET (405) and a user without the permission (403) first, as before.
        name = request.POST.get("import_file_name", "") if request.method == "POST" else ""
        if name and self.has_import_permission(request):
            storage = self.get_tmp_storage_class()(name=name, **self.get_tmp_storage_class_kwargs())
            if storage.read() is None:
                messages.error(
                    request,
                    _("The uploaded file was kept for %(m)d minutes and has expired: upload it again.")
                    % {"m": ImportFileStorage.LIFETIME // 60},
                )
                app_label, model_name = self.get_model_info()
                return redirect(f"admin:{app_label}_{model_name}_import")
        return super().process_import(request, **kwargs)
