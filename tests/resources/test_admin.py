"""The admin: resources through the service, the loan desk (lend, return, overdue list), claims, import."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from charity.models import AuditAction, AuditEvent
from resources.admin import ResourceResource
from resources.models import AvailabilitySlot, Claim, Loan, Resource, WaitlistEntry
from tests.charity.test_admin_privacy import export

from .conftest import make_item, make_resource, make_tool, neighbour, portal_actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(client, community_staff):
    client.force_login(community_staff)
    return client


def test_staff_add_a_venue_with_weekly_slots(desk, guanbeigou, english):
    owner = neighbour(guanbeigou)
    response = desk.post(
        reverse("admin:resources_resource_add"),
        {
            "kind": "venue",
            "title": "社区活动室",
            "owner_person": owner.pk,
            "community": guanbeigou.pk,
            "reach": "street",
            "quantity": "1",
            "available_from": "2026-01-01",
            "weekly_slots": "周六 9:00-12:00\n3 14:00-17:00",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    hall = Resource.objects.get()
    assert [(s.weekday, s.start_time.hour) for s in AvailabilitySlot.objects.all()] == [(2, 14), (5, 9)]
    assert AuditEvent.objects.filter(action=AuditAction.RESOURCE_OFFERED, object_id=str(hall.pk)).exists()


@pytest.mark.parametrize(
    "data, field",
    [
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "-1"}, "quantity"),
        ({"available_until": "2025-12-01"}, "available_until"),
        ({"weekly_slots": "周六 12:00-9:00"}, "weekly_slots"),
        ({"weekly_slots": "whenever"}, "weekly_slots"),
        ({"description": "长" * 3000}, "description"),
    ],
)
def test_bad_input_in_the_admin_is_a_form_error(desk, guanbeigou, data, field):
    owner = neighbour(guanbeigou)
    form = {
        "kind": "venue",
        "title": "活动室",
        "owner_person": owner.pk,
        "community": guanbeigou.pk,
        "reach": "community",
        "quantity": "1",
        "available_from": "2026-01-01",
        **data,
    }
    response = desk.post(reverse("admin:resources_resource_add"), form)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors, errors
    assert not Resource.objects.exists()


def test_lend_return_and_the_overdue_list(desk, guanbeigou):
    drill = make_tool(guanbeigou)
    borrower = neighbour(guanbeigou)
    due = timezone.localdate() + datetime.timedelta(days=7)
    response = desk.post(
        reverse("admin:resources_loan_add"),
        {"resource": drill.pk, "borrower": borrower.pk, "due": due.isoformat(), "condition_at_lend": "完好"},
    )
    assert response.status_code == 302
    loan = Loan.objects.get()
    # The tool is out: a second loan is a form error.
    other = neighbour(guanbeigou)
    response = desk.post(
        reverse("admin:resources_loan_add"),
        {"resource": drill.pk, "borrower": other.pk, "due": due.isoformat()},
    )
    assert response.status_code == 200 and response.context["adminform"].form.errors
    assert Loan.objects.count() == 1
    Loan.objects.filter(pk=loan.pk).update(
        start=timezone.localdate() - datetime.timedelta(days=9),
        due=timezone.localdate() - datetime.timedelta(days=1),
    )
    late = desk.get(reverse("admin:resources_loan_changelist") + "?late=yes")
    assert list(late.context["cl"].result_list) == [loan]
    response = desk.post(
        reverse("admin:resources_loan_change", args=[loan.pk]),
        {"returned": "on", "condition_at_return": "划痕"},
    )
    assert response.status_code == 302
    loan.refresh_from_db()
    assert loan.returned_at and loan.condition_at_return == "划痕"
    assert not desk.get(reverse("admin:resources_loan_changelist") + "?late=yes").context["cl"].result_list


def test_claims_and_waiting_lists_in_the_admin(desk, guanbeigou):
    item = make_item(guanbeigou, quantity=2)
    taker = neighbour(guanbeigou)
    from resources import services

    claim = services.claim_item(resource=item, person=taker, actor=portal_actor(taker))
    desk.post(
        reverse("admin:resources_claim_changelist"),
        {"action": "hand_over_claims", "_selected_action": [claim.pk]},
    )
    claim.refresh_from_db()
    assert claim.status == Claim.Status.HANDED_OVER
    drill = make_tool(guanbeigou)
    services.lend_tool(resource=drill, borrower=neighbour(guanbeigou), actor=portal_actor(taker).system())
    entry = services.join_waitlist(resource=drill, person=taker, actor=portal_actor(taker))
    assert [
        e.pk for e in desk.get(reverse("admin:resources_waitlistentry_changelist")).context["cl"].result_list
    ] == [entry.pk]
    desk.post(
        reverse("admin:resources_waitlistentry_changelist"),
        {"action": "remove_from_waitlist", "_selected_action": [entry.pk]},
    )
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.LEFT


def test_viewer_cannot_lend(client, community_viewer, guanbeigou):
    client.force_login(community_viewer)
    drill = make_tool(guanbeigou)
    response = client.post(
        reverse("admin:resources_loan_add"),
        {"resource": drill.pk, "borrower": neighbour(guanbeigou).pk, "due": timezone.localdate().isoformat()},
    )
    assert response.status_code == 403
    assert not Loan.objects.exists()


def csv_upload(text):
    return SimpleUploadedFile("paper.csv", text.encode("utf-8"), content_type="text/csv")


def import_form(admin_client_or_desk):
    ma_url = reverse("admin:resources_resource_import")
    page = admin_client_or_desk.get(ma_url)
    formats = page.context["form"].fields["format"].choices
    csv_index = next(str(value) for value, label in formats if "csv" in str(label).lower())
    return ma_url, csv_index


def test_import_from_paper_lists_refused_rows_in_the_dry_run(desk, guanbeigou):
    owner = neighbour(guanbeigou)
    owner.mobile = "13912345678"
    owner.save()
    url, fmt = import_form(desk)
    header = "kind,title,owner_person,community,reach,quantity,unit,available_from\n"
    rows = (
        f"goods,冬季棉被,13912345678,{guanbeigou.name},community,20,床,2026-01-01\n"
        f"goods,坏行,13912345678,{guanbeigou.name},community,0,床,2026-01-01\n"
    )
    response = desk.post(url, {"import_file": csv_upload(header + rows), "format": fmt, "resource": "0"})
    assert response.status_code == 200
    result = response.context["result"]
    assert result.totals["new"] == 1 and result.totals["invalid"] == 1, result.totals
    refused = [row.error_dict for row in result.invalid_rows]
    assert "quantity" in refused[0]
    assert not Resource.objects.exists()  # a dry run
    assert "confirm_form" not in response.context  # a file with a refused row cannot be imported


FORMULAE = ['=HYPERLINK("http://x")', "+1+cmd|' /C calc'!A0", "-2+3+cmd", "@SUM(A1:A2)"]


def test_export_writes_formulae_as_text_and_leaves_the_resident_out(client, community_viewer, guanbeigou):
    owner = neighbour(guanbeigou)
    for formula in FORMULAE:
        make_resource(guanbeigou, owner=owner, title=formula[:20], description=formula)
    client.force_login(community_viewer)
    rows = export(client, "resource", ResourceResource, url="/admin/resources/resource/export/")
    assert len(rows) == 4
    for row in rows:
        assert row["description"][0] not in "=+-@" and row["title"][0] not in "=+-@", row
        assert owner.name not in row.values() and owner.mobile not in row.values()
        assert "owner_person" not in row
