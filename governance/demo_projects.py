"""Demo service projects of the two seed-study communities (docs/projects.md). Idempotent: a project is looked
up by its community and title and, when it exists, left whole; dates are relative to today.

- 官北沟社区: 祯祥社's fourteen-month "Together" (一起) project, eight months in: milestones reached and not,
  progress reports, the first quarter's disclosure on time, the second overdue, the third due now;
- 大龙社区: the stair handrails, the table-tennis court and the estate CCTV, each funded by the allocation
  proposal of the same name (governance/demo.py) when the proposals' demo wrote it, ended and evaluated; the
  first two have published their final disclosure, the CCTV's is due.

Written through the services under a past clock, as governance/demo.py does for the proposals (see the
comment above its DALONG_SPENT): each past step runs with django.utils.timezone.now set to its moment.
"""

import contextlib
import datetime
from unittest import mock

from dateutil.relativedelta import relativedelta
from django.utils import timezone

from charity.models import Area, AuditEvent, Organization, Person
from charity.services import Actor

from . import projects
from .models import Milestone, Project, Proposal

# The community, its lead organisation, the project; milestones [(title, days after the start, reached
# days after the start or None)]; progress [(days after the start, text, people reached or None, milestone)].
TOGETHER = {
    "community": "官北沟社区",
    "lead": "祯祥社",
    "title": "“一起”社区公益服务项目",
    "summary": (
        "祯祥社牵头的“一起”系列：每月一场公益市集，社区义诊、公益讲座、急救培训和线上心理课堂轮流开展，"
        "把居民的需要和商户、志愿者的资源连在一起。"
    ),
    "goals": (
        "十四个月内举办 40 场“一起”系列活动；培训 100 名居民掌握心肺复苏和止血包扎；"
        "为 300 位老人提供义诊；让更多受助居民成为志愿者。"
    ),
    "beneficiary_groups": "社区老年人、儿童和困难家庭，以及参加活动的全体居民",
    "target_beneficiaries": 1500,
    "budget_fen": 6_000_000,
    "criteria": [
        "举办“一起”系列活动 40 场以上",
        "100 名居民完成急救培训",
        "义诊服务老人 300 人次",
        "居民满意度 4 分以上（5 分制）",
    ],
    "months": 14,
    "started_days_ago": 245,
    "milestones": [
        ("首场“一起·公益集市”开市", 30, 28),
        ("“一起·社区义诊”每月常态开展", 90, 95),
        ("急救培训满 100 人", 240, None),
        ("线上心理课堂上线", 300, None),
    ],
    "progress": [
        (28, "首场公益集市在社区广场开市，32 家商户和 6 支志愿队参加，义卖收入计入社区慈善基金。", 420, 0),
        (95, "社区义诊改为每月第二个周六常态开展，前三次共服务老人 126 人次。", 560, 1),
        (170, "急救培训已开 5 期，63 名居民取得结业证书；中秋节“一起”活动吸引 300 余名居民。", 890, None),
        (230, "急救培训累计 88 人；两名曾受助的居民加入志愿服务队。", 1040, None),
    ],
    # The first quarter disclosed a few days before it was due; the second quarter's is overdue.
    "disclosures": [
        (88, 0, 88, "前三个月举办活动 9 场，支出 13,560 元（物资、场地布置、培训教材）。", 1_356_000)
    ],
}

NO_LEFTOVER = "无结余：拨付款项全部用于本项目。"

