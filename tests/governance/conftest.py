"""Committees built through the services, as a clerk would build them."""

import datetime

import pytest

from charity.services import Actor
from governance.models import Membership
from governance.services import add_member, create_committee
from tests.factories import FundFactory, PersonFactory

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


def build_committee(fund, seats, *, name="基金管理委员会", mobile=True):
    actor = Actor.system()
    committee = create_committee(fund=fund, name=name, actor=actor)
    for category, role in seats:
        person = PersonFactory(community=fund.community, **({} if mobile else {"mobile": None}))
        add_member(
            committee=committee, person=person, category=category, role=role, term_start=START, actor=actor
        )
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
