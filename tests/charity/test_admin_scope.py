"""Scope holds on every admin path: imports, user choices, moving areas, API keys, exports, malformed ids."""

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from charity.admin import OrganizationResource, PersonResource
from charity.errors import DomainError
from charity.models import Area, AuditEvent, Organization, OrganizationAPIKey, Person, StaffAssignment
from charity.services import Actor, create_api_key, move_area
from tests.factories import (
    OrganizationFactory,
    PersonFactory,
    StaffUserFactory,
    UserFactory,
    assign,
    make_area_chain,
)

CSV_FORMAT = "1"  # position in charity.admin.IMPORT_FORMATS


def grant(user, *codenames):
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return get_user_model().objects.get(pk=user.pk)  # a fresh object: permissions are cached


# --- imports match only inside the importer's areas -----------------------------------------------------


def upload(rows, fieldnames, name="file.csv"):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames)
    writer.writeheader()
    writer.writerows(rows)
    data = io.BytesIO(buffer.getvalue().encode("utf-8"))
    data.name = name
    return data


def import_rows(client, model, rows, fieldnames, *, confirm=False):
    response = client.post(
        f"/admin/charity/{model}/import/",
        {"import_file": upload(rows, fieldnames), "format": CSV_FORMAT, "resource": "0"},
    )
    assert response.status_code == 200
    if not confirm:
        return response
    form = response.context["confirm_form"]
    assert form is not None, "the dry run refused the file"
    return client.post(f"/admin/charity/{model}/process_import/", form.initial)


@pytest.fixture
def chen(dalong):
    return PersonFactory(name="陈伯", mobile="13700000002", community=dalong)


def test_person_import_does_not_reveal_or_take_over_a_resident_outside_the_importers_areas(
    client, community_staff, guanbeigou, chen
):
    client.force_login(community_staff)
    response = import_rows(
        client,
        "person",
        [{"name": "冒名者", "mobile": "137 0000 0002", "community": "官北沟社区"}],
        ["name", "mobile", "community"],
    )
    html = response.content.decode()
    assert "陈伯" not in html and "大龙社区" not in html
    result = response.context["result"]
    assert result.has_validation_errors()
    [invalid] = result.invalid_rows
    assert "mobile" in invalid.field_specific_errors
    assert response.context.get("confirm_form") is None
    chen.refresh_from_db()
    assert (chen.name, chen.community.name) == ("陈伯", "大龙社区")


def test_person_import_updates_a_resident_of_the_importers_own_areas(client, community_staff, guanbeigou):
    wang = PersonFactory(name="王阿姨", mobile="13900000008", community=guanbeigou)
    client.force_login(community_staff)
    import_rows(
        client,
        "person",
        [
            {"name": "王秀英", "mobile": "13900000008", "community": "官北沟社区"},
            {"name": "李大爷", "mobile": "13900000009", "community": "官北沟社区"},
        ],
        ["name", "mobile", "community"],
        confirm=True,
    )
    wang.refresh_from_db()
    assert wang.name == "王秀英"
    assert Person.objects.filter(name="李大爷", community=guanbeigou).exists()
    [event] = AuditEvent.objects.filter(action="person.imported")
    assert event.actor_user == community_staff
    assert (event.data["new"], event.data["updated"]) == (1, 1)
    assert not AuditEvent.objects.filter(action__in=["person.created", "person.changed"]).exists()


def test_an_id_column_in_an_import_never_reaches_another_communitys_organisation(
    client, community_staff, guanbeigou, dalong
):
    theirs = OrganizationFactory(name="大龙志愿队", area=dalong)
    client.force_login(community_staff)
    rows = [
        {"id": theirs.pk, "name": "官北沟读书会", "type": "community_group", "area": "官北沟社区"},
        {"id": 999999, "name": "官北沟合唱团", "type": "community_group", "area": "官北沟社区"},
    ]
    response = import_rows(client, "organization", rows, ["id", "name", "type", "area"])
    result = response.context["result"]
    assert not result.has_errors() and not result.has_validation_errors()
    import_rows(client, "organization", rows, ["id", "name", "type", "area"], confirm=True)
    theirs.refresh_from_db()
    assert (theirs.name, theirs.area) == ("大龙志愿队", dalong)
    assert set(Organization.objects.filter(area=guanbeigou).values_list("name", flat=True)) == {
        "官北沟读书会",
        "官北沟合唱团",
    }
    assert not Organization.objects.filter(pk=999999).exists()


