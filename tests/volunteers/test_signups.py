"""Sign-ups, waiting lists and offers (volunteers.services.events): the rules and the bad input."""

import datetime

import pytest
from django.utils import timezone

from charity.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from charity.models import AuditAction, AuditEvent, Notification, NotificationKind
from tests.factories import OrganizationFactory
from tests.volunteers.factories import make_event
from volunteers import services
from volunteers.models import Event, Signup, Volunteer

from .events_support import SYSTEM, portal_actor, resident_of, staff_actor, volunteer_of

pytestmark = pytest.mark.django_db
S = Signup.Status


def join(event, person, **kwargs):
    return services.sign_up(event=event, person=person, actor=portal_actor(person), **kwargs)


def test_a_resident_signs_up_and_it_is_audited(guanbeigou):
    event = make_event(guanbeigou)
    person = resident_of(guanbeigou)
    signup = join(event, person)
    assert signup.status == S.CONFIRMED and signup.role is None
    audit = AuditEvent.objects.get(action=AuditAction.SIGNUP_CREATED)
    assert audit.object_id == str(signup.pk) and audit.area == guanbeigou
    assert audit.data["status"] == "confirmed"


def test_beyond_capacity_people_wait_in_arrival_order(guanbeigou):
    event = make_event(guanbeigou, capacity=2)
    people = [resident_of(guanbeigou) for _ in range(5)]
    signups = [join(event, p) for p in people]
    assert [s.status for s in signups] == [S.CONFIRMED, S.CONFIRMED, S.WAITING, S.WAITING, S.WAITING]
    assert [services.waiting_position(s) for s in signups] == [None, None, 1, 2, 3]


def test_volunteer_roles_have_their_own_places(guanbeigou):
    event = make_event(guanbeigou, capacity=1, roles=[("引导", 1)])
    role = event.roles.get()
    first, second = volunteer_of(guanbeigou), volunteer_of(guanbeigou)
    assert join(event, first.person, role=role).status == S.CONFIRMED
    assert join(event, second.person, role=role).status == S.WAITING
    # The participants' place is still free.
    assert join(event, resident_of(guanbeigou)).status == S.CONFIRMED
    signup = Signup.objects.get(person=first.person)
    assert signup.volunteer == first


@pytest.mark.parametrize(
    "scene, code",
    [
        ("twice", "already_signed_up"),
        ("deadline", "signup_closed"),
        ("cancelled", "event_cancelled"),
        ("not_volunteer", "not_a_volunteer"),
        ("suspended_volunteer", "not_a_volunteer"),
        ("risky_uninsured", "insurance_missing"),
        ("too_young", "too_young"),
        ("nine_without_guardian", "guardian_needed"),
        ("young_volunteer_without_guardian", "guardian_needed"),
        ("young_volunteer_without_consent", "guardian_needed"),
        ("volunteers_only", "volunteers_only"),
        ("bad_age", "invalid_event"),
        ("negative_age", "invalid_event"),
        ("other_events_role", "invalid_event"),
    ],
)
def test_refused_sign_ups_say_why_and_change_nothing(guanbeigou, english, scene, code):
    event = make_event(guanbeigou, capacity=5, roles=[("引导", 3)])
    role = event.roles.get()
    person = resident_of(guanbeigou)
    kwargs = {}
    if scene == "twice":
        join(event, person)
    elif scene == "deadline":
        Event.objects.filter(pk=event.pk).update(
            signup_deadline=timezone.now() - datetime.timedelta(minutes=1)
        )
        event.refresh_from_db()
    elif scene == "cancelled":
        Event.objects.filter(pk=event.pk).update(status=Event.Status.CANCELLED)
    elif scene == "not_volunteer":
        kwargs["role"] = role
    elif scene == "suspended_volunteer":
        person = volunteer_of(guanbeigou, status=Volunteer.Status.SUSPENDED).person
        kwargs["role"] = role
    elif scene == "risky_uninsured":
        Event.objects.filter(pk=event.pk).update(is_risky=True, risk_notice="登高作业")
        person = volunteer_of(guanbeigou).person
        kwargs["role"] = role
    elif scene == "too_young":
        kwargs["participant_age"] = 5
    elif scene == "nine_without_guardian":
        kwargs["participant_age"] = 9
    elif scene == "young_volunteer_without_guardian":
        nine = timezone.localdate().replace(year=timezone.localdate().year - 9) - datetime.timedelta(days=30)
        volunteer = volunteer_of(
            guanbeigou, birth_date=nine, guardian_name="王父", guardian_consent_at=timezone.now()
        )
        person, kwargs["role"] = volunteer.person, role
    elif scene == "young_volunteer_without_consent":
        twelve = timezone.localdate().replace(year=timezone.localdate().year - 12) - datetime.timedelta(
            days=30
        )
        person, kwargs["role"] = volunteer_of(guanbeigou, birth_date=twelve).person, role
    elif scene == "volunteers_only":
        Event.objects.filter(pk=event.pk).update(capacity=0)
    elif scene == "bad_age":
        kwargs["participant_age"] = "twelve"
    elif scene == "negative_age":
        kwargs["participant_age"] = -3
    elif scene == "other_events_role":
        other = make_event(guanbeigou, roles=[("摄影", 1)])
        person, kwargs["role"] = volunteer_of(guanbeigou).person, other.roles.get()
    before = (Signup.objects.count(), AuditEvent.objects.count())
    with pytest.raises(DomainError) as refused:
        join(event, person, **kwargs)
    assert refused.value.code == code
    message = str(refused.value.message)
    assert message and "%(" not in message
    assert (Signup.objects.count(), AuditEvent.objects.count()) == before


