"""Demo funds: 官北沟社区慈善基金 (three named funds), 大龙社区慈善基金 and 示例社区慈善基金, with a year of
donations across every channel. Every amount and every named fund's name is invented, so each fund is
flagged `is_illustrative` and its page says so. Idempotent: funds are found by name, donations by their
receipt numbers."""

import datetime
import random

from django.utils import timezone

from charity.models import Area, AuditEvent, Organization, Person
from charity.services import Actor

from . import services
from .models import Donation, Fund

GBG_FUND = "官北沟社区慈善基金"
DALONG_FUND = "大龙社区慈善基金"
EXAMPLE_FUND = "示例社区慈善基金"
NAMED = [
    ("祯祥社“一起”助老冠名基金", "祯祥社", "为独居老人提供助餐、探访和小额应急帮助。"),
    ("马氏助学冠名基金", "马文斌", "资助社区困难家庭学生的学习用品与课后辅导。"),
    ("爱心超市邻里互助冠名基金", "官北沟爱心超市", "邻里互助与公益市集的日常开支。"),
]
PURPOSES = {
    GBG_FUND: ["独居老人助餐", "急救培训器材"],
    DALONG_FUND: ["楼梯扶手安装", "乒乓球场翻新", "小区监控建设"],
}
# Donors by channel; local merchants give to their own community's fund.
CHANNEL_DONORS = {
    "resident": None,
    "merchant": {GBG_FUND: ["官北沟爱心超市", "老马牛肉面馆"], DALONG_FUND: ["大龙街坊饼家"]},
    "charity_market": ["公益市集义卖收入"],
    "business_giveback": {GBG_FUND: ["官北沟爱心超市"], DALONG_FUND: ["大龙街坊饼家"]},
    "online": ["网络募捐平台（托管机构账户）"],
    "outside_donor": ["某爱心企业", "校友会"],
    "government": ["街道办事处"],
    "other": ["社区活动结余"],
}
GOODS_DONOR = {GBG_FUND: "官北沟爱心超市", DALONG_FUND: "大龙街坊饼家"}
# A venture philanthropy grant (公益创投) is a grant, not a gift: no receipt, shown apart on the fund page.
GRANTS = {
    GBG_FUND: ("肃州区社区公益创投", 3_000_000, "“一起”系列邻里活动"),
    DALONG_FUND: ("番禺区社区公益创投", 5_000_000, "长者助餐服务"),
}


def _donors(channel: str, fund_name: str) -> list[str] | None:
    donors = CHANNEL_DONORS[channel]
    return donors.get(fund_name) if isinstance(donors, dict) else donors


def _fund(name, community, host, **extra):
    fund = Fund.objects.filter(community=community, name=name).first()
    if fund is None:
        fund = Fund(
            name=name,
            community=community,
            host=host,
            opened_on=datetime.date(2025, 1, 1),
            is_illustrative=True,  # the figures are invented
            **extra,
        )
        fund.full_clean()
        fund.save()
    return fund


def _donations(fund, prefix, people, named, rng, actor, count):
    today = timezone.localdate()
    start = today - datetime.timedelta(days=364)
    existing = set(
        Donation.objects.filter(host=fund.host, receipt_no__startswith=prefix).values_list(
            "receipt_no", flat=True
        )
    )
    channels = list(CHANNEL_DONORS)
    for i in range(count):
        receipt = f"{prefix}{i + 1:04d}"
        channel = channels[i % len(channels)]
        # Random draws happen whether or not the row exists, so a second run sees the same sequence.
        day = start + datetime.timedelta(days=rng.randrange(365))
        amount_yuan = rng.choice([20, 50, 100, 100, 200, 300, 500, 800, 1000, 2000, 5000])
        cents = rng.choice([0, 0, 0, 50])
        person = rng.choice(people)
        consent = rng.random() < 0.6
        restrict = rng.random()
        if receipt in existing:
            continue
        donors = _donors(channel, fund.name)
        kwargs = {"donor_name": rng.choice(donors)} if donors else {"donor_person": person}
        if restrict < 0.15 and named:
            kwargs.update(restriction="named_fund", restricted_fund=named[i % len(named)])
        elif restrict < 0.35:
            kwargs.update(restriction="purpose", purpose=PURPOSES[fund.name][i % len(PURPOSES[fund.name])])
        services.post_donation(
            fund=fund,
            amount_fen=amount_yuan * 100 + cents,
            channel=channel,
            actor=actor,
            received_on=day,
            publish_name=consent,
            anonymous=not consent and rng.random() < 0.3,
            receipt_no=receipt,
            **kwargs,
        )
    if fund.name in GRANTS and not Donation.objects.filter(fund=fund, channel="venture_grant").exists():
        grantor, amount_fen, purpose = GRANTS[fund.name]
        services.post_donation(
            fund=fund,
            amount_fen=amount_fen,
            channel="venture_grant",
            actor=actor,
            received_on=today - datetime.timedelta(days=60),
            donor_name=grantor,
            publish_name=True,
            restriction="purpose",
            purpose=purpose,
        )
    goods = f"{prefix}G001"
    if goods not in existing:
        services.post_donation(
            fund=fund,
            amount_fen=250_000,
            channel="merchant",
            actor=actor,
            received_on=today,
            form="in_kind",
            donor_name=GOODS_DONOR[fund.name],
            publish_name=True,
            item_description="大米（5公斤装）",
            item_quantity=50,
            item_unit="袋",
            receipt_no=goods,
        )


def seed(stdout=None):
    gbg = Area.objects.filter(name="官北沟社区", level=Area.Level.COMMUNITY).first()
    dalong = Area.objects.filter(name="大龙社区", level=Area.Level.COMMUNITY).first()
    if gbg is None or dalong is None:
        return
    actor = Actor.system(AuditEvent.Surface.COMMAND)
    rng = random.Random(2026)
    jiuquan_fed = Organization.objects.get(name="酒泉市慈善联合总会")
    panyu_fed = Organization.objects.get(name="番禺区慈善会")
    gbg_fund = _fund(
        GBG_FUND,
        gbg,
        jiuquan_fed,
        purpose="官北沟社区居民、商户共同筹集，用于本社区的助老、助学、邻里互助和公益活动。",
    )
    named = [
        _fund(
            name, gbg, jiuquan_fed, kind=Fund.Kind.NAMED, parent=gbg_fund, named_after=donor, purpose=purpose
        )
        for name, donor, purpose in NAMED
    ]
    dalong_fund = _fund(
        DALONG_FUND, dalong, panyu_fed, purpose="用于大龙社区的适老化改造、公共空间和社区安全。"
    )
    example = Area.objects.filter(name="示例社区", level=Area.Level.COMMUNITY).first()
    if example is not None:
        _fund(EXAMPLE_FUND, example, jiuquan_fed, purpose="（示意）演示管理委员会组成提示的社区基金。")
    _donations(gbg_fund, "JQCS-2026-", list(Person.objects.filter(community=gbg)), named, rng, actor, 96)
    _donations(dalong_fund, "PYCS-2026-", list(Person.objects.filter(community=dalong)), [], rng, actor, 80)
    # One refund, so the public page and the ledger show how a correction looks.
    first = Donation.objects.filter(fund=dalong_fund, receipt_no="PYCS-2026-0003").first()
    if first is not None and not first.is_refunded:
        services.refund_donation(donation=first, reason="捐赠人误操作重复转账，原路退回。", actor=actor)