@pytest.mark.parametrize("resource_class", [PersonResource, OrganizationResource])
def test_every_import_resource_looks_rows_up_only_inside_the_importers_areas(
    resource_class, community_staff, guanbeigou, dalong
):
    PersonFactory(community=guanbeigou), PersonFactory(community=dalong)
    OrganizationFactory(area=guanbeigou), OrganizationFactory(area=dalong)
    rows = resource_class(user=community_staff).get_queryset()
    area_of = (lambda p: p.community) if resource_class is PersonResource else (lambda o: o.area)
    assert rows.exists()
    assert {area_of(r) for r in rows} == {guanbeigou}


# --- users: no raw id, no user outside the scope --------------------------------------------------------


def test_staff_cannot_attach_any_login_to_a_person(client, community_staff, guanbeigou, dalong):
    stranger = UserFactory(username="someone_else")
    PersonFactory(name="别人", community=dalong, user=stranger)
    person = PersonFactory(name="王阿姨", mobile="13900000008", community=guanbeigou)
    client.force_login(community_staff)
    page = client.get(f"/admin/charity/person/{person.pk}/change/").content.decode()
    assert 'name="user"' not in page
    client.post(
        f"/admin/charity/person/{person.pk}/change/",
        {"name": "王阿姨", "community": guanbeigou.pk, "user": stranger.pk},
    )
    person.refresh_from_db()
    assert person.user is None


def test_a_manager_grants_roles_only_to_users_of_their_areas(
    client, community_manager, community_staff, outsider, guanbeigou
):
    client.force_login(community_manager)
    page = client.get("/admin/charity/staffassignment/add/").content.decode()
    assert "staff_gbg" in page
    assert "staff_dalong" not in page
    response = client.post(
        "/admin/charity/staffassignment/add/", {"user": outsider.pk, "area": guanbeigou.pk, "role": "viewer"}
    )
    assert response.status_code == 200  # the form again, with an error
    assert not StaffAssignment.objects.filter(user=outsider, area=guanbeigou).exists()


def test_the_user_admin_is_for_superusers_only(client, community_manager):
    manager = grant(community_manager, "view_user", "change_user")
    client.force_login(manager)
    assert client.get("/admin/auth/user/").status_code == 403
    assert client.get(f"/admin/auth/user/{manager.pk}/change/").status_code == 403
    assert client.get("/admin/auth/user/?_to_field=id&_popup=1").status_code == 403
    # Whatever the id: one that exists, one that does not, one that is not an id.
    for pk in (manager.pk, 999999, "abc"):
        assert client.get(f"/admin/auth/user/{pk}/history/").status_code == 403
        assert client.get(f"/admin/auth/user/{pk}/delete/").status_code == 403


def test_groups_which_carry_permissions_are_for_superusers_only(client, community_manager):
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="导出")
    client.force_login(grant(community_manager, "view_group", "change_group"))
    assert client.get("/admin/auth/group/").status_code == 403
    for pk in (group.pk, 999999):
        assert client.get(f"/admin/auth/group/{pk}/change/").status_code == 403
        assert client.get(f"/admin/auth/group/{pk}/history/").status_code == 403


def test_user_choices_offer_no_resident_login_outside_the_scope(
    client, community_manager, guanbeigou, dalong
):
    PersonFactory(name="官北沟居民", community=guanbeigou, user=UserFactory(username="gbg_resident"))
    PersonFactory(name="大龙居民", community=dalong, user=UserFactory(username="dalong_resident"))
    client.force_login(community_manager)
    page = client.get("/admin/charity/staffassignment/add/").content.decode()
    assert "gbg_resident" in page
    assert "dalong_resident" not in page


# --- moving an area needs rights over where it goes -----------------------------------------------------


@pytest.fixture
def other_street(guanbeigou):
    return make_area_chain(("酒泉市", "city"), ("肃州区", "district"), ("另一街道", "street"))


@pytest.fixture
def district_manager(guanbeigou):
    district = Area.objects.get(name="肃州区")
    return assign(StaffUserFactory(username="manager_district"), district, StaffAssignment.Role.MANAGER)


def parent_of(area):
    area.refresh_from_db()
    return Area.objects.get_parent(area)


def test_a_community_manager_cannot_drag_their_community_under_another_street(
    client, community_manager, guanbeigou, dalong
):
    target = parent_of(dalong)
    client.force_login(community_manager)
    response = client.post(
        "/admin/charity/area/move/", {"node": guanbeigou.pk, "target": target.pk, "relation": "child"}
    )
    assert response.status_code in (400, 403, 404)
    assert parent_of(guanbeigou).name == "示例街道"
    assert not AuditEvent.objects.filter(action="area.moved").exists()


def test_a_street_manager_cannot_move_a_community_to_a_street_they_do_not_manage(
    client, street_staff, guanbeigou, other_street
):
    client.force_login(street_staff)
    response = client.post(
        "/admin/charity/area/move/", {"node": guanbeigou.pk, "target": other_street.pk, "relation": "child"}
    )
    assert response.status_code in (400, 403)
    assert parent_of(guanbeigou).name == "示例街道"


