"""The audit log records key changes and is append-only."""

import pytest
from django.core.exceptions import ValidationError

from charity.models import AuditEvent
from charity.services import Actor, create_api_key, revoke_api_key


def test_creating_a_key_writes_an_audit_event(hub, community_manager):
    api_key, _key = create_api_key(
        organization=hub,
        name="对接系统",
        actor=Actor(surface=AuditEvent.Surface.ADMIN, user=community_manager),
    )
    event = AuditEvent.objects.get(action="api_key.created")
    assert (event.object_type, event.object_id) == ("charity.organizationapikey", str(api_key.pk))
    assert event.actor_user == community_manager and event.surface == "admin"
    assert event.area == hub.area
    assert api_key.prefix in event.summary and "祯祥社" in event.summary


def test_revoking_a_key_writes_one_audit_event_however_often_it_is_asked(hub):
    api_key, _key = create_api_key(organization=hub, name="k", actor=Actor.system())
    revoke_api_key(api_key=api_key, actor=Actor.system())
    revoke_api_key(api_key=api_key, actor=Actor.system())
    api_key.refresh_from_db()
    assert api_key.revoked
    assert AuditEvent.objects.filter(action="api_key.revoked", object_id=str(api_key.pk)).count() == 1


def test_revoking_through_the_admin_action_is_audited(client, community_manager, hub):
    api_key, _key = create_api_key(organization=hub, name="k", actor=Actor.system())
    client.force_login(community_manager)
    response = client.post(
        "/admin/charity/organizationapikey/", {"action": "revoke_keys", "_selected_action": [api_key.pk]}
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="api_key.revoked")
    assert event.actor_user == community_manager and event.surface == "admin"


@pytest.fixture
def event(hub):
    create_api_key(organization=hub, name="k", actor=Actor.system())
    return AuditEvent.objects.get()


def test_an_audit_event_cannot_be_changed(event):
    event.summary = "篡改"
    with pytest.raises(ValidationError):
        event.save()
    with pytest.raises(ValidationError):
        AuditEvent.objects.filter(pk=event.pk).update(summary="篡改")
    event.refresh_from_db()
    assert event.summary != "篡改"


def test_an_audit_event_cannot_be_deleted(event):
    with pytest.raises(ValidationError):
        event.delete()
    with pytest.raises(ValidationError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_admin_offers_no_way_to_change_or_delete_audit_events(client, community_manager, event):
    client.force_login(community_manager)
    assert client.get("/admin/charity/auditevent/").status_code == 200
    assert client.get(f"/admin/charity/auditevent/{event.pk}/delete/").status_code == 403
    response = client.post(f"/admin/charity/auditevent/{event.pk}/change/", {"summary": "篡改"})
    assert response.status_code == 403
