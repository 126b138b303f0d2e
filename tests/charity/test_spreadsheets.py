"""Admin imports read a spreadsheet without trusting its declared size, and keep it briefly in the cache."""

import io
import os
import tempfile
import zipfile

import pytest
import time_machine
from django.utils import timezone

from charity.models import Organization
from charity.spreadsheets import ImportFileStorage
from tests.spreadsheet_files import FAR_ROW, HUGE_DIMENSION, SHEET, inline_rows_xml, memory_ceiling, xlsx

pytestmark = pytest.mark.django_db

XLSX_FORMAT = "0"  # position in charity.admin.IMPORT_FORMATS
COLUMNS = ["name", "type", "area", "registration", "credit_code"]
GOOD_ROW = ["官北沟读书会", "community_group", "官北沟社区", "filed", ""]
IMPORT_URL = "/admin/charity/organization/import/"


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the admin speaks the browser's language
    return client


def upload(client, raw, name="organizations.xlsx"):
    file = io.BytesIO(raw)
    file.name = name
    return client.post(IMPORT_URL, {"import_file": file, "format": XLSX_FORMAT, "resource": "0"})


def form_errors(response):
    return [str(e) for e in response.context["form"].errors.get("import_file", [])]


def test_a_tiny_file_declaring_a_huge_sheet_is_previewed_in_little_memory(client, community_staff):
    raw = xlsx([COLUMNS, GOOD_ROW], dimension=HUGE_DIMENSION, extra_rows_xml=FAR_ROW)
    assert len(raw) < 6_000
    client.force_login(community_staff)
    with memory_ceiling(400) as peak:
        response = upload(client, raw)
    assert response.status_code == 200
    assert form_errors(response) == []
    result = response.context["result"]
    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["new"] == 1
    assert peak[0] < 40, f"{peak[0]:.0f} MB"


def test_a_file_past_the_row_limit_is_refused_with_a_clear_message(client, community_staff, settings):
    settings.ADMIN_IMPORT_MAX_ROWS = 20
    client.force_login(community_staff)
    response = upload(client, xlsx([COLUMNS], extra_rows_xml=inline_rows_xml(2, 50_000, columns=5)))
    assert response.status_code == 200
    assert form_errors(response) == ["At most 20 rows can be imported at once."]
    assert "result" not in response.context or response.context["result"] is None
    assert not Organization.objects.exists()


def test_a_csv_file_past_the_row_limit_is_refused_with_a_clear_message(client, community_staff, settings):
    settings.ADMIN_IMPORT_MAX_ROWS = 2
    text = ",".join(COLUMNS) + "\n" + "\n".join(",".join([f"读书会{i}", *GOOD_ROW[1:]]) for i in range(3))
    file = io.BytesIO(text.encode("utf-8"))
    file.name = "organizations.csv"
    client.force_login(community_staff)
    response = client.post(IMPORT_URL, {"import_file": file, "format": "1", "resource": "0"})
    assert form_errors(response) == ["At most 2 rows can be imported at once."]


def test_a_file_that_is_not_a_workbook_is_refused_clearly(client, community_staff):
    client.force_login(community_staff)
    response = upload(client, b"PK\x03\x04 not really a zip")
    assert form_errors(response) == ["This Excel file cannot be read. Save it again as .xlsx or CSV."]


def temp_folder_files():
    return set(os.listdir(tempfile.gettempdir()))


@pytest.fixture
def own_temp_folder(tmp_path, monkeypatch):
    """The temp folder (`tempfile.gettempdir()`, where Django and django-import-export put files) is this
    test's own: in the machine's /tmp, files come and go with every other process — the other pytest-xdist
    worker, a browser, a compiler — and one of theirs read as one of ours."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_the_file_waits_for_confirmation_in_the_cache_not_the_temp_folder(
    client, community_staff, own_temp_folder
):
    client.force_login(community_staff)
    before = temp_folder_files()
    response = upload(client, xlsx([COLUMNS, GOOD_ROW]))
    confirm = response.context["confirm_form"].initial
    assert temp_folder_files() - before == set()
    stored = ImportFileStorage(name=confirm["import_file_name"]).read()
    assert stored is not None and stored.startswith(b"PK")

    response = client.post("/admin/charity/organization/process_import/", confirm)
    assert response.status_code == 302
    assert Organization.objects.filter(name="官北沟读书会").exists()
    assert ImportFileStorage(name=confirm["import_file_name"]).read() is None  # removed once imported


def test_an_abandoned_file_expires_and_its_late_confirmation_says_so(client, community_staff, settings):
    # The clock below moves for Python only: a local-memory cache expires by it, Redis by its own clock.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    client.force_login(community_staff)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        confirm = upload(client, xlsx([COLUMNS, GOOD_ROW])).context["confirm_form"].initial
        clock.shift(ImportFileStorage.LIFETIME // 2)
        assert client.get("/admin/").status_code == 200  # busy elsewhere: still logged in
        clock.shift(ImportFileStorage.LIFETIME // 2 + 1)
        assert ImportFileStorage(name=confirm["import_file_name"]).read() is None
        response = client.post("/admin/charity/organization/process_import/", confirm, follow=True)
    assert response.redirect_chain[-1][0] == IMPORT_URL
    assert [str(m) for m in response.context["messages"]] == [
        "The uploaded file was kept for 30 minutes and has expired: upload it again."
    ]
    assert not Organization.objects.exists()


def test_a_sheet_declaring_xml_entities_is_refused(client, community_staff):
    # The start of a "billion laughs": entities that expand to entities. defusedxml refuses any of them.
    entities = b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    raw = xlsx([COLUMNS, ["&b;", *GOOD_ROW[1:]]])
    source, out = zipfile.ZipFile(io.BytesIO(raw)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == SHEET:
                assert data.startswith(b"<worksheet") and b"&amp;b;" in data
                data = entities + data.replace(b"&amp;b;", b"&b;")
            dst.writestr(item.filename, data)
    client.force_login(community_staff)
    response = upload(client, out.getvalue())
    assert form_errors(response) == ["This Excel file cannot be read. Save it again as .xlsx or CSV."]
    assert not Organization.objects.exists()
