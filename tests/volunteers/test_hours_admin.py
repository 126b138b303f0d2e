"""Service hours and certificates in the admin: entering, bulk confirming, rejecting with a reason, issuing,
revoking, the national-system export (columns, ID numbers by permission, formulae), query counts."""

import datetime
import io

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from charity import crypto
from charity.models import AuditAction, AuditEvent, Organization
from tests.factories import OrganizationFactory, PersonFactory
from tests.volunteers.factories import make_record, make_volunteer
from volunteers import hours_export
from volunteers.models import Certificate, ServiceRecord

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:volunteers_servicerecord_changelist"


@pytest.fixture(autouse=True)
def _both_roots(dalong, guanbeigou):
    guanbeigou.refresh_from_db()


@pytest.fixture
def committee(guanbeigou):
    return OrganizationFactory(
        name="官北沟社区居委会", type=Organization.Type.NEIGHBOURHOOD_COMMITTEE, area=guanbeigou
    )


@pytest.fixture
def volunteer(guanbeigou):
    return make_volunteer(PersonFactory(name="张志愿", community=guanbeigou))


def act(client, action, records, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [r.pk for r in records], **extra}
    return client.post(reverse(CHANGELIST), data)


def test_staff_enter_hours_and_bad_hours_are_refused_on_the_form(
    client, community_staff, volunteer, committee, guanbeigou
):
    client.force_login(community_staff)
    day = timezone.localdate() - datetime.timedelta(days=2)
    form = {
        "volunteer": volunteer.pk,
        "organizer": committee.pk,
        "community": guanbeigou.pk,
        "content": "陪伴独居老人",
        "started_at_0": f"{day:%Y-%m-%d}",
        "started_at_1": "09:00",
        "ended_at_0": f"{day:%Y-%m-%d}",
        "ended_at_1": "11:00",
        "minutes": "",
    }
    url = reverse("admin:volunteers_servicerecord_add")
    bad = client.post(url, {**form, "minutes": "25"})
    assert bad.status_code == 200 and not ServiceRecord.objects.exists()
    assert "quarter" in bad.content.decode() or "刻" in bad.content.decode() or "15" in bad.content.decode()
    ok = client.post(url, form)
    assert ok.status_code == 302, ok.content.decode()[:2000]
    record = ServiceRecord.objects.get()
    assert record.minutes == 120 and record.source == "organiser" and record.status == "submitted"


def test_bulk_confirm_and_reject_with_a_reason(client, community_staff, volunteer, committee):
    a = make_record(volunteer, organizer=committee, days_ago=3, status="submitted")
    b = make_record(volunteer, organizer=committee, days_ago=2, status="submitted")
    c = make_record(volunteer, organizer=committee, days_ago=1, status="submitted")
    client.force_login(community_staff)
    act(client, "confirm_records", [a, b])
    a.refresh_from_db(), b.refresh_from_db()
    assert a.status == b.status == "confirmed"
    page = act(client, "reject_records", [c])  # first the page asking why
    assert page.status_code == 200 and "reason" in page.content.decode()
    act(client, "reject_records", [c], apply="1", reason="")
    c.refresh_from_db()
    assert c.status == "submitted"
    act(client, "reject_records", [c], apply="1", reason="当天未到场")
    c.refresh_from_db()
    assert c.status == "rejected" and c.rejection_reason == "当天未到场"


def test_issue_a_certificate_from_confirmed_records_and_revoke_it(
    client, community_staff, volunteer, committee
):
    records = [make_record(volunteer, organizer=committee, days_ago=d) for d in (20, 10)]
    waiting = make_record(volunteer, organizer=committee, days_ago=5, status="submitted")
    client.force_login(community_staff)
    issue = {"apply": "1", "person_in_charge": "李主任", "handler": "王社工", "contact": "0937-1234567"}
    act(client, "issue_certificate", [*records, waiting], **issue)
    assert not Certificate.objects.exists()  # unconfirmed hours: refused
    response = act(client, "issue_certificate", records, **issue)
    certificate = Certificate.objects.get()
    assert response.status_code == 302 and certificate.total_minutes == 240
    page = client.get(reverse("admin:volunteers_certificate_change", args=[certificate.pk])).content.decode()
    assert certificate.number in page and reverse("volunteers:certificate_pdf", args=[certificate.pk]) in page
    assert crypto.decrypt(volunteer.id_ciphertext) not in page
    revoke = reverse("admin:volunteers_certificate_revoke", args=[certificate.pk])
    assert client.post(revoke, {"reason": ""}).status_code == 200
    certificate.refresh_from_db()
    assert certificate.revoked_at is None
    assert client.post(revoke, {"reason": "登记错误"}).status_code == 302
    certificate.refresh_from_db()
    assert certificate.revoked_at is not None and certificate.revoked_reason == "登记错误"


