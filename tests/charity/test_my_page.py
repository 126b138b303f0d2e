"""My page (我的, issue 10): the person's own page, the registry, the data download, account deletion."""

import datetime
import json

import pytest
from django.contrib.auth import get_user_model
from django.urls import URLPattern, reverse

from charity import my_page
from charity.models import (
    AuditAction,
    AuditEvent,
    Consent,
    Notification,
    NotificationKind,
    NotificationPreference,
    OutboxMessage,
    Person,
)
from charity.notifications import notify, set_notification_enabled
from charity.portal_urls import urlpatterns
from charity.services import Actor
from funds import services as fund_services
from funds.models import Donation
from tests.factories import FundFactory, PersonFactory, StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()
PASSWORD = "correct-horse-battery"  # UserFactory's


@pytest.fixture
def neighbour(guanbeigou):
    return PersonFactory(name="张大爷", mobile="13900000002", community=guanbeigou, user=UserFactory())


def _give(person, receipt_no, amount_fen=5_000, **kwargs):
    fund = FundFactory(name=f"基金{receipt_no}")
    return fund_services.post_donation(
        fund=fund,
        amount_fen=amount_fen,
        channel="resident",
        actor=SYSTEM,
        received_on=datetime.date(2026, 3, 1),
        receipt_no=receipt_no,
        donor_person=person,
        **kwargs,
    )


def _consent(person):
    return Consent.objects.create(person=person, kind=Consent.Kind.SIGNUP_PRIVACY, text_version="2026-01")


# --- who reaches /me/ --------------------------------------------------------------------------------------

# Every /me/ URL, with the arguments it needs. A new one must be added here (the test below checks it).
ME_URLS = {
    "me": [],
    "notifications": [],
    "notification_open": ["{own_notification}"],
    "notification_settings": [],
    "my_data": [],
    "delete_account": [],
}


def _me_routes():
    return [p.name for p in urlpatterns if isinstance(p, URLPattern) and str(p.pattern).startswith("me/")]


def test_every_me_url_has_an_expectation():
    assert sorted(_me_routes()) == sorted(ME_URLS)


def _url(name, notification):
    args = [notification.pk if a == "{own_notification}" else a for a in ME_URLS[name]]
    return reverse(f"portal:{name}", args=args)


@pytest.mark.parametrize("name", sorted(ME_URLS))
def test_an_anonymous_visitor_gets_the_login_page(client, resident, name):
    notification = notify(person=resident, kind=NotificationKind.NEED_STATUS, text="你好", actor=SYSTEM)
    response = client.get(_url(name, notification))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login") + "?next=")


@pytest.mark.parametrize("name", sorted(ME_URLS))
def test_staff_without_a_person_get_404(client, resident, name):
    notification = notify(person=resident, kind=NotificationKind.NEED_STATUS, text="你好", actor=SYSTEM)
    client.force_login(StaffUserFactory())
    assert client.get(_url(name, notification)).status_code == 404


@pytest.mark.parametrize("name", sorted(ME_URLS))
def test_a_resident_sees_only_their_own(client, resident, neighbour, name):
    kind = NotificationKind.NEED_STATUS
    mine = notify(person=resident, kind=kind, text="我的通知", url="/me/", actor=SYSTEM)
    theirs = notify(person=neighbour, kind=NotificationKind.NEED_STATUS, text="邻居的通知", actor=SYSTEM)
    client.force_login(resident.user)
    response = client.get(_url(name, mine))
    assert response.status_code in (200, 302)
    body = response.content.decode()
    assert "张大爷" not in body and "邻居的通知" not in body and neighbour.mobile not in body
    if name != "notification_open":
        assert client.get(_url(name, theirs)).status_code in (200, 302)  # the URL has no id: still theirs
    assert Notification.objects.get(pk=theirs.pk).read_at is None


# --- the page ----------------------------------------------------------------------------------------------


