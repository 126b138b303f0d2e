"""The city's list of need categories: seeded by migration, changed by superusers only, audited."""

import pytest
from django.test import Client
from django.utils import translation

from charity.errors import ConflictError, DomainError, ForbiddenError
from charity.models import AuditAction, AuditEvent, Category
from charity.services import Actor, save_category

pytestmark = pytest.mark.django_db


def admin_actor(user):
    return Actor(surface=AuditEvent.Surface.ADMIN, user=user)


def test_the_ten_categories_are_there_in_both_languages():
    rows = list(Category.objects.values_list("code", "name_zh"))
    assert len(rows) == 10 and rows[0] == ("elderly", "助老") and ("community", "社区治理") in rows
    elderly = Category.objects.get(code="elderly")
    assert str(elderly) == "助老"
    with translation.override("en"):
        assert str(elderly) == "Elderly people"


def test_a_superuser_adds_one_and_the_audit_log_says_so(django_user_model):
    root = django_user_model.objects.create_superuser("root", password="x")
    category = save_category(
        category=Category(code=" sport ", name_zh="体育\u200b", name_en="Sport"), actor=admin_actor(root)
    )
    assert category.code == "sport" and category.name_zh == "体育"
    event = AuditEvent.objects.get(action=AuditAction.CATEGORY_SAVED)
    assert event.actor_user == root and event.object_id == str(category.pk)


def test_staff_may_not_change_the_list(community_manager):
    elderly = Category.objects.get(code="elderly")
    elderly.name_zh = "老人"
    with pytest.raises(ForbiddenError):
        save_category(category=elderly, actor=admin_actor(community_manager))
    assert Category.objects.get(code="elderly").name_zh == "助老"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"code": "elderly", "name_zh": "新", "name_en": "New"}, DomainError),
        ({"code": "new", "name_zh": "助老", "name_en": "New"}, DomainError),
        ({"code": "not a slug!", "name_zh": "新", "name_en": "New"}, DomainError),
        ({"code": "new", "name_zh": "", "name_en": "New"}, DomainError),
        ({"code": "new", "name_zh": "新" * 31, "name_en": "New"}, DomainError),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(django_user_model, fields, error):
    root = django_user_model.objects.create_superuser("root", password="x")
    with pytest.raises(error) as caught:
        save_category(category=Category(**fields), actor=admin_actor(root))
    assert str(caught.value.message)
    assert Category.objects.count() == 10
    assert not AuditEvent.objects.filter(action=AuditAction.CATEGORY_SAVED).exists()


def test_a_race_on_the_same_name_is_a_conflict(django_user_model, monkeypatch):
    root = django_user_model.objects.create_superuser("root", password="x")
    # The check passed, then a twin landed before the insert.
    monkeypatch.setattr(Category, "full_clean", lambda self, **kw: None)
    with pytest.raises(ConflictError):
        save_category(category=Category(code="x", name_zh="助老", name_en="X"), actor=admin_actor(root))


def test_the_admin_is_for_superusers_and_never_deletes(django_user_model, community_manager):
    root = django_user_model.objects.create_superuser("root", password="x")
    client = Client()
    client.force_login(root)
    elderly = Category.objects.get(code="elderly")
    page = client.get(f"/admin/charity/category/{elderly.pk}/change/")
    assert page.status_code == 200 and "助老" in page.content.decode()
    assert client.get(f"/admin/charity/category/{elderly.pk}/delete/").status_code == 403
    staff = Client()
    staff.force_login(community_manager)
    assert staff.get("/admin/charity/category/").status_code == 403
