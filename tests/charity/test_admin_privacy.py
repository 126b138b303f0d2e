"""Personal data leaves only with consent: exports, masking in the admin, access logs, public pages, keys."""

import csv
import datetime
import io
import logging

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from charity.admin import OrganizationResource, PersonResource
from charity.logsafety import MaskMobileFilter
from charity.models import AuditEvent, OrganizationAPIKey
from tests.factories import OrganizationFactory, PersonFactory, UserFactory

CSV_FORMAT, XLSX_FORMAT = "1", "0"


def grant(user, *codenames):
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return get_user_model().objects.get(pk=user.pk)


def export(client, model, resource_cls, file_format=CSV_FORMAT, url=None):
    prefix = resource_cls.__name__.lower()
    fields = {f"{prefix}_{name}": "on" for name in resource_cls.Meta.fields}
    response = client.post(
        url or f"/admin/charity/{model}/export/", {"format": file_format, "resource": "0", **fields}
    )
    assert response.status_code == 200, response.content[:300]
    assert "attachment" in response["Content-Disposition"]
    if file_format == CSV_FORMAT:
        # Headers are the columns' Chinese labels: rows are keyed back by field name for the assertions.
        names = {str(f.column_name): name for name, f in resource_cls().fields.items()}
        rows = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))
        return [{names.get(k, k): v for k, v in row.items()} for row in rows]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    return sheet


@pytest.fixture
def wang(guanbeigou):
    return PersonFactory(name="王阿姨", mobile="13900000008", community=guanbeigou)


# --- exports of personal data need a permission and are audited ----------------------------------------


def test_exporting_people_needs_the_personal_data_permission(client, community_viewer, wang):
    client.force_login(community_viewer)
    assert client.get("/admin/charity/person/export/").status_code == 403
    response = client.post(
        "/admin/charity/person/export/",
        {"format": CSV_FORMAT, "resource": "0", "personresource_mobile": "on"},
    )
    assert response.status_code == 403
    assert "13900000008" not in response.content.decode()
    assert "/admin/charity/person/export/" not in client.get("/admin/charity/person/").content.decode()


def test_with_the_permission_people_are_exported_and_the_export_is_audited(client, community_viewer, wang):
    viewer = grant(community_viewer, "export_personal_data")
    client.force_login(viewer)
    rows = export(client, "person", PersonResource)
    assert [(r["name"], r["mobile"]) for r in rows] == [("王阿姨", "13900000008")]
    event = AuditEvent.objects.get(action="data.exported")
    assert event.actor_user == viewer and event.surface == "admin"
    assert event.area == wang.community  # filed where the viewer works: their managers see it
    assert event.data["model"] == "charity.person"
    assert event.data["rows"] == 1
    assert "mobile" in event.data["fields"] and "name" in event.data["fields"]


def test_an_organisation_export_leaves_out_contact_people_without_the_permission(
    client, community_viewer, guanbeigou
):
    OrganizationFactory(
        name="官北沟舞蹈队", area=guanbeigou, contact_name="李队长", contact_phone="13900000007"
    )
    client.force_login(community_viewer)
    [row] = export(client, "organization", OrganizationResource)
    assert row["name"] == "官北沟舞蹈队"
    assert "李队长" not in row.values() and "13900000007" not in row.values()
    assert AuditEvent.objects.get(action="data.exported").data["rows"] == 1
    client.force_login(grant(community_viewer, "export_personal_data"))
    [row] = export(client, "organization", OrganizationResource)
    assert (row["contact_name"], row["contact_phone"]) == ("李队长", "13900000007")


FORMULAE = ['=HYPERLINK("http://x")', "+1+cmd|' /C calc'!A0", "-2+3+cmd", "@SUM(A1:A2)"]


def test_csv_export_writes_formulae_as_text(client, community_viewer, guanbeigou):
    for i, formula in enumerate(FORMULAE):
        OrganizationFactory(name=f"组织{i}", area=guanbeigou, description=formula)
    client.force_login(community_viewer)
    rows = export(client, "organization", OrganizationResource)
    cells = [r["description"] for r in rows]
    assert len(cells) == 4
    for cell in cells:
        assert cell[0] not in "=+-@", cell


def test_xlsx_export_writes_formulae_as_text(client, community_viewer, guanbeigou):
    for i, formula in enumerate(FORMULAE):
        OrganizationFactory(name=f"组织{i}", area=guanbeigou, description=formula)
    client.force_login(community_viewer)
    sheet = export(client, "organization", OrganizationResource, XLSX_FORMAT)
    header = [c.value for c in sheet[1]]
    column = header.index(str(OrganizationResource().fields["description"].column_name)) + 1
    cells = [sheet.cell(row=r, column=column) for r in range(2, sheet.max_row + 1)]
    assert len(cells) == 4
    for cell in cells:
        assert cell.data_type == "s" and not str(cell.value).startswith("="), cell.value