def test_the_messages_are_specific(guanbeigou, english):
    event = make_event(guanbeigou)
    with pytest.raises(DomainError, match="under 14 signs up with a parent or guardian"):
        join(event, resident_of(guanbeigou), participant_age=9)
    with pytest.raises(DomainError, match="under 6 cannot sign up"):
        join(event, resident_of(guanbeigou), participant_age=4)


def test_a_nine_year_old_with_a_guardian_signs_up(guanbeigou):
    event = make_event(guanbeigou)
    signup = join(event, resident_of(guanbeigou), participant_age=9, guardian_name="王妈妈")
    assert signup.status == S.CONFIRMED and signup.participant_age == 9 and signup.guardian_name == "王妈妈"


def test_a_risky_event_takes_volunteers_once_insurance_is_recorded(guanbeigou, community_staff):
    event = make_event(guanbeigou, is_risky=True, risk_notice="水上救援演练", roles=[("救援", 2)])
    volunteer = volunteer_of(guanbeigou)
    with pytest.raises(ConflictError):
        join(event, volunteer.person, role=event.roles.get())
    # Participants are not refused: the insurance rule is about volunteers (VR art. 17).
    join(event, resident_of(guanbeigou))
    services.record_insurance(event=event, note="平安保险 P-2026-001", actor=staff_actor(community_staff))
    assert join(event, volunteer.person, role=event.roles.get()).status == S.CONFIRMED
    assert AuditEvent.objects.filter(action=AuditAction.EVENT_INSURANCE_RECORDED).count() == 1


def test_a_resident_cannot_sign_up_someone_else(guanbeigou):
    event = make_event(guanbeigou)
    me, other = resident_of(guanbeigou), resident_of(guanbeigou)
    with pytest.raises(ForbiddenError):
        services.sign_up(event=event, person=other, actor=portal_actor(me))
    assert not Signup.objects.exists()


def test_staff_sign_up_residents_of_their_area_only(guanbeigou, dalong, community_staff, outsider):
    event = make_event(guanbeigou)
    person = resident_of(guanbeigou)
    with pytest.raises(NotFoundError):
        services.sign_up(event=event, person=person, actor=staff_actor(outsider))
    assert (
        services.sign_up(event=event, person=person, actor=staff_actor(community_staff)).status == S.CONFIRMED
    )


def test_a_cancellation_offers_the_place_to_the_first_waiting(guanbeigou, settings):
    settings.SIGNUP_OFFER_HOURS = 24
    event = make_event(guanbeigou, capacity=1, starts_in=datetime.timedelta(days=5))
    first, second, third = (resident_of(guanbeigou) for _ in range(3))
    a, b, c = join(event, first), join(event, second), join(event, third)
    before = timezone.now()
    services.cancel_signup(signup=a, actor=portal_actor(first))
    b.refresh_from_db()
    c.refresh_from_db()
    assert b.status == S.OFFERED and c.status == S.WAITING
    assert (
        before + datetime.timedelta(hours=23)
        < b.offer_expires_at
        <= timezone.now() + datetime.timedelta(hours=24)
    )
    notice = Notification.objects.get(person=second)
    assert notice.kind == NotificationKind.EVENT_PLACE_OFFERED and notice.url == "/volunteers/events/mine/"
    assert services.waiting_position(c) == 1
    services.confirm_offer(signup=b, actor=portal_actor(second))
    b.refresh_from_db()
    assert b.status == S.CONFIRMED and b.offer_expires_at is None
    assert AuditEvent.objects.filter(action=AuditAction.SIGNUP_CONFIRMED).count() == 1


