"""Demo committees for the two seed-study communities. Idempotent: runs after the funds are seeded, and
running it twice changes nothing (people are looked up by name and community, members by person)."""

import contextlib
import datetime
import io
from unittest import mock

from django.db import transaction
from django.utils import timezone

from charity.models import AuditEvent, Organization, Person
from charity.services import Actor, save_organization
from funds.models import Fund
from funds.selectors import spendable_on

from . import demo_meetings, demo_projects, demo_topics, services
from .models import Committee, Membership, Proposal, ProposalAttachment
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
    _seed_proposals(committees, stdout)
    demo_meetings.seed(stdout)  # Guanbeigou's city–district–street–community meetings and action items
    demo_projects.seed(stdout)  # the "Together" project; Dalong's handrails, table tennis and CCTV
    # Last: a topic links to the "Together" project, so it runs after the projects' demo.
    demo_topics.seed(stdout)  # residents' topics in both communities, with supporters and comments
    return committees


# --- allocation proposals: the study's three spendings and one notice in 大龙社区, a vote in 官北沟社区 ---
#
# Written through the services, so the ledger, the timeline, the tally and the audit log are what they would
# be. A past spending needs a past clock: the services read the time from django.utils.timezone.now (and so
# do the models' auto_now_add fields), and a vote's public notice must have run its days before money
# moves — no service backdates that, and none should. So each step of the past runs under `_clock(moment)`,
# which sets django.utils.timezone.now to that moment for the step (this command is single-threaded; the
# test helper time_machine is a development dependency and not installed with the demo). Nothing else is
# changed after the fact. Idempotent: a proposal is looked up by its committee and title and, when it exists,
# skipped whole (each is written in the seed's one transaction).

PDF_MINUTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

# (title, purpose, amount in yuan, beneficiary, proposer member or None, budget lines in yuan,
#  days ago voting opened, {member: choice}, the supervisor's opinion, tranches [(days ago, yuan)],
#  report (days ago, outcomes, people served) or None, days ago closed or None)
DALONG_SPENT = [
    (
        "老旧楼栋加装楼梯扶手",
        "楼梯扶手安装",
        24_000,
        "大龙示例五金建材店",
        "梁伟明",
        [("不锈钢扶手 120 米", 16_800), ("安装人工", 6_000), ("防滑条", 1_200)],
        200,
        {"黄志明": "yes", "陈嘉怡": "yes", "何少芬": "yes", "郑国良": "yes"},
        "程序合规，报价已比较三家，同意。",
        [(180, 14_000), (150, 10_000)],
        (120, "12 栋无电梯老楼全部装好双侧扶手，楼长回访独居老人，上下楼更放心。", 260),
        110,
    ),
    (
        "社区乒乓球场翻新",
        "乒乓球场翻新",
        18_000,
        "大龙示例体育设施公司",
        None,
        [("球台 4 张", 9_600), ("地面翻新", 6_400), ("围网与照明", 2_000)],
        140,
        {"黄志明": "yes", "陈嘉怡": "yes", "梁伟明": "yes", "何少芬": "yes", "郑国良": "abstain"},
        "同意。建议翻新后由居民自治管理开放时间。",
        [(120, 18_000)],
        (90, "球场翻新后每天开放，居民自组乒乓球队，周末有青少年培训。", 180),
        85,
    ),
    (
        "小区监控建设",
        "小区监控建设",
        30_000,
        "大龙示例安防工程有限公司",
        None,
        [("摄像头 16 个", 19_200), ("存储与线路", 7_800), ("安装调试", 3_000)],
        80,
        {"黄志明": "yes", "陈嘉怡": "yes", "梁伟明": "no", "何少芬": "yes", "郑国良": "abstain"},
        "同意。请在公示中说明录像保存期限与查看规则。",
        [(60, 20_000), (40, 10_000)],
        (20, "主要出入口和楼道安装 16 个摄像头，录像保存 30 天，查看须经居委会登记。", 1_500),
        None,
    ),
]
DALONG_IN_NOTICE = (
    "长者饭堂助餐补贴（第一季度）",
    "长者助餐服务",
    12_000,
    "凤凰花志愿服务队",
    [("助餐补贴 600 人次", 12_000)],
    4,  # voting opened 4 days ago and decided at a meeting the next day: in public notice now
    {"黄志明": "yes", "陈嘉怡": "yes", "梁伟明": "yes", "何少芬": "yes", "郑国良": "yes"},
)
GBG_VOTING = (
    "急救培训器材采购",
    "急救培训器材",
    8_000,
    "祯祥社",
    [("心肺复苏训练模型 2 套", 5_600), ("自动体外除颤训练机", 2_400)],
)
SUMMARIES = {
    "老旧楼栋加装楼梯扶手": (
        "社区 12 栋无电梯老楼的楼梯没有扶手，老年居民上下楼多次摔倒。为这些楼栋加装双侧不锈钢扶手和防滑条。"
    ),
    "社区乒乓球场翻新": (
        "社区乒乓球场球台破损、地面开裂，晚上没有照明。更换球台、翻新地面，加装围网和照明，免费向居民开放。"
    ),
    "小区监控建设": (
        "小区主要出入口和楼道没有监控，电动车失窃和高空抛物难以查证。"
        "安装 16 个摄像头，录像只用于处理居民报案。"
    ),
    "长者饭堂助餐补贴（第一季度）": (
        "为社区 80 岁以上和独居老人在长者饭堂用餐提供每餐 20 元补贴，第一季度约 600 人次，由志愿者送餐上门。"
    ),
    "急救培训器材采购": "购买心肺复苏训练模型和除颤训练机，用于社区居民急救培训，每月开课一次。",
}
ILLUSTRATIVE_ORGANIZATIONS = {
    "大龙示例五金建材店": Organization.Type.MERCHANT,
    "大龙示例体育设施公司": Organization.Type.ENTERPRISE,
    "大龙示例安防工程有限公司": Organization.Type.ENTERPRISE,
}


