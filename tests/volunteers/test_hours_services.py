"""Service hours: recording, the bad inputs of the issue, confirming, rejecting; certificates."""

import datetime

import pytest
from django.utils import timezone

from charity.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from charity.models import AuditAction, AuditEvent, Notification, Organization
from charity.services import Actor
from tests.factories import OrganizationFactory, PersonFactory, UserFactory
from tests.volunteers.factories import make_event, make_record, make_volunteer
from volunteers import services
from volunteers.models import Certificate, ServiceRecord, Signup

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system(AuditEvent.Surface.COMMAND)


def staff(user):
    return Actor(surface=AuditEvent.Surface.ADMIN, user=user)


def local(days_ago, hour, minute=0):
    day = timezone.localdate() - datetime.timedelta(days=days_ago)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture(autouse=True)
def _both_roots(dalong, guanbeigou):
    """Both cities exist first: treebeard orders roots by name, and adding one renumbers the other's path."""
    guanbeigou.refresh_from_db()


@pytest.fixture
def committee(guanbeigou):
    return OrganizationFactory(
        name="官北沟社区居委会", type=Organization.Type.NEIGHBOURHOOD_COMMITTEE, area=guanbeigou
    )


@pytest.fixture
def volunteer(guanbeigou):
    user = UserFactory(username="vol_h1")
    return make_volunteer(PersonFactory(name="张志愿", community=guanbeigou, user=user))


def enter(volunteer, committee, actor, *, start, end, minutes=None, source="organiser", **kw):
    return services.record_service(
        volunteer=volunteer,
        organizer=committee,
        community=volunteer.person.community,
        content=kw.pop("content", "陪伴独居老人"),
        started_at=start,
        ended_at=end,
        minutes=minutes,
        source=source,
        actor=actor,
        **kw,
    )


def test_organiser_records_hours_waiting_for_confirmation(volunteer, committee, community_staff):
    record = enter(volunteer, committee, staff(community_staff), start=local(2, 9), end=local(2, 11, 50))
    assert record.minutes == 165  # whole quarter hours of 2 h 50 min
    assert record.status == "submitted" and record.source == "organiser"
    assert AuditEvent.objects.filter(action=AuditAction.SERVICE_RECORDED, object_id=str(record.pk)).exists()
    assert services.confirmed_minutes(volunteer) == 0  # only confirmed hours count


@pytest.mark.parametrize(
    "minutes, code",
    [
        (0, "hours_zero"),
        (-60, "hours_zero"),
        (25 * 60, "hours_day_limit"),
        (50, "hours_quarter"),
        ("x", "invalid_hours"),
    ],
)
def test_bad_hours_refused_and_nothing_changes(volunteer, committee, community_staff, minutes, code):
    with pytest.raises(DomainError) as info:
        enter(
            volunteer, committee, staff(community_staff), start=local(3, 0), end=local(2, 6), minutes=minutes
        )
    assert info.value.code == code
    assert str(info.value.message)
    assert not ServiceRecord.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.SERVICE_RECORDED).exists()


def test_more_minutes_than_the_span_refused(volunteer, committee, community_staff):
    with pytest.raises(DomainError) as info:
        enter(volunteer, committee, staff(community_staff), start=local(2, 9), end=local(2, 10), minutes=120)
    assert info.value.code == "hours_longer_than_span"


def test_future_hours_refused(volunteer, committee, community_staff):
    start = timezone.now() + datetime.timedelta(hours=1)
    with pytest.raises(DomainError) as info:
        enter(
            volunteer, committee, staff(community_staff), start=start, end=start + datetime.timedelta(hours=2)
        )
    assert info.value.code == "hours_future"
    assert not ServiceRecord.objects.exists()


def test_end_before_start_refused(volunteer, committee, community_staff):
    with pytest.raises(DomainError) as info:
        enter(volunteer, committee, staff(community_staff), start=local(2, 11), end=local(2, 9))
    assert info.value.code == "hours_order"


def test_overlapping_hours_refused_but_rejected_ones_do_not_block(volunteer, committee, community_staff):
    actor = staff(community_staff)
    first = enter(volunteer, committee, actor, start=local(2, 9), end=local(2, 12))
    with pytest.raises(ConflictError) as info:
        enter(volunteer, committee, actor, start=local(2, 11), end=local(2, 13))
    assert info.value.code == "hours_overlap"
    assert ServiceRecord.objects.count() == 1
    # touching is not overlapping
    enter(volunteer, committee, actor, start=local(2, 12), end=local(2, 13))
    services.reject_record(record=first, reason="当天未到场", actor=actor)
    enter(volunteer, committee, actor, start=local(2, 10), end=local(2, 11))


def test_at_most_24_hours_on_one_day(volunteer, committee, community_staff):
    actor = staff(community_staff)
    # 23:00 the day before → 23:00: a record of 24 h starting yesterday evening
    enter(volunteer, committee, actor, start=local(3, 0), end=local(3, 23, 45), minutes=23 * 60 + 45)
    with pytest.raises(DomainError) as info:
        enter(volunteer, committee, actor, start=local(3, 23, 45), end=local(2, 1), minutes=30)
    assert info.value.code == "hours_day_limit"
    enter(volunteer, committee, actor, start=local(3, 23, 45), end=local(2, 1), minutes=15)


