"""Notifications (issue 10): the inbox row, delivery through the outbox, the key, the opt-out, the pages."""

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from charity import messaging
from charity.models import (
    AuditAction,
    AuditEvent,
    Notification,
    NotificationKind,
    NotificationPreference,
    OutboxMessage,
)
from charity.notifications import notify, set_notification_enabled
from charity.services import Actor
from tests.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()
TEXT = "您发布的需求已公开。"


def _notify(person, **kwargs):
    arguments = {"person": person, "kind": NotificationKind.NEED_STATUS, "text": TEXT, "actor": SYSTEM}
    return notify(**(arguments | kwargs))


# --- the service -------------------------------------------------------------------------------------------


def test_notify_writes_the_inbox_and_sends_the_same_text_and_nothing_else(resident, phone):
    with phone._capture(execute=True):
        notification = _notify(resident, url="/me/", key="need:1:published")

    assert notification.text == TEXT and notification.read_at is None
    message = OutboxMessage.objects.get()
    assert (message.kind, message.text) == (OutboxMessage.Kind.NOTIFICATION, TEXT)
    assert message.mobile == resident.mobile
    # Unchanged, and only the text: no link, no kind, no name added on the way to the phone.
    assert phone.sent == [(resident.mobile, TEXT)]
    assert message.status == OutboxMessage.Status.SENT


def test_notify_writes_no_audit_event(resident):
    _notify(resident)
    assert not AuditEvent.objects.exists()  # a notice reports a decision audited elsewhere


def test_the_same_key_twice_gives_one_row_and_one_message(resident, phone):
    with phone._capture(execute=True):
        first = _notify(resident, key="need:7:expired")
        second = _notify(resident, key="need:7:expired", text="另一段文字")

    assert first is not None and second is None
    assert Notification.objects.count() == 1
    assert OutboxMessage.objects.count() == 1
    assert phone.sent == [(resident.mobile, TEXT)]


def test_a_key_is_per_person_and_an_empty_key_never_collides(resident, guanbeigou):
    other = PersonFactory(community=guanbeigou, mobile="13900000002")
    _notify(resident, key="loan:3:overdue")
    _notify(other, key="loan:3:overdue")
    _notify(resident)
    _notify(resident)
    assert Notification.objects.filter(person=resident).count() == 3
    assert Notification.objects.filter(person=other).count() == 1


def test_turning_a_kind_off_stops_delivery_but_keeps_the_inbox_row(resident, phone, english):
    assert set_notification_enabled(
        person=resident, kind=NotificationKind.LOAN_DUE, enabled=False, actor=SYSTEM
    )
    with phone._capture(execute=True):
        notification = _notify(resident, kind=NotificationKind.LOAN_DUE)
        _notify(resident, kind=NotificationKind.NEED_STATUS)  # another kind still goes out

    assert notification is not None
    assert Notification.objects.filter(person=resident).count() == 2
    assert [m.kind for m in OutboxMessage.objects.all()] == [OutboxMessage.Kind.NOTIFICATION]
    assert len(phone.sent) == 1

    event = AuditEvent.objects.get(action=AuditAction.NOTIFICATION_SETTING_CHANGED)
    assert event.data == {"kind": "loan.due", "enabled": False}
    # Again the same choice: nothing changes, nothing is audited twice.
    assert not set_notification_enabled(
        person=resident, kind=NotificationKind.LOAN_DUE, enabled=False, actor=SYSTEM
    )
    assert set_notification_enabled(
        person=resident, kind=NotificationKind.LOAN_DUE, enabled=True, actor=SYSTEM
    )
    assert AuditEvent.objects.filter(action=AuditAction.NOTIFICATION_SETTING_CHANGED).count() == 2
    _notify(resident, kind=NotificationKind.LOAN_DUE)
    assert OutboxMessage.objects.count() == 2


def test_a_person_without_a_mobile_gets_the_inbox_only(guanbeigou):
    person = PersonFactory(community=guanbeigou, mobile=None)
    assert _notify(person) is not None
    assert not OutboxMessage.objects.exists()


def test_the_delivery_task_run_twice_sends_once(resident, phone):
    _notify(resident)  # outside the capture: the on-commit delivery never ran
    message = OutboxMessage.objects.get()
    assert messaging.deliver_message(message.pk) is True
    assert messaging.deliver_message(message.pk) is False
    assert phone.sent == [(resident.mobile, TEXT)]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "need.unknown"},
        {"text": ""},
        {"text": "长" * 301},
        {"url": "https://evil.example/"},
        {"url": "//evil.example/"},
        {"key": "k" * 101},
    ],
)
def test_programming_errors_are_refused_and_write_nothing(resident, kwargs):
    with pytest.raises(ValueError):
        _notify(resident, **kwargs)
    assert not Notification.objects.exists() and not OutboxMessage.objects.exists()


# --- the inbox page and the header count ------------------------------------------------------------------


def _login(client, person):
    client.force_login(person.user)
    return client


def test_the_inbox_is_newest_first_marks_unread_and_then_marks_them_read(client, resident):
    _notify(resident, text="第一条")
    _notify(resident, text="第二条", url="/me/")
    page = _login(client, resident).get(reverse("portal:notifications")).content.decode()

    assert page.index("第二条") < page.index("第一条")
    assert page.count('class="card inbox-item unread"') == 2
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    again = client.get(reverse("portal:notifications")).content.decode()
    assert 'class="card inbox-item unread"' not in again


