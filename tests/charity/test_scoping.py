"""Staff see their area and everything under it — in the scope functions and in the admin. Outsiders: 404."""

import pytest

from charity.models import Area, Organization, StaffAssignment
from charity.scoping import scope_for_organization, scope_for_user, visible_areas
from tests.factories import OrganizationFactory, StaffUserFactory, UserFactory, assign, community


@pytest.fixture
def neighbour(guanbeigou):
    """A second community under the same street as 官北沟社区."""
    return community("酒泉市", "肃州区", "示例街道", "北关社区")


@pytest.fixture
def orgs(guanbeigou, neighbour, dalong):
    return {
        "ours": OrganizationFactory(name="官北沟舞蹈队", area=guanbeigou),
        "neighbour": OrganizationFactory(name="北关合唱团", area=neighbour),
        "far": OrganizationFactory(name="大龙志愿队", area=dalong),
    }


def names(areas):
    return sorted(a.name for a in areas)


def fresh(*areas):
    # Areas keep their siblings sorted by name (treebeard node_order_by): inserting one renumbers the
    # materialized paths of those after it, so an Area held in memory may carry a stale path.
    for area in areas:
        area.refresh_from_db()


def test_community_staff_see_their_community_only(community_staff, guanbeigou, neighbour, dalong):
    assert names(visible_areas(community_staff)) == ["官北沟社区"]
    fresh(guanbeigou, neighbour, dalong)
    scope = scope_for_user(community_staff)
    assert scope.contains(guanbeigou)
    assert not scope.contains(neighbour) and not scope.contains(dalong)


def test_street_staff_see_every_community_under_their_street(street_staff, guanbeigou, neighbour, dalong):
    assert names(visible_areas(street_staff)) == ["北关社区", "官北沟社区", "示例街道"]
    fresh(dalong)
    assert not scope_for_user(street_staff).contains(dalong)


def test_outsider_sees_none_of_ours(outsider, guanbeigou, neighbour):
    assert "官北沟社区" not in names(visible_areas(outsider))
    fresh(guanbeigou)
    assert not scope_for_user(outsider).contains(guanbeigou)


def test_superuser_sees_everything(guanbeigou, dalong):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    fresh(guanbeigou, dalong)
    assert set(visible_areas(root)) >= {guanbeigou, dalong, Area.objects.get_parent(guanbeigou)}


def test_a_user_without_assignment_sees_nothing(guanbeigou):
    assert list(visible_areas(UserFactory(username="nobody"))) == []


def test_min_role_leaves_out_areas_where_the_user_only_views(community_viewer, guanbeigou):
    fresh(guanbeigou)
    assert scope_for_user(community_viewer).contains(guanbeigou)
    assert not scope_for_user(community_viewer, min_role=StaffAssignment.Role.STAFF).contains(guanbeigou)


def test_organisation_scope_is_the_areas_it_serves(hub, guanbeigou, dalong):
    fresh(guanbeigou, dalong)
    scope = scope_for_organization(hub)
    assert scope.contains(guanbeigou) and not scope.contains(dalong)
    assert scope_for_organization(OrganizationFactory(name="无服务", area=guanbeigou)).areas().count() == 0


# --- the admin --------------------------------------------------------------------------------------------


def changelist_names(client, user):
    client.force_login(user)
    response = client.get("/admin/charity/organization/")
    assert response.status_code == 200
    return {o.name for o in response.context["cl"].result_list}


def test_admin_changelist_shows_community_staff_only_their_organisations(client, community_staff, orgs):
    assert changelist_names(client, community_staff) == {"官北沟舞蹈队"}


def test_admin_changelist_shows_street_staff_the_whole_street(client, street_staff, orgs):
    assert changelist_names(client, street_staff) == {"官北沟舞蹈队", "北关合唱团"}


def test_admin_changelist_shows_the_outsider_none_of_ours(client, outsider, orgs):
    assert changelist_names(client, outsider) == {"大龙志愿队"}


def test_admin_change_page_of_an_out_of_scope_organisation_is_404(client, community_staff, orgs):
    client.force_login(community_staff)
    assert client.get(f"/admin/charity/organization/{orgs['ours'].pk}/change/").status_code == 200
    assert client.get(f"/admin/charity/organization/{orgs['neighbour'].pk}/change/").status_code == 404
    assert client.get(f"/admin/charity/organization/{orgs['far'].pk}/change/").status_code == 404
    assert client.get("/admin/charity/organization/999999/change/").status_code == 404


def test_viewer_can_look_but_not_change(client, community_viewer, orgs):
    org = orgs["ours"]
    client.force_login(community_viewer)
    page = client.get(f"/admin/charity/organization/{org.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    response = client.post(
        f"/admin/charity/organization/{org.pk}/change/",
        {"name": "改掉的名字", "type": org.type, "area": org.area_id, "registration": org.registration},
    )
    assert response.status_code == 403
    org.refresh_from_db()
    assert org.name == "官北沟舞蹈队"
    assert client.get("/admin/charity/organization/add/").status_code == 403


def test_staff_cannot_pick_an_out_of_scope_area_when_adding(client, community_staff, guanbeigou, dalong):
    client.force_login(community_staff)
    response = client.post(
        "/admin/charity/organization/add/",
        {
            "name": "越界组织",
            "type": Organization.Type.COMMUNITY_GROUP,
            "area": dalong.pk,
            "registration": "none",
            "api_keys-TOTAL_FORMS": "0",
            "api_keys-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200  # the form again, with an error
    assert not Organization.objects.filter(name="越界组织").exists()
    area_choices = {a.pk for a in response.context["adminform"].form.fields["area"].queryset}
    assert area_choices == {guanbeigou.pk}


def test_staff_user_without_assignment_cannot_use_the_admin_models(client, orgs):
    client.force_login(StaffUserFactory(username="no_assignment"))
    assert client.get("/admin/charity/organization/").status_code == 403


def test_street_staff_assigned_later_see_more_without_logging_in_again(client, community_staff, orgs, street):
    assign(community_staff, street, StaffAssignment.Role.VIEWER)
    assert changelist_names(client, community_staff) == {"官北沟舞蹈队", "北关合唱团"}
