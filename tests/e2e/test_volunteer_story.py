"""The volunteer's story on a phone (390 px), in Chinese: a resident registers as a volunteer, signs up for a
volunteer role at a Together event, is checked in and out at the desk, sees the confirmed hours on "my
hours" / "my page", and verifies the certificate issued for them. The portal pages work without JavaScript."""

import datetime
import re

import pytest
from django.utils import timezone, translation

from charity.models import AuditEvent, StaffAssignment
from charity.services import Actor
from tests.e2e.conftest import log_in_resident
from tests.e2e.test_portal_browser import BROWSER_ARGS, assert_fits_a_phone  # noqa: F401 (the module's Chromium)
from tests.factories import UserFactory, assign
from tests.volunteers.factories import make_event, valid_resident_id
from volunteers import services
from volunteers.models import Event, ServiceRecord, Signup, Volunteer

playwright_sync = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _catalogue_has_hours() -> bool:
    """Until the lead merges /work/tr/issue11_*.json the volunteer pages still show English strings."""
    with translation.override("zh-hans"):
        return all(
            translation.gettext(m) != m
            for m in ("My service hours", "Register as a volunteer", "Volunteer roles", "Verify")
        )


def test_register_sign_up_serve_and_verify_the_certificate(
    phone_page, live_server, resident, guanbeigou, hub
):
    expect = playwright_sync.expect
    chinese = _catalogue_has_hours()
    base = live_server.url
    desk = Actor(
        surface=AuditEvent.Surface.ADMIN,
        user=assign(
            UserFactory(username="desk_story", is_staff=True), guanbeigou, StaffAssignment.Role.STAFF
        ),
    )
    event = make_event(
        guanbeigou,
        organizer=hub,
        starts_in=datetime.timedelta(days=1),
        roles=[("引导员", 5)],
        title="一起·公益集市",
    )
    role = event.roles.get()
    id_number = valid_resident_id(datetime.date(1990, 3, 3), 321)

    # 1. The resident logs in and registers as a volunteer under their real name.
    page = phone_page()
    log_in_resident(page, base, resident.mobile)
    page.goto(base + "/volunteers/register/")
    assert_fits_a_phone(page, chinese=chinese)
    page.locator("#id_id_number").fill(id_number)
    page.locator("#id_agree").check()
    page.locator("form.form button[type=submit]").click()
    page.wait_for_load_state("load")
    volunteer = Volunteer.objects.get(person=resident)
    expect(page.get_by_text(volunteer.number).first).to_be_visible()
    assert id_number not in page.content()

    # 2. They sign up for a volunteer role at the Together charity market.
    page.goto(f"{base}/volunteers/events/{event.pk}/")
    assert_fits_a_phone(page, chinese=chinese)
    page.locator(f"form:has(input[name=role][value='{role.pk}']) button").click()
    page.wait_for_load_state("load")
    signup = Signup.objects.get(event=event, person=resident)
    assert signup.status == "confirmed" and signup.role_id == role.pk

    # 3. The market takes place (the scene moves it into the past); the desk checks them in and out.
    now = timezone.now()
    Event.objects.filter(pk=event.pk).update(
        starts_at=now - datetime.timedelta(hours=4),
        ends_at=now - datetime.timedelta(hours=1),
        signup_deadline=now - datetime.timedelta(hours=5),
        cancellation_cutoff=now - datetime.timedelta(hours=6),
    )
    signup.refresh_from_db()
    services.check_in(signup=signup, actor=desk, at=now - datetime.timedelta(hours=3, minutes=55))
    signup.refresh_from_db()
    services.check_out(signup=signup, actor=desk, at=now - datetime.timedelta(hours=1))
    record = ServiceRecord.objects.get(signup=signup)
    assert record.minutes == 165 and record.status == "submitted"

    # 4. The organiser confirms the event's hours and issues a certificate.
    event.refresh_from_db()
    assert services.confirm_event_records(event=event, actor=desk) == 1
    certificate = services.issue_certificate(
        volunteer=volunteer,
        issuer=hub,
        records=[record],
        person_in_charge="祯社长",
        handler="王社工",
        contact="0937-1234567",
        actor=desk,
    )

    # 5. The resident sees the confirmed hours and the certificate on "my hours" and on "my page".
    page.goto(base + "/volunteers/my-hours/")
    assert_fits_a_phone(page, chinese=chinese)
    expect(page.locator("#confirmed-hours")).to_contain_text("2.75")
    expect(page.get_by_text(certificate.number)).to_be_visible()
    page.goto(base + "/me/")
    expect(page.locator("#confirmed-hours")).to_contain_text("2.75")
    assert id_number not in page.content()

    # 6. They verify the certificate on the public page, as anyone would.
    page.goto(base + "/volunteers/my-hours/")
    page.locator(f"a[href*='verify/?number={certificate.number}']").click()
    page.wait_for_load_state("load")
    assert_fits_a_phone(page, chinese=chinese)
    expect(page.locator("#verify-genuine")).to_be_visible()
    # Anyone, not logged in, types the number into the public verification form.
    visitor = phone_page()
    visitor.goto(base + "/volunteers/certificates/verify/")
    assert_fits_a_phone(visitor, chinese=chinese)
    visitor.locator("#id_number").fill(certificate.number.lower())
    visitor.locator("form.form button[type=submit]").click()
    visitor.wait_for_load_state("load")
    expect(visitor.locator("#verify-genuine")).to_be_visible()
    expect(visitor.get_by_text(volunteer.number)).to_be_visible()
    expect(visitor.get_by_text(re.compile(r"2\.75"))).to_be_visible()
    text = visitor.content()
    assert id_number not in text and resident.name not in text
