"""Demo events (volunteers/demo.py runs volunteers, then events, then hours).

- 官北沟社区: 祯祥社's "Together" (一起) series — a charity market and a free clinic that have taken place
  (participants attended, volunteers in their roles checked in and out: the hours demo turns those into
  service records), and, coming up, a first-aid training that is full with a waiting list (one place
  offered to the first in line) and an online psychology class with places left.
- 大龙社区: the counselling team's monthly listening circle and the dance team's anti-fraud square dance,
  a few held and one coming up each, with participants and volunteers.

Events are created through the services. Sign-ups to events still to come go through `sign_up` (so the
waiting list fills in arrival order and the offer is made like any other); sign-ups of events already held
are written as history rows (the services refuse to sign anyone up after the deadline). Idempotent: an event
is found by its community, series and title; an event that has sign-ups is left as it is.
"""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.utils import timezone

from charity.demo import DEMO_MOBILE_PREFIX
from charity.errors import DomainError
from charity.models import Area, AuditEvent, Organization, Person
from charity.services import Actor
from governance.models import Project

from . import services
from .models import Event, EventSeries, Signup, Volunteer, VolunteerRole

K = Event.Kind


def _at(days: int, hour: int, minute: int = 0) -> datetime.datetime:
    day = timezone.localdate() + datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


# community: staff username, then [(series name or None, organiser name, title, kind, place, starts in days,
#   start hour, hours, capacity, roles [(name, places, description)], participants, volunteers per role,
#   risky notice or "")]
PLAN = {
    "官北沟社区": {
        "staff": "gbg_staff",
        "series": (
            "一起",
            "祯祥社",
            "祯祥社的“一起”系列公益活动：公益市集、节日活动、义诊、公益讲座、急救培训、线上心理课堂。",
        ),
        "events": [
            (
                "祯祥社",
                "一起·公益集市",
                K.CHARITY_MARKET,
                "官北沟社区广场",
                -30,
                9,
                3,
                100,
                [("摊位协助", 4, "帮助商户和居民摆摊、收摊"), ("收银记账", 2, "市集义卖收入当场登记")],
                9,
                2,
                "",
            ),
            (
                "祯祥社",
                "一起·社区义诊",
                K.FREE_CLINIC,
                "官北沟社区卫生服务站",
                -14,
                9,
                3,
                60,
                [("引导", 3, "引导居民排队、登记"), ("量血压", 2, "协助医生为老人量血压")],
                8,
                2,
                "",
            ),
            (
                "祯祥社",
                "一起·急救培训",
                K.FIRST_AID_TRAINING,
                "官北沟社区党群服务中心二楼",
                10,
                14,
                3,
                8,
                [("助教", 1, "协助老师示范心肺复苏")],
                11,
                1,
                "练习心肺复苏时需跪地操作，膝盖不适者请告知老师。",
            ),
            (
                "祯祥社",
                "一起·线上心理课堂",
                K.ONLINE_CLASS,
                "",
                5,
                19,
                1.5,
                50,
                [("线上技术支持", 1, "帮助老人进入线上课堂")],
                6,
                1,
                "",
            ),
        ],
    },
    "大龙社区": {
        "staff": "dalong_staff",
        "series": None,
        "events": [
            *[
                (
                    "凤凰花志愿服务队",
                    f"心灵驿站·倾听小组（第{n}期）",
                    K.SERVICE_ACTIVITY,
                    "大龙社区长者服务站",
                    days,
                    14,
                    2,
                    15,
                    [("倾听志愿者", 3, "陪伴长者聊天、倾听")],
                    6,
                    2,
                    "",
                )
                for n, days in ((1, -60), (2, -30), (3, 12))
            ],
            *[
                (
                    "大龙社区舞蹈队",
                    f"反诈广场舞（第{n}场）",
                    K.SERVICE_ACTIVITY,
                    "大龙文化广场",
                    days,
                    19,
                    1.5,
                    0,
                    [("领舞", 4, "领跳反诈主题舞蹈"), ("反诈宣传", 2, "派发防诈骗宣传单")],
                    0,
                    3,
                    "夜间户外活动，请穿防滑鞋，注意广场周边车辆。",
                )
                for n, days in ((1, -45), (2, -15), (3, 8))
            ],
        ],
    },
}


def _say(stdout, text):
    if stdout is not None:
        stdout.write(text)


def _residents(community: Area) -> list[Person]:
    return list(
        Person.objects.filter(community=community, mobile__startswith=DEMO_MOBILE_PREFIX)
        .select_related("volunteer")
        .order_by("mobile")
    )


def _volunteers(community: Area) -> list[Volunteer]:
    return list(
        Volunteer.objects.filter(person__community=community, status=Volunteer.Status.ACTIVE)
        .select_related("person")
        .order_by("number")
    )


def _project_of(community, series) -> Project | None:
    """The project a series' events belong to: "一起" is 祯祥社's "Together" project (governance demo)."""
    if series is None:
        return None
    return Project.objects.filter(
        community=community, title__contains=f"“{series.name}”", lead_organization=series.organizer
    ).first()


