import pytest

from charity.models import AuditEvent, Organization
from governance.models import Committee, Membership
from tests.factories import OrganizationFactory, PersonFactory

RULES = {
    "quorum_numerator": 2,
    "quorum_denominator": 3,
    "approval_numerator": 1,
    "approval_denominator": 2,
    "high_approval_numerator": 2,
    "high_approval_denominator": 3,
    "high_amount_threshold_yuan": "50000.00",  # typed in yuan, stored in fen
    "notice_days": 7,
}


def inline(rows, initial=0):
    data = {
        "memberships-TOTAL_FORMS": len(rows),
        "memberships-INITIAL_FORMS": initial,
        "memberships-MIN_NUM_FORMS": 0,
        "memberships-MAX_NUM_FORMS": 1000,
    }
    for i, row in enumerate(rows):
        data.update({f"memberships-{i}-{k}": v for k, v in row.items()})
    return data


@pytest.fixture
def staff_client(client, community_staff):
    client.force_login(community_staff)
    return client


def test_staff_creates_committee_with_members_and_is_warned_about_composition(staff_client, gbg_fund):
    people = [PersonFactory(community=gbg_fund.community) for _ in range(2)]
    committee_office = OrganizationFactory(
        type=Organization.Type.NEIGHBOURHOOD_COMMITTEE, area=gbg_fund.community
    )
    rows = [
        {
            "person": people[0].pk,
            "organization": committee_office.pk,
            "role": "chair",
            "term_start": "2025-01-01",
        },
        {"person": people[1].pk, "organization": "", "role": "member", "term_start": "2025-01-01"},
    ]
    response = staff_client.post(
        "/admin/governance/committee/add/",
        {"fund": gbg_fund.pk, "name": "委员会", **RULES, **inline(rows)},
        follow=True,
    )
    assert response.status_code == 200
    committee = Committee.objects.get(fund=gbg_fund)
    assert committee.memberships.count() == 2
    # The category follows from whom each member represents.
    assert sorted(committee.memberships.values_list("category", flat=True)) == ["community", "resident"]
    assert AuditEvent.objects.filter(action="committee.created").count() == 1
    assert AuditEvent.objects.filter(action="committee.member_added").count() == 2
    warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert len(warnings) == 1 and "监事" in warnings[0]


def test_admin_refuses_a_member_from_another_community(staff_client, gbg_fund, dalong):
    stranger = PersonFactory(community=dalong)
    rows = [{"person": stranger.pk, "organization": "", "role": "member", "term_start": "2025-01-01"}]
    response = staff_client.post(
        "/admin/governance/committee/add/", {"fund": gbg_fund.pk, "name": "委员会", **RULES, **inline(rows)}
    )
    assert response.status_code == 200  # the form again, with the error
    assert not Committee.objects.exists() and not Membership.objects.exists()


def test_admin_refuses_a_bad_fraction_as_a_form_error(staff_client, gbg_fund):
    response = staff_client.post(
        "/admin/governance/committee/add/",
        {"fund": gbg_fund.pk, "name": "委员会", **RULES, "quorum_numerator": 4, **inline([])},
    )
    assert response.status_code == 200
    assert "quorum_numerator" in response.context["adminform"].form.errors
    assert not Committee.objects.exists()


def test_change_page_and_list_show_composition_warnings(staff_client, gbg_fund):
    from charity.services import Actor
    from governance.services import create_committee

    committee = create_committee(fund=gbg_fund, name="委员会", actor=Actor.system())
    change = staff_client.get(
        f"/admin/governance/committee/{committee.pk}/change/", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert change.status_code == 200
    assert "no supervisor" in change.content.decode()
    listing = staff_client.get("/admin/governance/committee/", HTTP_ACCEPT_LANGUAGE="en")
    assert "no supervisor" in listing.content.decode()


def test_staff_ends_a_membership_through_the_inline(staff_client, gbg_committee):
    memberships = list(gbg_committee.memberships.order_by("id"))
    rows = [
        {
            "id": m.pk,
            "committee": gbg_committee.pk,
            "person": m.person_id,
            "organization": m.organization_id or "",
            "role": m.role,
            "term_start": "2025-01-01",
            "term_end": "",
        }
        for m in memberships
    ]
    rows[0]["term_end"] = "2025-12-31"
    response = staff_client.post(
        f"/admin/governance/committee/{gbg_committee.pk}/change/",
        {"name": gbg_committee.name, **RULES, **inline(rows, initial=len(rows))},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    memberships[0].refresh_from_db()
    assert str(memberships[0].term_end) == "2025-12-31"
    assert AuditEvent.objects.filter(action="committee.member_ended").count() == 1


def test_outsider_cannot_open_the_committee(client, outsider, gbg_committee):
    client.force_login(outsider)
    response = client.get(f"/admin/governance/committee/{gbg_committee.pk}/change/")
    assert response.status_code == 404
    assert gbg_committee.name not in client.get("/admin/governance/committee/").content.decode()
