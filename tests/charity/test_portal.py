"""The public portal: community pages, sign-up and log-in by mobile number, page weight, language."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders

from charity.models import AuditEvent, Organization, OutboxMessage, Person
from tests.factories import OrganizationFactory

CJK = re.compile(r"[\u4e00-\u9fff]")
PASSWORD = "Lv-shui-qing-shan-2025"


@pytest.fixture
def dance_team(guanbeigou, hub):
    return OrganizationFactory(
        name="官北沟舞蹈队", area=guanbeigou, hub=hub, description="每周三晚上跳广场舞"
    )


def signup_data(community, **overrides):
    data = {
        "name": "张小明",
        "community": community.pk,
        "password1": PASSWORD,
        "password2": PASSWORD,
        "consent": "on",
    }
    data.update(overrides)
    return data


def text(response):
    return response.content.decode()


# --- pages ----------------------------------------------------------------------------------------------


def test_home_lists_communities_with_their_street_and_district(client, guanbeigou, dalong):
    html = text(client.get("/"))
    assert "官北沟社区" in html and "大龙社区" in html
    assert "肃州区" in html and "示例街道" in html


def test_community_page_shows_who_runs_it_and_its_organisations(client, guanbeigou, hub, dance_team, dalong):
    OrganizationFactory(name="大龙志愿队", area=dalong)
    response = client.get(f"/communities/{guanbeigou.pk}/")
    assert response.status_code == 200
    html = text(response)
    assert "官北沟社区" in html and "祯祥社" in html and "官北沟舞蹈队" in html
    assert "大龙志愿队" not in html
    assert [o.name for o in response.context["runners"]] == ["祯祥社"]


def test_a_street_is_not_a_community_page(client, street):
    assert client.get(f"/communities/{street.pk}/").status_code == 404


def test_organisation_page_shows_its_details(client, dance_team):
    html = text(client.get(f"/organizations/{dance_team.pk}/"))
    assert "官北沟舞蹈队" in html and "每周三晚上跳广场舞" in html and "祯祥社" in html


def test_hub_page_lists_the_groups_it_connects(client, hub, dance_team):
    response = client.get(f"/organizations/{hub.pk}/")
    assert [m.name for m in response.context["members"]] == ["官北沟舞蹈队"]


def test_unknown_organisation_is_404(client, db):
    assert client.get("/organizations/999999/").status_code == 404


def test_portal_pages_are_chinese_by_default(client, guanbeigou):
    response = client.get("/")
    assert response.headers["Content-Language"] == "zh-hans"
    assert '<html lang="zh-CN">' in text(response)


def test_portal_pages_with_their_css_weigh_under_60_kb(client, guanbeigou, hub, dance_team):
    css = sum(
        Path(finders.find(href.removeprefix(settings.STATIC_URL))).stat().st_size
        for href in re.findall(r'<link rel="stylesheet" href="([^"]+)"', text(client.get("/")))
    )
    for url in [
        "/",
        f"/communities/{guanbeigou.pk}/",
        f"/organizations/{hub.pk}/",
        "/accounts/signup/",
        "/accounts/login/",
        "/accounts/password/reset/",
        "/privacy/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(response.content) + css < 60 * 1024, url
        assert not re.search(r"""(?:src|href)=["']https?://""", text(response)), (
            f"{url} loads from another host"
        )


def test_language_switch_to_english(client, guanbeigou):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"}, follow=True)
    assert response.status_code == 200
    assert '<html lang="en">' in text(response)
    assert "Communities" in text(response)
    assert client.get("/").headers["Content-Language"] == "en"


# --- sign-up (two steps: the number gets a code; the code, name, community, password and consent) ---------


def sign_up(client, phone, community, mobile="138 1234 5678", **overrides):
    """Ask for a code, then sign up with the code the phone received; return the final response."""
    phone.post(client, "/accounts/signup/", {"mobile": mobile})
    code = phone.last_code("13812345678") if phone.messages("13812345678") else "000000"
    data = {k: v for k, v in signup_data(community, code=code, **overrides).items() if k != "mobile"}
    return phone.post(client, "/accounts/signup/confirm/", data, follow=True)


