"""`manage.py create_api_key`: the key is printed once, on the last line, and it works."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from charity.models import AuditEvent, OrganizationAPIKey


def create(*args):
    out = StringIO()
    call_command("create_api_key", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_command_prints_a_working_key_on_the_last_line(hub, api, guanbeigou):
    lines = create("--org", str(hub.pk), "--name", "祯祥社对接")
    key = lines[-1]
    api_key = OrganizationAPIKey.objects.get(organization=hub, name="祯祥社对接")
    assert key.startswith(api_key.prefix + ".")
    assert api_key.expiry_date is None
    assert "祯祥社" in lines[0]
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    response = api.get("/api/v1/areas/")
    assert response.status_code == 200
    assert [a["name"] for a in response.json()["results"]] == ["官北沟社区"]


def test_command_records_who_created_the_key(hub):
    create("--org", str(hub.pk), "--name", "k")
    event = AuditEvent.objects.get(action="api_key.created")
    assert event.surface == AuditEvent.Surface.COMMAND


def test_expiry_date_lets_the_key_work_through_that_day(hub):
    day = (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
    create("--org", str(hub.pk), "--name", "k", "--expires", day)
    api_key = OrganizationAPIKey.objects.get(organization=hub)
    assert timezone.localtime(api_key.expiry_date).date().isoformat() > day
    assert not api_key.has_expired


def test_unknown_organisation_is_a_clear_error_and_creates_nothing(hub):
    with pytest.raises(CommandError, match="No organisation with id 999999"):
        create("--org", "999999", "--name", "k")
    assert not OrganizationAPIKey.objects.exists()


@pytest.mark.parametrize("expires", ["31/12/2030", "2030-13-01"])
def test_a_malformed_expiry_date_is_refused(hub, expires):
    with pytest.raises(CommandError, match="--expires"):
        create("--org", str(hub.pk), "--name", "k", "--expires", expires)
    assert not OrganizationAPIKey.objects.exists()


def test_an_expiry_date_in_the_past_is_refused(hub):
    with pytest.raises(CommandError, match="in the past"):
        create("--org", str(hub.pk), "--name", "k", "--expires", "2020-01-01")
    assert not OrganizationAPIKey.objects.exists()


def test_a_blank_name_is_refused(hub):
    with pytest.raises(CommandError):
        create("--org", str(hub.pk), "--name", "   ")
    assert not OrganizationAPIKey.objects.exists()