def test_the_change_form_cannot_reparent_an_area_outside_the_managers_areas(
    client, community_manager, guanbeigou, dalong
):
    client.force_login(community_manager)
    response = client.post(
        f"/admin/charity/area/{guanbeigou.pk}/change/",
        {
            "name": "官北沟社区",
            "level": "community",
            "division_code": "",
            "treebeard_position": "sorted-child",
            "treebeard_ref_node": parent_of(dalong).pk,
        },
    )
    assert response.status_code == 200  # the form again, with an error
    assert parent_of(guanbeigou).name == "示例街道"


def test_a_manager_of_a_common_ancestor_moves_a_community_and_it_is_audited(
    client, district_manager, guanbeigou, other_street
):
    client.force_login(district_manager)
    response = client.post(
        "/admin/charity/area/move/", {"node": guanbeigou.pk, "target": other_street.pk, "relation": "child"}
    )
    assert response.status_code == 200
    assert parent_of(guanbeigou) == other_street
    event = AuditEvent.objects.get(action="area.moved")
    assert event.actor_user == district_manager
    assert event.data["from_parent"]["name"] == "示例街道"
    assert event.data["to_parent"]["name"] == "另一街道"


def test_move_area_refuses_a_target_the_actor_does_not_manage(street_staff, guanbeigou, other_street):
    with pytest.raises(DomainError):
        move_area(
            area=guanbeigou,
            target=other_street,
            position="sorted-child",
            actor=Actor(surface=AuditEvent.Surface.ADMIN, user=street_staff),
        )
    assert parent_of(guanbeigou).name == "示例街道"


def test_only_a_superuser_adds_a_root_area(client, district_manager, guanbeigou):
    client.force_login(district_manager)
    response = client.post(
        "/admin/charity/area/add/",
        {"name": "新城市", "level": "city", "division_code": "", "treebeard_position": "sorted-child"},
    )
    assert response.status_code == 200
    assert not Area.objects.filter(name="新城市").exists()


