"""Read uploaded spreadsheets without believing what they say about themselves.

An .xlsx file is a zip of XML that declares its own size: a 5 KB file can claim 16,384 columns by
1,048,576 rows (`<dimension ref="A1:XFD1048576"/>`), or hold one row numbered 1,048,576, and a reader that
trusts either fills memory with empty cells. So the first sheet is read streaming (openpyxl's read-only
mode) with the declared dimensions thrown away, at most MAX_COLUMNS columns, and the reading stops at the
real last row: the end of the sheet's XML, or EMPTY_RUN empty rows in a row (a gap that long is padding,
never data). A file with more than its limit of rows is refused as soon as the row past the limit is read,
and an archive that would unpack to more than MAX_UNZIPPED_BYTES is refused before any of it is read. CSV
is read the same way: blank lines skipped, refused past the limit.

Two surfaces use this: the donation statement import (funds/importing.py), which streams the rows
(`iter_xlsx`, `iter_csv`: one row in memory at a time, up to `settings.IMPORT_MAX_ROWS`), and every admin
import, through the XLSX and CSV formats below, which replace django-import-export's own in
`charity.admin.IMPORT_FORMATS` and hold the whole sheet (up to `settings.ADMIN_IMPORT_MAX_ROWS`).
"""

from __future__ import annotations

import csv
import io
import posixpath
import zipfile
from collections.abc import Iterable, Iterator
from xml.parsers import expat

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
    """How many rows (besides the header) one donation statement may hold."""
    return settings.IMPORT_MAX_ROWS


def admin_max_rows() -> int:
    """How many rows (besides the header) one admin import (django-import-export) may hold."""
    return settings.ADMIN_IMPORT_MAX_ROWS


def _too_many_rows(limit: int) -> SpreadsheetTooLarge:
    return SpreadsheetTooLarge(_("At most %(n)d rows can be imported at once.") % {"n": limit})


def _is_empty(value) -> bool:
    return value is None or value == ""


class _Unreadable(Exception):
    """Raised inside the workbook reader for anything a well-formed workbook does not hold."""


def _refuse(*_args):
    raise _Unreadable("a document type declaration or an entity")


def _xml_parser():
    """An expat parser with namespaces ("uri name"), refusing any DTD, entity or external reference.

    Excel writes none; a "billion laughs" or an external entity needs one (defusedxml refuses the same)."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.buffer_text = True
    return parser


def _local(name: str) -> str:
    return name.rpartition(" ")[2]


def _parse_part(archive: zipfile.ZipFile, path: str, start=None, end=None, text=None) -> None:
    parser = _xml_parser()
    if start is not None:
        parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    if text is not None:
        parser.CharacterDataHandler = text
    with archive.open(path) as stream:
        parser.ParseFile(stream)


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """{Id: (Type, path in the archive)} of a part's relationships (_rels/<name>.rels beside it)."""
    folder, _slash, name = part.rpartition("/")
    rels_path = f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"
    found: dict[str, tuple[str, str]] = {}
    if rels_path not in archive.NameToInfo:
        return found

    def start(tag, attrs):
        if _local(tag) == "Relationship" and attrs.get("TargetMode") != "External":
            target = attrs.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            found[attrs.get("Id", "")] = (attrs.get("Type", ""), posixpath.normpath(path))

    _parse_part(archive, rels_path, start)
    return found


def _rich_text_reader(on_string):
    """Handlers collecting each string of <si> (shared strings) or <is> (a cell's inline string): the text
    of its <t> elements, plain or in runs, but not of its phonetic guides (<rPh>), as openpyxl reads it."""
    state = {"parts": None, "in_t": False, "phonetic": 0}

    def start(tag, attrs):
        name = _local(tag)
        if name == "si":
            state["parts"] = []
        elif name == "rPh":
            state["phonetic"] += 1
        elif name == "t" and state["parts"] is not None and not state["phonetic"]:
            state["in_t"] = True

    def end(tag):
        name = _local(tag)
        if name == "t":
            state["in_t"] = False
        elif name == "rPh":
            state["phonetic"] -= 1
        elif name == "si":
            on_string("".join(state["parts"]))
            state["parts"] = None

    def text(data):
        if state["in_t"]:
            state["parts"].append(data)

    return start, end, text


