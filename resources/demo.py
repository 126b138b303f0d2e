"""Demo resources for 官北沟社区 and 大龙社区: a merchant's winter blankets, a community hall with weekly
slots, a social worker's counselling time, a drill and a ladder in the tool library (one out, one with a
waiting list), and second-hand exchange items (one claimed). Every resource is invented. Idempotent: a
resource is found by its community and title, and loans, places and claims are made only once.
"""

import datetime

from django.utils import timezone

from charity.models import Area, AuditEvent, Category, Organization, Person
from charity.services import Actor

from . import services
from .models import Claim, Loan, Resource, WaitlistEntry

COMMUNITIES = {
    "官北沟社区": {
        "merchant": "官北沟爱心超市",
        "hall_owner": "官北沟小区物业服务中心",
        "counsellor": "酒泉示例社会工作服务中心",
    },
    "大龙社区": {
        "merchant": "大龙街坊饼家",
        "hall_owner": "大龙花园物业管理处",
        "counsellor": "番禺区启明社工服务中心",
    },
}


def _resource(actor, community, title, *, categories=(), **fields):
    found = Resource.objects.filter(community=community, title=title).first()
    if found is not None:
        return found
    cats = list(Category.objects.filter(code__in=categories))
    return services.offer_resource(actor=actor, community=community, title=title, categories=cats, **fields)


def seed(stdout=None):
    actor = Actor.system(AuditEvent.Surface.COMMAND)
    today = timezone.localdate()
    for name, owners in COMMUNITIES.items():
        community = Area.objects.filter(name=name, level=Area.Level.COMMUNITY).first()
        if community is None:
            continue
        orgs = {key: Organization.objects.filter(name=org).first() for key, org in owners.items()}
        people = list(Person.objects.filter(community=community).order_by("id")[:8])
        if len(people) < 6 or any(org is None for org in orgs.values()):
            continue
        _resource(
            actor,
            community,
            "冬季棉被 20 床",
            kind=Resource.Kind.GOODS,
            owner_organization=orgs["merchant"],
            description="商户捐出的全新加厚棉被，优先给独居老人和困难家庭。",
            categories=["elderly", "hardship"],
            quantity=20,
            unit="床",
            reach=Resource.Reach.STREET,
            available_until=today + datetime.timedelta(days=90),
        )
        _resource(
            actor,
            community,
            "社区活动室",
            kind=Resource.Kind.VENUE,
            owner_organization=orgs["hall_owner"],
            description="可坐 40 人，有投影和桌椅，适合讲座、议事会和兴趣小组。",
            categories=["culture", "community"],
            reach=Resource.Reach.COMMUNITY,
            slots=[
                (2, datetime.time(14), datetime.time(17)),
                (5, datetime.time(9), datetime.time(12)),
                (6, datetime.time(9), datetime.time(12)),
            ],
        )
        _resource(
            actor,
            community,
            "家庭心理咨询（社工）",
            kind=Resource.Kind.TIME,
            owner_organization=orgs["counsellor"],
            description="持证社工每周两个时段，为遇到困难的家庭提供一对一倾听和咨询。",
            categories=["hardship", "children"],
            quantity=8,
            unit="次",
            reach=Resource.Reach.STREET,
            slots=[(1, datetime.time(19), datetime.time(21)), (5, datetime.time(14), datetime.time(16))],
        )
        drill = _resource(
            actor,
            community,
            "电钻（共享工具库）",
            kind=Resource.Kind.TOOL,
            owner_person=people[0],
            description="冲击钻一把，附钻头一套。借用两周，可续借一次。",
            categories=["community"],
            quantity=2,
            unit="把",
        )
        ladder = _resource(
            actor,
            community,
            "铝合金人字梯（共享工具库）",
            kind=Resource.Kind.TOOL,
            owner_person=people[1],
            description="1.5 米，承重 150 公斤。",
            quantity=1,
            unit="架",
        )
        books = _resource(
            actor,
            community,
            "儿童绘本一箱",
            kind=Resource.Kind.GOODS,
            for_exchange=True,
            owner_person=people[2],
            description="约 30 本，适合 3–8 岁。",
            categories=["children", "education"],
            quantity=3,
            unit="袋",
            available_until=today + datetime.timedelta(days=30),
        )
        _resource(
            actor,
            community,
            "九成新电饭煲",
            kind=Resource.Kind.GOODS,
            for_exchange=True,
            owner_person=people[3],
            quantity=1,
            unit="台",
            available_until=today + datetime.timedelta(days=14),
        )
        # A living library: the ladder is out and someone waits for it; a drill is out; a claim waits.
        if not Loan.objects.filter(resource=ladder).exists():
            services.lend_tool(resource=ladder, borrower=people[4], actor=actor, condition="完好")
        if not WaitlistEntry.objects.filter(resource=ladder).exists():
            services.join_waitlist(resource=ladder, person=people[5], actor=actor)
        if not Loan.objects.filter(resource=drill).exists():
            services.lend_tool(resource=drill, borrower=people[5], actor=actor, condition="钻头齐全")
        if not Claim.objects.filter(resource=books).exists():
            services.claim_item(resource=books, person=people[4], actor=actor)
    if stdout is not None:
        stdout.write(f"Resources: {Resource.objects.count()}, loans: {Loan.objects.count()}.")
