import datetime

from charity.services import Actor
from governance.selectors import composition_issues, current_members
from governance.services import end_membership
from tests.governance.conftest import VALID, C, R, build_committee


def codes(committee):
    return [i["code"] for i in composition_issues(committee)]


def test_valid_committee_has_no_warnings(gbg_committee):
    assert composition_issues(gbg_committee) == []


def test_fewer_than_five_voting_members_is_flagged(gbg_fund):
    seats = [
        (C.COMMUNITY, R.CHAIR),
        (C.RESIDENT, R.MEMBER),
        (C.ENTERPRISE, R.MEMBER),
        (C.STREET_OFFICE, R.SUPERVISOR),
    ]
    committee = build_committee(gbg_fund, seats)
    assert codes(committee) == ["too_few_voting_members"]
    assert "3" in composition_issues(committee)[0]["message"]


def test_even_number_of_voting_members_is_flagged(gbg_fund):
    committee = build_committee(gbg_fund, [*VALID, (C.PROPERTY_MANAGEMENT, R.MEMBER)])
    assert codes(committee) == ["even_voting_members"]


def test_committee_without_supervisor_is_flagged(gbg_fund):
    seats = [s for s in VALID if s[1] != R.SUPERVISOR]
    assert codes(build_committee(gbg_fund, seats)) == ["no_supervisor"]


def test_committee_without_resident_is_flagged(gbg_fund):
    seats = [(C.PROPERTY_MANAGEMENT, r) if c == C.RESIDENT else (c, r) for c, r in VALID]
    assert codes(build_committee(gbg_fund, seats)) == ["no_resident"]


def test_committee_from_fewer_than_four_categories_is_flagged(gbg_fund):
    seats = [
        (C.COMMUNITY, R.CHAIR),
        (C.COMMUNITY, R.MEMBER),
        (C.RESIDENT, R.MEMBER),
        (C.RESIDENT, R.MEMBER),
        (C.STREET_OFFICE, R.MEMBER),
        (C.STREET_OFFICE, R.SUPERVISOR),
    ]
    assert codes(build_committee(gbg_fund, seats)) == ["too_few_categories"]


def test_supervisor_does_not_count_as_voting_member(gbg_committee):
    members = current_members(gbg_committee)
    assert len(members) == 8
    assert [m.role for m in members if not m.is_voting] == [R.SUPERVISOR]


def test_a_member_whose_term_ended_no_longer_counts(gbg_committee):
    chair = current_members(gbg_committee)[0]
    end_membership(membership=chair, term_end=datetime.date(2025, 6, 30), actor=Actor.system())
    assert chair.pk in [m.pk for m in current_members(gbg_committee, on=datetime.date(2025, 6, 30))]
    assert chair.pk not in [m.pk for m in current_members(gbg_committee, on=datetime.date(2025, 7, 1))]
    assert codes(gbg_committee) == ["even_voting_members"]