DALONG = [
    {
        "title": "老旧楼栋加装楼梯扶手",
        "lead": "大龙社区居民委员会",
        "summary": "为社区 12 栋无电梯老楼加装双侧不锈钢扶手和防滑条，方便老年居民上下楼。",
        "goals": "两个月内 12 栋楼全部装好扶手；安装后楼长回访每一位独居老人。",
        "beneficiary_groups": "无电梯老楼的老年居民，尤其是独居老人",
        "target_beneficiaries": 240,
        "budget_fen": 2_400_000,
        "criteria": ["12 栋楼全部装好双侧扶手", "楼长回访全部独居老人", "居民满意度 4 分以上（5 分制）"],
        "proposal": "老旧楼栋加装楼梯扶手",
        "started_days_ago": 200,
        "ended_days_ago": 115,
        "milestones": [
            ("完成 12 栋楼入户摸底", 10, 9),
            ("扶手安装完工", 60, 58),
            ("楼长回访独居老人", 85, 84),
        ],
        "progress": [
            (9, "12 栋楼入户摸底完成，确定 120 米扶手的安装位置。", 240, 0),
            (58, "12 栋楼扶手全部装好，防滑条同步铺设。", 240, 1),
        ],
        "evaluation": (
            110,
            [(True, "12 栋全部完成"), (True, "回访独居老人 38 位"), (True, "问卷 4.6 分")],
            260,
            "扶手全部按期装好，回访的独居老人都说上下楼更放心；有两栋楼的居民自发组织了楼道清洁。",
            "大龙社区居民委员会、居民代表",
        ),
        "final": (
            100,
            "项目结束。支出 24,000 元：不锈钢扶手 16,800 元、安装人工 6,000 元、防滑条 1,200 元。",
            2_400_000,
            0,
            NO_LEFTOVER,
        ),
    },
    {
        "title": "社区乒乓球场翻新",
        "lead": "大龙社区居民委员会",
        "summary": "更换破损球台、翻新地面，加装围网和照明，翻新后免费向居民开放。",
        "goals": "一个半月内完成翻新；翻新后每天开放，由居民自治管理开放时间。",
        "beneficiary_groups": "社区居民，尤其是青少年和中老年运动爱好者",
        "target_beneficiaries": 150,
        "budget_fen": 1_800_000,
        "criteria": ["球场翻新完工并每天开放", "成立居民自治的球场管理小组", "居民满意度 4 分以上（5 分制）"],
        "proposal": "社区乒乓球场翻新",
        "started_days_ago": 140,
        "ended_days_ago": 88,
        "milestones": [("球台和地面翻新完工", 40, 38), ("球场管理小组成立", 52, 50)],
        "progress": [(38, "4 张新球台到位，地面翻新完成，晚上可以照明打球。", 120, 0)],
        "evaluation": (
            85,
            [(True, "每天 7:00–21:30 开放"), (True, "管理小组 7 人"), (True, "问卷 4.4 分")],
            180,
            "球场翻新后每天开放，居民自组乒乓球队，周末有青少年培训。",
            "大龙社区居民委员会、球场管理小组",
        ),
        "final": (
            80,
            "项目结束。支出 18,000 元：球台 9,600 元、地面翻新 6,400 元、围网与照明 2,000 元。",
            1_800_000,
            0,
            NO_LEFTOVER,
        ),
    },
    {
        "title": "小区监控建设",
        "lead": "大龙社区居民委员会",
        "summary": "在主要出入口和楼道安装 16 个摄像头，录像只用于处理居民报案，查看须经居委会登记。",
        "goals": "两个月内装好 16 个摄像头；公布录像保存期限和查看规则；减少电动车失窃。",
        "beneficiary_groups": "小区全体居民",
        "target_beneficiaries": 15000,
        "budget_fen": 3_000_000,
        "criteria": ["16 个摄像头安装并正常运行", "公布录像保存与查看规则", "电动车失窃报案比上年同期减少"],
        "proposal": "小区监控建设",
        "started_days_ago": 80,
        "ended_days_ago": 25,
        "milestones": [("出入口摄像头安装", 30, 28), ("楼道摄像头安装与调试", 55, 54)],
        "progress": [
            (28, "主要出入口 6 个摄像头安装完成。", None, 0),
            (54, "楼道 10 个摄像头安装调试完成；录像保存 30 天，查看规则在公告栏和本平台公布。", 1500, 1),
        ],
        "evaluation": (
            20,
            [(True, "16 个全部运行"), (True, "规则已公示"), (False, "运行时间尚短，下季度再比较")],
            15000,
            "摄像头全部运行，查看规则已公示。失窃是否减少要再观察一个季度，下次评议时补报。",
            "大龙社区居民委员会、居民代表",
        ),
        "final": None,  # due within three months of the end: shown as due on the project's page
    },
]


