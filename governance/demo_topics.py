"""Demo residents' topics in the two seed-study communities: a garden, a reading corner, a dance team's
rehearsal space…, with supporters and comments; one answered in each community; and in 官北沟社区 the topic
taken up by the "Together" (一起) project when the projects' demo created it (looked up by its title).

Written through governance.topics as the command line (staff entering what residents raised, signed and said
at residents' meetings), so the audit log is what it would be. Idempotent: a topic is looked up by its
community and title and, when it exists, left as it is — except that the "Together" topic, still open, is
linked to the project once the project exists.
"""

from charity.demo import mobile_for
from charity.models import Area, AuditEvent, Person
from charity.services import Actor

from . import topics
from .models import Project, Topic

C = Topic.Category

# (community, title, category, description, raised by (index in the community's residents), supporters,
#  comments [(resident index, text)], answer or None, "together" when the "Together" project takes it up)
TOPICS = [
    (
        "官北沟社区",
        "每月办一次公益市集和义诊",
        C.NEIGHBOURS,
        "希望社区每月固定一天，在广场上办公益市集，请医生来量血压、讲健康知识，大家也能把闲置物品拿来交换。",
        1,
        [2, 3, 4, 5, 6, 7, 8],
        [(3, "我可以来摆摊卖手工鞋垫，收入捐给社区基金。"), (5, "义诊最好放在上午，老人多。")],
        None,
        "together",
    ),
    (
        "官北沟社区",
        "楼下空地改成共享菜园",
        C.ENVIRONMENT,
        "3号楼后面的空地长期堆杂物，想请物业清理后分成小块，让有空的居民一起种菜、种花。",
        6,
        [1, 2, 9, 10],
        [(9, "我退休前是农技员，可以教大家。"), (2, "要注意别招蚊子，最好有人统一管理浇水。")],
        None,
        "",
    ),
    (
        "官北沟社区",
        "活动室设一个读书角",
        C.CULTURE_SPORTS,
        "孩子放学后没地方看书，希望在社区活动室放几个书架，大家把家里的旧书捐出来。",
        4,
        [5, 7, 8],
        [(7, "我家有两箱儿童绘本可以捐。")],
        "社区已在二楼活动室腾出两个书架，每天 15:00–19:00 开放，欢迎居民到居委会登记捐书。",
        "",
    ),
    (
        "官北沟社区",
        "广场舞需要音响和固定场地",
        C.CULTURE_SPORTS,
        "晚饭后大家在小广场跳舞，音响是自己带的，声音大了邻居有意见。希望社区协调固定场地和时间。",
        8,
        [3, 10],
        [],
        None,
        "",
    ),
    (
        "大龙社区",
        "舞蹈队排练需要室内场地",
        C.CULTURE_SPORTS,
        "舞蹈队每周排练反诈宣传节目，下雨天没地方练，希望借用社区活动中心。",
        2,
        [3, 4, 6, 7],
        [(4, "周二、周四晚上活动中心一般是空的。")],
        None,
        "",
    ),
    (
        "大龙社区",
        "乒乓球台旁加装遮阳棚",
        C.PUBLIC_SPACE,
        "新翻修的乒乓球场夏天太晒，下午没人能打，希望加装遮阳棚和两张长椅。",
        5,
        [1, 8, 9],
        [(8, "长椅很需要，老人看球没地方坐。")],
        "遮阳棚已列入下一期社区慈善基金用款申请，预计秋季前安装；长椅由物业先行添置。",
        "",
    ),
]


COMMUNITY_KEYS = {"官北沟社区": "guanbeigou", "大龙社区": "dalong"}


def _resident(community: Area, index: int) -> Person | None:
    """The core demo's resident number `index` of the community (by their demo mobile number)."""
    return Person.objects.filter(
        community=community, mobile=mobile_for(COMMUNITY_KEYS[community.name], index)
    ).first()


def _together(community: Area) -> Project | None:
    return Project.objects.filter(community=community, title__contains="一起").order_by("id").first()


def seed(stdout=None) -> int:
    """Create the demo topics where missing; return how many were created."""
    actor = Actor.system(AuditEvent.Surface.COMMAND)
    created = 0
    for community_name, title, category, description, raiser, supporters, comments, answer, link in TOPICS:
        community = Area.objects.filter(name=community_name, level=Area.Level.COMMUNITY).first()
        if community is None:
            continue  # the core demo did not create it
        topic = Topic.objects.filter(community=community, title=title).first()
        if topic is None:
            topic = topics.raise_topic(
                community=community,
                title=title,
                description=description,
                category=category,
                actor=actor,
                on_behalf_of=_resident(community, raiser),
            )
            people = [p for p in (_resident(community, i) for i in supporters) if p is not None]
            if people:
                topics.record_supports(topic=topic, people=people, actor=actor)
            for index, text in comments:
                person = _resident(community, index)
                if person is not None:
                    topics.comment_on_topic(topic=topic, text=text, actor=actor, on_behalf_of=person)
            if answer:
                topics.answer_topic(topic=topic, answer=answer, actor=actor)
            created += 1
        if link == "together" and topic.status == Topic.Status.OPEN:
            project = _together(community)
            if project is not None:
                topics.attach_to_project(topic=topic, project=project, actor=actor)
    if stdout is not None and created:
        stdout.write(f"Residents' topics: {created} raised.")
    return created