def test_an_offer_never_outlasts_the_start(guanbeigou, settings):
    settings.SIGNUP_OFFER_HOURS = 24
    event = make_event(
        guanbeigou,
        capacity=1,
        starts_in=datetime.timedelta(hours=5),
        cancellation_cutoff=timezone.now() + datetime.timedelta(hours=1),
    )
    a, b = join(event, resident_of(guanbeigou)), join(event, resident_of(guanbeigou))
    services.cancel_signup(signup=a, actor=portal_actor(a.person))
    b.refresh_from_db()
    assert b.offer_expires_at == event.starts_at


def test_cancelling_a_waiting_place_offers_nothing(guanbeigou):
    event = make_event(guanbeigou, capacity=1)
    a, b, c = (join(event, resident_of(guanbeigou)) for _ in range(3))
    services.cancel_signup(signup=b, actor=portal_actor(b.person))
    c.refresh_from_db()
    assert c.status == S.WAITING and services.waiting_position(c) == 1
    assert not Notification.objects.exists()


def test_cancellation_after_the_cutoff_is_for_staff_only(guanbeigou, community_staff, english):
    event = make_event(guanbeigou)
    person = resident_of(guanbeigou)
    signup = join(event, person)
    Event.objects.filter(pk=event.pk).update(
        cancellation_cutoff=timezone.now() - datetime.timedelta(minutes=1)
    )
    with pytest.raises(ConflictError, match="Cancellations closed"):
        services.cancel_signup(signup=signup, actor=portal_actor(person))
    signup.refresh_from_db()
    assert signup.status == S.CONFIRMED
    services.cancel_signup(signup=signup, actor=staff_actor(community_staff))
    signup.refresh_from_db()
    assert signup.status == S.CANCELLED
    with pytest.raises(ConflictError):
        services.cancel_signup(signup=signup, actor=staff_actor(community_staff))


def test_someone_elses_sign_up_cannot_be_cancelled(guanbeigou):
    event = make_event(guanbeigou)
    signup = join(event, resident_of(guanbeigou))
    with pytest.raises(NotFoundError):
        services.cancel_signup(signup=signup, actor=portal_actor(resident_of(guanbeigou)))


