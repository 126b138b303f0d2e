"""Accounts: a mobile number is proved by a one-time code before a login is created or attached; passwords
are changed and reset; log-in locks after repeated failures; sign-up consent is recorded; all is audited."""

import datetime
import importlib
import logging
import re

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.utils import timezone

from charity import demo, messaging
from charity.errors import NotFoundError
from charity.models import AuditEvent, Consent, OneTimeCode, OutboxMessage, Person
from charity.services import (
    Actor,
    CodeError,
    DomainError,
    register_resident,
    reset_resident_password_by_staff,
)
from charity.tasks import deliver_message, purge_codes_and_messages
from tests.factories import PersonFactory, StaffUserFactory, UserFactory

PASSWORD = "Lv-shui-qing-shan-2025"
NEW_PASSWORD = "Hong-shan-lv-shui-2026"
MOBILE = "13812345678"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def text(response):
    return response.content.decode()


def ask_code(phone, client, mobile=MOBILE, ip="10.0.0.1", url="/accounts/signup/"):
    return phone.post(client, url, {"mobile": mobile}, REMOTE_ADDR=ip, **EN)


def confirm(phone, client, community, code, **overrides):
    data = {
        "code": code,
        "name": "张小明",
        "community": community.pk,
        "password1": PASSWORD,
        "password2": PASSWORD,
        "consent": "on",
        **overrides,
    }
    return phone.post(client, "/accounts/signup/confirm/", data, follow=True, **EN)


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# --- the takeover hole ----------------------------------------------------------------------------------


def test_sign_up_with_a_staff_entered_number_without_the_code_neither_attaches_nor_greets(client, guanbeigou):
    staff_entered = Person.objects.create(name="赵秀兰", mobile=MOBILE, community=guanbeigou)
    attack = {
        "name": "坏人",
        "mobile": MOBILE,
        "community": guanbeigou.pk,
        "password1": PASSWORD,
        "password2": PASSWORD,
        "consent": "on",
    }
    pages = [client.post("/accounts/signup/", attack, follow=True)]
    pages.append(client.post("/accounts/signup/confirm/", {**attack, "code": "000000"}, follow=True))
    staff_entered.refresh_from_db()
    assert staff_entered.user_id is None
    assert "_auth_user_id" not in client.session
    for page in pages:
        assert "赵秀兰" not in page.content.decode()


