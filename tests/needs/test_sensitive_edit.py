"""Entering or correcting a need's sensitive details in the admin (`<id>/sensitive/edit/`): staff of the
need's area with `needs.view_sensitive` only, through `record_sensitive_details`, audited; consent on record
stays as given, and withdrawn consent is never revived by a correction."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from charity import crypto
from charity.models import AuditAction, AuditEvent
from charity.services import Actor
from needs import services
from needs.models import NeedSensitiveDetails
from needs.services import LegalBasisInput

from .conftest import SECRET_ADDRESS, SECRET_PHONE

pytestmark = pytest.mark.django_db


def url(need):
    return f"/admin/needs/need/{need.pk}/sensitive/edit/"


def details(need) -> dict:
    return json.loads(crypto.decrypt(NeedSensitiveDetails.objects.get(need=need).ciphertext))


def form_data(hub=None, **extra):
    data = {
        "s_name": "张更正",
        "s_phone": "13712345679",
        "s_address": "幸福路99号",
        "legal_basis": "consent",
        "consent_given_by": "beneficiary",
        "consent_publish_summary": "on",
        **({"share_with": [hub.pk]} if hub else {}),
    }
    return {k: v for k, v in {**data, **extra}.items() if v is not None}


@pytest.fixture
def viewer_client(client, sensitive_viewer):
    client.force_login(sensitive_viewer)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def rows():
    return list(NeedSensitiveDetails.objects.values())


def test_the_form_is_filled_in_with_the_details_and_opening_it_is_audited(viewer_client, consent_need):
    response = viewer_client.get(url(consent_need))
    assert response.status_code == 200
    page = response.content.decode()
    assert SECRET_PHONE in page and SECRET_ADDRESS in page
    assert AuditEvent.objects.filter(action=AuditAction.NEED_SENSITIVE_VIEWED).count() == 1


def test_correcting_keeps_the_consent_as_given(client, consent_need, hub, guanbeigou):
    from charity.models import StaffAssignment
    from tests.factories import StaffUserFactory, assign

    # Another clerk than the one who recorded the consent corrects the details.
    corrector = assign(StaffUserFactory(username="clerk2"), guanbeigou, StaffAssignment.Role.STAFF)
    corrector.user_permissions.add(Permission.objects.get(codename="view_sensitive"))
    client.force_login(corrector)
    before = NeedSensitiveDetails.objects.get(need=consent_need)
    response = client.post(url(consent_need), form_data(hub))
    assert response.status_code == 302 and response["Location"].endswith(f"/{consent_need.pk}/change/")
    assert details(consent_need) == {"name": "张更正", "phone": "13712345679", "address": "幸福路99号"}
    after = NeedSensitiveDetails.objects.get(need=consent_need)
    assert after.consent_given_at == before.consent_given_at
    assert after.consent_recorded_by_id == before.consent_recorded_by_id != corrector.pk
    assert list(after.share_with.all()) == [hub]
    assert after.phone_index == crypto.blind_index("13712345679")
    saved = AuditEvent.objects.get(action=AuditAction.NEED_SENSITIVE_SAVED, actor_user=corrector)
    assert saved.data["replaced"] is True and saved.data["fields"] == ["address", "name", "phone"]
    assert "张更正" not in json.dumps(saved.data, ensure_ascii=False) and "张更正" not in saved.summary


def test_recording_details_for_a_need_without_any(viewer_client, post_need):
    need = post_need()
    page = viewer_client.get(f"/admin/needs/need/{need.pk}/change/").content.decode()
    assert url(need) in page
    data = form_data(legal_basis="statutory", consent_given_by=None, basis_note="《老年人权益保障法》")
    assert viewer_client.post(url(need), data).status_code == 302
    record = NeedSensitiveDetails.objects.get(need=need)
    assert record.legal_basis == "statutory" and record.basis_note == "《老年人权益保障法》"
    assert details(need)["name"] == "张更正"


@pytest.mark.parametrize(
    "extra, field, message",
    [
        ({"legal_basis": ""}, "legal_basis", "This field is required."),
        ({"consent_given_by": ""}, "consent_given_by", "Say who gave the consent"),
        ({"legal_basis": "emergency", "consent_given_by": ""}, "basis_note", "Name the statutory duty"),
        ({"s_name": "", "s_phone": "", "s_address": ""}, None, "Fill in at least one detail."),
        ({"s_health": "病" * 501}, "s_health", "at most 500 characters"),
        ({"legal_basis": "because"}, "legal_basis", "Select a valid choice."),
        ({"share_with": ["987654"]}, "share_with", "Select a valid choice."),
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(
    viewer_client, consent_need, hub, extra, field, message
):
    before, events = rows(), AuditEvent.objects.filter(action=AuditAction.NEED_SENSITIVE_SAVED).count()
    response = viewer_client.post(url(consent_need), form_data(hub, **extra))
    assert response.status_code == 200
    form = response.context["form"]
    errors = form.errors.get(field) if field else form.non_field_errors()
    assert errors and any(message in e for e in errors), form.errors
    assert rows() == before
    assert AuditEvent.objects.filter(action=AuditAction.NEED_SENSITIVE_SAVED).count() == events


def test_sharing_with_a_hub_that_does_not_serve_the_community_is_refused(
    viewer_client, consent_need, hub, outside_org_key, sensitive_viewer
):
    from charity.models import Organization

    other = Organization.objects.get(name="大龙枢纽")
    sensitive_viewer.is_superuser = True  # sees every hub in the list: the service still refuses it
    sensitive_viewer.save()
    before = rows()
    response = viewer_client.post(url(consent_need), form_data(share_with=[hub.pk, other.pk]))
    assert response.status_code == 200
    assert "serve this community" in str(response.context["form"].errors["share_with"])
    assert rows() == before


def test_withdrawn_consent_is_not_revived_by_a_correction(viewer_client, consent_need, hub, staff_actor):
    services.withdraw_consent(need=consent_need, actor=staff_actor)
    before = rows()
    response = viewer_client.post(url(consent_need), form_data(hub))
    assert response.status_code == 200
    assert "withdrew their consent" in str(response.context["form"].errors["new_consent"])
    assert rows() == before
    # A new consent, ticked as such: recorded today, sharing again as the person now agreed.
    response = viewer_client.post(url(consent_need), form_data(hub, new_consent="on"))
    assert response.status_code == 302
    record = NeedSensitiveDetails.objects.get(need=consent_need)
    assert record.consent_withdrawn_at is None and record.consent_active
    assert (timezone.now() - record.consent_given_at).total_seconds() < 60


def test_staff_without_the_permission_never_see_nor_edit(client, consent_need, community_staff, hub):
    client.force_login(community_staff)
    before = rows()
    assert client.get(url(consent_need)).status_code == 403
    assert client.post(url(consent_need), form_data(hub)).status_code == 403
    assert client.post(url(consent_need), {"legal_basis": "nonsense"}).status_code == 403
    assert rows() == before
    assert not AuditEvent.objects.filter(action=AuditAction.NEED_SENSITIVE_VIEWED).exists()


def test_a_viewer_with_the_permission_is_refused(client, consent_need, community_viewer, hub):
    community_viewer.user_permissions.add(Permission.objects.get(codename="view_sensitive"))
    client.force_login(community_viewer)
    before = rows()
    assert client.get(url(consent_need)).status_code == 403
    assert client.post(url(consent_need), form_data(hub)).status_code == 403
    assert rows() == before


def test_another_communitys_need_is_404_like_a_missing_one(client, consent_need, outsider, hub):
    outsider.user_permissions.add(Permission.objects.get(codename="view_sensitive"))
    client.force_login(outsider)
    before = rows()
    assert client.get(url(consent_need)).status_code == 404
    assert client.post(url(consent_need), form_data(hub)).status_code == 404
    assert client.get("/admin/needs/need/987654/sensitive/edit/").status_code == 404
    assert rows() == before


def test_the_service_refuses_without_the_permission(consent_need, community_staff, hub):
    with pytest.raises(services.ForbiddenError):
        services.record_sensitive_details(
            need=consent_need,
            details={"name": "某人"},
            basis=LegalBasisInput(basis="emergency", note="火灾"),
            actor=Actor("admin", user=community_staff),
        )


def test_html_in_a_detail_is_shown_as_text(viewer_client, consent_need, hub):
    viewer_client.post(url(consent_need), form_data(hub, s_name="<script>alert(1)</script>"))
    page = viewer_client.get(f"/admin/needs/need/{consent_need.pk}/sensitive/").content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_details_no_key_reads_show_no_garbage_and_can_be_recorded_again(
    viewer_client, consent_need, hub, settings
):
    from cryptography.fernet import Fernet

    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)
    page = viewer_client.get(url(consent_need))
    assert page.status_code == 200
    text = page.content.decode()
    assert "cannot be read with the current keys" in text
    assert not page.context["form"].initial.get("s_name") and SECRET_PHONE not in text
    assert viewer_client.post(url(consent_need), form_data(hub)).status_code == 302
    assert details(consent_need)["name"] == "张更正"  # readable again, under the key now configured