def test_staff_of_another_community_cannot_record(volunteer, committee, outsider):
    with pytest.raises(NotFoundError):
        enter(volunteer, committee, staff(outsider), start=local(2, 9), end=local(2, 10))


def test_viewer_cannot_record(volunteer, committee, community_viewer):
    with pytest.raises(ForbiddenError):
        enter(volunteer, committee, staff(community_viewer), start=local(2, 9), end=local(2, 10))


def test_volunteer_self_reports_only_their_own(volunteer, committee, guanbeigou):
    me = Actor(surface=AuditEvent.Surface.PORTAL, user=volunteer.person.user)
    record = enter(volunteer, committee, me, start=local(1, 14), end=local(1, 16), source="self_reported")
    assert record.status == "submitted" and record.source == "self_reported"
    other = make_volunteer(area=guanbeigou)
    with pytest.raises(ForbiddenError):
        enter(other, committee, me, start=local(1, 14), end=local(1, 16), source="self_reported")


def test_the_organisers_key_records_and_confirms_in_its_area(volunteer, hub):
    key = Actor(surface=AuditEvent.Surface.API, organization=hub)
    record = enter(volunteer, hub, key, start=local(2, 9), end=local(2, 10))
    services.confirm_record(record=record, actor=key)
    assert services.confirmed_minutes(volunteer) == 60


def test_confirm_and_reject_notify_the_volunteer(volunteer, committee, community_staff):
    actor = staff(community_staff)
    a = enter(volunteer, committee, actor, start=local(2, 9), end=local(2, 11))
    b = enter(volunteer, committee, actor, start=local(1, 9), end=local(1, 10))
    services.confirm_record(record=a, actor=actor)
    with pytest.raises(DomainError) as info:
        services.reject_record(record=b, reason="  ", actor=actor)
    assert info.value.field == "reason"
    services.reject_record(record=b, reason="记录有误", actor=actor)
    assert services.confirmed_minutes(volunteer) == 120
    texts = list(Notification.objects.filter(person=volunteer.person).values_list("text", flat=True))
    assert len(texts) == 2
    assert any("记录有误" in t for t in texts)
    for t in texts:
        assert volunteer.id_ciphertext not in t
    with pytest.raises(ConflictError):
        services.confirm_record(record=a, actor=actor)
    assert AuditEvent.objects.filter(action=AuditAction.SERVICE_REJECTED).count() == 1


def test_other_community_cannot_confirm(volunteer, committee, community_staff, outsider):
    record = enter(volunteer, committee, staff(community_staff), start=local(2, 9), end=local(2, 11))
    with pytest.raises(NotFoundError):
        services.confirm_record(record=record, actor=staff(outsider))
    record.refresh_from_db()
    assert record.status == "submitted"


def test_record_from_signup_and_bulk_confirmation(guanbeigou, community_staff):
    event = make_event(guanbeigou, starts_in=datetime.timedelta(days=-1), roles=[("签到台", 3)])
    role = event.roles.get()
    vols = [make_volunteer(area=guanbeigou) for _ in range(2)]
    signups = []
    for v in vols:
        s = Signup.objects.create(
            event=event,
            person=v.person,
            role=role,
            volunteer=v,
            status="confirmed",
            checked_in_at=event.starts_at,
            checked_out_at=event.starts_at + datetime.timedelta(minutes=170),
        )
        signups.append(s)
    actor = staff(community_staff)
    record = services.record_from_signup(signup=signups[0], actor=actor)
    assert record.minutes == 165 and record.source == "check_in" and record.status == "submitted"
    assert record.organizer_id == event.organizer_id and record.community_id == guanbeigou.pk
    assert services.record_from_signup(signup=signups[0], actor=actor).pk == record.pk  # twice: one record
    services.record_from_signup(signup=signups[1], actor=actor)
    assert services.confirm_event_records(event=event, actor=actor) == 2
    assert services.confirm_event_records(event=event, actor=actor) == 0
    assert all(services.confirmed_minutes(v) == 165 for v in vols)


def test_record_from_signup_short_attendance_gives_nothing(guanbeigou):
    event = make_event(guanbeigou, starts_in=datetime.timedelta(days=-1), roles=[("签到台", 3)])
    v = make_volunteer(area=guanbeigou)
    s = Signup.objects.create(
        event=event,
        person=v.person,
        role=event.roles.get(),
        volunteer=v,
        status="confirmed",
        checked_in_at=event.starts_at,
        checked_out_at=event.starts_at + datetime.timedelta(minutes=10),
    )
    assert services.record_from_signup(signup=s, actor=SYSTEM) is None
    assert not ServiceRecord.objects.exists()


# --- certificates ----------------------------------------------------------------------------------------


def certify(volunteer, issuer, records, actor):
    return services.issue_certificate(
        volunteer=volunteer,
        issuer=issuer,
        records=records,
        person_in_charge="李主任",
        handler="王社工",
        contact="0937-1234567",
        actor=actor,
    )