def _event(community, series, organizer, row, actor) -> tuple[Event, bool]:
    (_org, title, kind, place, days, hour, hours, capacity, roles, _p, _v, risk) = row
    project = _project_of(community, series)
    event = Event.objects.filter(community=community, series=series, title=title).first()
    if event is not None:
        if project is not None and event.project_id is None and event.status == Event.Status.PUBLISHED:
            event.project = project
            services.save_event(event=event, actor=actor)
        return event, False
    starts = _at(days, hour)
    ends = starts + datetime.timedelta(hours=hours)
    event = services.create_event(
        actor=actor,
        community=community,
        series=series,
        project=project,
        organizer=organizer,
        kind=kind,
        title=title,
        description="",
        place=place,
        starts_at=starts,
        ends_at=ends,
        capacity=capacity,
        signup_deadline=starts - datetime.timedelta(hours=2),
        cancellation_cutoff=starts - datetime.timedelta(hours=6),
        is_risky=bool(risk),
        risk_notice=risk,
        roles=roles,
    )
    if risk:
        services.record_insurance(event=event, note="示例保险公司 团体意外险 DEMO-2026-001", actor=actor)
    return event, True


def _held(event: Event, participants: list[Person], volunteers: list[Volunteer], per_role: int) -> None:
    """History of an event already held: everyone confirmed, attended; volunteers checked in and out."""
    rows = []
    taken = set()
    roles = list(VolunteerRole.objects.filter(event=event).order_by("pk"))
    pool = iter(volunteers)
    for role in roles:
        for _ in range(min(per_role, role.capacity)):
            volunteer = next(pool, None)
            if volunteer is None:
                break
            taken.add(volunteer.person_id)
            rows.append(
                Signup(
                    event=event,
                    person=volunteer.person,
                    role=role,
                    volunteer=volunteer,
                    status=Signup.Status.CONFIRMED,
                    checked_in_at=event.starts_at - datetime.timedelta(minutes=15),
                    checked_out_at=event.ends_at,
                    check_in_method=Signup.CheckInMethod.STAFF,
                )
            )
    for i, person in enumerate(p for p in participants if p.pk not in taken):
        rows.append(
            Signup(
                event=event,
                person=person,
                status=Signup.Status.CONFIRMED,
                checked_in_at=event.starts_at + datetime.timedelta(minutes=i % 20),
                check_in_method=Signup.CheckInMethod.QR if i % 2 else Signup.CheckInMethod.STAFF,
            )
        )
    Signup.objects.bulk_create(rows)


def _try(service, **kwargs):
    """A demo sign-up the rules refuse (e.g. a volunteer whose registration lapsed) is skipped, not fatal."""
    try:
        return service(**kwargs)
    except DomainError:
        return None


def _coming(event, participants, volunteers, per_role, actor) -> None:
    """Sign-ups to an event still to come, through the service: places first, then the waiting list."""
    for role in VolunteerRole.objects.filter(event=event).order_by("pk"):
        for volunteer in volunteers[:per_role]:
            _try(services.sign_up, event=event, person=volunteer.person, role=role, actor=actor)
        volunteers = volunteers[per_role:]
    signed = set(Signup.objects.filter(event=event).values_list("person_id", flat=True))
    if event.capacity:
        for person in [p for p in participants if p.pk not in signed]:
            _try(services.sign_up, event=event, person=person, actor=actor)
    # A full event: the first confirmed participant cancels, so the first in line is offered the place.
    if Signup.objects.filter(event=event, role=None, status=Signup.Status.WAITING).count() >= 2:
        first = (
            Signup.objects.filter(event=event, role=None, status=Signup.Status.CONFIRMED)
            .order_by("pk")
            .first()
        )
        services.cancel_signup(signup=first, actor=actor)


def seed(stdout=None):
    User = get_user_model()
    for community_name, plan in PLAN.items():
        community = Area.objects.filter(name=community_name, level=Area.Level.COMMUNITY).first()
        staff = User.objects.filter(username=plan["staff"]).first()
        if community is None or staff is None:
            continue
        actor = Actor(surface=AuditEvent.Surface.COMMAND, user=staff)
        series = None
        if plan["series"]:
            name, organiser_name, description = plan["series"]
            organiser = Organization.objects.filter(name=organiser_name).first()
            if organiser is None:
                continue
            series = EventSeries.objects.filter(community=community, name=name).first()
            if series is None:
                series = services.save_series(
                    series=EventSeries(
                        community=community, organizer=organiser, name=name, description=description
                    ),
                    actor=actor,
                )
        residents = _residents(community)
        volunteers = _volunteers(community)
        made = 0
        for offset, row in enumerate(plan["events"]):
            organiser = Organization.objects.filter(name=row[0]).first()
            if organiser is None:
                continue
            event, created = _event(community, series, organiser, row, actor)
            made += created
            if Signup.objects.filter(event=event).exists():
                continue
            participants = (residents[offset:] + residents[:offset])[: row[9]]
            rotated = (
                volunteers[offset % max(len(volunteers), 1) :]
                + volunteers[: offset % max(len(volunteers), 1)]
            )
            if event.ends_at < timezone.now():
                _held(event, participants, rotated, row[10])
            else:
                _coming(event, participants, rotated, row[10], actor)
        if made:
            _say(stdout, f"{community_name}: {made} events\n")
