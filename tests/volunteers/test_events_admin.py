"""The events admin: events with roles inline, the sign-up list and waiting list, the check-in desk, the QR
poster, cancelling events; every write through the services, every page scoped."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from charity.models import AuditAction, AuditEvent
from tests.factories import OrganizationFactory
from tests.volunteers.factories import make_event, make_signup
from volunteers import qr, services
from volunteers.models import Event, EventSeries, Signup, VolunteerRole

from .events_support import SYSTEM, many_events, resident_of, running_event, volunteer_of

pytestmark = pytest.mark.django_db
S = Signup.Status


@pytest.fixture
def desk(client, community_staff):
    client.force_login(community_staff)
    return client


def _local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%d"), timezone.localtime(moment).strftime("%H:%M:%S")


def event_form(guanbeigou, organizer, **changes):
    starts = timezone.now() + datetime.timedelta(days=10)
    data = {
        "community": guanbeigou.pk,
        "organizer": organizer.pk,
        "kind": "charity_market",
        "title": "一起·公益集市",
        "description": "",
        "place": "社区广场",
        "starts_at_0": _local(starts)[0],
        "starts_at_1": _local(starts)[1],
        "ends_at_0": _local(starts + datetime.timedelta(hours=3))[0],
        "ends_at_1": _local(starts + datetime.timedelta(hours=3))[1],
        "capacity": "30",
        "signup_deadline_0": "",
        "signup_deadline_1": "",
        "cancellation_cutoff_0": "",
        "cancellation_cutoff_1": "",
        "risk_notice": "",
        "roles-TOTAL_FORMS": "1",
        "roles-INITIAL_FORMS": "0",
        "roles-MIN_NUM_FORMS": "0",
        "roles-MAX_NUM_FORMS": "1000",
        "roles-0-name": "签到台",
        "roles-0-description": "",
        "roles-0-capacity": "2",
        "signups-TOTAL_FORMS": "0",
        "signups-INITIAL_FORMS": "0",
        "signups-MIN_NUM_FORMS": "0",
        "signups-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def test_staff_create_an_event_with_a_role(desk, guanbeigou):
    organizer = OrganizationFactory(area=guanbeigou)
    response = desk.post(reverse("admin:volunteers_event_add"), event_form(guanbeigou, organizer))
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = Event.objects.get()
    assert event.roles.get().name == "签到台" and event.signup_deadline == event.starts_at
    assert AuditEvent.objects.filter(action=AuditAction.EVENT_CREATED).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.VOLUNTEER_ROLE_SAVED).count() == 1


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"capacity": "-1"}, "capacity"),
        ({"title": "   "}, "title"),
        ({"risk_notice": "", "is_risky": "on"}, "risk_notice"),
    ],
)
def test_bad_event_input_is_a_form_error(desk, guanbeigou, changes, field, english):
    organizer = OrganizationFactory(area=guanbeigou)
    response = desk.post(reverse("admin:volunteers_event_add"), event_form(guanbeigou, organizer, **changes))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Event.objects.exists()


def test_an_event_ending_before_it_starts_is_refused(desk, guanbeigou):
    organizer = OrganizationFactory(area=guanbeigou)
    data = event_form(guanbeigou, organizer)
    data["ends_at_0"], data["ends_at_1"] = data["starts_at_0"], data["starts_at_1"]
    response = desk.post(reverse("admin:volunteers_event_add"), data)
    assert response.status_code == 200 and "ends_at" in response.context["adminform"].form.errors
    assert not Event.objects.exists()


def test_recording_insurance_on_the_event_page(desk, guanbeigou):
    event = make_event(guanbeigou, is_risky=True, risk_notice="登高")
    data = event_form(
        guanbeigou,
        event.organizer,
        is_risky="on",
        risk_notice="登高",
        record_insurance="平安 P-1",
        **{"roles-TOTAL_FORMS": "0"},
    )
    response = desk.post(reverse("admin:volunteers_event_change", args=[event.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    event.refresh_from_db()
    assert event.insurance_note == "平安 P-1" and event.insurance_recorded_at


def test_the_sign_up_list_shows_the_waiting_list_in_order(desk, guanbeigou):
    event = make_event(guanbeigou, capacity=1)
    people = [resident_of(guanbeigou) for _ in range(4)]
    for person in people:
        services.sign_up(event=event, person=person, actor=SYSTEM)
    response = desk.get(reverse("admin:volunteers_signup_changelist") + f"?event__id__exact={event.pk}")
    rows = list(response.context["cl"].result_list)
    assert [r.person for r in rows] == people
    assert [r.position for r in rows if r.status == S.WAITING] == [1, 2, 3]
    page = desk.get(reverse("admin:volunteers_event_change", args=[event.pk])).content.decode()
    assert all(p.name in page for p in people)


def test_staff_sign_a_resident_up_at_the_desk(desk, guanbeigou, english):
    event = make_event(guanbeigou)
    person = resident_of(guanbeigou)
    response = desk.post(
        reverse("admin:volunteers_signup_add"),
        {"event": event.pk, "person": person.pk, "participant_age": "9", "guardian_name": ""},
    )
    assert response.status_code == 200 and "guardian" in str(response.context["adminform"].form.errors)
    assert not Signup.objects.exists()
    response = desk.post(
        reverse("admin:volunteers_signup_add"),
        {"event": event.pk, "person": person.pk, "participant_age": "9", "guardian_name": "王妈妈"},
    )
    assert response.status_code == 302
    assert Signup.objects.get().guardian_name == "王妈妈"


def test_the_desk_checks_people_in_and_out(desk, guanbeigou):
    event = running_event(guanbeigou, roles=[("引导", 2)])
    participant = make_signup(event, resident_of(guanbeigou))
    volunteer = make_signup(event, volunteer_of(guanbeigou).person, role=event.roles.get())
    url = reverse("admin:volunteers_event_desk", args=[event.pk])
    page = desk.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert participant.person.name in text and volunteer.person.name in text
    desk.post(url, {"signup": participant.pk, "op": "in"})
    participant.refresh_from_db()
    assert participant.checked_in_at is not None
    response = desk.post(url, {"signup": participant.pk, "op": "in"}, follow=True)
    assert "Already checked in" in response.content.decode() or "已" in response.content.decode()
    desk.post(url, {"signup": participant.pk, "op": "out"})
    participant.refresh_from_db()
    assert participant.checked_out_at is not None
    other = make_signup(make_event(guanbeigou), resident_of(guanbeigou))
    assert desk.post(url, {"signup": other.pk, "op": "in"}).status_code == 404
    assert desk.post(url, {"signup": "x", "op": "in"}).status_code == 404
    assert desk.post(url, {"signup": "9" * 30, "op": "in"}).status_code == 404


def test_a_viewer_sees_the_desk_but_cannot_check_in(client, community_viewer, guanbeigou):
    event = running_event(guanbeigou)
    signup = make_signup(event, resident_of(guanbeigou))
    client.force_login(community_viewer)
    url = reverse("admin:volunteers_event_desk", args=[event.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"signup": signup.pk, "op": "in"}).status_code == 403
    signup.refresh_from_db()
    assert signup.checked_in_at is None


def test_the_poster_carries_a_qr_code_of_the_signed_link(desk, guanbeigou):
    event = make_event(guanbeigou)
    page = desk.get(reverse("admin:volunteers_event_poster", args=[event.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "<svg" in text and event.title in text
    token = qr.make_token(event)
    assert qr.read_token(token) == event.pk


def test_out_of_scope_pages_are_404(client, outsider, guanbeigou):
    event = make_event(guanbeigou)
    signup = make_signup(event, resident_of(guanbeigou))
    client.force_login(outsider)
    for url in [
        reverse("admin:volunteers_event_change", args=[event.pk]),
        reverse("admin:volunteers_event_desk", args=[event.pk]),
        reverse("admin:volunteers_event_poster", args=[event.pk]),
        reverse("admin:volunteers_signup_change", args=[signup.pk]),
    ]:
        assert client.get(url).status_code == 404, url
    assert (
        client.post(
            reverse("admin:volunteers_event_desk", args=[event.pk]), {"signup": signup.pk}
        ).status_code
        == 404
    )


def test_cancel_events_asks_for_the_reason(desk, guanbeigou):
    event = make_event(guanbeigou)
    services.sign_up(event=event, person=resident_of(guanbeigou), actor=SYSTEM)
    url = reverse("admin:volunteers_event_changelist")
    page = desk.post(url, {"action": "cancel_events", "_selected_action": [event.pk]})
    assert page.status_code == 200 and "reason" in page.content.decode()
    event.refresh_from_db()
    assert event.status == Event.Status.PUBLISHED
    desk.post(url, {"action": "cancel_events", "_selected_action": [event.pk], "reason": "暴雨"})
    event.refresh_from_db()
    assert event.status == Event.Status.CANCELLED
    assert Signup.objects.get().status == S.CANCELLED


def test_signup_actions(desk, guanbeigou):
    event = running_event(guanbeigou, capacity=1)
    a = make_signup(event, resident_of(guanbeigou))
    url = reverse("admin:volunteers_signup_changelist")
    desk.post(url, {"action": "check_in_signups", "_selected_action": [a.pk]})
    a.refresh_from_db()
    assert a.checked_in_at
    desk.post(url, {"action": "check_out_signups", "_selected_action": [a.pk]})
    a.refresh_from_db()
    assert a.checked_out_at


def test_series_through_the_service(desk, guanbeigou):
    organizer = OrganizationFactory(area=guanbeigou)
    data = {"community": guanbeigou.pk, "organizer": organizer.pk, "name": "一起", "description": ""}
    assert desk.post(reverse("admin:volunteers_eventseries_add"), data).status_code == 302
    response = desk.post(reverse("admin:volunteers_eventseries_add"), data)
    assert response.status_code == 200 and EventSeries.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.EVENT_SERIES_SAVED).count() == 1


def test_the_admin_lists_run_as_many_queries_for_500_rows_as_for_one(desk, guanbeigou, count_queries):
    def counts():
        return (
            count_queries(lambda: desk.get(reverse("admin:volunteers_event_changelist"))),
            count_queries(lambda: desk.get(reverse("admin:volunteers_signup_changelist"))),
            count_queries(lambda: desk.get(reverse("admin:volunteers_eventseries_changelist"))),
        )

    (event,) = many_events(guanbeigou, 1)
    make_signup(event, volunteer_of(guanbeigou).person, role=event.roles.first())
    desk_url = reverse("admin:volunteers_event_desk", args=[event.pk])
    change_url = reverse("admin:volunteers_event_change", args=[event.pk])
    counts(), desk.get(desk_url), desk.get(change_url)  # warm the caches (content types, permissions)
    one = counts()
    on_the_desk = count_queries(lambda: desk.get(desk_url))
    on_the_page = count_queries(lambda: desk.get(change_url))
    many_events(guanbeigou, 499)
    Signup.objects.bulk_create(
        Signup(event=event, person=p, status=S.WAITING) for p in [resident_of(guanbeigou) for _ in range(30)]
    )
    assert counts() == one
    assert count_queries(lambda: desk.get(desk_url)) == on_the_desk
    assert count_queries(lambda: desk.get(change_url)) == on_the_page
    assert VolunteerRole.objects.count() == 1000