def test_a_donation_export_names_only_consenting_donors_without_the_permission(
    client, community_viewer, guanbeigou
):
    from charity.services import Actor
    from funds.admin import DonationResource
    from funds.services import post_donation
    from tests.factories import FundFactory

    fund = FundFactory(community=guanbeigou)
    for name, anonymous, publish in [
        ("匿名张", True, False),
        ("不公开李", False, False),
        ("公开王", False, True),
    ]:
        post_donation(
            fund=fund,
            amount_fen=1000,
            channel="resident",
            donor_name=name,
            anonymous=anonymous,
            publish_name=publish,
            receipt_waived=True,
            received_on=datetime.date(2026, 3, 1),
            actor=Actor.system(),
        )
    client.force_login(community_viewer)
    rows = export(client, "donation", DonationResource, url="/admin/funds/donation/export/")
    donors = {r["donor"] for r in rows}
    assert "公开王" in donors
    assert not {"匿名张", "不公开李"} & donors
    assert AuditEvent.objects.get(action="data.exported").data["model"] == "funds.donation"
    client.force_login(grant(community_viewer, "export_personal_data"))
    rows = export(client, "donation", DonationResource, url="/admin/funds/donation/export/")
    assert {"匿名张", "不公开李", "公开王"} <= {r["donor"] for r in rows}


# --- masking in the admin -------------------------------------------------------------------------------


def test_the_person_change_page_shows_only_the_masked_number(client, community_staff, wang):
    client.force_login(community_staff)
    html = client.get(f"/admin/charity/person/{wang.pk}/change/").content.decode()
    assert "13900000008" not in html
    assert "139****0008" in html


def test_a_login_named_after_the_number_is_not_shown_on_the_change_page(client, community_staff, resident):
    client.force_login(community_staff)
    html = client.get(f"/admin/charity/person/{resident.pk}/change/").content.decode()
    assert "13900000001" not in html


def test_saving_the_page_keeps_the_number_and_a_new_number_replaces_it(
    client, community_staff, wang, guanbeigou
):
    client.force_login(community_staff)
    url = f"/admin/charity/person/{wang.pk}/change/"
    response = client.post(url, {"name": "王秀英", "community": guanbeigou.pk, "new_mobile": ""})
    assert response.status_code == 302
    wang.refresh_from_db()
    assert (wang.name, wang.mobile) == ("王秀英", "13900000008")
    client.post(url, {"name": "王秀英", "community": guanbeigou.pk, "new_mobile": "138 0000 0009"})
    wang.refresh_from_db()
    assert wang.mobile == "13800000009"