class _Workbook:
    """What reading the active sheet needs: its path, the shared strings, which styles are dates."""

    def __init__(self, archive: zipfile.ZipFile):
        from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

        package = _relationships(archive, "")
        book = next((path for kind, path in package.values() if kind.endswith("/officeDocument")), None)
        book = book or "xl/workbook.xml"
        if book not in archive.NameToInfo:
            raise _Unreadable("no workbook")
        rels = _relationships(archive, book)
        sheets: list[str] = []
        view = {"active": None, "date1904": False}

        def start(tag, attrs):
            name = _local(tag)
            if name == "sheet":
                rel = next((v for k, v in attrs.items() if _local(k) == "id" and " " in k), None)
                if rel in rels and rels[rel][1] in archive.NameToInfo:
                    sheets.append(rel)
            elif name == "workbookView" and view["active"] is None and attrs.get("activeTab") is not None:
                view["active"] = int(attrs["activeTab"])
            elif name == "workbookPr":
                view["date1904"] = attrs.get("date1904", "").lower() in ("1", "true")

        _parse_part(archive, book, start)
        active = view["active"] or 0
        if not 0 <= active < len(sheets) or not rels[sheets[active]][0].endswith("/worksheet"):
            raise _Unreadable("no active worksheet")
        self.sheet = rels[sheets[active]][1]
        self.epoch = CALENDAR_MAC_1904 if view["date1904"] else CALENDAR_WINDOWS_1900

        self.strings: list[str] = []
        for kind, path in rels.values():
            if kind.endswith("/sharedStrings") and path in archive.NameToInfo:
                # openpyxl drops the escape of an underscore the same way.
                _parse_part(
                    archive, path, *_rich_text_reader(lambda s: self.strings.append(s.replace("x005F_", "")))
                )

        formats: dict[int, str] = {}
        styles: list[int] = []
        place = {"xfs": False}

        def style_start(tag, attrs):
            name = _local(tag)
            if name == "numFmt":
                formats[int(attrs.get("numFmtId", 0))] = attrs.get("formatCode", "")
            elif name == "cellXfs":
                place["xfs"] = True
            elif name == "xf" and place["xfs"]:
                styles.append(int(attrs.get("numFmtId", 0)))

        def style_end(tag):
            if _local(tag) == "cellXfs":
                place["xfs"] = False

        for kind, path in rels.values():
            if kind.endswith("/styles") and path in archive.NameToInfo:
                _parse_part(archive, path, style_start, style_end)
        codes = [formats.get(number) or builtin_format_code(number) for number in styles]
        self.date_styles = {i for i, code in enumerate(codes) if is_date_format(code)}
        self.timedelta_styles = {i for i, code in enumerate(codes) if is_timedelta_format(code)}


# The elements of a sheet that hold its cells, in SpreadsheetML's namespace (transitional or strict).
_MAIN_NAMESPACES = frozenset(
    {
        "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "http://purl.oclc.org/ooxml/spreadsheetml/main",
    }
)
_CELL, _VALUE, _INLINE, _TEXT, _PHONETIC, _ROW = range(1, 7)
_SHEET_TAGS = {"c": _CELL, "v": _VALUE, "is": _INLINE, "t": _TEXT, "rPh": _PHONETIC, "row": _ROW}


def _column(reference: str) -> int:
    """The 1-based column of a cell reference ("AB12" → 28)."""
    number = 0
    for ch in reference:
        if "A" <= ch <= "Z":
            number = number * 26 + ord(ch) - 64
        else:
            break
    return number


def _sheet_rows(archive: zipfile.ZipFile, book: _Workbook) -> Iterator[tuple[int, list]]:
    """Yield (row number, values of its first MAX_COLUMNS columns) for each <row> of the sheet, in the
    order written, with values as openpyxl's read-only, data-only reader gives them."""
    from openpyxl.utils.datetime import from_excel, from_ISO8601

    shared, dates, timedeltas, epoch = book.strings, book.date_styles, book.timedelta_styles, book.epoch
    done: list[tuple[int, list]] = []
    row: list | None = None
    number = column = style = phonetic = 0
    kind = ""
    value_text: list[str] | None = None  # the text of the cell's <v>
    inline: list[str] | None = None  # the text of the cell's inline string (<is>)
    collect: list[str] | None = None  # where character data goes now, if anywhere

    def value_of():
        if kind == "inlineStr":
            return None if inline is None else "".join(inline)
        text = "".join(value_text) if value_text else None
        if not text:
            return None
        if kind == "n":
            number_value = float(text) if ("." in text or "E" in text or "e" in text) else int(text)
            if style in dates:
                try:
                    return from_excel(number_value, epoch, timedelta=style in timedeltas)
                except (OverflowError, ValueError):
                    return "#VALUE!"
            return number_value
        if kind == "s":
            return shared[int(text)]
        if kind == "b":
            return bool(int(text))
        if kind == "d":
            return from_ISO8601(text)
        return text  # "str" (a formula's text), "e" (an error such as #N/A)

    tags: dict[str, int] = {}  # tag as expat gives it → _CELL, _VALUE…, 0 for any other element
    columns: dict[str, int] = {}  # column letters → number

    def code_of(tag: str) -> int:
        namespace, _space, name = tag.rpartition(" ")
        tags[tag] = _SHEET_TAGS.get(name, 0) if namespace in _MAIN_NAMESPACES else 0
        return tags[tag]

    def start(tag, attrs):
        nonlocal row, number, column, kind, style, value_text, inline, collect, phonetic
        code = tags.get(tag)
        if code is None:
            code = code_of(tag)
        if code == _CELL:
            reference = attrs.get("r")
            if reference:
                letters = reference.rstrip("0123456789")
                column = columns.get(letters) or columns.setdefault(letters, _column(letters))
            else:
                column += 1
            kind = attrs.get("t", "n")
            style = int(attrs.get("s") or 0)
            value_text = inline = collect = None
        elif code == _VALUE:
            collect = value_text = []
        elif code == _INLINE:
            inline = []
        elif code == _TEXT:
            if inline is not None and not phonetic:
                collect = inline
        elif code == _PHONETIC:
            phonetic += 1
        elif code == _ROW:
            reference = attrs.get("r")
            number = int(reference) if reference else number + 1
            row = []
            column = 0

    def end(tag):
        nonlocal collect, phonetic
        code = tags.get(tag)
        if code == _CELL:
            if row is not None and 0 < column <= MAX_COLUMNS:
                value = value_of()
                if value is not None:
                    if len(row) < column:
                        row.extend([None] * (column - len(row)))
                    row[column - 1] = value
            collect = None
        elif code in (_VALUE, _TEXT):
            collect = None
        elif code == _PHONETIC:
            phonetic -= 1
        elif code == _ROW:
            done.append((number, row))

    def text(data):
        if collect is not None:
            collect.append(data)

    parser = _xml_parser()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    with archive.open(book.sheet) as stream:
        while chunk := stream.read(1 << 16):
            parser.Parse(chunk, False)
            yield from done
            done.clear()
        parser.Parse(b"", True)
    yield from done


