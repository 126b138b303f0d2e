"""Demo data of the core layer: the two communities of the seed study (DOMAIN.md), their organisations,
residents and staff, and one illustrative community. Idempotent: every row is looked up by its natural key
before it is created.

Facts from the study stay as the study gives them (Guanbeigou's hub 祯祥社 and host 酒泉市慈善联合总会,
Dalong's counselling team 凤凰花志愿服务队). Everything invented — most organisations, every resident, the
illustrative street and community — is flagged `is_illustrative`, and the pages say so. Demo mobile numbers
are 13800138000–13800138999: China Mobile's service number and its neighbours, the placeholder Chinese
documentation uses, so no real resident's number appears.
"""

from django.contrib.auth import get_user_model
from django.db import transaction

from .models import Area, Organization, Person, StaffAssignment
from .services import opaque_username

DEMO_PASSWORD = "demo-2026-charity"
RESIDENT_PASSWORD = "resident-2026-demo"

T = Organization.Type

AREAS = {
    "dalong": [
        ("广州市", Area.Level.CITY, "440100", False),
        ("番禺区", Area.Level.DISTRICT, "440113", False),
        ("石碁镇", Area.Level.STREET, "", False),
        ("大龙社区", Area.Level.COMMUNITY, "", False),
    ],
    "guanbeigou": [
        ("酒泉市", Area.Level.CITY, "620900", False),
        # The study names the city and the community only: district and street are stand-ins.
        ("肃州区", Area.Level.DISTRICT, "", True),
        ("示例街道", Area.Level.STREET, "", True),
        ("官北沟社区", Area.Level.COMMUNITY, "", False),
    ],
    # Not from the study: where the demo shows what a committee with composition warnings looks like.
    "example": [
        ("酒泉市", Area.Level.CITY, "620900", False),
        ("肃州区", Area.Level.DISTRICT, "", True),
        ("示例街道", Area.Level.STREET, "", True),
        ("示例社区", Area.Level.COMMUNITY, "", True),
    ],
}

# (key, name, type, based in (area key), serves (area keys), registration, description)
# The organisations the study names (or that exist by definition, such as a community's own residents'
# committee and its town government); every other one is invented and flagged illustrative.
FROM_THE_STUDY = {
    "gbg_committee",
    "zhenxiang",
    "jiuquan_fed",
    "dalong_committee",
    "shiqi_office",
    "dalong_counselling",
}

