"""Demo committees for the two seed-study communities. Idempotent: runs after the funds are seeded, and
running it twice changes nothing (people are looked up by name and community, members by person)."""

import datetime

from django.db import transaction

from charity.models import AuditEvent, Person
from charity.services import Actor
from funds.models import Fund

from .models import Committee, Membership
from .services import add_member, create_committee

C = Membership.Category
R = Membership.Role

TERM_START = datetime.date(2025, 1, 1)

# (fund name, community name, committee name, [(person name, category, role)])
COMMITTEES = [
    (
        "官北沟社区慈善基金",
        "官北沟社区",
        "官北沟社区慈善基金管理委员会",
        # 7 voting members from 7 categories, a resident among them, plus a supervisor: no warnings.
        [
            ("马建军", C.COMMUNITY, R.CHAIR),
            ("刘春燕", C.STREET_OFFICE, R.VICE_CHAIR),
            ("赵文静", C.SOCIAL_WORK_AGENCY, R.SECRETARY),
            ("王秀英", C.RESIDENT, R.MEMBER),
            ("孙晓东", C.COMMUNITY_GROUP, R.MEMBER),
            ("何振华", C.ENTERPRISE, R.MEMBER),
            ("李淑芬", C.VOLUNTEER_ORGANIZATION, R.MEMBER),
            ("高明远", C.CHARITY_ORGANIZATION, R.SUPERVISOR),
        ],
    ),
    (
        "大龙社区慈善基金",
        "大龙社区",
        "大龙社区慈善基金管理委员会",
        # 5 voting members from 5 categories, residents included, but no supervisor yet: one warning.
        [
            ("黄志明", C.COMMUNITY, R.CHAIR),
            ("陈嘉怡", C.STREET_OFFICE, R.VICE_CHAIR),
            ("梁伟明", C.RESIDENT, R.MEMBER),
            ("何少芬", C.COMMUNITY_GROUP, R.SECRETARY),
            ("郑国良", C.PROPERTY_MANAGEMENT, R.MEMBER),
        ],
    ),
]


def _person(name, community) -> Person:
    person = Person.objects.filter(name=name, community=community).order_by("id").first()
    if person is None:
        person = Person.objects.create(name=name, community=community)
    return person


@transaction.atomic
def seed(stdout=None) -> dict:
    """Create the demo committees and their members where missing; skip a fund that is not there."""
    actor = Actor.system(AuditEvent.Surface.COMMAND)
    committees = {}
    for fund_name, community_name, committee_name, members in COMMITTEES:
        fund = (
            Fund.objects.select_related("community")
            .filter(name=fund_name, community__name=community_name, kind=Fund.Kind.COMMUNITY)
            .first()
        )
        if fund is None:
            continue
        committee = Committee.objects.filter(fund=fund).first()
        if committee is None:
            committee = create_committee(fund=fund, name=committee_name, actor=actor)
        added = 0
        for person_name, category, role in members:
            person = _person(person_name, fund.community)
            if not Membership.objects.filter(committee=committee, person=person).exists():
                add_member(
                    committee=committee,
                    person=person,
                    category=category,
                    role=role,
                    term_start=TERM_START,
                    actor=actor,
                )
                added += 1
        if stdout is not None and added:
            stdout.write(f"{committee.name}: {added} members seated.")
        committees[community_name] = committee
    return committees
