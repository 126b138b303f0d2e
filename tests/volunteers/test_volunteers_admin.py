"""The volunteers admin: no ID number anywhere but the audited page, registration through the service,
roster import with refused rows listed, export without ID numbers unless permitted, formulae as text."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from charity.models import AuditEvent, Organization
from charity.services import Actor
from tests.charity.test_admin_privacy import export
from tests.factories import OrganizationFactory, PersonFactory
from tests.volunteers.factories import make_volunteer, valid_resident_id
from volunteers import services
from volunteers.admin.volunteers import VolunteerResource
from volunteers.models import Volunteer

pytestmark = pytest.mark.django_db

SYSTEM = Actor(surface="command")


def grant(user, codename="view_sensitive_volunteer"):
    user.user_permissions.add(Permission.objects.get(codename=codename))
    return type(user).objects.get(pk=user.pk)


def register(person, number, **kw):
    kw.setdefault("source", "staff")
    return services.register_volunteer(
        person=person, id_type="resident_id", id_number=number, actor=SYSTEM, **kw
    )


@pytest.fixture
def desk(client, community_staff):
    client.force_login(community_staff)
    return client


def test_list_and_change_page_never_show_the_id_number(desk, guanbeigou):
    number = valid_resident_id(serial=11)
    v = register(PersonFactory(community=guanbeigou, name="赵志愿"), number, skills="摄影")
    page = desk.get(reverse("admin:volunteers_volunteer_changelist")).content.decode()
    assert v.number in page and "赵志愿" in page
    assert number not in page and number[-6:] not in page
    change = desk.get(reverse("admin:volunteers_volunteer_change", args=[v.pk])).content.decode()
    assert v.number in change and number not in change and v.id_ciphertext not in change
    assert "id-number" not in change  # no link without the permission


def test_changelist_query_count_is_flat(desk, guanbeigou, count_queries):
    team = OrganizationFactory(area=guanbeigou, type=Organization.Type.VOLUNTEER_TEAM)
    url = reverse("admin:volunteers_volunteer_changelist")
    first = make_volunteer(area=guanbeigou)
    first.teams.add(team)
    one = count_queries(lambda: desk.get(url))
    for _ in range(499):
        make_volunteer(area=guanbeigou).teams.add(team)
    many = count_queries(lambda: desk.get(url))
    assert many == one


def test_the_id_number_page_is_audited_and_needs_the_permission(
    client, community_staff, outsider, guanbeigou
):
    number = valid_resident_id(serial=12)
    v = register(PersonFactory(community=guanbeigou), number)
    url = reverse("admin:volunteers_volunteer_id_number", args=[v.pk])
    client.force_login(community_staff)
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    client.force_login(grant(outsider))
    assert client.get(url).status_code == 404
    allowed = grant(community_staff)
    client.force_login(allowed)
    change = client.get(reverse("admin:volunteers_volunteer_change", args=[v.pk])).content.decode()
    assert url in change and number not in change
    asked = client.get(url)
    assert asked.status_code == 200 and number not in asked.content.decode()
    assert not AuditEvent.objects.filter(action="volunteer.id_revealed").exists()
    shown = client.post(url)
    assert number in shown.content.decode() and "no-cache" in shown["Cache-Control"]
    event = AuditEvent.objects.get(action="volunteer.id_revealed")
    assert event.actor_user == allowed and event.surface == "admin"


def test_add_goes_through_register_volunteer(desk, guanbeigou, english):
    person = PersonFactory(community=guanbeigou)
    url = reverse("admin:volunteers_volunteer_add")
    bad = desk.post(
        url,
        {"person": person.pk, "id_type": "resident_id", "id_number": "110105194912310021"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert bad.status_code == 200 and "check digit" in bad.content.decode()
    assert not Volunteer.objects.exists()
    number = valid_resident_id(serial=13)
    response = desk.post(
        url,
        {
            "person": person.pk,
            "id_type": "resident_id",
            "id_number": number,
            "skills": "急救",
            "weekly_slots": "周六 9:00-12:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    v = Volunteer.objects.get()
    assert v.source == "staff" and v.birth_date == datetime.date(1980, 5, 17)
    assert [s.weekday for s in v.offered_time.slots.all()] == [5]
    assert AuditEvent.objects.filter(action="volunteer.registered").count() == 1


def test_change_updates_skills_and_teams(desk, guanbeigou):
    team = OrganizationFactory(area=guanbeigou, type=Organization.Type.VOLUNTEER_TEAM, name="舞蹈队")
    v = register(PersonFactory(community=guanbeigou), valid_resident_id(serial=14))
    response = desk.post(
        reverse("admin:volunteers_volunteer_change", args=[v.pk]),
        {"skills": "跳舞", "teams": [team.pk], "weekly_slots": ""},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    v.refresh_from_db()
    assert v.skills == "跳舞" and list(v.teams.all()) == [team]


def test_suspend_and_reinstate_actions(desk, guanbeigou):
    v = register(PersonFactory(community=guanbeigou), valid_resident_id(serial=15))
    url = reverse("admin:volunteers_volunteer_changelist")
    desk.post(url, {"action": "suspend_volunteers", "_selected_action": [v.pk]})
    v.refresh_from_db()
    assert v.status == "suspended"
    desk.post(url, {"action": "reinstate_volunteers", "_selected_action": [v.pk]})
    v.refresh_from_db()
    assert v.status == "active"


# --- roster import -------------------------------------------------------------------------------------


def upload(text, name="roster.csv"):
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def import_form(client):
    url = reverse("admin:volunteers_volunteer_import")
    page = client.get(url)
    assert page.status_code == 200
    formats = page.context["form"].fields["format"].choices
    return url, next(str(v) for v, label in formats if "csv" in str(label).lower())


HEADER = (
    "name,mobile,community,id_type,id_number,birth_date,skills,teams,availability,"
    "guardian_name,guardian_relation,guardian_consent\n"
)


def test_roster_dry_run_lists_every_refused_row_and_saves_nothing(desk, guanbeigou, english):
    existing = valid_resident_id(serial=20)
    register(PersonFactory(community=guanbeigou), existing)
    good = valid_resident_id(serial=21)
    twice = valid_resident_id(serial=22)
    wrong_digit = good[:-1] + ("0" if good[-1] != "0" else "1")
    child = valid_resident_id(
        datetime.date.today().replace(year=datetime.date.today().year - 9) - datetime.timedelta(days=30), 23
    )
    c = guanbeigou.name
    rows = [
        f"陈一,13800000001,{c},resident_id,{good},,心理咨询,,周六 9:00-12:00,,,\n",
        f"陈二,13800000002,{c},resident_id,12345,,,,,,,\n",
        f"陈三,13800000003,{c},resident_id,{wrong_digit},,,,,,,\n",
        f"陈四,13800000004,{c},resident_id,{twice},,,,,,,\n",
        f"陈五,13800000005,{c},resident_id,{twice},,,,,,,\n",
        f"陈六,13800000006,{c},resident_id,{existing},,,,,,,\n",
        f"陈七,13800000007,{c},resident_id,{child},,,,,,,\n",
        f"<b>陈八</b>,13800000008,{c},passport,E1234567,1990-01-01,{'长' * 600},,,,,\n",
    ]
    url, fmt = import_form(desk)
    response = desk.post(
        url,
        {"import_file": upload(HEADER + "".join(rows)), "format": fmt, "resource": "0"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    result = response.context["result"]
    assert result.totals["new"] == 2 and result.totals["invalid"] == 6, result.totals
    refused = {row.number: row.error_dict for row in result.invalid_rows}
    messages = {n: " ".join(str(m) for ms in errs.values() for m in ms) for n, errs in refused.items()}
    assert "18 characters" in messages[2]
    assert "check digit" in messages[3]
    assert "also on row 4" in messages[5]
    assert "already registered" in messages[6]
    assert "guardian" in messages[7]
    assert "At most 500" in messages[8]
    page = response.content.decode()
    for number in (good, twice, existing, child, wrong_digit):
        assert number not in page, number  # masked in the preview and the error list
    assert "<b>陈八</b>" not in page
    assert Volunteer.objects.count() == 1  # a dry run
    assert "confirm_form" not in response.context


def test_roster_import_registers_everyone(desk, guanbeigou):
    team = OrganizationFactory(area=guanbeigou, type=Organization.Type.VOLUNTEER_TEAM, name="心理咨询队")
    known = PersonFactory(community=guanbeigou, mobile="13800000011")
    rows = (
        f"陈一,13800000011,,resident_id,{valid_resident_id(serial=31)},,心理咨询,心理咨询队,"
        "周六 9:00-12:00; 周日 14:00-17:00,,,\n"
        f"陈二,13800000012,{guanbeigou.name},resident_id,{valid_resident_id(serial=32)},,,,,,,\n"
    )
    url, fmt = import_form(desk)
    first = desk.post(url, {"import_file": upload(HEADER + rows), "format": fmt, "resource": "0"})
    assert first.context["result"].totals["new"] == 2, [
        r.error_dict for r in first.context["result"].invalid_rows
    ]
    confirm = first.context["confirm_form"].initial
    done = desk.post(reverse("admin:volunteers_volunteer_process_import"), {**confirm, "resource": "0"})
    assert done.status_code == 302
    assert Volunteer.objects.count() == 2
    mine = Volunteer.objects.get(person=known)
    assert list(mine.teams.all()) == [team] and mine.source == "import"
    assert len(mine.offered_time.slots.all()) == 2
    assert AuditEvent.objects.filter(action="volunteer.imported").count() == 1
    assert AuditEvent.objects.filter(action="volunteer.registered").count() == 2
    # Nothing written about the import holds an ID number: not the admin's log, not the audit log.
    from django.contrib.admin.models import LogEntry

    logged = str(list(LogEntry.objects.values())) + str(list(AuditEvent.objects.values()))
    for serial in (31, 32):
        assert valid_resident_id(serial=serial) not in logged


# --- export --------------------------------------------------------------------------------------------

EXPORT_URL = "/admin/volunteers/volunteer/export/"


def test_export_has_no_id_numbers_without_the_permission_and_escapes_formulae(
    client, community_staff, guanbeigou
):
    number = valid_resident_id(serial=40)
    register(PersonFactory(community=guanbeigou, name="孙八"), number, skills='=HYPERLINK("http://x")')
    client.force_login(community_staff)
    rows = export(client, "volunteer", VolunteerResource, url=EXPORT_URL)
    assert len(rows) == 1
    row = rows[0]
    assert number not in str(row) and "id_number" not in row
    assert row["skills"].startswith("'=")
    assert "孙八" not in str(row)  # names need charity.export_personal_data
    event = AuditEvent.objects.get(action="data.exported")
    assert "id_number" not in event.data.get("fields", [])


def test_export_with_the_permission_holds_the_id_number(client, community_staff, guanbeigou):
    number = valid_resident_id(serial=41)
    register(PersonFactory(community=guanbeigou), number)
    client.force_login(grant(grant(community_staff), "export_personal_data"))
    rows = export(client, "volunteer", VolunteerResource, url=EXPORT_URL)
    assert rows[0]["id_number"] == number
    assert "id_number" in AuditEvent.objects.get(action="data.exported").data["fields"]
