"""Demo committees for the two seed-study communities. Idempotent: runs after the funds are seeded, and
running it twice changes nothing (people are looked up by name and community, members by person)."""

import datetime

from django.db import transaction

from charity.models import AuditEvent, Person
from charity.services import Actor
from funds.models import Fund

from .models import Committee, Membership
from .selectors import eligible_organizations
from .services import add_member, create_committee

C = Membership.Category
R = Membership.Role

TERM_START = datetime.date(2025, 1, 1)

# (fund name, community name, committee name, [(person name, organisation represented or None, role)]);
# the stakeholder category follows from the organisation (resident without one).
COMMITTEES = [
    (
        "官北沟社区慈善基金",
        "官北沟社区",
        "官北沟社区慈善基金管理委员会",
        # 7 voting members from 7 categories, a resident among them, plus a supervisor: no warnings.
        [
            ("马建军", "官北沟社区居民委员会", R.CHAIR),
            ("刘春燕", "示例街道办事处", R.VICE_CHAIR),
            ("赵文静", "酒泉示例社会工作服务中心", R.SECRETARY),
            ("王秀英", None, R.MEMBER),
            ("孙晓东", "官北沟舞蹈队", R.MEMBER),
            ("何振华", "老马牛肉面馆", R.MEMBER),
            ("李淑芬", "官北沟心理咨询志愿服务队", R.MEMBER),
            ("高明远", "酒泉市慈善联合总会", R.SUPERVISOR),
        ],
    ),
    (
        "大龙社区慈善基金",
        "大龙社区",
        "大龙社区慈善基金管理委员会",
        # 5 voting members from 5 categories, residents included, and a supervisor: no warnings. (A real
        # community's committee is never shown failing a rule: the warnings are on the example below.)
        [
            ("黄志明", "大龙社区居民委员会", R.CHAIR),
            ("陈嘉怡", "石碁镇人民政府", R.VICE_CHAIR),
            ("梁伟明", None, R.MEMBER),
            ("何少芬", "大龙社区舞蹈队", R.SECRETARY),
            ("郑国良", "大龙花园物业管理处", R.MEMBER),
            ("罗家豪", "番禺区慈善会", R.SUPERVISOR),
        ],
    ),
    (
        "示例社区慈善基金",
        "示例社区",
        "示例社区慈善基金管理委员会",
        # An illustrative community: 3 voting members from 2 categories and no supervisor — what the
        # composition warnings look like.
        [
            ("林晓光", None, R.CHAIR),
            ("宋玉洁", None, R.MEMBER),
            ("韩立群", "示例街道办事处", R.MEMBER),
        ],
    ),
]


def _person(name, community) -> Person:
    person = Person.objects.filter(name=name, community=community).order_by("id").first()
    if person is None:
        person = Person.objects.create(name=name, community=community, is_illustrative=True)
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
        for person_name, organization_name, role in members:
            person = _person(person_name, fund.community)
            organization = (
                eligible_organizations(fund.community).filter(name=organization_name).first()
                if organization_name
                else None
            )
            if organization_name and organization is None:
                continue  # the core demo did not create it
            if not Membership.objects.filter(committee=committee, person=person).exists():
                add_member(
                    committee=committee,
                    person=person,
                    organization=organization,
                    role=role,
                    term_start=TERM_START,
                    actor=actor,
                )
                added += 1
        if stdout is not None and added:
            stdout.write(f"{committee.name}: {added} members seated.")
        committees[community_name] = committee
    return committees
