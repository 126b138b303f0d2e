"""The events pages of the portal: list, event page, sign-up, waiting place, offer, QR check-in, calendar."""

import datetime

import pytest
from django.urls import reverse

from charity.models import AuditAction, AuditEvent
from tests.volunteers.factories import make_event, make_signup
from volunteers import qr, services
from volunteers.models import EventSeries, Signup

from .events_support import SYSTEM, many_events, resident_of, running_event, volunteer_of

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
S = Signup.Status


def login(client, person):
    client.force_login(person.user)
    return client


def test_anyone_sees_the_upcoming_events_by_date(client, guanbeigou):
    series = EventSeries.objects.create(
        community=guanbeigou, organizer=make_event(guanbeigou).organizer, name="一起"
    )
    make_event(guanbeigou, title="一起·义诊", series=series, starts_in=datetime.timedelta(days=2))
    make_event(guanbeigou, title="去年的活动", starts_in=-datetime.timedelta(days=300))
    page = client.get(reverse("volunteers:event_list"), **EN)
    assert page.status_code == 200
    text = page.content.decode()
    assert "一起·义诊" in text and "去年的活动" not in text
    page = client.get(
        reverse("volunteers:event_list"), {"community": guanbeigou.pk, "series": series.pk}, **EN
    )
    assert "一起·义诊" in page.content.decode() and "一起·公益集市" not in page.content.decode()
    assert client.get(reverse("volunteers:event_list"), {"community": 999999}).status_code == 404
    assert client.get(reverse("volunteers:event_list"), {"community": "x"}).status_code == 200


def test_the_anonymous_list_is_cached_and_a_sign_up_refreshes_it(client, guanbeigou, settings):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 300
    event = make_event(guanbeigou, capacity=1, title="急救培训")
    url = reverse("volunteers:event_list")
    assert "1 of 1 left" in client.get(url, **EN).content.decode()
    services.sign_up(event=event, person=resident_of(guanbeigou), actor=SYSTEM)
    assert "full: waiting list open" in client.get(url, **EN).content.decode()


def test_the_event_page_shows_places_risks_and_roles(client, guanbeigou):
    event = make_event(
        guanbeigou,
        capacity=10,
        is_risky=True,
        risk_notice="涉及水上作业",
        roles=[("救生员", 2)],
        title="河道清洁",
    )
    page = client.get(reverse("volunteers:event_detail", args=[event.pk]), **EN).content.decode()
    assert "10 of 10 left" in page and "涉及水上作业" in page and "救生员" in page
    assert "once the organiser has recorded the accident insurance" in page
    assert "Log in to sign up" in page
    assert client.get(reverse("volunteers:event_detail", args=[999999])).status_code == 404


def test_a_resident_signs_up_and_sees_it_on_my_page(client, guanbeigou):
    event = make_event(guanbeigou, capacity=5)
    person = resident_of(guanbeigou)
    login(client, person)
    response = client.post(
        reverse("volunteers:event_sign_up", args=[event.pk]), {"participant_age": ""}, **EN
    )
    assert response.status_code == 302 and response["Location"] == reverse("volunteers:my_signups")
    assert Signup.objects.get(person=person).status == S.CONFIRMED
    mine = client.get(reverse("volunteers:my_signups"), **EN).content.decode()
    assert event.title in mine and "Cancel my sign-up" in mine
    me = client.get(reverse("portal:me"), **EN).content.decode()
    assert "My events" in me and event.title in me


def test_a_nine_year_old_needs_a_guardian_on_the_form(client, guanbeigou):
    event = make_event(guanbeigou)
    login(client, resident_of(guanbeigou))
    response = client.post(
        reverse("volunteers:event_sign_up", args=[event.pk]), {"participant_age": "9"}, **EN
    )
    assert response.status_code == 400
    assert "signs up with a parent or guardian" in response.content.decode()
    assert not Signup.objects.exists()
    response = client.post(
        reverse("volunteers:event_sign_up", args=[event.pk]), {"participant_age": "-1"}, **EN
    )
    assert response.status_code == 400 and not Signup.objects.exists()


def test_twice_is_refused_with_a_message(client, guanbeigou):
    event = make_event(guanbeigou)
    login(client, resident_of(guanbeigou))
    url = reverse("volunteers:event_sign_up", args=[event.pk])
    client.post(url, {}, **EN)
    response = client.post(url, {}, follow=True, **EN)
    assert "You have already signed up for this event." in response.content.decode()
    assert Signup.objects.count() == 1


