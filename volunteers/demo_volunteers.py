"""Demo volunteers (volunteers/demo.py runs volunteers, then events, then hours).

- 大龙社区: the counselling volunteer team (凤凰花志愿服务队, from the study) and a dance volunteer team with
  their volunteers; a leader (梁伟明) found at an event, leading the counselling team, who brought several
  of them in ("one brings many"); a second leader leading the dance team.
- 官北沟社区: volunteers of the counselling team for the "Together" (一起) events, and a leader found by a
  survey, sitting on a committee.

Every person and ID number here is invented: the people are flagged `is_illustrative` (charity/demo.py made
them), the extra volunteers too, and the ID numbers use region codes no county has (449999, 629999), so no
demo number can be a real person's. The dance volunteer team is an illustrative stand-in (the study's dance
team is a community group). Idempotent: a volunteer is found by their person, a leader by theirs, a
responsibility by its person, kind and team.
"""

import datetime

from django.contrib.auth import get_user_model

from charity.demo import DEMO_MOBILE_PREFIX
from charity.models import Area, AuditEvent, Organization, Person
from charity.services import Actor

from . import services
from .models import LeaderProfile, LeaderRole, Volunteer
from .services.registration import resident_check_digit

T = Organization.Type
SAT, SUN, WED = 5, 6, 2
MORNING = (datetime.time(9), datetime.time(12))
AFTERNOON = (datetime.time(14), datetime.time(17))
EVENING = (datetime.time(19), datetime.time(21))

# Region codes of no county (a real province, county 99): a demo ID number is never a real one.
REGION = {"大龙社区": "449999", "官北沟社区": "629999"}

# community: (staff username, counselling team, dance team or None, [(resident index or name, skills,
#   team key, weekly slots, birth date)], leaders [(resident index, found through, note, role kind, team)])
PLAN = {
    "大龙社区": {
        "staff": "dalong_staff",
        "teams": {"counselling": "凤凰花志愿服务队", "dance": "大龙社区舞蹈志愿服务队"},
        "volunteers": [
            (1, "心理疏导、倾听", "counselling", [(SAT, *MORNING)], datetime.date(1975, 3, 8)),
            (2, "心理咨询（持证）", "counselling", [(WED, *EVENING)], datetime.date(1982, 11, 2)),
            (3, "家访陪伴", "counselling", [(SUN, *AFTERNOON)], datetime.date(1968, 6, 21)),
            (4, "电话关怀", "counselling", [(SAT, *AFTERNOON)], datetime.date(1990, 1, 15)),
            (
                0,
                "组织协调、心理疏导",
                "counselling",
                [(SAT, *MORNING), (WED, *EVENING)],
                datetime.date(1970, 9, 9),
            ),
            (5, "广场舞编排", "dance", [(SUN, *EVENING)], datetime.date(1965, 4, 30)),
            (6, "舞蹈、反诈宣传", "dance", [(SUN, *EVENING)], datetime.date(1972, 8, 12)),
            (7, "舞蹈", "dance", [(SAT, *EVENING)], datetime.date(1979, 12, 1)),
            (8, "摄影、宣传", "dance", [], datetime.date(1986, 2, 27)),
            (9, "舞蹈、音响设备", "dance", [(SUN, *EVENING)], datetime.date(1993, 7, 7)),
            ("区小敏（示例）", "舞蹈", "dance", [(SAT, *EVENING)], datetime.date(2015, 5, 20)),
        ],
        "leaders": [
            (0, "event", "在中秋游园会上主动组织邻里互助，被社工发现", "team_lead", "counselling"),
            (5, "referral", "舞蹈队老队员推荐", "team_lead", "dance"),
        ],
    },
    "官北沟社区": {
        "staff": "gbg_staff",
        "teams": {"counselling": "官北沟心理咨询志愿服务队"},
        "volunteers": [
            (1, "急救（红十字救护员证）", "counselling", [(SAT, *MORNING)], datetime.date(1978, 10, 3)),
            (2, "义诊协助、量血压", "counselling", [(SAT, *MORNING)], datetime.date(1969, 1, 19)),
            (3, "公益市集摆摊、收银", "counselling", [(SUN, *MORNING)], datetime.date(1985, 5, 5)),
            (4, "心理课堂助教", "counselling", [(WED, *EVENING)], datetime.date(1991, 3, 14)),
            (5, "组织活动、宣传", "counselling", [(SAT, *AFTERNOON)], datetime.date(1974, 12, 24)),
            (6, "摄影", "counselling", [(SUN, *AFTERNOON)], datetime.date(1988, 9, 30)),
            (7, "场地布置", "counselling", [(SAT, *MORNING)], datetime.date(1962, 2, 2)),
            (8, "线上课堂技术支持", "counselling", [(WED, *EVENING)], datetime.date(1996, 6, 18)),
        ],
        "leaders": [
            (5, "survey", "社区需求问卷中报名愿意牵头组织活动", "committee_member", None),
        ],
    },
}