_TODAY = [datetime.date.min]  # set by _seed_proposals before any _clock


@contextlib.contextmanager
def _clock(moment: datetime.datetime):
    """Run the services as if it were `moment` (see the comment above DALONG_SPENT)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def _days_ago(days: int, hour: int = 10) -> datetime.datetime:
    """A moment `days` before the real today (never a _clock's: call it outside one)."""
    day = _TODAY[0] - datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def _organization(name, community, actor) -> Organization:
    found = Organization.objects.filter(name=name).first()
    if found is None:
        found = save_organization(
            organization=Organization(
                name=name, type=ILLUSTRATIVE_ORGANIZATIONS[name], area=community, is_illustrative=True
            ),
            actor=actor,
        )
    return found


def _picture(title: str) -> bytes:
    """An illustrative picture for a report: a flat drawing, no photograph of anyone."""
    from PIL import Image, ImageDraw

    seed = sum(title.encode())
    image = Image.new("RGB", (800, 500), (230 - seed % 40, 238, 228))
    draw = ImageDraw.Draw(image)
    for step in range(8):  # steps, or rows of seats, or a wall: something built
        draw.rectangle([80 + step * 70, 420 - step * 45, 150 + step * 70, 440], fill=(170, 160, 150))
    draw.line([(80, 360), (710, 45)], fill=(179, 38, 30), width=10)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _to_a_decision(
    committee,
    member_of,
    actor,
    *,
    title,
    purpose,
    yuan,
    beneficiary,
    proposer,
    lines,
    opened,
    choices,
    opinion=None,
    decided=None,
):
    """A proposal put to the vote and, if `decided`, voted on paper at a meeting then; None (nothing written)
    when the fund does not hold the money — the demo funds' donations were not seeded."""
    if spendable_on(committee.fund, purpose) < yuan * 100:
        return None
    proposal = services.create_proposal(
        committee=committee,
        fund=committee.fund,
        title=title,
        summary=SUMMARIES[title],
        amount_fen=yuan * 100,
        purpose=purpose,
        beneficiary_organization=beneficiary,
        proposer_person=member_of[proposer].person if proposer else None,
        budget_lines=[(item, amount * 100) for item, amount in lines],
        actor=actor,
    )
    services.submit_proposal(proposal=proposal, actor=actor)
    services.open_voting(proposal=proposal, deadline=opened + datetime.timedelta(days=7), actor=actor)
    if decided is None:
        return proposal
    with _clock(decided):
        minutes = services.add_attachment(
            proposal=proposal,
            kind=ProposalAttachment.Kind.MINUTES,
            name="会议纪要.pdf",
            content=PDF_MINUTES,
            content_type="application/pdf",
            actor=actor,
        )
        supervisor = next((m for m in member_of.values() if not m.is_voting), None)
        if opinion and supervisor is not None:
            services.record_supervisor_opinion(
                proposal=proposal, membership=supervisor, text=opinion, actor=actor
            )
        services.record_paper_ballots(
            proposal=proposal,
            choices={member_of[name]: choice for name, choice in choices.items() if name in member_of},
            minutes=minutes,
            actor=actor,
        )
    proposal.refresh_from_db()
    return proposal


def _members(committee) -> dict:
    return {m.person.name: m for m in committee.memberships.select_related("person")}


def _seed_proposals(committees: dict, stdout=None) -> None:
    actor = Actor.system(AuditEvent.Surface.COMMAND)
    _TODAY[0] = timezone.localdate()
    dalong = committees.get("大龙社区")
    if dalong is not None:
        member_of = _members(dalong)
        community = dalong.fund.community
        for (
            title,
            purpose,
            yuan,
            beneficiary,
            proposer,
            lines,
            opened_days,
            choices,
            opinion,
            tranches,
            report,
            closed_days,
        ) in DALONG_SPENT:
            if Proposal.objects.filter(committee=dalong, title=title).exists():
                continue
            opened, decided = _days_ago(opened_days), _days_ago(opened_days - 3)
            with _clock(opened):
                proposal = _to_a_decision(
                    dalong,
                    member_of,
                    actor,
                    title=title,
                    purpose=purpose,
                    yuan=yuan,
                    beneficiary=_organization(beneficiary, community, actor),
                    proposer=proposer,
                    lines=lines,
                    opened=opened,
                    choices=choices,
                    opinion=opinion,
                    decided=decided,
                )
            if proposal is None or proposal.status != Proposal.Status.NOTICE:
                continue
            with _clock(proposal.notice_ends_at + datetime.timedelta(hours=1)):
                services.end_due_notices()
            for days, amount in tranches:
                with _clock(_days_ago(days, 15)):
                    services.disburse(
                        proposal=proposal,
                        amount_fen=amount * 100,
                        paid_on=timezone.localdate(),
                        reference=f"PY-{proposal.pk:04d}-{days}",
                        actor=actor,
                    )
            if report is not None:
                days, outcomes, people = report
                with _clock(_days_ago(days)):
                    services.submit_report(
                        proposal=proposal, outcomes=outcomes, people_served=people, actor=actor
                    )
                    services.add_attachment(
                        proposal=proposal,
                        kind=ProposalAttachment.Kind.PHOTO,
                        name=f"{title}.png",
                        content=_picture(title),
                        content_type="image/png",
                        actor=actor,
                        is_public=True,
                    )
            if closed_days is not None:
                with _clock(_days_ago(closed_days)):
                    services.close_proposal(proposal=proposal, actor=actor)
            if stdout is not None:
                stdout.write(f"{dalong.name}: “{title}” decided, paid and reported.")
        title, purpose, yuan, beneficiary, lines, opened_days, choices = DALONG_IN_NOTICE
        organization = Organization.objects.filter(name=beneficiary).first()
        if organization is not None and not Proposal.objects.filter(committee=dalong, title=title).exists():
            opened, decided = _days_ago(opened_days), _days_ago(opened_days - 3)
            with _clock(opened):
                _to_a_decision(
                    dalong,
                    member_of,
                    actor,
                    title=title,
                    purpose=purpose,
                    yuan=yuan,
                    beneficiary=organization,
                    proposer=None,
                    lines=lines,
                    opened=opened,
                    choices=choices,
                    opinion="同意。",
                    decided=decided,
                )
    gbg = committees.get("官北沟社区")
    if gbg is not None:
        title, purpose, yuan, beneficiary, lines = GBG_VOTING
        organization = Organization.objects.filter(name=beneficiary).first()
        if organization is not None and not Proposal.objects.filter(committee=gbg, title=title).exists():
            # In voting now: 王秀英 (the demo's resident log-in) sits on this committee and can vote on it.
            opened = _days_ago(1)
            with _clock(opened):
                _to_a_decision(
                    gbg,
                    _members(gbg),
                    actor,
                    title=title,
                    purpose=purpose,
                    yuan=yuan,
                    beneficiary=organization,
                    proposer=None,
                    lines=lines,
                    opened=opened,
                    choices={},
                )