def iter_xlsx(raw: bytes, *, limit: int | None = None) -> Iterator[tuple[int, list]]:
    """Yield (row number, cells) for the active sheet's non-empty rows, header first, streaming: each row
    without its trailing empty cells, numbered as Excel shows it, with the values openpyxl would read.

    The sheet's XML is read with expat (the XML parser of Python's standard library), one chunk at a time:
    four times quicker than openpyxl's reader, which builds an element tree for every cell; the shared
    strings and the date styles are read first, as any reader must. Raises SpreadsheetError for a file
    that is not a readable workbook, SpreadsheetTooLarge for one with more than `limit` rows after the
    header (default: settings.IMPORT_MAX_ROWS) — when the row past the limit is reached — or one that
    unpacks to more than MAX_UNZIPPED_BYTES (before any row is read).
    """
    limit = max_rows() if limit is None else limit
    unreadable = SpreadsheetError(_("This Excel file cannot be read. Save it again as .xlsx or CSV."))
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise unreadable
    with archive:
        if sum(item.file_size for item in archive.infolist()) > MAX_UNZIPPED_BYTES:
            raise SpreadsheetTooLarge(
                _("This Excel file unpacks to more than %(mb)d MB: split it, or save it as CSV.")
                % {"mb": MAX_UNZIPPED_BYTES // 2**20}
            )
        try:
            rows = _sheet_rows(archive, _Workbook(archive))
        except Exception:  # expat, zipfile, a number that is not one: a damaged or hostile file
            raise unreadable
        empty_run = 0
        count = 0
        expected = 1  # the next row number; a row the XML skips is an empty row
        while True:
            try:
                number, row = next(rows)
            except StopIteration:
                break
            except Exception:
                raise unreadable
            if number < expected:
                continue  # out of order: openpyxl drops it too
            empty_run += number - expected
            expected = number + 1
            while row and _is_empty(row[-1]):
                row.pop()
            if empty_run >= EMPTY_RUN or (not row and empty_run + 1 >= EMPTY_RUN):
                break
            if not row:
                empty_run += 1
                continue
            empty_run = 0
            count += 1
            if count > limit + 1:
                raise _too_many_rows(limit)
            yield number, row


def read_xlsx(raw: bytes, *, limit: int | None = None) -> list[list]:
    """Return the first sheet's non-empty rows, header first (iter_xlsx, whole)."""
    return [row for _number, row in iter_xlsx(raw, limit=limit)]


def iter_csv(
    lines: Iterable[str], *, limit: int | None = None, dialect=csv.excel
) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, cells) for the non-empty rows of CSV text, header first, streaming; the number is
    the line the row starts on. Raises SpreadsheetTooLarge past `limit` (default: settings.IMPORT_MAX_ROWS),
    SpreadsheetError for text the csv module cannot split into rows."""
    limit = max_rows() if limit is None else limit
    reader = csv.reader(lines, dialect)
    count = 0
    end = 0  # the line the previous row ended on
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise SpreadsheetError(
                _("Line %(line)d of this CSV file cannot be read: save it again from Excel as CSV.")
                % {"line": reader.line_num}
            )
        start, end = end + 1, reader.line_num
        if all(_is_empty(cell) for cell in row):
            continue
        count += 1
        if count > limit + 1:
            raise _too_many_rows(limit)
        yield start, row


def read_csv(text: str, *, limit: int | None = None, dialect=csv.excel) -> list[list[str]]:
    """Return the non-empty rows of CSV `text`, header first. Raises SpreadsheetTooLarge past `limit`."""
    return [row for _line, row in iter_csv(io.StringIO(text, newline=""), limit=limit, dialect=dialect)]


# --- django-import-export -----------------------------------------------------------------------------


class XLSX(base_formats.XLSX):
    """django-import-export's XLSX format, reading through read_xlsx."""

    def create_dataset(self, in_stream):
        rows = read_xlsx(in_stream, limit=admin_max_rows())
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
            read_csv(in_stream, limit=admin_max_rows())
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
