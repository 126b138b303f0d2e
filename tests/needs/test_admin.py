"""The needs admin: review queue, publish, assisted entry, the audited sensitive view, import, export."""

import csv
import io
import logging

import pytest
from django.contrib.auth.models import Permission

from charity.models import AuditAction, AuditEvent
from needs.admin import NeedResource
from needs.models import Need, NeedSensitiveDetails

from .conftest import SECRET_PHONE, SECRETS

pytestmark = pytest.mark.django_db
CSV_FORMAT = "1"


def export(client):
    prefix = NeedResource.__name__.lower()
    fields = {f"{prefix}_{name}": "on" for name in NeedResource.Meta.fields}
    response = client.post("/admin/needs/need/export/", {"format": CSV_FORMAT, "resource": "0", **fields})
    assert response.status_code == 200, response.content[:300]
    return response.content.decode("utf-8-sig")


def test_review_queue_lists_submitted_needs_of_my_community_only(
    client, community_staff, post_need, guanbeigou, dalong, category, outsider
):
    from charity.services import Actor
    from needs import services

    from .conftest import need_input

    mine = post_need()
    theirs = services.submit_need(
        data=need_input(dalong, category, summary="大龙社区乒乓球台维修"),
        source=Need.Source.STAFF,
        actor=Actor("admin", user=outsider),
    )
    client.force_login(community_staff)
    response = client.get("/admin/needs/need/?status__exact=submitted")
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [mine]
    assert client.get(f"/admin/needs/need/{theirs.pk}/change/").status_code == 404


def test_publish_action_publishes_through_the_service(client, community_staff, post_need):
    need = post_need()
    client.force_login(community_staff)
    response = client.post(
        "/admin/needs/need/", {"action": "publish_needs", "_selected_action": [need.pk], "index": "0"}
    )
    assert response.status_code == 302
    need.refresh_from_db()
    assert need.status == Need.Status.PUBLISHED
    assert AuditEvent.objects.filter(
        action=AuditAction.NEED_STATUS_CHANGED, actor_user=community_staff
    ).exists()


def test_a_viewer_cannot_publish(client, community_viewer, post_need):
    need = post_need()
    client.force_login(community_viewer)
    client.post(
        "/admin/needs/need/", {"action": "publish_needs", "_selected_action": [need.pk], "index": "0"}
    )
    need.refresh_from_db()
    assert need.status == Need.Status.SUBMITTED


