"""Demo coordination meetings of Guanbeigou's city–district–street–community mechanism (DOMAIN.md, the seed
study: a coordination mechanism led by a city working group), with decisions and action items: one overdue,
one escalated from the community to the street, one done, others in progress. Dates are relative to today.

Written through the services, as in governance/demo.py: a past step runs under a clock set to that moment
(`_clock`, which sets django.utils.timezone.now for the step), so that a meeting held six weeks ago was
planned, minuted and published then, and its action items were due in what was then the future. Nothing is
changed after the fact; the daily chase (`mark_overdue_and_escalate`) then runs for today, as the beat task
would. Idempotent: a meeting is looked up by its area and title and, when it exists, skipped whole; the
chase does nothing twice.
"""

from __future__ import annotations

import contextlib
import datetime
from unittest import mock

from django.db import transaction
from django.utils import timezone

from charity.models import Area, AuditEvent, Organization
from charity.services import Actor

from . import services
from .models import ActionItem, Meeting

# (area key, kind, title, days ago it was held (negative: planned that many days ahead), place, participants,
#  public minutes, [(decision, [(action item, owner organisation, due in days from today, progress)])])
# progress: [(days ago, note, status)]
MEETINGS = [
    (
        "jiuquan",
        "regular",
        "酒泉市社区慈善工作专班例会",
        60,
        "市民政局三楼会议室",
        ["酒泉市慈善联合总会", "示例街道办事处"],
        "市工作专班听取各区社区慈善基金建设情况汇报，部署下一阶段“市—区—街道—社区”四级联动工作。",
        [
            (
                "各区推动社区慈善基金全覆盖，街道每季度向专班报告一次进展。",
                [
                    (
                        "汇总各社区慈善基金设立与公示情况",
                        "酒泉市慈善联合总会",
                        25,
                        [(40, "已向各区发出统计表，收回一半。", "in_progress")],
                    )
                ],
            )
        ],
    ),
    (
        "suzhou",
        "follow_up",
        "肃州区社区慈善进展跟进会",
        20,
        "区民政局会议室",
        ["示例街道办事处", "酒泉示例社会工作服务中心"],
        "区里逐项跟进市工作专班交办事项，听取各街道落实情况。",
        [
            (
                "督促各街道落实社区居民议事会决议，督办事项逾期的由区里跟进。",
                [("整理各街道督办事项台账", "示例街道办事处", 12, [])],
            )
        ],
    ),
    (
        "guanbeigou",
        "regular",
        "官北沟社区工作例会",
        45,
        "官北沟社区议事厅",
        ["官北沟社区居民委员会", "祯祥社", "官北沟小区物业服务中心", "官北沟心理咨询志愿服务队"],
        "会议听取居民反映的楼道照明、公益市集和心理咨询课堂安排，形成三项决定，分别明确责任单位和完成时限。",
        [
            (
                "12 号楼等老旧楼栋楼道照明损坏，由物业在一个月内修复。",
                # Overdue by more than ACTION_ITEM_ESCALATE_DAYS: escalated to the street.
                [("修复老旧楼栋楼道照明", "官北沟小区物业服务中心", -20, [(30, "已查明损坏灯具数量。", "")])],
            ),
            (
                "由祯祥社牵头，本季度举办一次“一起”公益市集。",
                # Overdue by a few days: marked overdue, not yet escalated.
                [("举办“一起”公益市集", "祯祥社", -5, [(15, "场地已确定，正在招募摊主。", "in_progress")])],
            ),
            (
                "心理咨询志愿服务队每月开设一次线上心理课堂。",
                [
                    (
                        "开设线上心理课堂",
                        "官北沟心理咨询志愿服务队",
                        5,
                        [(10, "首期课堂已开，30 人参加。", "done")],
                    )
                ],
            ),
        ],
    ),
    (
        "gbg_street",
        "key_issue",
        "示例街道重点事项会议",
        -5,
        "示例街道办事处会议室",
        ["示例街道办事处", "官北沟社区居民委员会", "官北沟小区物业服务中心"],
        "",  # planned: its agenda shows the item escalated from 官北沟社区
        [],
    ),
]