def test_the_code_goes_to_the_number_and_only_it_creates_the_login(client, phone, guanbeigou):
    response = ask_code(phone, client)
    assert response.status_code == 302 and response["Location"] == "/accounts/signup/confirm/"
    assert MOBILE not in response["Location"]
    [message] = phone.messages(MOBILE)
    code = phone.last_code(MOBILE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    refused = confirm(phone, client, guanbeigou, wrong)
    assert "The code is not right. You can try 4 more times." in text(refused)
    assert not Person.objects.exists() and not get_user_model().objects.exists()
    assert confirm(phone, client, guanbeigou, code).redirect_chain[-1][0] == f"/communities/{guanbeigou.pk}/"
    assert Person.objects.get().user.check_password(PASSWORD)


def test_the_code_is_stored_only_as_a_keyed_hash_and_masked_in_the_outbox_once_sent(
    client, phone, guanbeigou
):
    ask_code(phone, client)
    code = phone.last_code(MOBILE)
    row = OneTimeCode.objects.get()
    assert code not in row.code_hash and len(row.code_hash) == 64
    message = OutboxMessage.objects.get()
    assert message.status == "sent" and code not in message.text and "******" in message.text
    assert (row.purpose, row.requester_ip) == ("signup", "10.0.0.1")


def test_an_expired_code_is_refused(client, phone, guanbeigou):
    ask_code(phone, client)
    OneTimeCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    response = confirm(phone, client, guanbeigou, phone.last_code(MOBILE))
    assert "This code has expired. Ask for a new one." in text(response)
    assert not Person.objects.exists()


def test_a_used_code_is_refused(phone, guanbeigou, client):
    ask_code(phone, client)
    code = phone.last_code(MOBILE)
    actor = Actor(surface="portal")
    details = {
        "name": "张小明",
        "community": guanbeigou,
        "password": PASSWORD,
        "consent": True,
        "actor": actor,
    }
    register_resident(mobile=MOBILE, code=code, **details)
    with pytest.raises(CodeError) as refused:
        register_resident(mobile=MOBILE, code=code, **details)
    assert refused.value.code == "code_used"
    assert Person.objects.count() == 1 and get_user_model().objects.count() == 1


def test_after_five_wrong_codes_even_the_right_one_is_refused(client, phone, guanbeigou):
    ask_code(phone, client)
    code = phone.last_code(MOBILE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        confirm(phone, client, guanbeigou, wrong)
    last = confirm(phone, client, guanbeigou, wrong)
    assert "that was the last try" in text(last)
    response = confirm(phone, client, guanbeigou, code)
    assert "Too many wrong codes. Ask for a new one." in text(response)
    assert not Person.objects.exists()
    assert OneTimeCode.objects.get().attempts == 5


def test_a_new_code_replaces_the_old_one(client, phone, guanbeigou):
    ask_code(phone, client)
    first = phone.last_code(MOBILE)
    ask_code(phone, client)
    second = phone.last_code(MOBILE)
    if first != second:
        assert "The code is not right" in text(confirm(phone, client, guanbeigou, first))
    assert confirm(phone, client, guanbeigou, second).redirect_chain


def test_codes_are_limited_per_number(client, phone, guanbeigou, resident):
    for number in (MOBILE, resident.mobile):  # registered or not, the same limit
        for i in range(3):
            assert ask_code(phone, client, mobile=number, ip=f"10.0.1.{i}").status_code == 302
        refused = ask_code(phone, client, mobile=number, ip="10.0.1.99")
        assert refused.status_code == 429
        assert "Too many codes were asked for this number. Please try again in 10 minutes." in text(refused)
        assert len(phone.messages(number)) == 3
    assert OneTimeCode.objects.count() == 6


def test_codes_are_limited_per_address(client, phone, guanbeigou):
    for i in range(10):
        assert ask_code(phone, client, mobile=f"1370000{i:04d}").status_code == 302
    refused = ask_code(phone, client, mobile="13700009999")
    assert refused.status_code == 429
    assert "Too many codes were asked from your network. Please try again in 60 minutes." in text(refused)
    assert not phone.messages("13700009999")
    assert ask_code(phone, client, mobile="13700009999", ip="10.9.9.9").status_code == 302


def test_the_daily_limit_per_number_holds_after_the_short_window(client, phone, guanbeigou):
    earlier = timezone.now() - datetime.timedelta(hours=2)
    OneTimeCode.objects.bulk_create(
        OneTimeCode(mobile=MOBILE, purpose="signup", expires_at=earlier, requester_ip="10.0.0.2")
        for _ in range(10)
    )
    OneTimeCode.objects.update(created_at=earlier)
    assert ask_code(phone, client).status_code == 429


def test_sign_up_does_not_tell_a_stranger_which_numbers_are_registered(client, phone, guanbeigou, resident):
    def visible(response):
        html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text(response))
        return response.status_code, html.replace("139****0001", "NUMBER").replace("138****5678", "NUMBER")

    answers = {}
    for number in (resident.mobile, MOBILE):
        client.cookies.clear()
        asked = ask_code(phone, client, mobile=number, ip="10.0.2.1" if number == MOBILE else "10.0.2.2")
        page = client.get(asked["Location"], **EN)
        wrong = confirm(phone, client, guanbeigou, "000000")
        answers[number] = (asked.status_code, asked["Location"], visible(page), visible(wrong))
    assert answers[resident.mobile] == answers[MOBILE]
    # Only the phone learns it: a log-in hint for the registered number, a code for the new one.
    assert OutboxMessage.objects.get(mobile=resident.mobile).kind == "already_registered"
    assert OutboxMessage.objects.get(mobile=MOBILE).kind == "signup_code"
    assert not re.search(r"\d{6}", phone.messages(resident.mobile)[0])


# --- usernames and log-in -------------------------------------------------------------------------------


def test_username_is_opaque_and_log_in_by_mobile_works(client, phone, guanbeigou):
    ask_code(phone, client)
    confirm(phone, client, guanbeigou, phone.last_code(MOBILE))
    user = Person.objects.get().user
    assert re.fullmatch(r"r[0-9a-f]{10}", user.username)
    client.logout()
    response = client.post("/accounts/login/", {"mobile": "+86 138-1234-5678", "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)


def test_staff_still_log_in_with_their_username(client, community_staff):
    community_staff.set_password(PASSWORD)
    community_staff.save()
    response = client.post("/accounts/login/", {"mobile": "staff_gbg", "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(community_staff.pk)


def test_a_username_that_is_a_mobile_number_no_longer_logs_in_by_that_name(client, db):
    UserFactory(username=MOBILE)  # an old account, before the migration renamed it
    response = client.post("/accounts/login/", {"mobile": MOBILE, "password": "correct-horse-battery"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_the_migration_renames_users_whose_username_is_a_mobile_number(resident, community_staff):
    old = UserFactory(username=MOBILE)
    PersonFactory(mobile=MOBILE, user=old, community=resident.community)
    migration = importlib.import_module("charity.migrations.0003_accounts")
    migration.rename_mobile_usernames(apps, None)
    old.refresh_from_db()
    community_staff.refresh_from_db()
    assert re.fullmatch(r"r[0-9a-f]{10}", old.username)
    assert community_staff.username == "staff_gbg"
    assert not get_user_model().objects.filter(username__regex=r"^1[3-9][0-9]{9}$").exists()


# --- passwords ------------------------------------------------------------------------------------------


def test_a_resident_changes_their_password(client, phone, resident):
    client.force_login(resident.user)
    wrong = client.post(
        "/accounts/password/",
        {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        **EN,
    )
    assert "Your current password is not right." in text(wrong)
    response = phone.post(
        client,
        "/accounts/password/",
        {
            "old_password": "correct-horse-battery",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    resident.user.refresh_from_db()
    assert resident.user.check_password(NEW_PASSWORD)
    assert client.session["_auth_user_id"] == str(resident.user.pk)  # this session stays logged in
    [event] = events("account.password_changed")
    assert event.object_id == str(resident.pk) and event.area == resident.community
    assert OutboxMessage.objects.get(mobile=resident.mobile).kind == "password_changed"


def test_password_change_needs_a_log_in(client, db):
    response = client.get("/accounts/password/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_forgotten_password_is_reset_with_a_code(client, phone, resident):
    assert 'href="/accounts/password/reset/"' in text(client.get("/accounts/login/"))
    asked = ask_code(phone, client, mobile=resident.mobile, url="/accounts/password/reset/")
    assert asked["Location"] == "/accounts/password/reset/confirm/"
    code = phone.last_code(resident.mobile)
    data = {"code": code, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    wrong = phone.post(client, "/accounts/password/reset/confirm/", {**data, "code": "000000"}, **EN)
    assert "The code is not right" in text(wrong)
    done = phone.post(client, "/accounts/password/reset/confirm/", data)
    assert done["Location"] == "/accounts/login/"
    resident.user.refresh_from_db()
    assert resident.user.check_password(NEW_PASSWORD)
    [event] = events("account.password_reset_by_code")
    assert event.data == {"mobile": "139****0001"}
    again = phone.post(client, "/accounts/password/reset/confirm/", data)
    assert again["Location"] == "/accounts/password/reset/"  # the flow is over: start again


def test_a_reset_for_a_number_without_a_login_answers_the_same_and_sends_nothing(client, phone, resident):
    answers = []
    for number, ip in ((resident.mobile, "10.0.3.1"), (MOBILE, "10.0.3.2")):
        client.cookies.clear()
        asked = ask_code(phone, client, mobile=number, ip=ip, url="/accounts/password/reset/")
        answers.append((asked.status_code, asked["Location"]))
    assert answers[0] == answers[1]
    assert phone.messages(resident.mobile) and not phone.messages(MOBILE)
    assert OneTimeCode.objects.get(mobile=MOBILE).code_hash == ""


# --- staff reset a resident's password ------------------------------------------------------------------


def password_url(person):
    return f"/admin/charity/person/{person.pk}/password/"


def test_staff_in_scope_set_a_new_password_for_a_resident(client, phone, community_staff, resident):
    client.force_login(community_staff)
    change_page = text(client.get(f"/admin/charity/person/{resident.pk}/change/"))
    assert password_url(resident) in change_page
    response = phone.post(
        client, password_url(resident), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    resident.user.refresh_from_db()
    assert resident.user.check_password(NEW_PASSWORD)
    [event] = events("account.password_reset_by_staff")
    assert (event.actor_user, event.surface, event.object_id) == (community_staff, "admin", str(resident.pk))
    assert NEW_PASSWORD not in str(event.data) and NEW_PASSWORD not in event.summary
    assert OutboxMessage.objects.get(mobile=resident.mobile).kind == "password_changed"


def test_staff_out_of_scope_get_404(client, outsider, resident):
    client.force_login(outsider)
    assert client.get(password_url(resident)).status_code == 404
    response = client.post(
        password_url(resident), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 404
    resident.user.refresh_from_db()
    assert not resident.user.check_password(NEW_PASSWORD)


def test_a_malformed_person_id_is_404(client, community_staff):
    client.force_login(community_staff)
    assert client.get("/admin/charity/person/abc/password/").status_code == 404


def test_a_viewer_may_not_set_a_password(client, community_viewer, resident):
    client.force_login(community_viewer)
    assert client.get(password_url(resident)).status_code == 403
    response = client.post(
        password_url(resident), {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 403
    assert not events("account.password_reset_by_staff")


def test_the_service_refuses_out_of_scope_viewers_and_staff_logins(
    outsider, community_viewer, community_staff, resident
):
    for actor_user in (outsider, community_viewer):
        with pytest.raises(NotFoundError):
            reset_resident_password_by_staff(
                person=resident, new_password=NEW_PASSWORD, actor=Actor(surface="admin", user=actor_user)
            )
    colleague = StaffUserFactory(username="colleague")
    colleague_person = PersonFactory(community=resident.community, user=colleague)
    with pytest.raises(DomainError) as refused:
        reset_resident_password_by_staff(
            person=colleague_person,
            new_password=NEW_PASSWORD,
            actor=Actor(surface="admin", user=community_staff),
        )
    assert refused.value.code == "staff_login"
    assert not events("account.password_reset_by_staff")


def test_street_staff_above_the_community_may_set_it(street_staff, resident):
    reset_resident_password_by_staff(
        person=resident, new_password=NEW_PASSWORD, actor=Actor(surface="admin", user=street_staff)
    )
    resident.user.refresh_from_db()
    assert resident.user.check_password(NEW_PASSWORD)


# --- brute force: django-axes ---------------------------------------------------------------------------


def test_portal_log_in_is_locked_per_account_after_five_failures(client, resident):
    for i in range(5):
        client.post(
            "/accounts/login/", {"mobile": resident.mobile, "password": "wrong"}, REMOTE_ADDR=f"10.1.0.{i}"
        )
    locked = client.post(
        "/accounts/login/",
        {"mobile": "+86 139 0000 0001", "password": "correct-horse-battery"},
        REMOTE_ADDR="10.1.0.99",
        **EN,
    )
    assert locked.status_code == 429
    assert "log-in is locked for 15 minutes" in text(locked)
    assert 'href="/accounts/password/reset/"' in text(locked)
    assert "_auth_user_id" not in client.session
    chinese = client.post(
        "/accounts/login/", {"mobile": resident.mobile, "password": "x"}, REMOTE_ADDR="10.1.0.98"
    )
    assert chinese.status_code == 429 and '<html lang="zh-CN">' in text(chinese)


def test_portal_log_in_is_locked_per_address(client, resident, guanbeigou):
    for i in range(5):
        client.post("/accounts/login/", {"mobile": f"1370000{i:04d}", "password": "wrong"})
    locked = client.post("/accounts/login/", {"mobile": resident.mobile, "password": "correct-horse-battery"})
    assert locked.status_code == 429 and "_auth_user_id" not in client.session
    other = client.post(
        "/accounts/login/",
        {"mobile": resident.mobile, "password": "correct-horse-battery"},
        REMOTE_ADDR="10.2.0.1",
    )
    assert other.status_code == 302


def test_admin_log_in_is_locked_with_the_message_in_the_admin(client, community_staff):
    for _ in range(5):
        client.post("/admin/login/", {"username": "staff_gbg", "password": "wrong"})
    locked = client.post(
        "/admin/login/", {"username": "staff_gbg", "password": "correct-horse-battery"}, **EN
    )
    assert locked.status_code == 429
    assert "log-in is locked for 15 minutes" in text(locked)
    assert 'id="site-name"' in text(locked) or "Community charity platform" in text(locked)
    assert "_auth_user_id" not in client.session
    [event] = events("account.locked_out")
    assert event.surface == "admin" and event.summary == "staff_gbg"


def test_a_reset_by_code_lifts_the_lock_on_the_account(client, phone, resident):
    for i in range(5):
        client.post(
            "/accounts/login/", {"mobile": resident.mobile, "password": "wrong"}, REMOTE_ADDR=f"10.3.0.{i}"
        )
    ask_code(phone, client, mobile=resident.mobile, url="/accounts/password/reset/", ip="10.3.1.1")
    data = {
        "code": phone.last_code(resident.mobile),
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
    }
    phone.post(client, "/accounts/password/reset/confirm/", data, REMOTE_ADDR="10.3.1.1")
    response = client.post(
        "/accounts/login/", {"mobile": resident.mobile, "password": NEW_PASSWORD}, REMOTE_ADDR="10.3.1.1"
    )
    assert response.status_code == 302


def test_lock_out_records_no_mobile_number_in_the_attempts_table(client, resident):
    from axes.models import AccessAttempt

    for _ in range(4):
        client.post("/accounts/login/", {"mobile": resident.mobile, "password": "wrong"})
    client.post("/accounts/login/", {"mobile": "my-password-typed-here", "password": "x"})
    for attempt in AccessAttempt.objects.all():
        recorded = attempt.username + attempt.post_data + attempt.get_data
        assert resident.mobile not in recorded and "my-password" not in recorded
        assert "wrong" not in attempt.post_data
    assert AccessAttempt.objects.count() == 2


# --- messages: outbox and delivery ----------------------------------------------------------------------


def test_a_message_is_recorded_then_delivered_once_even_if_the_task_runs_twice(
    phone, db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        message = messaging.send_message(
            mobile="139 0000 0002",
            kind="signup_code",
            text="code 123456",
            actor=Actor.system(),
            secret="123456",
        )
    message.refresh_from_db()
    assert (message.mobile, message.status, phone.sent) == ("13900000002", "pending", [])
    assert len(callbacks) == 1
    callbacks[0]()
    assert deliver_message.delay(message.pk).get() is False
    assert deliver_message(message.pk) is False
    assert phone.sent == [("13900000002", "code 123456")]
    message.refresh_from_db()
    assert message.status == "sent" and message.sent_at and message.text == "code ******"


class FailingBackend:
    def send(self, mobile, text):
        raise ConnectionError("provider down")


def test_a_backend_failure_marks_the_message_failed_and_keeps_it(settings, db):
    settings.MESSAGE_BACKEND = f"{__name__}.FailingBackend"
    message = OutboxMessage.objects.create(mobile="13900000002", kind="signup_code", text="code 123456")
    assert deliver_message(message.pk) is False
    message.refresh_from_db()
    assert message.status == "failed" and message.last_error == "ConnectionError: provider down"
    assert deliver_message(message.pk) is False  # never retried into a second send


def test_the_log_backend_writes_the_message_with_the_number_masked(caplog):
    with caplog.at_level(logging.INFO, logger="charity.messaging"):
        messaging.LogBackend().send("13900000002", "hello")
    assert "139****0002" in caplog.text and "hello" in caplog.text and "13900000002" not in caplog.text


def test_an_unknown_message_kind_is_a_programming_error(db):
    with pytest.raises(ValueError):
        messaging.send_message(mobile="13900000002", kind="promotion", text="buy", actor=Actor.system())


def test_old_codes_and_delivered_messages_are_purged(db):
    long_ago = timezone.now() - datetime.timedelta(days=40)
    OneTimeCode.objects.create(mobile=MOBILE, purpose="signup", expires_at=long_ago)
    OneTimeCode.objects.create(mobile=MOBILE, purpose="signup", expires_at=timezone.now())
    OutboxMessage.objects.create(mobile=MOBILE, kind="signup_code", text="x", status="sent")
    OutboxMessage.objects.create(mobile=MOBILE, kind="signup_code", text="y", status="sent")
    OneTimeCode.objects.filter(expires_at=long_ago).update(created_at=long_ago)
    OutboxMessage.objects.filter(text="x").update(created_at=long_ago)
    assert purge_codes_and_messages() == {"codes": 1, "messages": 1}
    assert OneTimeCode.objects.count() == 1 and list(
        OutboxMessage.objects.values_list("text", flat=True)
    ) == ["y"]


# --- consent and the privacy notice ---------------------------------------------------------------------


def test_sign_up_stores_the_consent_with_the_notice_version(client, phone, guanbeigou, settings):
    ask_code(phone, client)
    confirm(phone, client, guanbeigou, phone.last_code(MOBILE))
    person = Person.objects.get()
    consent = Consent.objects.get()
    assert (consent.person, consent.kind, consent.text_version) == (
        person,
        "signup_privacy",
        settings.PRIVACY_NOTICE_VERSION,
    )
    assert consent.given_at and consent.withdrawn_at is None
    [event] = events("consent.given")
    assert (
        event.object_id == str(consent.pk) and event.data["text_version"] == settings.PRIVACY_NOTICE_VERSION
    )


def test_the_privacy_notice_renders_in_chinese_and_in_english(client, db, settings):
    chinese = client.get("/privacy/")
    assert chinese.status_code == 200 and '<html lang="zh-CN">' in text(chinese)
    assert settings.PRIVACY_NOTICE_VERSION in text(chinese)
    english = text(client.get("/privacy/", **EN))
    for words in ("What we collect", "For how long", "Who sees it", "withdraw your consent", "art. 17"):
        assert words in english


def test_sign_up_pages_and_the_footer_link_to_the_privacy_notice(client, phone, guanbeigou):
    assert 'href="/privacy/"' in text(client.get("/"))
    assert 'href="/privacy/"' in text(client.get("/accounts/signup/"))
    ask_code(phone, client)
    assert 'href="/privacy/"' in text(client.get("/accounts/signup/confirm/"))


# --- audit ----------------------------------------------------------------------------------------------


def test_log_ins_and_failed_log_ins_are_audited_without_the_password_and_with_the_number_masked(
    client, resident
):
    client.post(
        "/accounts/login/", {"mobile": resident.mobile, "password": "secret-guess-1"}, REMOTE_ADDR="10.4.0.1"
    )
    client.post(
        "/accounts/login/", {"mobile": "my-password-typed-here", "password": "x"}, REMOTE_ADDR="10.4.0.2"
    )
    client.post("/accounts/login/", {"mobile": resident.mobile, "password": "correct-horse-battery"})
    failed = events("account.login_failed")
    assert len(failed) == 2
    known, unknown = failed
    assert known.data["login"].startswith("139****0001") and known.data["known_account"] is True
    assert known.object_id == str(resident.pk) and known.area == resident.community
    assert unknown.data == {"login": "", "known_account": False, "ip": "10.4.0.2"}
    for event in failed:
        flat = f"{event.summary} {event.data}"
        assert resident.mobile not in flat and "secret-guess-1" not in flat and "my-password" not in flat
    [logged_in] = events("account.logged_in")
    assert logged_in.actor_user == resident.user and logged_in.surface == "portal"


def test_a_code_request_is_audited_with_the_number_masked(client, phone, guanbeigou):
    ask_code(phone, client)
    [event] = events("account.code_requested")
    assert event.summary == "138****5678" and MOBILE not in str(event.data)
    assert event.data["purpose"] == "signup" and event.data["ip"] == "10.0.0.1"


def test_registration_is_audited_and_says_when_it_attached_to_a_staff_entered_record(
    client, phone, guanbeigou
):
    Person.objects.create(name="张晓明", mobile=MOBILE, community=guanbeigou)
    ask_code(phone, client)
    confirm(phone, client, guanbeigou, phone.last_code(MOBILE))
    [event] = events("resident.registered")
    assert event.data == {"attached_to_existing_record": True}


def test_the_demo_resident_logs_in_with_the_number_the_readme_gives(client, db):
    demo.seed()
    person = Person.objects.get(mobile="13800138000")
    assert person.user.username != "13800138000"
    response = client.post("/accounts/login/", {"mobile": "13800138000", "password": demo.RESIDENT_PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(person.user.pk)