def test_the_inbox_shows_only_the_persons_own_notices(client, resident, guanbeigou):
    other = PersonFactory(community=guanbeigou, user=UserFactory(), mobile="13900000002")
    _notify(other, text="别人的通知")
    _notify(resident, text="我的通知")
    page = _login(client, resident).get(reverse("portal:notifications")).content.decode()
    assert "我的通知" in page and "别人的通知" not in page
    assert Notification.objects.get(person=other).read_at is None


def test_another_persons_notification_is_404(client, resident, guanbeigou):
    other = PersonFactory(community=guanbeigou, user=UserFactory(), mobile="13900000002")
    theirs = _notify(other, url="/me/")
    mine = _notify(resident, url="/me/")
    _login(client, resident)
    assert client.get(reverse("portal:notification_open", args=[theirs.pk])).status_code == 404
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    response = client.get(reverse("portal:notification_open", args=[mine.pk]))
    assert response.status_code == 302 and response["Location"] == "/me/"


def test_the_inbox_is_paginated(client, resident):
    for n in range(25):
        _notify(resident, text=f"通知{n:02d}")
    _login(client, resident)
    first = client.get(reverse("portal:notifications")).content.decode()
    assert "通知24" in first and "通知04" not in first
    second = client.get(reverse("portal:notifications") + "?page=2").content.decode()
    assert "通知04" in second
    # Only the notices shown were marked read.
    assert Notification.objects.filter(read_at__isnull=True).count() == 0
    assert client.get(reverse("portal:notifications") + "?page=99").status_code == 200


def test_the_header_shows_the_unread_count_to_the_person(client, resident):
    _notify(resident)
    _notify(resident)
    page = _login(client, resident).get(reverse("portal:privacy")).content.decode()
    assert 'class="unread-count"' in page and ">2<" in page


def test_the_header_count_costs_nothing_for_anonymous_visitors(client, count_queries):
    assert count_queries(lambda: client.get(reverse("portal:privacy"))) == 0


def test_the_header_count_is_one_query_for_1_or_200_notifications(client, resident, count_queries):
    _login(client, resident)
    _notify(resident)
    one = count_queries(lambda: client.get(reverse("portal:privacy")))
    Notification.objects.bulk_create(
        Notification(person=resident, kind=NotificationKind.NEED_STATUS, text=TEXT) for _ in range(199)
    )
    many = count_queries(lambda: client.get(reverse("portal:privacy")))
    assert one == many
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("portal:privacy"))
    assert [q["sql"] for q in queries if "charity_notification" in q["sql"]] == [
        next(q["sql"] for q in queries if "COUNT" in q["sql"] and "charity_notification" in q["sql"])
    ]


def test_the_inbox_costs_the_same_for_1_or_200_notifications(client, resident, count_queries):
    _login(client, resident)
    _notify(resident)
    one = count_queries(lambda: client.get(reverse("portal:notifications")))
    Notification.objects.bulk_create(
        Notification(person=resident, kind=NotificationKind.NEED_STATUS, text=TEXT) for _ in range(199)
    )
    assert count_queries(lambda: client.get(reverse("portal:notifications"))) == one


# --- the settings page -------------------------------------------------------------------------------------


def test_the_settings_page_turns_a_kind_off_and_on(client, resident):
    _login(client, resident)
    url = reverse("portal:notification_settings")
    page = client.get(url).content.decode()
    assert page.count('type="checkbox"') == len(NotificationKind.values)

    kept_on = [k for k in NotificationKind.values if k != NotificationKind.LOAN_DUE]
    response = client.post(url, {"kinds": kept_on})
    assert response.status_code == 302
    assert list(NotificationPreference.objects.filter(enabled=False).values_list("kind", flat=True)) == [
        "loan.due"
    ]
    assert AuditEvent.objects.filter(action=AuditAction.NOTIFICATION_SETTING_CHANGED).count() == 1

    client.post(url, {"kinds": NotificationKind.values})
    assert not NotificationPreference.objects.filter(enabled=False).exists()


def test_the_settings_page_refuses_an_unknown_kind_and_changes_nothing(client, resident):
    _login(client, resident)
    response = client.post(reverse("portal:notification_settings"), {"kinds": ["no.such.kind"]})
    assert response.status_code == 200
    assert not NotificationPreference.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_with_one_key_give_one_row_on_postgres(guanbeigou):
    person = PersonFactory(community=guanbeigou, mobile="13900000009")
    callers = 8
    barrier = threading.Barrier(callers)
    results = []
    lock = threading.Lock()

    def call():
        try:
            barrier.wait(timeout=30)
            outcome = _notify(person, key="need:1:expired")
            with lock:
                results.append(outcome is not None)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results) == [False] * (callers - 1) + [True]
    assert Notification.objects.filter(person=person).count() == 1
    assert OutboxMessage.objects.filter(mobile=person.mobile).count() == 1


def test_the_setting_change_reads_as_a_sentence_in_the_audit_log(resident, english):
    from charity.audit_display import describe

    set_notification_enabled(person=resident, kind=NotificationKind.LOAN_DUE, enabled=False, actor=SYSTEM)
    (event,) = describe(AuditEvent.objects.filter(action=AuditAction.NOTIFICATION_SETTING_CHANGED))
    assert "王阿姨" in event.sentence and "A tool you borrowed is due back soon" in event.sentence
    assert "inbox only" in event.sentence and "loan.due" not in event.sentence