# (key, name, type, based in (area key), serves (area keys), registration, description)
ORGANIZATIONS = [
    (
        "gbg_committee",
        "官北沟社区居民委员会",
        T.NEIGHBOURHOOD_COMMITTEE,
        "guanbeigou",
        ["guanbeigou"],
        "none",
        "负责社区慈善平台的日常运行。",
    ),
    (
        "zhenxiang",
        "祯祥社",
        T.HUB,
        "guanbeigou",
        ["guanbeigou"],
        "registered",
        "枢纽型社区社会组织：链接需求与资源，举办“一起”系列公益活动。",
    ),
    (
        "jiuquan_fed",
        "酒泉市慈善联合总会",
        T.CHARITY_FEDERATION,
        "jiuquan",
        ["jiuquan"],
        "registered",
        "官北沟社区慈善基金的托管机构。",
    ),
    (
        "gbg_counselling",
        "官北沟心理咨询志愿服务队",
        T.VOLUNTEER_TEAM,
        "guanbeigou",
        ["guanbeigou"],
        "filed",
        "为居民提供心理疏导和线上心理课堂。",
    ),
    (
        "gbg_dance",
        "官北沟舞蹈队",
        T.COMMUNITY_GROUP,
        "guanbeigou",
        ["guanbeigou"],
        "filed",
        "居民自发组织的广场舞队。",
    ),
    # The study names no street office or social work agency for Guanbeigou: illustrative stand-ins.
    (
        "gbg_street_office",
        "示例街道办事处",
        T.STREET_OFFICE,
        "gbg_street",
        ["gbg_street"],
        "none",
        "（示意机构）",
    ),
    (
        "gbg_social_work",
        "酒泉示例社会工作服务中心",
        T.SOCIAL_WORK_AGENCY,
        "jiuquan",
        ["guanbeigou"],
        "registered",
        "（示意机构）",
    ),
    ("gbg_market", "官北沟爱心超市", T.MERCHANT, "guanbeigou", [], "none", "按销售额回馈社区慈善基金。"),
    ("gbg_noodles", "老马牛肉面馆", T.MERCHANT, "guanbeigou", [], "none", "公益市集常驻摊位。"),
    ("gbg_property", "官北沟小区物业服务中心", T.PROPERTY_MANAGER, "guanbeigou", ["guanbeigou"], "none", ""),
    (
        "dalong_committee",
        "大龙社区居民委员会",
        T.NEIGHBOURHOOD_COMMITTEE,
        "dalong",
        ["dalong"],
        "none",
        "负责社区慈善平台的日常运行。",
    ),
    ("shiqi_office", "石碁镇人民政府", T.STREET_OFFICE, "shiqi", ["shiqi"], "none", ""),
    (
        "panyu_fed",
        "番禺区慈善会",
        T.CHARITY_FEDERATION,
        "panyu",
        ["panyu"],
        "registered",
        "大龙社区慈善基金的托管机构。",
    ),
    (
        "dalong_counselling",
        "凤凰花志愿服务队",
        T.VOLUNTEER_TEAM,
        "dalong",
        ["dalong"],
        "filed",
        "心理辅导志愿服务。",
    ),
    (
        "dalong_dance",
        "大龙社区舞蹈队",
        T.COMMUNITY_GROUP,
        "dalong",
        ["dalong"],
        "filed",
        "以舞蹈形式开展防诈骗宣传。",
    ),
    (
        "dalong_social_work",
        "番禺区启明社工服务中心",
        T.SOCIAL_WORK_AGENCY,
        "panyu",
        ["dalong"],
        "registered",
        "",
    ),
    ("dalong_bakery", "大龙街坊饼家", T.MERCHANT, "dalong", [], "none", ""),
    ("dalong_property", "大龙花园物业管理处", T.PROPERTY_MANAGER, "dalong", ["dalong"], "none", ""),
]

RESIDENTS = {
    "guanbeigou": [
        "王秀英",
        "张建国",
        "李桂兰",
        "刘志强",
        "陈淑珍",
        "杨国华",
        "赵玉梅",
        "黄德明",
        "周丽娟",
        "吴振华",
        "徐翠花",
        "孙立新",
        "马文斌",
        "朱凤英",
        "胡海燕",
        "郭永胜",
        "何春兰",
    ],
    "example": ["林晓光", "宋玉洁", "韩立群"],
    "dalong": [
        "梁伟明",
        "何少芬",
        "陈志坚",
        "黎美玲",
        "罗家豪",
        "谭秀清",
        "冯国强",
        "邓丽华",
        "钟伟强",
        "麦惠芳",
        "卢俊杰",
        "区嘉欣",
        "关淑仪",
        "苏永康",
        "潘玉珍",
    ],
}

# username, display name, area key, role
STAFF = [
    ("gbg_staff", "官北沟社区工作人员", "guanbeigou", StaffAssignment.Role.MANAGER),
    ("gbg_viewer", "官北沟社区查看员", "guanbeigou", StaffAssignment.Role.VIEWER),
    ("dalong_staff", "大龙社区工作人员", "dalong", StaffAssignment.Role.MANAGER),
    ("shiqi_staff", "石碁镇街道工作人员", "shiqi", StaffAssignment.Role.STAFF),
]


def _area_chain(chain):
    node = None
    nodes = []
    for name, level, code, illustrative in chain:
        siblings = Area.objects.get_root_nodes() if node is None else Area.objects.get_children(node)
        found = siblings.filter(name=name).first()
        if found is None:
            kwargs = {"name": name, "level": level, "division_code": code, "is_illustrative": illustrative}
            found = Area.objects.add_root(kwargs) if node is None else Area.objects.add_child(node, kwargs)
        nodes.append(found)
        node = found
    return nodes