@contextlib.contextmanager
def _clock(moment: datetime.datetime):
    """Run the services as if it were `moment` (see the module's docstring)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def _moment(today: datetime.date, days_ago: int, hour: int = 10) -> datetime.datetime:
    day = today - datetime.timedelta(days=days_ago)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def _organizations(names) -> dict[str, Organization]:
    return {o.name: o for o in Organization.objects.filter(name__in=names)}


def _seed_meeting(row, area: Area, orgs: dict, today: datetime.date, actor: Actor, stdout) -> None:
    _key, kind, title, days_ago, place, participants, public_minutes, decisions = row
    if Meeting.objects.filter(area=area, title=title).exists():
        return
    held = days_ago > 0
    with _clock(_moment(today, max(days_ago, 0) + 7)):  # planned a week before it was held (or today)
        meeting = services.create_meeting(
            area=area,
            kind=kind,
            title=title,
            starts_at=_moment(today, days_ago, hour=9),
            place=place,
            participant_organizations=[orgs[n] for n in participants if n in orgs],
            convenor_organization=orgs.get(participants[0]),
            actor=actor,
        )
    if not held:
        return
    with _clock(_moment(today, days_ago, hour=11)):
        recorded = []
        for text, items in decisions:
            recorded.append((services.record_decision(meeting=meeting, text=text, actor=actor), items))
        services.record_minutes(
            meeting=meeting, minutes=public_minutes, public_minutes=public_minutes, actor=actor
        )
        for decision, items in recorded:
            for item_title, owner, due_in, _progress in items:
                services.create_action_item(
                    decision=decision,
                    title=item_title,
                    owner_organization=orgs[owner],
                    due_on=today + datetime.timedelta(days=due_in),
                    actor=actor,
                )
    with _clock(_moment(today, days_ago - 1, hour=10)):
        services.publish_minutes(meeting=meeting, actor=actor)
    for decision, items in recorded:
        for item_title, _owner, _due, progress in items:
            item = ActionItem.objects.get(decision=decision, title=item_title)
            for noted_days_ago, note, status in progress:
                with _clock(_moment(today, noted_days_ago, hour=16)):
                    services.update_action_item(item=item, note=note, status=status, actor=actor)
    if stdout is not None:
        stdout.write(f"{area.name}: “{title}” held, minuted and published.")


def _guanbeigou_levels() -> dict[str, Area] | None:
    """The demo's Guanbeigou chain by key, or None when the core demo has not created it (nothing is made)."""
    from charity.demo import AREAS

    found, node = {}, None
    for key, (name, _level, _code, _illustrative) in zip(
        ("jiuquan", "suzhou", "gbg_street", "guanbeigou"), AREAS["guanbeigou"], strict=True
    ):
        siblings = Area.objects.get_root_nodes() if node is None else Area.objects.get_children(node)
        node = siblings.filter(name=name).first()
        if node is None:
            return None
        found[key] = node
    return found


def _owners(row) -> set[str]:
    return {owner for _decision, items in row[7] for _title, owner, _due, _progress in items}


@transaction.atomic
def seed(stdout=None) -> None:
    """Guanbeigou's four levels of meetings, then today's chase (overdue marked, one item escalated). Skips
    what the core demo has not created (the areas, an owner organisation)."""
    area = _guanbeigou_levels()
    if area is None:
        return
    actor = Actor.system(AuditEvent.Surface.COMMAND)
    today = timezone.localdate()
    orgs = _organizations(
        {name for row in MEETINGS for name in row[5]} | set().union(*map(_owners, MEETINGS))
    )
    # The street's planned meeting first, so an item escalated today goes on its agenda.
    for row in sorted(MEETINGS, key=lambda r: r[3]):
        if not _owners(row) <= set(orgs):
            continue
        _seed_meeting(row, area[row[0]], orgs, today, actor, stdout)
    result = services.mark_overdue_and_escalate(today=today)
    if stdout is not None and any(result.values()):
        stdout.write(f"Action items: {result['overdue']} marked overdue, {result['escalated']} escalated.")
