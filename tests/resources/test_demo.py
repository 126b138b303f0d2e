import pytest

from charity import demo as charity_demo
from funds import demo as funds_demo
from resources import demo
from resources.models import Claim, Loan, Resource, WaitlistEntry

pytestmark = pytest.mark.django_db


def seed():
    # The apps seed_demo runs before this one, then this one (seed_demo itself is tested in tests/).
    charity_demo.seed()
    funds_demo.seed()
    demo.seed()


def test_seed_demo_adds_resources_to_both_communities_once():
    seed()
    for name in ("官北沟社区", "大龙社区"):
        here = Resource.objects.filter(community__name=name)
        kinds = set(here.values_list("kind", flat=True))
        assert {"goods", "venue", "time", "tool"} <= kinds
        assert here.filter(for_exchange=True).count() == 2
        blankets = here.get(title="冬季棉被 20 床")
        assert blankets.quantity == 20 and blankets.owner_organization.type == "merchant"
        assert here.get(kind="venue").slots.count() == 3
    counts = (
        Resource.objects.count(),
        Loan.objects.count(),
        WaitlistEntry.objects.count(),
        Claim.objects.count(),
    )
    assert counts == (14, 4, 2, 2)
    seed()
    again = (
        Resource.objects.count(),
        Loan.objects.count(),
        WaitlistEntry.objects.count(),
        Claim.objects.count(),
    )
    assert again == counts
