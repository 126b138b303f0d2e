"""Check-in and check-out at the desk, self-check-in with the event's QR code (volunteers.qr)."""

import datetime

import pytest
from django.core import signing
from django.utils import timezone

from charity.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from charity.models import AuditAction, AuditEvent
from tests.volunteers.factories import make_event, make_signup
from volunteers import qr, services
from volunteers.models import Event, ServiceRecord, Signup

from .events_support import portal_actor, resident_of, running_event, staff_actor, volunteer_of

pytestmark = pytest.mark.django_db
S = Signup.Status


def test_staff_check_a_participant_in_and_out(guanbeigou, community_staff):
    event = running_event(guanbeigou)
    signup = make_signup(event, resident_of(guanbeigou))
    actor = staff_actor(community_staff)
    services.check_in(signup=signup, actor=actor)
    signup.refresh_from_db()
    assert signup.checked_in_at and signup.check_in_method == "staff"
    services.check_out(signup=signup, actor=actor)
    signup.refresh_from_db()
    assert signup.checked_out_at > signup.checked_in_at
    assert not ServiceRecord.objects.exists()  # a participant serves no hours
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {AuditAction.CHECKED_IN, AuditAction.CHECKED_OUT} <= actions


def test_a_volunteers_check_out_records_the_hours(guanbeigou, community_staff):
    event = running_event(guanbeigou, roles=[("引导", 2)])
    volunteer = volunteer_of(guanbeigou)
    signup = make_signup(event, volunteer.person, role=event.roles.get())
    actor = staff_actor(community_staff)
    services.check_in(signup=signup, actor=actor, at=event.starts_at)
    result = services.check_out(
        signup=signup, actor=actor, at=event.starts_at + datetime.timedelta(minutes=50)
    )
    record = ServiceRecord.objects.get(signup=signup)
    assert record.minutes == 45 and record.status == ServiceRecord.Status.SUBMITTED
    assert result.hours_error is None


def test_viewer_and_outsider_cannot_check_in(guanbeigou, community_viewer, outsider):
    event = running_event(guanbeigou)
    signup = make_signup(event, resident_of(guanbeigou))
    with pytest.raises(ForbiddenError):
        services.check_in(signup=signup, actor=staff_actor(community_viewer))
    with pytest.raises(NotFoundError):
        services.check_in(signup=signup, actor=staff_actor(outsider))
    with pytest.raises(NotFoundError):
        services.check_in(signup=signup, actor=portal_actor(signup.person))
    signup.refresh_from_db()
    assert signup.checked_in_at is None


@pytest.mark.parametrize(
    "scene, code",
    [
        ("waiting", "not_signed_up"),
        ("offered", "not_signed_up"),
        ("cancelled", "not_signed_up"),
        ("twice", "already_checked_in"),
        ("too_early", "check_in_not_open"),
        ("event_cancelled", "event_cancelled"),
        ("future_time", "invalid_event"),
    ],
)
def test_refused_check_ins_change_nothing(guanbeigou, community_staff, scene, code):
    event = running_event(guanbeigou)
    status = {"waiting": S.WAITING, "offered": S.OFFERED, "cancelled": S.CANCELLED}.get(scene, S.CONFIRMED)
    signup = make_signup(event, resident_of(guanbeigou), status=status)
    actor = staff_actor(community_staff)
    kwargs = {}
    if scene == "twice":
        services.check_in(signup=signup, actor=actor)
    elif scene == "too_early":
        Event.objects.filter(pk=event.pk).update(
            starts_at=timezone.now() + datetime.timedelta(days=1),
            ends_at=timezone.now() + datetime.timedelta(days=1, hours=2),
        )
    elif scene == "event_cancelled":
        Event.objects.filter(pk=event.pk).update(status=Event.Status.CANCELLED)
    elif scene == "future_time":
        kwargs["at"] = timezone.now() + datetime.timedelta(minutes=5)
    signup.refresh_from_db()
    before = (signup.checked_in_at, AuditEvent.objects.count())
    with pytest.raises(DomainError) as refused:
        services.check_in(signup=signup, actor=actor, **kwargs)
    assert refused.value.code == code
    signup.refresh_from_db()
    assert (signup.checked_in_at, AuditEvent.objects.count()) == before