@contextlib.contextmanager
def _clock(moment: datetime.datetime):
    """Run the services as if it were `moment` (governance/demo.py, comment above DALONG_SPENT)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def _at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def _write(spec: dict, community: Area, lead: Organization, actor: Actor, *, start, end, ended_on=None):
    """The project through the services, each step at its own day; None if it exists already."""
    if Project.objects.filter(community=community, title=spec["title"]).exists():
        return None
    with _clock(_at(start - datetime.timedelta(days=20))):
        project = projects.create_project(
            actor=actor,
            community=community,
            lead_organization=lead,
            title=spec["title"],
            summary=spec["summary"],
            goals=spec["goals"],
            beneficiary_groups=spec["beneficiary_groups"],
            target_beneficiaries=spec["target_beneficiaries"],
            budget_fen=spec["budget_fen"],
            evaluation_criteria="\n".join(spec["criteria"]),
            starts_on=start,
            ends_on=end,
            milestones=[(t, start + datetime.timedelta(days=d)) for t, d, _reached in spec["milestones"]],
        )
    with _clock(_at(start, 9)):
        project = projects.start_project(actor=actor, project=project)
    milestones = list(Milestone.objects.filter(project=project).order_by("due_on", "position", "id"))
    steps = [(d, "progress", row) for d, *row in spec["progress"]]
    steps += [(r, "milestone", i) for i, (_t, _d, r) in enumerate(spec["milestones"]) if r is not None]
    for offset, kind, row in sorted(steps, key=lambda s: (s[0], s[1] == "progress")):
        day = start + datetime.timedelta(days=offset)
        with _clock(_at(day, 16)):
            if kind == "milestone":
                projects.reach_milestone(actor=actor, milestone=milestones[row], reached_on=day)
            else:
                text, people, milestone = row
                projects.report_progress(
                    actor=actor,
                    project=project,
                    text=text,
                    reported_on=day,
                    milestone=milestones[milestone] if milestone is not None else None,
                    people_reached=people,
                )
    if ended_on is not None:
        with _clock(_at(ended_on, 17)):
            project = projects.end_project(actor=actor, project=project)
    # Recorded today: the allocation proposal of that name which paid for it, if the proposals' demo wrote it.
    title = spec.get("proposal")
    proposal = (
        Proposal.objects.filter(fund__community=community, title=title, project__isnull=True).first()
        if title
        else None
    )
    if proposal is not None:
        projects.link_proposal(actor=actor, project=project, proposal=proposal)
    return project


def _seed_together(actor: Actor, today: datetime.date, stdout=None) -> None:
    spec = TOGETHER
    community = Area.objects.filter(name=spec["community"], level=Area.Level.COMMUNITY).first()
    lead = Organization.objects.filter(name=spec["lead"]).first()
    if community is None or lead is None:
        return  # the core demo did not create them
    start = today - datetime.timedelta(days=spec["started_days_ago"])
    end = start + relativedelta(months=spec["months"])
    project = _write(spec, community, lead, actor, start=start, end=end)
    if project is None:
        return
    for published, period_from, period_to, text, spent in spec["disclosures"]:
        with _clock(_at(start + datetime.timedelta(days=published), 11)):
            projects.publish_disclosure(
                actor=actor,
                project=project,
                kind="progress",
                period_start=start + datetime.timedelta(days=period_from),
                period_end=start + datetime.timedelta(days=period_to),
                text=text,
                spent_fen=spent,
            )
    # The demo's resident log-in follows the project and rates it (residents rate from the start on).
    resident = Person.objects.filter(community=community, user__isnull=False).order_by("id").first()
    if resident is not None:
        project.followers.add(resident)
        projects.rate_project(
            actor=Actor(surface=AuditEvent.Surface.PORTAL, user=resident.user),
            project=project,
            rating=5,
            comment="义诊和急救培训都很实用，希望一直办下去。",
        )
    if stdout is not None:
        stdout.write(f"{community.name}: “{project.title}” planned, running, one disclosure overdue.")


def _seed_dalong(actor: Actor, today: datetime.date, stdout=None) -> None:
    community = Area.objects.filter(name="大龙社区", level=Area.Level.COMMUNITY).first()
    if community is None:
        return
    for spec in DALONG:
        lead = Organization.objects.filter(name=spec["lead"]).first()
        if lead is None:
            continue
        start = today - datetime.timedelta(days=spec["started_days_ago"])
        ended_on = today - datetime.timedelta(days=spec["ended_days_ago"])
        project = _write(spec, community, lead, actor, start=start, end=ended_on, ended_on=ended_on)
        if project is None:
            continue
        days_ago, results, people, summary, evaluator = spec["evaluation"]
        with _clock(_at(today - datetime.timedelta(days=days_ago), 15)):
            projects.record_evaluation(
                actor=actor,
                project=project,
                criteria_results=results,
                people_reached=people,
                summary=summary,
                evaluator=evaluator,
            )
        if spec["final"] is not None:
            days_ago, text, spent, leftover, use = spec["final"]
            with _clock(_at(today - datetime.timedelta(days=days_ago), 11)):
                projects.publish_disclosure(
                    actor=actor,
                    project=project,
                    kind="final",
                    period_start=start,
                    period_end=ended_on,
                    text=text,
                    spent_fen=spent,
                    leftover_fen=leftover,
                    leftover_use=use,
                )
        if stdout is not None:
            stdout.write(f"{community.name}: “{project.title}” ended and evaluated.")


def seed(stdout=None) -> None:
    """Create the demo projects where missing (after the proposals' demo: the Dalong ones link to them)."""
    actor = Actor.system(AuditEvent.Surface.COMMAND)
    today = timezone.localdate()
    _seed_together(actor, today, stdout)
    _seed_dalong(actor, today, stdout)
