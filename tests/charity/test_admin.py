"""The staff admin: Chinese first; exports and imports stay inside the user's areas."""

import csv
import io
import re

import openpyxl
import pytest
from django.contrib.auth.models import Permission

from charity.admin import OrganizationResource, PersonResource
from charity.models import Organization, Person
from charity.validators import uscc_check_char
from tests.factories import OrganizationFactory, PersonFactory

CSV_FORMAT, XLSX_FORMAT = "1", "0"  # positions in charity.admin.IMPORT_FORMATS


def valid_uscc(first17="52620902MJK12345A"):
    return first17 + uscc_check_char(first17)


@pytest.fixture
def orgs(guanbeigou, dalong):
    return OrganizationFactory(name="官北沟舞蹈队", area=guanbeigou), OrganizationFactory(
        name="大龙志愿队", area=dalong
    )


@pytest.fixture
def people(guanbeigou, dalong):
    return PersonFactory(name="王阿姨", community=guanbeigou), PersonFactory(name="陈伯", community=dalong)


def test_admin_is_chinese_by_default(client, community_staff):
    client.force_login(community_staff)
    response = client.get("/admin/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans"' in html
    assert "最近动作" in html  # Django's own "Recent actions"


def test_admin_site_title_is_translated(client, community_staff):
    client.force_login(community_staff)
    title = re.search(r"<title>(.*?)</title>", client.get("/admin/").content.decode()).group(1)
    assert re.search(r"[\u4e00-\u9fff]", title), f"untranslated admin title: {title}"


def export(client, model, resource_cls, file_format):
    fields = {f"{resource_cls.__name__.lower()}_{name}": "on" for name in resource_cls.Meta.fields}
    response = client.post(
        f"/admin/charity/{model}/export/", {"format": file_format, "resource": "0", **fields}
    )
    assert response.status_code == 200, response.content[:500]
    assert "attachment" in response["Content-Disposition"]
    names = {str(f.column_name): name for name, f in resource_cls().fields.items()}
    if file_format == CSV_FORMAT:
        # Headers are the columns' Chinese labels: rows are keyed back by field name for the assertions.
        rows = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))
        return [{names.get(k, k): v for k, v in row.items()} for row in rows]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, *rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header = [names.get(h, h) for h in header]
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.mark.parametrize("file_format", [CSV_FORMAT, XLSX_FORMAT])
def test_organisation_export_holds_only_in_scope_rows(client, community_staff, orgs, file_format):
    client.force_login(community_staff)
    rows = export(client, "organization", OrganizationResource, file_format)
    assert [r["name"] for r in rows] == ["官北沟舞蹈队"]
    assert rows[0]["area"] == "官北沟社区"


@pytest.mark.parametrize("file_format", [CSV_FORMAT, XLSX_FORMAT])
def test_person_export_holds_only_in_scope_rows(client, community_staff, people, file_format):
    community_staff.user_permissions.add(Permission.objects.get(codename="export_personal_data"))
    client.force_login(community_staff)
    rows = export(client, "person", PersonResource, file_format)
    assert [r["name"] for r in rows] == ["王阿姨"]


def test_the_outsider_exports_none_of_ours(client, outsider, orgs):
    client.force_login(outsider)
    assert [r["name"] for r in export(client, "organization", OrganizationResource, CSV_FORMAT)] == [
        "大龙志愿队"
    ]


def import_csv(client, rows):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["name", "type", "area", "registration", "credit_code"])
    writer.writeheader()
    writer.writerows(rows)
    upload = io.BytesIO(buffer.getvalue().encode("utf-8"))
    upload.name = "organizations.csv"
    return client.post(
        "/admin/charity/organization/import/", {"import_file": upload, "format": CSV_FORMAT, "resource": "0"}
    )


def row(**overrides):
    data = {
        "name": "官北沟读书会",
        "type": "community_group",
        "area": "官北沟社区",
        "registration": "filed",
        "credit_code": "",
    }
    data.update(overrides)
    return data


def test_import_of_a_good_file_shows_a_preview_to_confirm(client, community_staff, guanbeigou):
    client.force_login(community_staff)
    response = import_csv(client, [row(credit_code=valid_uscc())])
    assert response.status_code == 200
    result = response.context["result"]
    assert not result.has_errors() and not result.has_validation_errors()
    assert not Organization.objects.filter(name="官北沟读书会").exists()  # nothing until confirmed


def test_import_with_an_out_of_scope_area_reports_it_and_creates_nothing(
    client, community_staff, guanbeigou, dalong
):
    client.force_login(community_staff)
    response = import_csv(client, [row(), row(name="大龙读书会", area="大龙社区")])
    assert response.status_code == 200
    html = response.content.decode()
    result = response.context["result"]
    assert result.has_validation_errors() or result.has_errors()
    assert "大龙社区" in html
    assert 'name="confirm"' not in html and "process_import" not in html
    assert not Organization.objects.exists()


def test_import_with_a_bad_credit_code_reports_it_and_creates_nothing(client, community_staff, guanbeigou):
    client.force_login(community_staff)
    bad = valid_uscc()[:17] + ("0" if valid_uscc()[17] != "0" else "1")
    response = import_csv(client, [row(credit_code=bad)])
    assert response.status_code == 200
    result = response.context["result"]
    assert result.has_validation_errors()
    [invalid] = result.invalid_rows
    assert "credit_code" in invalid.field_specific_errors
    assert not Organization.objects.exists()


def test_a_viewer_may_not_import(client, community_viewer, guanbeigou):
    client.force_login(community_viewer)
    assert client.get("/admin/charity/organization/import/").status_code == 403
    assert import_csv(client, [row()]).status_code == 403
    assert not Organization.objects.exists()


def test_person_list_masks_mobile_numbers(client, community_staff, people):
    client.force_login(community_staff)
    html = client.get("/admin/charity/person/").content.decode()
    mobile = people[0].mobile
    assert f"{mobile[:3]}****{mobile[-4:]}" in html
    assert mobile not in html
    assert Person.objects.count() == 2


def test_only_organisation_api_keys_are_offered_in_the_admin(admin_client):
    """The library's unscoped APIKey is not for staff: every key belongs to an organisation and its areas."""
    page = admin_client.get("/admin/").content.decode()
    assert "/admin/rest_framework_api_key/" not in page
    assert "/admin/charity/organizationapikey/" in page