def test_check_out_needs_a_check_in_and_happens_once(guanbeigou, community_staff):
    event = running_event(guanbeigou)
    signup = make_signup(event, resident_of(guanbeigou))
    actor = staff_actor(community_staff)
    with pytest.raises(ConflictError):
        services.check_out(signup=signup, actor=actor)
    services.check_in(signup=signup, actor=actor)
    with pytest.raises(DomainError):
        services.check_out(
            signup=signup, actor=actor, at=signup.checked_in_at - datetime.timedelta(minutes=1)
        )
    services.check_out(signup=signup, actor=actor)
    with pytest.raises(ConflictError):
        services.check_out(signup=signup, actor=actor)


def test_a_short_volunteer_stay_checks_out_without_hours(guanbeigou, community_staff):
    event = running_event(guanbeigou, roles=[("引导", 2)])
    signup = make_signup(event, volunteer_of(guanbeigou).person, role=event.roles.get())
    actor = staff_actor(community_staff)
    services.check_in(signup=signup, actor=actor)
    services.check_out(signup=signup, actor=actor)
    signup.refresh_from_db()
    assert signup.checked_out_at is not None
    assert not ServiceRecord.objects.exists()


# --- the QR code --------------------------------------------------------------------------------------


def test_the_token_carries_the_event_and_expires_with_it(guanbeigou):
    event = running_event(guanbeigou)
    token = qr.make_token(event)
    assert qr.read_token(token) == event.pk
    with pytest.raises(qr.TokenError) as expired:
        qr.read_token(token, now=event.ends_at + datetime.timedelta(seconds=1))
    assert expired.value.code == "check_in_code_expired"


@pytest.mark.parametrize(
    "forge",
    [
        lambda token, event: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token, event: signing.dumps({"e": event.pk, "x": 4102444800}, salt="another.salt"),
        lambda token, event: signing.dumps({"e": event.pk, "x": 4102444800}, salt=qr.SALT, key="not-the-key"),
        lambda token, event: str(event.pk),
        lambda token, event: "",
        lambda token, event: "x" * 1000,
        lambda token, event: None,
    ],
)
def test_a_forged_token_is_refused(guanbeigou, forge):
    event = running_event(guanbeigou)
    with pytest.raises(qr.TokenError):
        qr.read_token(forge(qr.make_token(event), event))


def test_the_qr_image_is_an_svg():
    svg = qr.qr_svg("https://example.org/volunteers/events/check-in/abc/")
    assert svg.startswith("<svg") and "path" in svg


def test_a_signed_up_person_checks_in_by_scanning(guanbeigou):
    event = running_event(guanbeigou)
    person = resident_of(guanbeigou)
    signup = make_signup(event, person)
    services.self_check_in(token=qr.make_token(event), person=person, actor=portal_actor(person))
    signup.refresh_from_db()
    assert signup.checked_in_at and signup.check_in_method == "qr"
    with pytest.raises(ConflictError):
        services.self_check_in(token=qr.make_token(event), person=person, actor=portal_actor(person))


@pytest.mark.parametrize(
    "scene", ["not_signed_up", "waiting", "other_event", "expired", "forged", "cancelled"]
)
def test_self_check_in_refusals(guanbeigou, scene, english):
    event = running_event(guanbeigou)
    person = resident_of(guanbeigou)
    token = qr.make_token(event)
    if scene != "not_signed_up":
        make_signup(event, person, status=S.WAITING if scene == "waiting" else S.CONFIRMED)
    if scene == "other_event":
        token = qr.make_token(running_event(guanbeigou, title="另一个活动"))
    elif scene == "expired":
        past = make_event(guanbeigou, starts_in=-datetime.timedelta(hours=5), hours=1)
        make_signup(past, person)
        token = qr.make_token(past)
    elif scene == "forged":
        token = token[:-3] + "abc"
    elif scene == "cancelled":
        Event.objects.filter(pk=event.pk).update(status=Event.Status.CANCELLED)
    before = AuditEvent.objects.count()
    with pytest.raises(DomainError) as refused:
        services.self_check_in(token=token, person=person, actor=portal_actor(person))
    assert str(refused.value.message)
    assert not Signup.objects.filter(checked_in_at__isnull=False).exists()
    assert AuditEvent.objects.count() == before


def test_self_check_in_is_for_oneself(guanbeigou):
    event = running_event(guanbeigou)
    person, other = resident_of(guanbeigou), resident_of(guanbeigou)
    make_signup(event, person)
    with pytest.raises(ForbiddenError):
        services.self_check_in(token=qr.make_token(event), person=person, actor=portal_actor(other))