def test_sign_up_creates_a_login_and_a_person_and_logs_in(client, phone, guanbeigou):
    response = sign_up(client, phone, guanbeigou)
    assert response.redirect_chain[-1][0] == f"/communities/{guanbeigou.pk}/"
    person = Person.objects.get()
    assert (person.name, person.mobile, person.community) == ("张小明", "13812345678", guanbeigou)
    assert person.user.check_password(PASSWORD)
    assert person.user.username != "13812345678" and person.user.username.startswith("r")
    assert response.context["user"] == person.user
    assert "张小明" in text(response)
    assert AuditEvent.objects.filter(action="resident.registered", object_id=str(person.pk)).exists()


def test_sign_up_with_a_registered_mobile_creates_nothing_and_tells_only_the_phone(
    client, phone, guanbeigou, resident
):
    users = get_user_model().objects.count()
    response = sign_up(client, phone, guanbeigou, mobile="+86 139 0000 0001")
    assert response.status_code == 200
    assert "王阿姨" not in text(response)
    assert list(OutboxMessage.objects.values_list("mobile", "kind")) == [
        ("13900000001", "already_registered")
    ]
    assert len(phone.messages("13900000001")) == 1
    assert Person.objects.count() == 1 and get_user_model().objects.count() == users
    assert "_auth_user_id" not in client.session


def test_sign_up_with_a_malformed_mobile_points_at_the_mobile_field(client, guanbeigou):
    response = client.post("/accounts/signup/", {"mobile": "1234"})
    assert response.status_code == 200
    [error] = response.context["form"].errors["mobile"]
    assert CJK.search(error), f"not translated: {error}"
    assert not Person.objects.exists()


def test_sign_up_with_two_different_passwords_is_refused(client, phone, guanbeigou):
    response = sign_up(client, phone, guanbeigou, password2=PASSWORD + "x")
    assert "password2" in response.context["form"].errors
    assert not Person.objects.exists() and not get_user_model().objects.exists()


def test_sign_up_without_consent_is_refused(client, phone, guanbeigou):
    response = sign_up(client, phone, guanbeigou, consent="")
    assert "consent" in response.context["form"].errors
    assert not Person.objects.exists()


def test_sign_up_with_a_weak_password_is_refused(client, phone, guanbeigou):
    response = sign_up(client, phone, guanbeigou, password1="12345678", password2="12345678")
    assert response.context["form"].errors["password1"]
    assert not Person.objects.exists()


def test_sign_up_with_the_code_attaches_the_login_to_a_person_staff_already_entered(
    client, phone, guanbeigou
):
    entered = Person.objects.create(name="张晓明", mobile="13812345678", community=guanbeigou)
    response = sign_up(client, phone, guanbeigou)
    person = Person.objects.get()
    assert person.pk == entered.pk and person.user is not None
    assert "张晓明" in text(response)  # the proven owner of the number is greeted by their record's name


def test_sign_up_page_preselects_the_community(client, phone, guanbeigou):
    client.get(f"/accounts/signup/?community={guanbeigou.pk}")
    phone.post(client, "/accounts/signup/", {"mobile": "13812345678"})
    response = client.get("/accounts/signup/confirm/")
    assert response.context["form"]["community"].value() == str(guanbeigou.pk)


# --- log-in and log-out ---------------------------------------------------------------------------------


def test_log_in_with_the_mobile_number_and_a_plus86_prefix(client, resident):
    response = client.post(
        "/accounts/login/", {"mobile": "+86 139-0000-0001", "password": "correct-horse-battery"}, follow=True
    )
    assert response.context["user"] == resident.user
    assert "王阿姨" in text(response)


def test_log_in_with_a_wrong_password_says_so(client, resident):
    response = client.post("/accounts/login/", {"mobile": "13900000001", "password": "wrong"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert "_auth_user_id" not in client.session


def test_log_in_refuses_to_redirect_to_another_site(client, resident):
    response = client.post(
        "/accounts/login/",
        {"mobile": "13900000001", "password": "correct-horse-battery", "next": "https://evil.example.com/"},
    )
    assert response["Location"] == "/"


def test_log_out_needs_post(client, resident):
    client.force_login(resident.user)
    assert client.get("/accounts/logout/").status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post("/accounts/logout/", follow=True)
    assert response.context["user"].is_anonymous
    assert "_auth_user_id" not in client.session


def test_organisation_types_on_the_page_use_their_names(client, hub):
    html = text(client.get(f"/organizations/{hub.pk}/", HTTP_ACCEPT_LANGUAGE="en"))
    assert str(Organization.Type.HUB.label) in html
