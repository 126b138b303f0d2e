"""Committees built through the services, as a clerk would build them."""

import datetime

import pytest

from charity.models import Organization
from charity.services import Actor
from governance.models import Membership
from governance.services import add_member, create_committee
from tests.factories import FundFactory, OrganizationFactory, PersonFactory

C = Membership.Category
R = Membership.Role
START = datetime.date(2025, 1, 1)

# Seven voting members from six categories, residents included, and a supervisor: a valid committee.
VALID = [
    (C.COMMUNITY, R.CHAIR),
    (C.STREET_OFFICE, R.VICE_CHAIR),
    (C.SOCIAL_WORK_AGENCY, R.SECRETARY),
    (C.RESIDENT, R.MEMBER),
    (C.RESIDENT, R.MEMBER),
    (C.COMMUNITY_GROUP, R.MEMBER),
    (C.ENTERPRISE, R.MEMBER),
    (C.CHARITY_ORGANIZATION, R.SUPERVISOR),
]


T = Organization.Type
# An organisation of each stakeholder category, as a clerk would seat its representative.
TYPE_OF_CATEGORY = {
    C.STREET_OFFICE: T.STREET_OFFICE,
    C.COMMUNITY: T.NEIGHBOURHOOD_COMMITTEE,
    C.CHARITY_ORGANIZATION: T.CHARITY_FEDERATION,
    C.COMMUNITY_GROUP: T.COMMUNITY_GROUP,
    C.SOCIAL_WORK_AGENCY: T.SOCIAL_WORK_AGENCY,
    C.VOLUNTEER_ORGANIZATION: T.VOLUNTEER_TEAM,
    C.ENTERPRISE: T.ENTERPRISE,
    C.PROPERTY_MANAGEMENT: T.PROPERTY_MANAGER,
}


def seat(committee, category, role, *, person=None, mobile=True, actor=None):
    """Seat a member of `category`: a resident, or the representative of an organisation of that kind."""
    fund = committee.fund
    organization = None
    if category != C.RESIDENT:
        organization = OrganizationFactory(type=TYPE_OF_CATEGORY[category], area=fund.community)
    if person is None:
        person = PersonFactory(community=fund.community, **({} if mobile else {"mobile": None}))
    return add_member(
        committee=committee,
        person=person,
        organization=organization,
        role=role,
        term_start=START,
        actor=actor or Actor.system(),
    )


def build_committee(fund, seats, *, name="基金管理委员会", mobile=True):
    actor = Actor.system()
    committee = create_committee(fund=fund, name=name, actor=actor)
    for category, role in seats:
        seat(committee, category, role, mobile=mobile, actor=actor)
    return committee


@pytest.fixture
def gbg_fund(guanbeigou):
    return FundFactory(name="官北沟社区慈善基金", community=guanbeigou)


@pytest.fixture
def dalong_fund(dalong):
    return FundFactory(name="大龙社区慈善基金", community=dalong)


@pytest.fixture
def gbg_committee(gbg_fund):
    return build_committee(gbg_fund, VALID, name="官北沟社区慈善基金管理委员会")