def test_a_volunteer_takes_a_role_and_a_non_volunteer_is_told_to_register(client, guanbeigou):
    event = make_event(guanbeigou, roles=[("签到台", 2)])
    role = event.roles.get()
    outsider = resident_of(guanbeigou)
    login(client, outsider)
    page = client.get(reverse("volunteers:event_detail", args=[event.pk]), **EN).content.decode()
    assert "Register as a volunteer to take a volunteer role." in page
    response = client.post(
        reverse("volunteers:event_sign_up", args=[event.pk]), {"role": role.pk}, follow=True, **EN
    )
    assert "Only registered, active volunteers" in response.content.decode()
    volunteer = volunteer_of(guanbeigou)
    login(client, volunteer.person)
    client.post(reverse("volunteers:event_sign_up", args=[event.pk]), {"role": role.pk}, **EN)
    assert Signup.objects.get(person=volunteer.person).role == role
    other = make_event(guanbeigou, roles=[("摄影", 1)])
    response = client.post(
        reverse("volunteers:event_sign_up", args=[event.pk]),
        {"role": other.roles.get().pk},
        follow=True,
        **EN,
    )
    assert "volunteer roles." in response.content.decode()
    for bad in ("x", "-1", "9" * 30):
        response = client.post(
            reverse("volunteers:event_sign_up", args=[event.pk]), {"role": bad}, follow=True, **EN
        )
        assert response.status_code == 200 and "volunteer roles." in response.content.decode()


def test_my_waiting_place_and_an_offer_to_confirm(client, guanbeigou):
    event = make_event(guanbeigou, capacity=1)
    first = resident_of(guanbeigou)
    services.sign_up(event=event, person=first, actor=SYSTEM)
    waiting = [resident_of(guanbeigou) for _ in range(3)]
    for person in waiting:
        services.sign_up(event=event, person=person, actor=SYSTEM)
    login(client, waiting[2])
    page = client.get(reverse("volunteers:my_signups"), **EN).content.decode()
    assert "You are number 3 on the waiting list." in page
    login(client, first)
    mine = Signup.objects.get(person=first)
    client.post(reverse("volunteers:signup_cancel", args=[mine.pk]), **EN)
    login(client, waiting[0])
    page = client.get(reverse("volunteers:my_signups"), **EN).content.decode()
    assert "A place opened up for you" in page
    offered = Signup.objects.get(person=waiting[0])
    client.post(reverse("volunteers:signup_confirm", args=[offered.pk]), **EN)
    offered.refresh_from_db()
    assert offered.status == S.CONFIRMED
    login(client, waiting[2])
    assert (
        "You are number 2 on the waiting list."
        in client.get(reverse("volunteers:my_signups"), **EN).content.decode()
    )


