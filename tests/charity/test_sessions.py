"""A staff session ends after STAFF_SESSION_IDLE_SECONDS without a request; a resident's keeps the default."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

pytestmark = pytest.mark.django_db

IDLE = datetime.timedelta(seconds=settings.STAFF_SESSION_IDLE_SECONDS)
SECOND = datetime.timedelta(seconds=1)


def logged_in_to_admin(client) -> bool:
    response = client.get("/admin/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def test_the_default_idle_time_is_half_an_hour():
    assert settings.STAFF_SESSION_IDLE_SECONDS == 1800


def test_a_staff_session_ends_after_the_idle_time(client, community_staff):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.force_login(community_staff)
        assert logged_in_to_admin(client)
        clock.shift(IDLE + SECOND)
        assert not logged_in_to_admin(client)
        assert client.get("/admin/").url.startswith("/admin/login/")


def test_each_request_starts_the_idle_time_again(client, community_staff):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.force_login(community_staff)
        for _ in range(4):  # two hours of work, never idle for long
            clock.shift(IDLE - 60 * SECOND)
            assert logged_in_to_admin(client)


def test_the_cookie_of_a_staff_session_lasts_the_idle_time(client, community_staff):
    community_staff.set_password("Lv-shui-qing-shan-2025")
    community_staff.save()
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": community_staff.username, "password": "Lv-shui-qing-shan-2025"},
    )
    assert response.status_code == 302
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == settings.STAFF_SESSION_IDLE_SECONDS


def test_a_staff_session_started_by_logging_in_is_limited_at_once(client, community_staff):
    community_staff.set_password("Lv-shui-qing-shan-2025")
    community_staff.save()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        response = client.post(
            "/admin/login/?next=/admin/",
            {"username": community_staff.username, "password": "Lv-shui-qing-shan-2025"},
        )
        assert response.status_code == 302
        clock.shift(IDLE + SECOND)
        assert not logged_in_to_admin(client)


def test_a_residents_session_keeps_the_default_age(client, resident, settings):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.force_login(resident.user)
        client.get("/")
        clock.shift(IDLE + SECOND)
        assert client.get("/").context["user"] == resident.user
        clock.shift(datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE))
        assert client.get("/").context["user"].is_anonymous


def test_the_idle_time_is_a_setting(client, community_staff, settings):
    settings.STAFF_SESSION_IDLE_SECONDS = 60
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.force_login(community_staff)
        assert logged_in_to_admin(client)
        clock.shift(61 * SECOND)
        assert not logged_in_to_admin(client)


def test_a_busy_staff_session_is_written_at_most_once_a_minute(client, community_staff):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def session_writes():
        with CaptureQueriesContext(connection) as queries:
            assert logged_in_to_admin(client)
        return sum('"django_session"' in q["sql"] and q["sql"].startswith("UPDATE") for q in queries)

    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.force_login(community_staff)  # the log-in starts the clock
        assert session_writes() == 0
        clock.shift(61 * SECOND)
        assert session_writes() == 1
        clock.shift(30 * SECOND)
        assert session_writes() == 0