def test_an_expired_offer_cannot_be_confirmed(guanbeigou, english):
    event = make_event(guanbeigou, capacity=1)
    a, b = join(event, resident_of(guanbeigou)), join(event, resident_of(guanbeigou))
    services.cancel_signup(signup=a, actor=portal_actor(a.person))
    Signup.objects.filter(pk=b.pk).update(offer_expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(ConflictError, match="offer expired"):
        services.confirm_offer(signup=b, actor=portal_actor(b.person))
    b.refresh_from_db()
    assert b.status == S.OFFERED


def test_expire_offers_passes_the_place_on_and_runs_twice_without_doing_anything_twice(guanbeigou):
    event = make_event(guanbeigou, capacity=1)
    a, b, c, d = (join(event, resident_of(guanbeigou)) for _ in range(4))
    services.cancel_signup(signup=a, actor=portal_actor(a.person))
    later = timezone.now() + datetime.timedelta(hours=25)
    assert services.expire_offers(now=later) == 1
    b.refresh_from_db(), c.refresh_from_db(), d.refresh_from_db()
    assert (b.status, c.status, d.status) == (S.LAPSED, S.OFFERED, S.WAITING)
    counts = (AuditEvent.objects.count(), Notification.objects.count())
    assert services.expire_offers(now=later) == 0
    assert (AuditEvent.objects.count(), Notification.objects.count()) == counts
    assert (
        Notification.objects.filter(person=c.person, kind=NotificationKind.EVENT_PLACE_OFFERED).count() == 1
    )


def test_the_celery_task_expires_offers(guanbeigou):
    from volunteers import tasks

    event = make_event(guanbeigou, capacity=1)
    a, b = join(event, resident_of(guanbeigou)), join(event, resident_of(guanbeigou))
    services.cancel_signup(signup=a, actor=portal_actor(a.person))
    Signup.objects.filter(pk=b.pk).update(offer_expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert tasks.expire_signup_offers.delay().get() == 1
    assert tasks.expire_signup_offers.delay().get() == 0
    b.refresh_from_db()
    assert b.status == S.LAPSED
    assert AuditEvent.objects.get(action=AuditAction.SIGNUP_LAPSED).surface == AuditEvent.Surface.TASK


def test_the_beat_schedule_runs_the_task(settings):
    entries = [
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "volunteers.tasks.expire_signup_offers"
    ]
    assert len(entries) == 1


def test_more_places_go_to_the_waiting_list(guanbeigou, community_staff):
    event = make_event(guanbeigou, capacity=1)
    _a, b = join(event, resident_of(guanbeigou)), join(event, resident_of(guanbeigou))
    event.capacity = 2
    services.save_event(event=event, actor=staff_actor(community_staff))
    b.refresh_from_db()
    assert b.status == S.OFFERED


def test_fewer_places_than_taken_is_refused(guanbeigou, community_staff, english):
    event = make_event(guanbeigou, capacity=2)
    join(event, resident_of(guanbeigou)), join(event, resident_of(guanbeigou))
    event.capacity = 1
    with pytest.raises(DomainError, match="2 places are already taken"):
        services.save_event(event=event, actor=staff_actor(community_staff))
    event.refresh_from_db()
    assert event.capacity == 2


def test_cancelling_an_event_cancels_its_sign_ups_and_tells_everyone(guanbeigou, community_staff):
    event = make_event(guanbeigou, capacity=1)
    _a, _b = join(event, resident_of(guanbeigou)), join(event, resident_of(guanbeigou))
    services.cancel_event(event=event, reason="暴雨预警", actor=staff_actor(community_staff))
    assert set(Signup.objects.values_list("status", flat=True)) == {S.CANCELLED}
    assert Notification.objects.filter(kind=NotificationKind.EVENT_CANCELLED).count() == 2
    with pytest.raises(ConflictError):
        services.cancel_event(event=event, reason="again", actor=staff_actor(community_staff))
    with pytest.raises(ConflictError):
        join(event, resident_of(guanbeigou))


def test_creating_an_event_checks_its_fields(guanbeigou, street, community_staff, outsider, english):
    organizer = OrganizationFactory(area=guanbeigou)
    starts = timezone.now() + datetime.timedelta(days=3)
    fields = {
        "community": guanbeigou,
        "organizer": organizer,
        "kind": Event.Kind.CHARITY_MARKET,
        "title": "一起·公益集市",
        "place": "社区广场",
        "starts_at": starts,
        "ends_at": starts + datetime.timedelta(hours=3),
        "capacity": 30,
    }
    actor = staff_actor(community_staff)
    for change, field in [
        ({"ends_at": starts}, "ends_at"),
        ({"title": "  "}, "title"),
        ({"capacity": -1}, "capacity"),
        ({"capacity": "lots"}, "capacity"),
        ({"kind": "rave"}, "kind"),
        ({"community": street}, "community"),
        ({"is_risky": True}, "risk_notice"),
        ({"signup_deadline": starts + datetime.timedelta(hours=4)}, "signup_deadline"),
        ({"cancellation_cutoff": starts + datetime.timedelta(hours=1)}, "cancellation_cutoff"),
    ]:
        with pytest.raises(DomainError) as refused:
            services.create_event(actor=actor, **{**fields, **change})
        assert refused.value.field == field, change
    with pytest.raises(DomainError):
        services.create_event(actor=actor, roles=[("引导", 0)], **fields)
    with pytest.raises(NotFoundError):
        services.create_event(actor=staff_actor(outsider), **fields)
    assert not Event.objects.exists()
    event = services.create_event(actor=actor, roles=[("引导", 2, "带路")], **fields)
    assert event.signup_deadline == starts and event.cancellation_cutoff == starts
    assert event.roles.get().capacity == 2
    assert AuditEvent.objects.filter(action=AuditAction.EVENT_CREATED).count() == 1


def test_a_role_in_use_cannot_be_removed_or_shrunk(guanbeigou, community_staff):
    event = make_event(guanbeigou, roles=[("引导", 2)])
    role = event.roles.get()
    join(event, volunteer_of(guanbeigou).person, role=role)
    join(event, volunteer_of(guanbeigou).person, role=role)
    with pytest.raises(ConflictError):
        services.remove_role(role=role, actor=staff_actor(community_staff))
    role.capacity = 1
    with pytest.raises(DomainError):
        services.save_role(role=role, actor=staff_actor(community_staff))


def test_system_actor_may_sign_up(guanbeigou):
    event = make_event(guanbeigou)
    assert services.sign_up(event=event, person=resident_of(guanbeigou), actor=SYSTEM).status == S.CONFIRMED