def test_someone_elses_sign_up_is_not_found(client, guanbeigou):
    event = make_event(guanbeigou)
    theirs = make_signup(event, resident_of(guanbeigou))
    login(client, resident_of(guanbeigou))
    assert client.post(reverse("volunteers:signup_cancel", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("volunteers:signup_confirm", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == S.CONFIRMED


def test_writes_need_a_login_and_a_post(client, guanbeigou):
    event = make_event(guanbeigou)
    response = client.post(reverse("volunteers:event_sign_up", args=[event.pk]))
    assert response.status_code == 302 and "login" in response["Location"]
    login(client, resident_of(guanbeigou))
    assert client.get(reverse("volunteers:event_sign_up", args=[event.pk])).status_code == 405
    assert not Signup.objects.exists()


def test_scanning_the_code_opens_a_page_with_a_button_that_checks_in(client, guanbeigou):
    event = running_event(guanbeigou)
    person = resident_of(guanbeigou)
    signup = make_signup(event, person)
    url = reverse("volunteers:event_self_check_in", args=[qr.make_token(event)])
    login(client, person)
    page = client.get(url, **EN)
    assert page.status_code == 200 and "Check me in" in page.content.decode()
    signup.refresh_from_db()
    assert signup.checked_in_at is None  # a GET checks no one in
    response = client.post(url, follow=True, **EN)
    assert "You are checked in." in response.content.decode()
    signup.refresh_from_db()
    assert signup.check_in_method == "qr"
    assert AuditEvent.objects.filter(action=AuditAction.CHECKED_IN, surface="portal").count() == 1


def test_a_forged_or_expired_code_or_no_sign_up_says_so(client, guanbeigou):
    event = running_event(guanbeigou)
    person = resident_of(guanbeigou)
    login(client, person)
    token = qr.make_token(event)
    page = client.get(reverse("volunteers:event_self_check_in", args=[token]), **EN).content.decode()
    assert "You are not signed up for this event." in page
    response = client.post(reverse("volunteers:event_self_check_in", args=[token]), **EN)
    assert response.status_code == 400
    forged = reverse("volunteers:event_self_check_in", args=[token[:-4] + "abcd"])
    assert "This check-in code is not valid" in client.get(forged, **EN).content.decode()
    assert client.post(forged, **EN).status_code == 400
    past = make_event(guanbeigou, starts_in=-datetime.timedelta(hours=5), hours=1)
    make_signup(past, person)
    expired = reverse("volunteers:event_self_check_in", args=[qr.make_token(past)])
    assert "This check-in code has expired" in client.get(expired, **EN).content.decode()
    assert not Signup.objects.filter(checked_in_at__isnull=False).exists()


def test_the_check_in_page_asks_for_a_login(client, guanbeigou):
    event = running_event(guanbeigou)
    response = client.get(reverse("volunteers:event_self_check_in", args=[qr.make_token(event)]))
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_calendar_feed_follows_rfc_5545(client, guanbeigou):
    make_event(guanbeigou, title="一起·" + "很长的标题" * 20, description="第一行\n第二行; 还有, 逗号")
    cancelled = make_event(guanbeigou, title="取消的活动", status="cancelled")
    response = client.get(reverse("volunteers:event_calendar", args=[guanbeigou.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    body = response.content
    assert body.startswith(b"BEGIN:VCALENDAR\r\n") and body.endswith(b"END:VCALENDAR\r\n")
    lines = body.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    assert b"\n" not in body.replace(b"\r\n", b"")
    unfolded = body.decode("utf-8").replace("\r\n ", "")
    assert "DESCRIPTION:第一行\\n第二行\\; 还有\\, 逗号" in unfolded
    assert unfolded.count("BEGIN:VEVENT") == 2 == unfolded.count("END:VEVENT")
    assert f"UID:event-{cancelled.pk}@" in unfolded and "STATUS:CANCELLED" in unfolded
    assert "DTSTART:" in unfolded and unfolded.split("DTSTART:")[1][:16].endswith("Z")
    assert client.get(reverse("volunteers:event_calendar", args=[999999])).status_code == 404


def test_the_lists_run_as_many_queries_for_500_rows_as_for_one(client, guanbeigou, count_queries):
    person = resident_of(guanbeigou)

    def counts():
        return (
            count_queries(lambda: client.get(reverse("volunteers:event_list"))),
            count_queries(lambda: client.get(reverse("volunteers:my_signups"))),
            count_queries(lambda: client.get(reverse("portal:me"))),
        )

    login(client, person)
    many_events(guanbeigou, 1, person=person)
    one = counts()
    many_events(guanbeigou, 499, person=person)
    assert counts() == one


def test_the_home_page_links_to_the_events(client, guanbeigou):
    page = client.get(reverse("portal:home"), **EN).content.decode()
    assert (
        reverse("volunteers:event_list") in page
        and "Take part in a community event, or volunteer at one" in page
    )


def test_no_id_number_on_any_events_page_or_payload(client, guanbeigou, community_staff, hub_api):
    from charity import crypto

    event = running_event(guanbeigou, roles=[("引导", 2)])
    volunteer = volunteer_of(guanbeigou)
    make_signup(event, volunteer.person, role=event.roles.get())
    number = crypto.decrypt(volunteer.id_ciphertext)
    login(client, volunteer.person)
    pages = [
        client.get(reverse("volunteers:event_list")),
        client.get(reverse("volunteers:event_detail", args=[event.pk])),
        client.get(reverse("volunteers:my_signups")),
        client.get(reverse("portal:me")),
        client.get(reverse("portal:my_data")),
        client.get(reverse("volunteers:event_calendar", args=[guanbeigou.pk])),
        hub_api.get("/api/v1/events/"),
    ]
    client.force_login(community_staff)
    pages += [
        client.get(reverse("admin:volunteers_event_desk", args=[event.pk])),
        client.get(reverse("admin:volunteers_event_change", args=[event.pk])),
        client.get(reverse("admin:volunteers_signup_changelist")),
    ]
    for page in pages:
        assert page.status_code == 200
        body = b"".join(page.streaming_content) if page.streaming else page.content
        assert number not in body.decode(), page.request["PATH_INFO"]