def test_certificate_numbered_per_issuer_and_unguessable(volunteer, committee, community_staff, guanbeigou):
    actor = staff(community_staff)
    r1 = make_record(volunteer, organizer=committee, days_ago=10, hours=2)
    r2 = make_record(volunteer, organizer=committee, days_ago=5, hours=1.5, content="舞蹈队反诈宣传")
    c1 = certify(volunteer, committee, [r1, r2], actor)
    assert c1.sequence == 1 and c1.total_minutes == 210
    assert c1.first_date == timezone.localdate() - datetime.timedelta(days=10)
    assert c1.last_date == timezone.localdate() - datetime.timedelta(days=5)
    assert "心理疏导陪伴" in c1.content and "舞蹈队反诈宣传" in c1.content
    other = make_volunteer(area=guanbeigou)
    c2 = certify(other, committee, [make_record(other, organizer=committee)], actor)
    assert c2.sequence == 2
    # the check codes differ: knowing one number does not give the next
    assert c1.number.rsplit("-", 1)[0][:-1] == c2.number.rsplit("-", 1)[0][:-1]
    assert c1.number.rsplit("-", 1)[1] != c2.number.rsplit("-", 1)[1]
    assert Notification.objects.filter(person=volunteer.person, kind="certificate.issued").count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.CERTIFICATE_ISSUED).count() == 2


def test_certificate_for_unconfirmed_hours_refused(volunteer, committee, community_staff):
    ok = make_record(volunteer, organizer=committee, days_ago=10)
    waiting = make_record(volunteer, organizer=committee, days_ago=5, status="submitted")
    rejected = make_record(volunteer, organizer=committee, days_ago=4, status="rejected")
    for bad in (waiting, rejected):
        with pytest.raises(DomainError) as info:
            certify(volunteer, committee, [ok, bad], staff(community_staff))
        assert info.value.code == "unconfirmed_hours"
    with pytest.raises(DomainError) as info:
        certify(volunteer, committee, [], staff(community_staff))
    assert info.value.code == "no_records"
    assert not Certificate.objects.exists()


def test_certificate_only_for_the_issuers_own_records_and_once(volunteer, committee, community_staff, hub):
    actor = staff(community_staff)
    theirs = make_record(volunteer, organizer=hub)
    with pytest.raises(DomainError) as info:
        certify(volunteer, committee, [theirs], actor)
    assert info.value.code == "other_organiser"
    mine = make_record(volunteer, organizer=committee, days_ago=8)
    cert = certify(volunteer, committee, [mine], actor)
    with pytest.raises(ConflictError) as info:
        certify(volunteer, committee, [mine], actor)
    assert info.value.code == "already_certified"
    with pytest.raises(DomainError):
        services.revoke_certificate(certificate=cert, reason="", actor=actor)
    services.revoke_certificate(certificate=cert, reason="时长登记错误", actor=actor)
    with pytest.raises(ConflictError):
        services.revoke_certificate(certificate=cert, reason="again", actor=actor)
    again = certify(volunteer, committee, [mine], actor)  # revoking frees the records
    assert again.sequence == 2
    assert AuditEvent.objects.filter(action=AuditAction.CERTIFICATE_REVOKED).count() == 1


def test_certificate_of_another_volunteers_records_refused(volunteer, committee, community_staff, guanbeigou):
    other = make_volunteer(area=guanbeigou)
    with pytest.raises(DomainError) as info:
        certify(volunteer, committee, [make_record(other, organizer=committee)], staff(community_staff))
    assert info.value.code == "wrong_records"


def test_outsider_cannot_issue(volunteer, committee, outsider):
    with pytest.raises(NotFoundError):
        certify(volunteer, committee, [make_record(volunteer, organizer=committee)], staff(outsider))


def test_identity_block_full_for_the_volunteer_and_permitted_staff_masked_otherwise(
    volunteer, committee, community_staff, django_user_model
):
    from django.contrib.auth.models import Permission

    from charity import crypto

    cert = certify(
        volunteer, committee, [make_record(volunteer, organizer=committee)], staff(community_staff)
    )
    id_number = crypto.decrypt(volunteer.id_ciphertext)
    me = Actor(surface=AuditEvent.Surface.PORTAL, user=volunteer.person.user)
    assert services.certificate_identity(certificate=cert, actor=me)["id_number"] == id_number
    masked = services.certificate_identity(certificate=cert, actor=staff(community_staff))["id_number"]
    assert masked != id_number and masked.endswith(id_number[-4:])
    community_staff.user_permissions.add(Permission.objects.get(codename="view_sensitive_volunteer"))
    fresh = django_user_model.objects.get(pk=community_staff.pk)
    assert services.certificate_identity(certificate=cert, actor=staff(fresh))["id_number"] == id_number
    assert AuditEvent.objects.filter(action=AuditAction.CERTIFICATE_PRINTED).count() == 3
    stranger = Actor(surface=AuditEvent.Surface.PORTAL, user=UserFactory(username="nosy1"))
    with pytest.raises(NotFoundError):
        services.certificate_identity(certificate=cert, actor=stranger)
