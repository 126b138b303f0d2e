"""Demo needs for 官北沟社区 and 大龙社区 across categories and statuses, each flagged illustrative: every
need, beneficiary and offer is invented. Idempotent: a need is found by its community and summary."""

import datetime

from django.contrib.auth import get_user_model
from django.utils import timezone

from charity.models import Area, AuditEvent, Category, Organization, Person
from charity.services import Actor

from . import demo_matching, services
from .models import Need, NeedSensitiveDetails

DAY = datetime.timedelta(days=1)

# community, staff login, [(category, sub_kind, summary, quantity, unit, people, urgency, days, status path,
#   sensitive or None)]
NEEDS = {
    "大龙社区": (
        "dalong_staff",
        [
            (
                "elderly",
                "housing",
                "为12户高龄老人所在楼栋的楼梯加装扶手",
                12,
                "处",
                15,
                "urgent",
                45,
                ["published"],
                None,
            ),
            (
                "culture",
                "repair",
                "社区乒乓球场地面开裂、球台生锈，需要翻新",
                2,
                "张球台",
                200,
                "routine",
                90,
                ["published", "matched"],
                None,
            ),
            (
                "community",
                "goods",
                "小区出入口和停车棚需要加装监控，方便夜间安全",
                8,
                "个摄像头",
                1200,
                "soon",
                60,
                [],
                None,
            ),
            ("elderly", "clothing", "冬季为独居老人送棉被", 30, "床", 30, "soon", 30, ["published"], None),
            (
                "hardship",
                "counselling",
                "一户家庭遭遇变故，需要心理辅导和陪伴",
                None,
                "",
                3,
                "urgent",
                20,
                ["published", "in_progress"],
                "family",
            ),
        ],
    ),
    "官北沟社区": (
        "gbg_staff",
        [
            (
                "elderly",
                "clothing",
                "今冬为社区独居老人送厚棉被",
                20,
                "床",
                20,
                "soon",
                25,
                ["published"],
                None,
            ),
            (
                "elderly",
                "housing",
                "老旧楼栋楼梯需要加装扶手，方便老人上下楼",
                6,
                "处",
                8,
                "routine",
                60,
                [],
                None,
            ),
            (
                "hardship",
                "counselling",
                "一户困难家庭需要每周一次的心理辅导",
                8,
                "次",
                4,
                "soon",
                40,
                ["published"],
                "family",
            ),
            (
                "community",
                "goods",
                "小区监控老化，需要更换摄像头",
                4,
                "个",
                600,
                "routine",
                90,
                ["declined"],
                None,
            ),
            (
                "culture",
                "repair",
                "活动室乒乓球台需要更换球网",
                2,
                "副",
                50,
                "routine",
                30,
                ["published", "matched", "met"],
                None,
            ),
        ],
    ),
}
# A resident's own need, posted on the portal: "my page" of the demo resident shows it with an offer.
RESIDENT_NEED = (
    "elderly",
    "companionship",
    "家中老人白天独自在家，希望有邻居每周来陪伴聊天一次",
    None,
    "",
    1,
    "routine",
    60,
)


def seed(stdout=None):
    User = get_user_model()
    for community_name, (staff_name, rows) in NEEDS.items():
        community = Area.objects.filter(name=community_name, level=Area.Level.COMMUNITY).first()
        staff = User.objects.filter(username=staff_name).first()
        if community is None or staff is None:
            continue
        actor = Actor(surface=AuditEvent.Surface.COMMAND, user=staff)
        hub = Organization.objects.filter(type=Organization.Type.HUB, served_areas=community).first()
        for category, sub_kind, summary, quantity, unit, people, urgency, days, path, sensitive in rows:
            found = Category.objects.filter(code=category).first()
            # The categories come from migration charity/0011; a database flushed since (a test's) has none.
            if found is None or Need.objects.filter(community=community, summary=summary).exists():
                continue
            details = basis = None
            if sensitive:
                details = {"name": "示例家庭（虚构）", "address": "示例楼栋（虚构）", "low_income": True}
                basis = services.LegalBasisInput(
                    basis=NeedSensitiveDetails.LegalBasis.CONSENT,
                    given_by=NeedSensitiveDetails.GivenBy.BENEFICIARY,
                    publish_summary=True,
                    share_with=[hub] if hub else [],
                )
            need = services.submit_need(
                data=services.NeedInput(
                    community=community,
                    category=found,
                    sub_kind=sub_kind,
                    summary=summary,
                    quantity=quantity,
                    unit=unit,
                    urgency=urgency,
                    needed_by=timezone.localdate() + days * DAY,
                    beneficiary_count=people,
                ),
                source=Need.Source.STAFF,
                actor=actor,
                sensitive=details,
                basis=basis,
                illustrative=True,
            )
            for status in path:
                if status == "published":
                    services.publish_need(need=need, actor=actor)
                elif status == "declined":
                    services.decline_need(
                        need=need, actor=actor, note="与物业已有的更换计划重复，已转物业处理。"
                    )
                else:
                    services.change_need_status(need=need, to_status=status, actor=actor)
    _resident_need()
    # Last: a matching run per community leaves proposals in the review queue (needs/demo_matching.py).
    demo_matching.seed(stdout=stdout)


def _resident_need():
    resident = (
        Person.objects.filter(mobile="13800138000", user__isnull=False).select_related("community").first()
    )
    staff = get_user_model().objects.filter(username="gbg_staff").first()
    if resident is None or staff is None:
        return
    category, sub_kind, summary, quantity, unit, people, urgency, days = RESIDENT_NEED
    found = Category.objects.filter(code=category).first()
    if found is None or Need.objects.filter(community=resident.community, summary=summary).exists():
        return
    need = services.submit_need(
        data=services.NeedInput(
            community=resident.community,
            category=found,
            sub_kind=sub_kind,
            summary=summary,
            urgency=urgency,
            needed_by=timezone.localdate() + days * DAY,
            beneficiary_count=people,
        ),
        source=Need.Source.PORTAL,
        actor=Actor(surface=AuditEvent.Surface.COMMAND, user=resident.user),
        posted_by=resident,
        illustrative=True,
    )
    services.publish_need(need=need, actor=Actor(surface=AuditEvent.Surface.COMMAND, user=staff))
    hub = Organization.objects.filter(type=Organization.Type.HUB, served_areas=resident.community).first()
    if hub is not None:
        # The community's hub organisation offers a volunteer, so "my page" shows how an offer looks.
        services.make_offer(
            need=need,
            actor=Actor(surface=AuditEvent.Surface.COMMAND, organization=hub),
            organization=hub,
            message="我们的志愿者每周三下午有空，可以来陪老人聊天。",
        )