def test_a_street_manager_adds_a_community_under_their_street_and_it_is_audited(client, street_staff, street):
    client.force_login(street_staff)
    response = client.post(
        "/admin/charity/area/add/",
        {
            "name": "新社区",
            "level": "community",
            "division_code": "",
            "treebeard_position": "sorted-child",
            "treebeard_ref_node": street.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    new = Area.objects.get(name="新社区")
    assert parent_of(new) == street
    assert AuditEvent.objects.get(action="area.created").object_id == str(new.pk)


def test_the_area_tree_starts_at_the_users_own_areas(client, community_manager, guanbeigou):
    client.force_login(community_manager)
    response = client.get("/admin/charity/area/")
    assert "官北沟社区" in response.content.decode()


@pytest.mark.parametrize("parent", ["abc", "out_of_scope", "999999"])
def test_the_children_of_an_area_outside_the_scope_look_like_those_of_no_area(
    client, community_manager, dalong, parent
):
    parent_id = str(dalong.pk) if parent == "out_of_scope" else parent
    client.force_login(community_manager)
    client.raise_request_exception = False
    assert client.get(f"/admin/charity/area/children/{parent_id}/").status_code == 404


# --- API keys: revoking and creating follow the role ----------------------------------------------------


def test_a_viewer_cannot_revoke_api_keys(client, community_viewer, hub):
    api_key, _key = create_api_key(organization=hub, name="k", actor=Actor.system())
    client.force_login(community_viewer)
    page = client.get("/admin/charity/organizationapikey/").content.decode()
    assert "revoke_keys" not in page
    client.post(
        "/admin/charity/organizationapikey/", {"action": "revoke_keys", "_selected_action": [api_key.pk]}
    )
    api_key.refresh_from_db()
    assert not api_key.revoked
    assert not AuditEvent.objects.filter(action="api_key.revoked").exists()


def test_a_manager_of_another_area_cannot_revoke_our_keys_by_posting_their_ids(
    client, hub, guanbeigou, dalong
):
    # Manager of 大龙, viewer of 官北沟: sees our key, may not revoke it.
    user = assign(StaffUserFactory(username="mixed"), dalong, StaffAssignment.Role.MANAGER)
    user = assign(user, guanbeigou, StaffAssignment.Role.VIEWER)
    api_key, _key = create_api_key(organization=hub, name="k", actor=Actor.system())
    client.force_login(user)
    client.post(
        "/admin/charity/organizationapikey/", {"action": "revoke_keys", "_selected_action": [api_key.pk]}
    )
    api_key.refresh_from_db()
    assert not api_key.revoked


@pytest.mark.parametrize("who", ["community_viewer", "community_staff"])
def test_only_a_manager_creates_api_keys(client, who, hub, request):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/admin/charity/organizationapikey/add/").status_code == 403
    client.post("/admin/charity/organizationapikey/add/", {"organization": hub.pk, "name": "k"})
    assert not OrganizationAPIKey.objects.exists()


def test_create_api_key_refuses_a_staff_member_without_the_manager_role(community_staff, hub):
    with pytest.raises(DomainError):
        create_api_key(
            organization=hub, name="k", actor=Actor(surface=AuditEvent.Surface.ADMIN, user=community_staff)
        )
    assert not OrganizationAPIKey.objects.exists()


# --- exports: an id outside the scope answers like an id that does not exist ---------------------------


def export_items(client, model, pk, field):
    return client.post(
        f"/admin/{model}/export/",
        {"format": CSV_FORMAT, "resource": "0", field: "on", "export_items": [pk]},
    )


@pytest.mark.parametrize(
    ("model", "field"),
    [("charity/person", "personresource_name"), ("charity/organization", "organizationresource_name")],
)
def test_an_out_of_scope_id_in_an_export_answers_like_a_missing_id(
    client, community_staff, guanbeigou, dalong, model, field
):
    community_staff = grant(community_staff, "export_personal_data")
    theirs = PersonFactory(community=dalong) if "person" in model else OrganizationFactory(area=dalong)
    client.force_login(community_staff)
    out_of_scope = export_items(client, model, theirs.pk, field)
    missing = export_items(client, model, 999999, field)
    assert out_of_scope.status_code == missing.status_code == 200
    assert "Content-Disposition" not in out_of_scope and "Content-Disposition" not in missing

    def codes(response):
        return {k: [e.code for e in v] for k, v in response.context["form"].errors.as_data().items()}

    assert codes(out_of_scope) == codes(missing) == {"export_items": ["invalid_choice"]}


def test_an_out_of_scope_id_in_an_export_filter_answers_like_a_missing_id(
    client, street_staff, guanbeigou, dalong
):
    second = make_area_chain(
        ("酒泉市", "city"), ("肃州区", "district"), ("示例街道", "street"), ("第二社区", "community")
    )
    PersonFactory(community=guanbeigou), PersonFactory(community=second), PersonFactory(community=dalong)
    client.force_login(grant(street_staff, "export_personal_data"))
    answers = []
    for pk in (dalong.pk, 999999):
        response = client.post(
            f"/admin/charity/person/export/?community__id__exact={pk}",
            {"format": CSV_FORMAT, "resource": "0", "personresource_name": "on"},
        )
        answers.append((response.status_code, response.content))
    assert answers[0] == answers[1] == (200, "姓名\r\n".encode())  # the header alone, in Chinese


def test_a_malformed_filter_in_an_export_is_a_404_not_a_500(client, street_staff, guanbeigou, dalong):
    second = make_area_chain(
        ("酒泉市", "city"), ("肃州区", "district"), ("示例街道", "street"), ("第二社区", "community")
    )
    PersonFactory(community=guanbeigou), PersonFactory(community=second)  # the filter has two choices
    street_staff = grant(street_staff, "export_personal_data")
    client.force_login(street_staff)
    client.raise_request_exception = False
    response = client.post(
        "/admin/charity/person/export/?community__id__exact=abc",
        {"format": CSV_FORMAT, "resource": "0", "personresource_name": "on"},
    )
    assert response.status_code == 404


# --- malformed ids in admin URLs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/admin/charity/area/children/abc/",
        "/admin/charity/area/abc/change/",
        "/admin/charity/person/abc/change/",
        "/admin/charity/person/abc/history/",
        "/admin/charity/person/abc/delete/",
        "/admin/charity/organization/abc/change/",
        "/admin/charity/staffassignment/abc/change/",
        "/admin/charity/organizationapikey/abc/change/",
        "/admin/charity/auditevent/abc/change/",
        "/admin/funds/donation/abc/change/",
        "/admin/governance/committee/abc/change/",
    ],
)
def test_a_malformed_id_in_an_admin_url_is_a_404(client, community_manager, url):
    client.force_login(community_manager)
    client.raise_request_exception = False
    assert client.get(url).status_code == 404


def test_an_action_refused_on_the_area_tree_shows_the_list_again_not_a_500(
    client, community_viewer, guanbeigou
):
    client.force_login(community_viewer)
    client.raise_request_exception = False
    response = client.post(
        "/admin/charity/area/",
        {"action": "delete_selected", "_selected_action": [guanbeigou.pk], "post": "yes"},
    )
    assert response.status_code == 200
    assert Area.objects.filter(pk=guanbeigou.pk).exists()