def test_assisted_entry_records_details_encrypted_with_consent(
    client, community_staff, guanbeigou, category, hub
):
    client.force_login(community_staff)
    response = client.post(
        "/admin/needs/need/add/",
        {
            "community": guanbeigou.pk,
            "category": category.pk,
            "sub_kind": "housing",
            "summary": "为一位独居老人家中楼梯加装扶手",
            "urgency": "soon",
            "beneficiary_count": "1",
            "s_name": "张秘密",
            "s_phone": SECRET_PHONE,
            "legal_basis": "consent",
            "consent_given_by": "beneficiary",
            "consent_publish_summary": "on",
            "share_with": [hub.pk],
            "timeline-TOTAL_FORMS": "0",
            "timeline-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    need = Need.objects.get()
    assert need.source == Need.Source.STAFF and need.entered_by == community_staff
    record = NeedSensitiveDetails.objects.get(need=need)
    assert record.consent_active and list(record.share_with.all()) == [hub]
    assert SECRET_PHONE not in record.ciphertext


def test_assisted_entry_without_a_legal_basis_is_refused_on_the_form(
    client, community_staff, guanbeigou, category
):
    client.force_login(community_staff)
    response = client.post(
        "/admin/needs/need/add/",
        {
            "community": guanbeigou.pk,
            "category": category.pk,
            "sub_kind": "housing",
            "summary": "楼梯扶手",
            "urgency": "soon",
            "beneficiary_count": "1",
            "s_phone": SECRET_PHONE,
            "timeline-TOTAL_FORMS": "0",
            "timeline-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert (
        "legal basis" in str(response.context["adminform"].form.errors)
        or response.context["adminform"].form.errors
    )
    assert Need.objects.count() == 0


def test_the_sensitive_view_needs_the_permission_and_is_audited(client, consent_need, community_staff):
    client.force_login(community_staff)
    assert client.get(f"/admin/needs/need/{consent_need.pk}/sensitive/").status_code == 403
    community_staff.user_permissions.add(Permission.objects.get(codename="view_sensitive"))
    response = client.get(f"/admin/needs/need/{consent_need.pk}/sensitive/")
    assert response.status_code == 200
    assert SECRET_PHONE in response.content.decode()
    assert (
        AuditEvent.objects.filter(
            action=AuditAction.NEED_SENSITIVE_VIEWED, actor_user=community_staff
        ).count()
        == 1
    )


def test_the_sensitive_view_of_another_community_is_404(client, consent_need, outsider):
    outsider.user_permissions.add(Permission.objects.get(codename="view_sensitive"))
    client.force_login(outsider)
    assert client.get(f"/admin/needs/need/{consent_need.pk}/sensitive/").status_code == 404


def test_a_bad_token_shows_cannot_be_read(client, consent_need, community_staff, settings, english):
    from cryptography.fernet import Fernet

    community_staff.user_permissions.add(Permission.objects.get(codename="view_sensitive"))
    client.force_login(community_staff)
    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)
    response = client.get(f"/admin/needs/need/{consent_need.pk}/sensitive/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "cannot be read with the current keys" in response.content.decode()


def test_the_change_page_shows_no_sensitive_detail(client, consent_need, community_staff):
    community_staff.user_permissions.add(Permission.objects.get(codename="view_sensitive"))
    client.force_login(community_staff)
    page = client.get(f"/admin/needs/need/{consent_need.pk}/change/").content.decode()
    for secret in SECRETS:
        assert secret not in page


def test_export_leaves_sensitive_fields_out_without_the_permission(client, consent_need, community_staff):
    client.force_login(community_staff)
    text = export(client)
    assert "为一位独居老人" in text
    for secret in SECRETS:
        assert secret not in text
    community_staff.user_permissions.add(Permission.objects.get(codename="view_sensitive"))
    assert SECRET_PHONE in export(client)


def test_export_never_starts_a_cell_with_a_formula(client, post_need, community_staff, staff_actor):
    post_need(summary='=HYPERLINK("http://evil") 需要扶手')
    client.force_login(community_staff)
    rows = list(csv.reader(io.StringIO(export(client))))
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell


def test_import_dry_run_lists_refused_rows_and_changes_nothing(client, community_staff, guanbeigou, category):
    client.force_login(community_staff)
    resource = NeedResource(user=community_staff)
    headers = [
        str(resource.fields[n].column_name)
        for n in ("community", "category", "sub_kind", "summary", "quantity", "urgency", "beneficiary_count")
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerow(["官北沟社区", "elderly", "其他物品", "冬季棉被20床", "20", "常规", "20"])
    writer.writerow(["官北沟社区", "elderly", "其他物品", "请打13812345678", "1", "常规", "1"])
    writer.writerow(["官北沟社区", "elderly", "其他物品", "数量为零", "0", "常规", "1"])
    upload = io.BytesIO(buffer.getvalue().encode("utf-8"))
    upload.name = "needs.csv"
    response = client.post(
        "/admin/needs/need/import/", {"import_file": upload, "format": CSV_FORMAT, "resource": "0"}
    )
    assert response.status_code == 200
    result = response.context["result"]
    assert result.has_validation_errors() or result.has_errors()
    assert Need.objects.count() == 0


def test_no_sensitive_detail_in_log_lines(
    client, caplog, guanbeigou, category, staff_actor, consent_need, community_staff
):
    caplog.set_level(logging.DEBUG)
    community_staff.user_permissions.add(Permission.objects.get(codename="view_sensitive"))
    client.force_login(community_staff)
    client.get(f"/admin/needs/need/{consent_need.pk}/sensitive/")
    client.get(f"/admin/needs/need/{consent_need.pk}/change/")
    for secret in SECRETS:
        assert secret not in caplog.text


def test_the_admin_list_query_count_is_flat(
    client, community_staff, guanbeigou, category, staff_actor, count_queries
):
    from needs import services

    def make(n):
        for i in range(n):
            services.submit_need(
                data=services.NeedInput(
                    community=guanbeigou,
                    category=category,
                    sub_kind="goods",
                    summary=f"第{i:03d}件：{'扶手' * (i % 3)}",
                ),
                source="staff",
                actor=staff_actor,
            )

    client.force_login(community_staff)
    make(1)
    client.get("/admin/needs/need/")
    one = count_queries(lambda: client.get("/admin/needs/need/"))
    make(120)
    many = count_queries(lambda: client.get("/admin/needs/need/"))
    assert one == many
