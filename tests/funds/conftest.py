import datetime

import pytest

from charity.models import Area, AuditEvent, Organization
from charity.services import Actor
from funds import services
from funds.models import Fund
from tests.factories import FundFactory, OrganizationFactory


@pytest.fixture
def federation(guanbeigou):
    return OrganizationFactory(
        name="酒泉市慈善总会",
        type=Organization.Type.CHARITY_FEDERATION,
        area=Area.objects.filter(path=guanbeigou.path[:4]).get(),
    )


@pytest.fixture
def fund(guanbeigou, federation):
    return FundFactory(name="官北沟社区慈善基金", community=guanbeigou, host=federation)


@pytest.fixture
def named_fund(fund):
    return FundFactory(
        name="马氏助学冠名基金",
        kind=Fund.Kind.NAMED,
        parent=fund,
        community=fund.community,
        host=fund.host,
        named_after="马文斌",
    )


@pytest.fixture
def other_fund(dalong):
    return FundFactory(name="大龙社区慈善基金", community=dalong)


@pytest.fixture
def actor():
    return Actor.system(AuditEvent.Surface.COMMAND)


@pytest.fixture
def give(actor):
    counter = iter(range(1, 10_000))

    def give(fund, amount_fen, **kwargs):
        kwargs.setdefault("receipt_no", f"R-{next(counter):05d}")
        kwargs.setdefault("channel", "resident")
        kwargs.setdefault("received_on", datetime.date(2026, 3, 1))
        return services.post_donation(fund=fund, amount_fen=amount_fen, actor=actor, **kwargs)

    return give
