"""A committee member represents an organisation (or sits as a resident), and counts for its category."""

import pytest

from charity.errors import DomainError
from charity.models import Area, Organization
from charity.services import Actor
from governance.models import Membership
from governance.services import add_member, change_member_role, create_committee
from tests.factories import OrganizationFactory, PersonFactory

from .conftest import START

T = Organization.Type
C = Membership.Category
R = Membership.Role


@pytest.fixture
def committee(gbg_fund):
    return create_committee(fund=gbg_fund, name="委员会", actor=Actor.system())


def seat(committee, person, organization=None, **extra):
    return add_member(
        committee=committee,
        person=person,
        organization=organization,
        role=extra.pop("role", R.MEMBER),
        term_start=START,
        actor=Actor.system(),
        **extra,
    )


def test_street_office_representative_living_elsewhere_takes_a_seat(committee, guanbeigou, dalong):
    street = Area.objects.get(name="示例街道")
    office = OrganizationFactory(type=T.STREET_OFFICE, area=street)
    official = PersonFactory(community=dalong, organization=office)
    membership = seat(committee, official, office)
    assert membership.category == C.STREET_OFFICE
    assert membership.organization == office


def test_the_host_at_city_level_may_send_its_supervisor(committee, guanbeigou):
    city = Area.objects.get(name="酒泉市")
    host = OrganizationFactory(type=T.CHARITY_FEDERATION, area=city)
    membership = seat(committee, PersonFactory(community=guanbeigou), host, role=R.SUPERVISOR)
    assert membership.category == C.CHARITY_ORGANIZATION and not membership.is_voting


def test_an_organisation_serving_the_community_from_elsewhere_may_send_a_member(
    committee, guanbeigou, dalong
):
    agency = OrganizationFactory(type=T.SOCIAL_WORK_AGENCY, area=dalong)
    agency.served_areas.add(guanbeigou)
    assert seat(committee, PersonFactory(community=guanbeigou), agency).category == C.SOCIAL_WORK_AGENCY


def test_an_organisation_of_another_community_is_refused(committee, guanbeigou, dalong):
    stranger = OrganizationFactory(type=T.ENTERPRISE, area=dalong)
    with pytest.raises(DomainError) as exc:
        seat(committee, PersonFactory(community=guanbeigou), stranger)
    assert exc.value.code == "organization_wrong_area" and exc.value.field == "organization"
    assert not Membership.objects.exists()


def test_someone_who_neither_lives_here_nor_represents_the_organisation_is_refused(
    committee, guanbeigou, dalong
):
    office = OrganizationFactory(type=T.NEIGHBOURHOOD_COMMITTEE, area=guanbeigou)
    with pytest.raises(DomainError) as exc:
        seat(committee, PersonFactory(community=dalong), office)
    assert exc.value.code == "member_not_representative"


def test_a_resident_representative_lives_in_the_community(committee, dalong):
    with pytest.raises(DomainError) as exc:
        seat(committee, PersonFactory(community=dalong))
    assert exc.value.code == "member_wrong_community"


def test_resident_without_organisation_counts_as_resident(committee, guanbeigou):
    assert seat(committee, PersonFactory(community=guanbeigou)).category == C.RESIDENT


@pytest.mark.parametrize(
    ("org_type", "category", "code"),
    [
        (None, C.ENTERPRISE, "organization_required"),
        (T.MERCHANT, C.STREET_OFFICE, "category_mismatch"),
        (T.RESEARCH_PARTNER, None, "organization_cannot_sit"),
        (T.MERCHANT, "nonsense", "invalid_category"),
    ],
)
def test_a_category_that_does_not_follow_from_the_organisation_is_refused(
    committee, guanbeigou, org_type, category, code
):
    organization = OrganizationFactory(type=org_type, area=guanbeigou) if org_type else None
    with pytest.raises(DomainError) as exc:
        seat(committee, PersonFactory(community=guanbeigou), organization, category=category)
    assert exc.value.code == code
    assert not Membership.objects.exists()


def test_a_matching_category_given_explicitly_is_accepted(committee, guanbeigou):
    merchant = OrganizationFactory(type=T.MERCHANT, area=guanbeigou)
    assert seat(committee, PersonFactory(community=guanbeigou), merchant, category=C.ENTERPRISE).category == (
        C.ENTERPRISE
    )


def test_changing_the_role_keeps_the_category_and_a_foreign_category_is_refused(committee, guanbeigou):
    merchant = OrganizationFactory(type=T.MERCHANT, area=guanbeigou)
    membership = seat(committee, PersonFactory(community=guanbeigou), merchant)
    change_member_role(membership=membership, category=C.ENTERPRISE, role=R.CHAIR, actor=Actor.system())
    membership.refresh_from_db()
    assert (membership.category, membership.role) == (C.ENTERPRISE, R.CHAIR)
    with pytest.raises(DomainError) as exc:
        change_member_role(membership=membership, category=C.RESIDENT, role=R.CHAIR, actor=Actor.system())
    assert exc.value.code == "category_mismatch"
    membership.refresh_from_db()
    assert membership.category == C.ENTERPRISE


def test_public_page_and_api_name_the_organisation_represented(client, committee, guanbeigou, hub_api):
    office = OrganizationFactory(name="官北沟社区居民委员会", type=T.NEIGHBOURHOOD_COMMITTEE, area=guanbeigou)
    seat(committee, PersonFactory(name="马主任", community=guanbeigou), office, role=R.CHAIR)
    page = client.get(f"/committees/{committee.pk}/").content.decode()
    assert "马主任" in page and "官北沟社区居民委员会" in page
    member = hub_api.get(f"/api/v1/committees/{committee.pk}/").json()["members"][0]
    assert member["organization"] == office.pk and member["organization_name"] == "官北沟社区居民委员会"
