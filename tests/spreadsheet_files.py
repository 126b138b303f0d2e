"""Spreadsheets built byte by byte for import tests, hostile ones included, and a memory ceiling for them."""

import io
import re
import resource
import sys
import tracemalloc
import zipfile
from contextlib import contextmanager

from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"
# What Excel allows at most (XFD = column 16,384); openpyxl's reader would believe even more.
HUGE_DIMENSION = "A1:XFD1048576"
FAR_ROW = '<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row>'


def xlsx(rows, *, dimension=None, extra_rows_xml="", extra_files=None) -> bytes:
    """An .xlsx holding `rows`, with its declared dimension and raw <row> XML replaced or added as given."""
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(list(row))
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(plain) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst,
    ):
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == SHEET:
                text = data.decode("utf-8")
                if dimension:
                    text = re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{dimension}"/>', text)
                text = text.replace("</sheetData>", extra_rows_xml + "</sheetData>")
                data = text.encode("utf-8")
            dst.writestr(item.filename, data)
        for name, data in (extra_files or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


def inline_rows_xml(first: int, count: int, columns: int = 1) -> str:
    """`count` rows of text cells from row `first` on, as raw sheet XML (it compresses to almost nothing)."""
    letters = [chr(ord("A") + i) for i in range(columns)]
    return "".join(
        f'<row r="{r}">'
        + "".join(f'<c r="{col}{r}" t="inlineStr"><is><t>x{r}</t></is></c>' for col in letters)
        + "</row>"
        for r in range(first, first + count)
    )


def _address_space() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


@contextmanager
def memory_ceiling(extra_mb: int):
    """Run the block with at most `extra_mb` more address space (MemoryError past it) and report the
    Python heap's peak in MB as `peak[0]`.

    The hard limit protects the machine the tests run on: code that reads a declared sheet size would
    otherwise allocate gigabytes before anything could assert on it.
    """
    peak = [0.0]
    limited = sys.platform.startswith("linux")
    if limited:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        ceiling = _address_space() + extra_mb * 2**20
        resource.setrlimit(
            resource.RLIMIT_AS, (ceiling if hard == resource.RLIM_INFINITY else min(ceiling, hard), hard)
        )
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak[0] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        if limited:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