def areas() -> dict[str, Area]:
    """The demo areas by key (created if missing)."""
    city1, panyu, shiqi, dalong = _area_chain(AREAS["dalong"])
    city2, suzhou, street, guanbeigou = _area_chain(AREAS["guanbeigou"])
    example = _area_chain(AREAS["example"])[-1]
    return {
        "example": example,
        "guangzhou": city1,
        "panyu": panyu,
        "shiqi": shiqi,
        "dalong": dalong,
        "jiuquan": city2,
        "suzhou": suzhou,
        "gbg_street": street,
        "guanbeigou": guanbeigou,
    }


# 13800138000 is China Mobile's service number, the placeholder of Chinese documentation; the demo's
# residents take it and its neighbours, so no demo row carries a real person's number.
DEMO_MOBILE_PREFIX = "13800138"
_MOBILE_BLOCK = {"guanbeigou": 0, "dalong": 300, "example": 600}


def mobile_for(community_key: str, i: int) -> str:
    return f"{DEMO_MOBILE_PREFIX}{_MOBILE_BLOCK[community_key] + i:03d}"


@transaction.atomic
def seed(stdout=None) -> dict:
    area = areas()
    orgs = {}
    for key, name, type_, based, serves, registration, description in ORGANIZATIONS:
        illustrative = key not in FROM_THE_STUDY
        org, _created = Organization.objects.get_or_create(
            name=name,
            area=area[based],
            defaults={
                "type": type_,
                "registration": registration,
                "description": description,
                "is_illustrative": illustrative,
            },
        )
        org.served_areas.add(*[area[s] for s in serves])
        orgs[key] = org
    for key in ("gbg_counselling", "gbg_dance"):
        if orgs[key].hub_id is None:
            Organization.objects.filter(pk=orgs[key].pk).update(hub=orgs["zhenxiang"])

    people = {}
    for community_key, names in RESIDENTS.items():
        previous = None
        for i, name in enumerate(names):
            mobile = mobile_for(community_key, i)
            person, created = Person.objects.get_or_create(
                mobile=mobile,
                defaults={
                    "name": name,
                    "community": area[community_key],
                    "is_leader": i % 5 == 0,
                    "is_illustrative": True,  # every demo resident is invented
                },
            )
            if created and i % 5 != 0 and previous is not None:
                # "One brings many": leaders bring in the next few residents.
                person.recruited_by = previous
                person.save(update_fields=["recruited_by"])
            if person.is_leader:
                previous = person
            people.setdefault(community_key, []).append(person)

    User = get_user_model()
    resident = people["guanbeigou"][0]
    if resident.user_id is None:
        # An opaque username: residents log in with their mobile number, looked up on their Person record.
        user = User.objects.create_user(
            username=opaque_username(), password=RESIDENT_PASSWORD, first_name=resident.name
        )
        resident.user = user
        resident.save(update_fields=["user"])
    if not User.objects.filter(username="admin").exists():
        User.objects.create_superuser("admin", password=DEMO_PASSWORD, first_name="平台管理员")
    for username, display, area_key, role in STAFF:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(
                username=username, password=DEMO_PASSWORD, first_name=display, is_staff=True
            )
        StaffAssignment.objects.get_or_create(user=user, area=area[area_key], defaults={"role": role})
    return {"areas": area, "organizations": orgs, "people": people}


def logins() -> list[tuple[str, str, str]]:
    rows = [("admin", DEMO_PASSWORD, "superuser: every area")]
    rows += [(u, DEMO_PASSWORD, f"{d} ({r})") for u, d, _a, r in STAFF]
    rows.append((mobile_for("guanbeigou", 0), RESIDENT_PASSWORD, "resident 王秀英 (portal log-in by mobile)"))
    return rows