def test_outsider_and_viewer_cannot_revoke(
    client, community_staff, community_viewer, outsider, volunteer, committee
):
    from charity.services import Actor
    from volunteers import services

    cert = services.issue_certificate(
        volunteer=volunteer,
        issuer=committee,
        records=[make_record(volunteer, organizer=committee)],
        person_in_charge="李主任",
        handler="王社工",
        contact="0937",
        actor=Actor(surface="admin", user=community_staff),
    )
    revoke = reverse("admin:volunteers_certificate_revoke", args=[cert.pk])
    client.force_login(outsider)
    assert client.post(revoke, {"reason": "x"}).status_code == 404
    client.force_login(community_viewer)
    assert client.post(revoke, {"reason": "x"}).status_code == 403
    cert.refresh_from_db()
    assert cert.revoked_at is None


def export(client, records):
    response = act(client, "export_national", records)
    assert response.status_code == 200, response.content[:500]
    return list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))


def test_national_export_columns_confirmed_only_and_id_numbers_by_permission(
    client, community_staff, volunteer, committee, django_user_model
):
    confirmed = make_record(volunteer, organizer=committee, days_ago=3, hours=2.5, content="=HYPERLINK(1)")
    waiting = make_record(volunteer, organizer=committee, days_ago=2, status="submitted")
    client.force_login(community_staff)
    rows = export(client, [confirmed, waiting])
    assert list(rows[0]) == hours_export.COLUMNS
    assert len(rows) == 2  # the header and the one confirmed record
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["姓名"] == "张志愿" and row["志愿者编号"] == volunteer.number
    assert row["证件类型"] == "居民身份证" and row["证件号码"] in (None, "")
    assert row["服务时长（小时）"] == 2.5 and row["记录组织"] == "官北沟社区居委会"
    assert row["服务内容"] == "'=HYPERLINK(1)"  # a formula written as text
    event = AuditEvent.objects.get(action=AuditAction.DATA_EXPORTED)
    assert event.data["rows"] == 1 and "证件号码" not in event.data["fields"]
    community_staff.user_permissions.add(Permission.objects.get(codename="view_sensitive_volunteer"))
    client.force_login(django_user_model.objects.get(pk=community_staff.pk))
    rows = export(client, [confirmed])
    assert dict(zip(rows[0], rows[1], strict=True))["证件号码"] == crypto.decrypt(volunteer.id_ciphertext)


def test_changelist_filters_and_scope(client, community_staff, volunteer, committee, dalong):
    mine = make_record(volunteer, organizer=committee, status="submitted", content="本社区服务")
    make_record(make_volunteer(area=dalong), content="大龙的服务")
    client.force_login(community_staff)
    page = client.get(reverse(CHANGELIST), {"status__exact": "submitted"}).content.decode()
    assert "本社区服务" in page and "大龙的服务" not in page
    assert client.get(reverse("admin:volunteers_servicerecord_change", args=[mine.pk])).status_code == 200


def test_changelists_run_as_many_queries_for_500_rows_as_for_one(
    client, community_staff, volunteer, committee, guanbeigou, count_queries
):
    client.force_login(community_staff)

    def add(n, offset):
        start = timezone.now() - datetime.timedelta(days=600)
        ServiceRecord.objects.bulk_create(
            ServiceRecord(
                volunteer=volunteer,
                organizer=committee,
                community=guanbeigou,
                content="服务",
                started_at=start + datetime.timedelta(hours=2 * (i + offset)),
                ended_at=start + datetime.timedelta(hours=2 * (i + offset) + 1),
                minutes=60,
                source="organiser",
                status="confirmed",
            )
            for i in range(n)
        )

    def show():
        assert client.get(reverse(CHANGELIST)).status_code == 200
        assert client.get(reverse("admin:volunteers_certificate_changelist")).status_code == 200

    add(1, 0)
    show()
    one = count_queries(show)
    add(499, 1)
    show()
    assert count_queries(show) == one