def test_my_page_shows_my_details_masked_and_renders_with_no_sections(client, resident, monkeypatch):
    monkeypatch.setattr(my_page, "_sections", {})
    client.force_login(resident.user)
    page = client.get(reverse("portal:me")).content.decode()
    assert "王阿姨" in page and "139****0001" in page and resident.mobile not in page
    assert reverse("portal:notifications") in page and reverse("portal:notification_settings") in page
    assert reverse("portal:my_data") in page and reverse("portal:delete_account") in page
    assert 'class="me-section"' not in page


def test_a_registered_section_renders_with_its_own_context(client, resident, monkeypatch, tmp_path, settings):
    (tmp_path / "snippet.html").write_text("<p>{{ person.name }}: {{ count }} {{ html }}</p>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], str(tmp_path)]}]
    monkeypatch.setattr(my_page, "_sections", {})
    my_page.register_section(
        "test",
        title="我的测试",
        template="snippet.html",
        context=lambda request, person: {"count": 3, "html": "<b>"},
    )
    client.force_login(resident.user)
    page = client.get(reverse("portal:me")).content.decode()
    assert "我的测试" in page and "<p>王阿姨: 3 &lt;b&gt;</p>" in page


def test_an_app_cannot_take_a_key_charity_writes(monkeypatch):
    monkeypatch.setattr(my_page, "_exports", {})
    with pytest.raises(ValueError):
        my_page.register_export("person", lambda person: {})


# --- download all my data ---------------------------------------------------------------------------------


def test_the_download_has_my_data_and_nobody_elses(client, resident, neighbour):
    _consent(resident)
    _consent(neighbour)
    notify(person=resident, kind=NotificationKind.LOAN_DUE, text="工具明天到期", actor=SYSTEM)
    notify(person=neighbour, kind=NotificationKind.LOAN_DUE, text="邻居的工具", actor=SYSTEM)
    set_notification_enabled(person=resident, kind=NotificationKind.LOAN_DUE, enabled=False, actor=SYSTEM)
    _give(resident, "R-001", amount_fen=12_300)
    _give(neighbour, "R-002", amount_fen=99_900)

    client.force_login(resident.user)
    response = client.get(reverse("portal:my_data"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="my-data.json"'
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)

    assert data["person"]["name"] == "王阿姨" and data["person"]["mobile"] == "13900000001"
    assert data["person"]["community"] == "官北沟社区"
    assert [c["kind"] for c in data["consents"]] == ["signup_privacy"]
    assert [n["text"] for n in data["notifications"]] == ["工具明天到期"]
    assert data["settings"]["notifications_not_sent_to_mobile"] == ["loan.due"]
    assert [(d["receipt_no"], d["amount_fen"]) for d in data["donations"]] == [("R-001", 12_300)]
    raw = response.content.decode()
    assert "张大爷" not in raw and "13900000002" not in raw and "邻居" not in raw and "R-002" not in raw
    event = AuditEvent.objects.get(action=AuditAction.DATA_EXPORTED)
    assert event.object_id == str(resident.pk) and event.actor_user_id == resident.user_id


# --- delete my account -------------------------------------------------------------------------------------


def _delete(client, password=PASSWORD, confirm="on"):
    data = {"password": password}
    if confirm:
        data["confirm"] = confirm
    return client.post(reverse("portal:delete_account"), data)


def _nothing_erased(resident):
    person = Person.objects.get(pk=resident.pk)
    assert (person.name, person.mobile) == ("王阿姨", "13900000001")
    assert get_user_model().objects.get(pk=resident.user_id).is_active
    assert not AuditEvent.objects.filter(action=AuditAction.PERSON_ERASED).exists()


def test_deleting_my_account_anonymises_me_keeps_the_ledger_and_is_audited(client, resident, neighbour):
    consent = _consent(resident)
    notify(person=resident, kind=NotificationKind.NEED_STATUS, text="通知", actor=SYSTEM)
    set_notification_enabled(person=resident, kind=NotificationKind.LOAN_DUE, enabled=False, actor=SYSTEM)
    notify(person=neighbour, kind=NotificationKind.NEED_STATUS, text="邻居的通知", actor=SYSTEM)
    donation = _give(resident, "R-001", donor_name="王阿姨", publish_name=True)
    neighbours = _give(neighbour, "R-002", publish_name=True)
    username = resident.user.username

    client.force_login(resident.user)
    response = _delete(client)
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    assert "_auth_user_id" not in client.session

    person = Person.objects.get(pk=resident.pk)
    assert person.name == my_page.ERASED_NAME and person.mobile is None and person.user_id is None
    user = get_user_model().objects.get(pk=resident.user_id)
    assert not user.is_active and user.username != username and not user.has_usable_password()
    assert Consent.objects.get(pk=consent.pk).withdrawn_at is not None
    assert not Notification.objects.filter(person=resident).exists()
    assert not NotificationPreference.objects.filter(person=resident).exists()
    assert not OutboxMessage.objects.filter(mobile="13900000001").exists()
    # The ledger keeps the gift: amount and receipt stay, the person and the name go.
    donation = Donation.objects.get(pk=donation.pk)
    assert (donation.amount_fen, donation.receipt_no) == (5_000, "R-001")
    assert donation.donor_person_id is None and donation.donor_name == ""
    assert donation.anonymous and not donation.publish_name
    # Nobody else's data is touched.
    assert Donation.objects.get(pk=neighbours.pk).donor_person_id == neighbour.pk
    assert Notification.objects.filter(person=neighbour).count() == 1
    assert Person.objects.get(pk=neighbour.pk).name == "张大爷"

    event = AuditEvent.objects.get(action=AuditAction.PERSON_ERASED)
    assert event.object_id == str(resident.pk) and event.area_id == resident.community_id
    assert event.data["donations"] == {"donations_anonymised": 1}
    assert event.data["notifications_deleted"] == 1
    assert "王阿姨" not in event.summary + json.dumps(event.data, ensure_ascii=False)


def test_after_deletion_the_person_cannot_log_in(client, resident):
    client.force_login(resident.user)
    _delete(client)
    for login in ("13900000001", resident.user.username):
        response = client.post(reverse("portal:login"), {"mobile": login, "password": PASSWORD})
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session


def test_a_wrong_password_deletes_nothing(client, resident, english):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the page in the language of the asserted message
    client.force_login(resident.user)
    response = _delete(client, password="not-my-password")
    assert response.status_code == 400
    assert "The password is not right. Nothing was deleted." in response.content.decode()
    _nothing_erased(resident)


def test_without_the_box_ticked_nothing_is_deleted(client, resident):
    client.force_login(resident.user)
    assert _delete(client, confirm="").status_code == 400
    _nothing_erased(resident)


def test_a_get_to_the_delete_url_changes_nothing(client, resident):
    client.force_login(resident.user)
    response = client.get(reverse("portal:delete_account"), {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 200
    _nothing_erased(resident)


def test_a_5_mb_post_is_refused_by_the_size_limit(client, resident):
    client.force_login(resident.user)
    response = client.post(
        reverse("portal:delete_account"),
        {"password": PASSWORD, "confirm": "on", "padding": "x" * (5 * 1024 * 1024)},
    )
    assert response.status_code == 413
    _nothing_erased(resident)


def test_a_staff_login_cannot_delete_itself_here(resident):
    resident.user.is_staff = True
    resident.user.save()
    with pytest.raises(my_page.ErasureError):
        my_page.erase_person(person=resident, password=PASSWORD, actor=SYSTEM)
    _nothing_erased(resident)


def test_an_erasure_that_fails_rolls_everything_back(resident, monkeypatch):
    def broken(person, actor):
        raise RuntimeError("boom")

    monkeypatch.setitem(my_page._erasures, "broken", broken)
    notify(person=resident, kind=NotificationKind.NEED_STATUS, text="通知", actor=SYSTEM)
    with pytest.raises(RuntimeError):
        my_page.erase_person(person=resident, password=PASSWORD, actor=SYSTEM)
    _nothing_erased(resident)
    assert Notification.objects.filter(person=resident).exists()