def test_a_new_number_already_registered_is_refused(client, community_staff, wang, dalong):
    PersonFactory(name="陈伯", mobile="13700000002", community=dalong)
    client.force_login(community_staff)
    response = client.post(
        f"/admin/charity/person/{wang.pk}/change/",
        {"name": "王阿姨", "community": wang.community_id, "new_mobile": "13700000002"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "陈伯" not in html and "大龙社区" not in html
    wang.refresh_from_db()
    assert wang.mobile == "13900000008"


def test_a_user_with_the_full_number_permission_sees_and_edits_it(client, community_staff, wang):
    client.force_login(grant(community_staff, "view_full_mobile"))
    html = client.get(f"/admin/charity/person/{wang.pk}/change/").content.decode()
    assert "13900000008" in html


def test_search_by_mobile_finds_the_person_without_showing_the_number(client, community_staff, wang):
    PersonFactory(name="李大爷", mobile="13900000009", community=wang.community)
    client.force_login(community_staff)
    response = client.get("/admin/charity/person/", {"q": "139 0000 0008"})
    html = response.content.decode()
    assert "王阿姨" in html and "李大爷" not in html
    assert "139****0008" in html
    assert [p.name for p in response.context["cl"].result_list] == ["王阿姨"]


def test_search_by_part_of_a_number_does_not_enumerate_numbers(client, community_staff, wang):
    client.force_login(community_staff)
    response = client.get("/admin/charity/person/", {"q": "1390000"})
    assert list(response.context["cl"].result_list) == []


# --- mobile numbers stay out of access logs -------------------------------------------------------------


def record(name, msg, *args):
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)


def test_the_log_filter_masks_mobile_numbers_in_request_lines():
    rec = record("django.server", '"%s" %s %s', "GET /admin/charity/person/?q=13900000008 HTTP/1.1", 200, 10)
    assert MaskMobileFilter().filter(rec)
    assert "13900000008" not in rec.getMessage()
    assert "139****0008" in rec.getMessage()


def test_the_log_filter_leaves_longer_digit_runs_alone():
    rec = record("django.server", "%s", "receipt 2139000000081 and id 12345")
    MaskMobileFilter().filter(rec)
    assert rec.getMessage() == "receipt 2139000000081 and id 12345"


@pytest.mark.parametrize("logger_name", ["django.server", "django.request"])
def test_django_request_logs_are_masked(logger_name):
    logger = logging.getLogger(logger_name)
    assert any(isinstance(f, MaskMobileFilter) for f in logger.filters)


def test_gunicorn_access_logs_are_masked():
    from gunicorn.config import Config

    from charity.logsafety import GunicornLogger

    cfg = Config()
    cfg.set("accesslog", "-")
    seen = []

    class Keep(logging.Handler):
        def emit(self, rec):
            seen.append(rec.getMessage())

    logger = GunicornLogger(cfg)
    logger.access_log.addHandler(Keep())
    logger.access_log.info('"%(r)s" %(s)s', {"r": "GET /admin/?q=13900000008 HTTP/1.1", "s": "200"})
    assert seen == ['"GET /admin/?q=139****0008 HTTP/1.1" 200']


# --- the public organisation page -----------------------------------------------------------------------


@pytest.fixture
def team(guanbeigou):
    return OrganizationFactory(
        name="官北沟舞蹈队", area=guanbeigou, contact_name="李队长", contact_phone="13900000007"
    )


def test_the_contact_person_is_not_published_by_default(client, team):
    html = client.get(f"/organizations/{team.pk}/").content.decode()
    assert "李队长" not in html and "13900000007" not in html


def test_the_contact_person_is_published_with_the_recorded_consent(client, team):
    team.publish_contact = True
    team.save()
    html = client.get(f"/organizations/{team.pk}/").content.decode()
    assert "李队长" in html and "13900000007" in html


def test_an_office_number_is_published_without_the_persons_name(client, team):
    team.contact_phone, team.contact_phone_is_office = "0937-2612345", True
    team.save()
    html = client.get(f"/organizations/{team.pk}/").content.decode()
    assert "0937-2612345" in html and "李队长" not in html


# --- public counts --------------------------------------------------------------------------------------


def test_community_counts_below_three_are_shown_as_fewer_than_three(client, guanbeigou):
    for _ in range(2):
        PersonFactory(community=guanbeigou, user=UserFactory(), is_leader=True)
    html = client.get(f"/communities/{guanbeigou.pk}/").content.decode()
    assert "<b>&lt;3</b>" in html
    assert "<b>2</b>" not in html


def test_residents_signed_up_counts_only_people_with_a_login(client, guanbeigou):
    for _ in range(3):
        PersonFactory(community=guanbeigou, user=UserFactory())
    for _ in range(4):
        PersonFactory(community=guanbeigou)  # entered by staff, never signed up
    response = client.get(f"/communities/{guanbeigou.pk}/")
    assert response.context["people_count"] == 3
    assert "<b>3</b>" in response.content.decode()


def test_the_public_count_filter():
    from charity.templatetags.public import public_count

    assert [public_count(n) for n in (0, 1, 2, 3, 1234)] == ["<3", "<3", "<3", "3", "1,234"]


# --- a new API key is shown once, on its own page -------------------------------------------------------


def test_a_new_api_key_is_shown_once_on_its_own_page_and_not_in_the_messages_cookie(
    client, community_manager, hub
):
    client.force_login(community_manager)
    response = client.post(
        "/admin/charity/organizationapikey/add/", {"organization": hub.pk, "name": "对接系统"}
    )
    assert response.status_code == 200
    api_key = OrganizationAPIKey.objects.get(name="对接系统")
    key = response.context["key"]
    assert key.startswith(api_key.prefix + ".")
    html = response.content.decode()
    assert key in html
    assert "/admin/charity/organizationapikey/" in html
    assert "no-store" in response["Cache-Control"]
    assert key not in str(response.cookies.get("messages", ""))
    following = client.get("/admin/charity/organizationapikey/")
    assert key not in following.content.decode()
    assert key not in str(following.cookies.get("messages", "")) and key not in str(client.cookies)


def test_a_viewer_sees_the_masked_number_on_the_read_only_page(client, community_viewer, wang):
    client.force_login(community_viewer)
    html = client.get(f"/admin/charity/person/{wang.pk}/change/").content.decode()
    assert "139****0008" in html and "13900000008" not in html
