"""Every admin write of a core model goes through a service and leaves its audit event."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from charity.errors import DomainError
from charity.models import Area, AuditEvent, Organization, Person, StaffAssignment
from charity.services import (
    Actor,
    grant_staff_role,
    remove_staff_role,
    save_area,
    save_person,
    set_served_areas,
)
from tests.factories import OrganizationFactory, PersonFactory, StaffUserFactory, UserFactory, assign

User = get_user_model()


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def admin_actor(user):
    return Actor(surface=AuditEvent.Surface.ADMIN, user=user)


# --- people ---------------------------------------------------------------------------------------------


def test_adding_a_person_in_the_admin_is_audited(client, community_staff, guanbeigou):
    client.force_login(community_staff)
    response = client.post(
        "/admin/charity/person/add/",
        {"name": "李大爷", "new_mobile": "13900000009", "community": guanbeigou.pk},
    )
    assert response.status_code == 302
    person = Person.objects.get(name="李大爷")
    assert person.mobile == "13900000009"
    [event] = events("person.created")
    assert (event.object_id, event.actor_user, event.area) == (str(person.pk), community_staff, guanbeigou)
    assert "13900000009" not in str(event.summary) + str(event.data)


def test_editing_a_person_in_the_admin_is_audited_with_the_fields_changed(
    client, community_staff, guanbeigou
):
    person = PersonFactory(name="王阿姨", mobile="13900000008", community=guanbeigou)
    client.force_login(community_staff)
    client.post(
        f"/admin/charity/person/{person.pk}/change/",
        {"name": "王秀英", "community": guanbeigou.pk, "new_mobile": "13800000009", "is_leader": "on"},
    )
    [event] = events("person.changed")
    assert sorted(event.data["changed"]) == ["is_leader", "mobile", "name"]
    assert "13800000009" not in str(event.data) and "13900000008" not in str(event.data)


def test_deleting_people_in_the_admin_is_audited_one_event_each(client, community_manager, guanbeigou):
    people = [PersonFactory(community=guanbeigou) for _ in range(2)]
    client.force_login(community_manager)
    response = client.post(
        "/admin/charity/person/",
        {"action": "delete_selected", "_selected_action": [p.pk for p in people], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Person.objects.exists()
    assert sorted(e.object_id for e in events("person.deleted")) == sorted(str(p.pk) for p in people)
    person = PersonFactory(community=guanbeigou)
    client.post(f"/admin/charity/person/{person.pk}/delete/", {"post": "yes"})
    assert not Person.objects.filter(pk=person.pk).exists()
    assert len(events("person.deleted")) == 3


def test_save_person_refuses_a_community_outside_the_actors_areas(community_staff, dalong):
    with pytest.raises(DomainError):
        save_person(person=Person(name="X", community=dalong), actor=admin_actor(community_staff))
    assert not Person.objects.exists()


# --- organisations and their served areas ---------------------------------------------------------------


def test_adding_an_organisation_in_the_admin_is_audited(client, community_staff, guanbeigou):
    client.force_login(community_staff)
    response = client.post(
        "/admin/charity/organization/add/",
        {
            "name": "官北沟读书会",
            "type": "community_group",
            "area": guanbeigou.pk,
            "registration": "none",
            "served_areas": [guanbeigou.pk],
            "api_keys-TOTAL_FORMS": "0",
            "api_keys-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    org = Organization.objects.get(name="官北沟读书会")
    assert events("organization.created")[0].object_id == str(org.pk)
    [served] = events("organization.served_areas_changed")
    assert (served.data["old"], served.data["new"]) == ([], [guanbeigou.pk])


def test_a_change_to_served_areas_is_audited_with_old_and_new(client, community_staff, guanbeigou):
    org = OrganizationFactory(name="祯祥社", type="hub", area=guanbeigou)
    org.served_areas.add(guanbeigou)
    client.force_login(community_staff)
    response = client.post(
        f"/admin/charity/organization/{org.pk}/change/",
        {
            "name": "祯祥社",
            "type": "hub",
            "area": guanbeigou.pk,
            "registration": "none",
            "api_keys-TOTAL_FORMS": "0",
            "api_keys-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(org.served_areas.all()) == []
    [event] = events("organization.served_areas_changed")
    assert (event.data["old"], event.data["new"]) == ([guanbeigou.pk], [])
    assert not events("organization.changed")  # nothing else changed


def test_editing_an_organisation_keeps_served_areas_the_editor_cannot_see(
    client, community_staff, guanbeigou, dalong
):
    org = OrganizationFactory(name="祯祥社", type="hub", area=guanbeigou)
    org.served_areas.add(guanbeigou, dalong)
    client.force_login(community_staff)
    response = client.post(
        f"/admin/charity/organization/{org.pk}/change/",
        {
            "name": "祯祥社会工作服务中心",
            "type": "hub",
            "area": guanbeigou.pk,
            "registration": "none",
            "served_areas": [guanbeigou.pk],
            "api_keys-TOTAL_FORMS": "0",
            "api_keys-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert set(org.served_areas.all()) == {guanbeigou, dalong}
    [event] = events("organization.changed")
    assert event.data["changed"] == ["name"]
    assert not events("organization.served_areas_changed")


def test_set_served_areas_refuses_an_actor_outside_the_organisations_area(outsider, guanbeigou, dalong):
    org = OrganizationFactory(area=guanbeigou)
    with pytest.raises(DomainError):
        set_served_areas(organization=org, areas=[dalong], actor=admin_actor(outsider))
    assert not org.served_areas.exists()


# --- areas ----------------------------------------------------------------------------------------------


def test_renaming_an_area_is_audited(client, community_manager, guanbeigou):
    client.force_login(community_manager)
    response = client.post(
        f"/admin/charity/area/{guanbeigou.pk}/change/",
        {
            "name": "官北沟村",
            "level": "community",
            "division_code": "",
            "treebeard_position": "sorted-child",
            "treebeard_ref_node": Area.objects.get_parent(guanbeigou).pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    guanbeigou.refresh_from_db()
    assert guanbeigou.name == "官北沟村"
    [event] = events("area.changed")
    assert event.data["changed"] == ["name"]
    assert not events("area.moved")


def test_deleting_an_empty_area_is_audited_and_needs_rights_over_its_parent(
    client, community_manager, street_staff, street
):
    empty = Area.objects.add_child(street, {"name": "空社区", "level": "community"})
    assign(community_manager, empty, StaffAssignment.Role.MANAGER)
    client.force_login(community_manager)
    client.post(f"/admin/charity/area/{empty.pk}/delete/", {"post": "yes"})
    assert Area.objects.filter(pk=empty.pk).exists()
    client.force_login(street_staff)
    response = client.post(f"/admin/charity/area/{empty.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Area.objects.filter(pk=empty.pk).exists()
    [event] = events("area.deleted")
    assert event.object_id == str(empty.pk) and event.area == street


# --- staff roles ----------------------------------------------------------------------------------------


def test_granting_a_role_in_the_admin_is_audited_and_makes_the_user_staff(
    client, community_manager, guanbeigou
):
    newcomer = UserFactory(username="newcomer")
    PersonFactory(name="新同事", community=guanbeigou, user=newcomer)
    client.force_login(community_manager)
    response = client.post(
        "/admin/charity/staffassignment/add/", {"user": newcomer.pk, "area": guanbeigou.pk, "role": "staff"}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    newcomer.refresh_from_db()
    assert newcomer.is_staff
    [event] = events("staff_role.granted")
    assert event.actor_user == community_manager and event.area == guanbeigou
    assert (event.data["user"], event.data["role"], event.data["previous_role"]) == (
        newcomer.pk,
        "staff",
        None,
    )


def test_changing_and_removing_a_role_in_the_admin_is_audited(client, community_manager, community_viewer):
    assignment = StaffAssignment.objects.get(user=community_viewer)
    client.force_login(community_manager)
    response = client.post(f"/admin/charity/staffassignment/{assignment.pk}/change/", {"role": "staff"})
    assert response.status_code == 302, response.content.decode()[:3000]
    assignment.refresh_from_db()
    assert assignment.role == "staff"
    [event] = events("staff_role.granted")
    assert (event.data["role"], event.data["previous_role"]) == ("staff", "viewer")
    client.post(f"/admin/charity/staffassignment/{assignment.pk}/delete/", {"post": "yes"})
    assert not StaffAssignment.objects.filter(pk=assignment.pk).exists()
    [removed] = events("staff_role.removed")
    assert (removed.data["user"], removed.data["role"]) == (community_viewer.pk, "staff")


def test_grant_staff_role_refuses_an_area_outside_the_managers_areas(community_manager, dalong):
    user = UserFactory()
    with pytest.raises(DomainError):
        grant_staff_role(user=user, area=dalong, role="manager", actor=admin_actor(community_manager))
    assert not StaffAssignment.objects.filter(user=user).exists()


def test_grant_staff_role_refuses_a_staff_member_who_is_not_a_manager(community_staff, guanbeigou):
    user = UserFactory()
    with pytest.raises(DomainError):
        grant_staff_role(user=user, area=guanbeigou, role="manager", actor=admin_actor(community_staff))


def test_remove_staff_role_refuses_a_manager_of_another_area(outsider, community_viewer):
    assignment = StaffAssignment.objects.get(user=community_viewer)
    with pytest.raises(DomainError):
        remove_staff_role(assignment=assignment, actor=admin_actor(outsider))
    assert StaffAssignment.objects.filter(pk=assignment.pk).exists()


def user_form(user, **extra):
    data = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "is_staff": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00",
        "staff_assignments-TOTAL_FORMS": "0",
        "staff_assignments-INITIAL_FORMS": "0",
    }
    data.update(extra)
    return data


def test_roles_and_permissions_granted_in_the_user_admin_are_audited(admin_client, admin_user, guanbeigou):
    user = StaffUserFactory(username="new_staff")
    permission = Permission.objects.get(codename="export_personal_data")
    response = admin_client.post(
        f"/admin/auth/user/{user.pk}/change/",
        user_form(
            user,
            user_permissions=[permission.pk],
            **{
                "staff_assignments-TOTAL_FORMS": "1",
                "staff_assignments-0-area": guanbeigou.pk,
                "staff_assignments-0-role": "viewer",
            },
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert StaffAssignment.objects.get(user=user).role == "viewer"
    [granted] = events("staff_role.granted")
    assert granted.actor_user == admin_user
    [perm_event] = events("user.permissions_changed")
    assert perm_event.data["added"] == ["charity.export_personal_data"]
    assignment = StaffAssignment.objects.get(user=user)
    response = admin_client.post(
        f"/admin/auth/user/{user.pk}/change/",
        user_form(
            user,
            user_permissions=[permission.pk],
            **{
                "staff_assignments-TOTAL_FORMS": "1",
                "staff_assignments-INITIAL_FORMS": "1",
                "staff_assignments-0-id": assignment.pk,
                "staff_assignments-0-user": user.pk,
                "staff_assignments-0-area": guanbeigou.pk,
                "staff_assignments-0-role": "viewer",
                "staff_assignments-0-DELETE": "on",
            },
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert not StaffAssignment.objects.filter(user=user).exists()
    assert len(events("staff_role.removed")) == 1


def test_deleting_an_area_with_people_below_it_is_refused_on_the_confirmation_page(client, guanbeigou):
    PersonFactory(name="王阿姨", community=guanbeigou)
    street = Area.objects.get_parent(guanbeigou)
    district = Area.objects.get_parent(street)
    manager = assign(StaffUserFactory(username="district_mgr"), district, StaffAssignment.Role.MANAGER)
    client.force_login(manager)
    page = client.get(f"/admin/charity/area/{street.pk}/delete/").content.decode()
    assert "王阿姨" in page  # the person below, who protects it
    client.post(f"/admin/charity/area/{street.pk}/delete/", {"post": "yes"})
    assert Area.objects.filter(pk__in=[street.pk, guanbeigou.pk]).count() == 2
    assert not events("area.deleted")


def test_save_area_refuses_a_level_that_does_not_fit_under_its_parent(street_staff, street):
    with pytest.raises(DomainError) as refused:
        save_area(area=Area(name="新城区", level="district"), parent=street, actor=admin_actor(street_staff))
    assert refused.value.field == "level"
    assert not Area.objects.filter(name="新城区").exists()


def test_save_person_refuses_staff_who_attach_a_login(community_staff, guanbeigou):
    person = PersonFactory(community=guanbeigou)
    person.user = UserFactory()
    with pytest.raises(DomainError):
        save_person(person=person, actor=admin_actor(community_staff))
    person.refresh_from_db()
    assert person.user is None