def demo_id_number(community_name: str, birth: datetime.date, serial: int) -> str:
    body = f"{REGION[community_name]}{birth:%Y%m%d}{serial % 1000:03d}"
    return body + resident_check_digit(body)


def _team(name: str, community: Area) -> Organization:
    team = Organization.objects.filter(name=name, type=T.VOLUNTEER_TEAM).first()
    if team is None:
        team = Organization.objects.create(
            name=name,
            type=T.VOLUNTEER_TEAM,
            area=community,
            registration=Organization.Registration.NONE,
            description="（示意）舞蹈队成员组成的志愿服务队，以舞蹈开展防诈骗宣传。",
            is_illustrative=True,
        )
        team.served_areas.add(community)
    return team


def _person(ref, community: Area, residents: list[Person], leader: Person | None) -> Person | None:
    if isinstance(ref, int):
        return residents[ref] if ref < len(residents) else None
    person = Person.objects.filter(name=ref, community=community).first()
    if person is None:
        person = Person.objects.create(
            name=ref, community=community, is_illustrative=True, recruited_by=leader
        )
    return person


def seed(stdout=None):
    User = get_user_model()
    for community_name, plan in PLAN.items():
        community = Area.objects.filter(name=community_name, level=Area.Level.COMMUNITY).first()
        staff = User.objects.filter(username=plan["staff"]).first()
        if community is None or staff is None:
            continue
        actor = Actor(surface=AuditEvent.Surface.COMMAND, user=staff)
        residents = list(
            Person.objects.filter(community=community, mobile__startswith=DEMO_MOBILE_PREFIX).order_by(
                "mobile"
            )
        )
        if len(residents) < 10:
            continue
        teams = {key: _team(name, community) for key, name in plan["teams"].items()}
        first_leader = residents[plan["leaders"][0][0]]
        made = 0
        for serial, (ref, skills, team_key, slots, birth) in enumerate(plan["volunteers"], start=1):
            person = _person(ref, community, residents, first_leader)
            if person is None or Volunteer.objects.filter(person=person).exists():
                continue
            minor = services.age_on(birth) < 14
            services.register_volunteer(
                person=person,
                id_type=Volunteer.IdType.RESIDENT_ID,
                id_number=demo_id_number(community_name, birth, serial),
                skills=skills,
                teams=[teams[team_key]],
                availability=slots,
                guardian_name="区女士（示例）" if minor else "",
                guardian_relation="母亲" if minor else "",
                guardian_consent=minor,
                source=Volunteer.Source.STAFF,
                actor=actor,
            )
            made += 1
        for index, found_through, note, kind, team_key in plan["leaders"]:
            person = residents[index]
            if not LeaderProfile.objects.filter(person=person).exists():
                services.mark_leader(
                    person=person,
                    found_through=found_through,
                    found_note=note,
                    found_on=datetime.date(2025, 9, 1),
                    actor=actor,
                )
            team = teams.get(team_key) if team_key else None
            if not LeaderRole.objects.filter(person=person, kind=kind, organization=team).exists():
                services.record_leader_role(
                    person=person,
                    kind=kind,
                    organization=team,
                    note="" if team else "社区慈善基金管理委员会委员",
                    started_on=datetime.date(2025, 10, 1),
                    actor=actor,
                )
        if stdout is not None and made:
            stdout.write(f"{community_name}: {made} volunteers registered\n")
