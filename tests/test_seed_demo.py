"""`manage.py seed_demo`. The tests that read the demo data or seed again on top of it share one seeding
(TestSeeded); the one that needs an empty database starts from one of its own."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from charity.models import Area, Organization, Person, StaffAssignment
from funds.models import Donation, Fund
from funds.selectors import verify_ledger
from governance.models import Committee
from governance.selectors import composition_issues
from tests.demo_data import seeded_once, table_counts

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _development(settings):
    settings.DEBUG = True  # as under `make run`; pytest runs with DEBUG off, where seed_demo refuses


def seed():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_refuses_production_unless_forced(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG=false"):
        seed()
    assert not Area.objects.exists() and not get_user_model().objects.filter(username="admin").exists()
    call_command("seed_demo", "--force", stdout=StringIO())
    assert get_user_model().objects.filter(username="admin").exists()


class TestSeeded:
    """One seeding of an empty database for the class (a second or more each), in a transaction rolled back
    after the class; each test in a savepoint of its own, rolled back after it."""

    @pytest.fixture(scope="class")
    @classmethod
    def seeded(cls, django_db_setup, django_db_blocker):
        """What the first run of seed_demo wrote."""
        with seeded_once(django_db_blocker) as output:
            yield output

    def test_seed_demo_builds_the_two_communities_with_their_funds_and_committees(self, seeded):
        output = seeded
        gbg = Area.objects.get(name="官北沟社区")
        dalong = Area.objects.get(name="大龙社区")
        assert [a.name for a in Area.objects.filter(path__in=[dalong.path[:i] for i in (4, 8, 12)])] == [
            "广州市",
            "番禺区",
            "石碁镇",
        ]
        hub = Organization.objects.get(name="祯祥社")
        assert hub.type == "hub" and list(hub.served_areas.all()) == [gbg]
        assert gbg.people.count() >= 10 and dalong.people.count() >= 10

        gbg_fund = Fund.objects.get(name="官北沟社区慈善基金")
        assert gbg_fund.host.name == "酒泉市慈善联合总会"
        assert gbg_fund.named_funds.count() == 3
        assert Fund.objects.get(name="大龙社区慈善基金").host.type == "charity_federation"
        channels = set(Donation.objects.filter(fund=gbg_fund).values_list("channel", flat=True))
        assert channels == set(Donation.Channel.values)

        assert composition_issues(Committee.objects.get(fund=gbg_fund)) == []
        # No real community's committee is shown failing a rule; the example of warnings is illustrative.
        assert composition_issues(Committee.objects.get(fund__name="大龙社区慈善基金")) == []
        example = Committee.objects.get(fund__name="示例社区慈善基金")
        assert example.fund.community.is_illustrative and len(composition_issues(example)) >= 2
        assert verify_ledger().ok

        assert (
            StaffAssignment.objects.filter(area=gbg).exists()
            and StaffAssignment.objects.filter(area=dalong).exists()
        )
        assert StaffAssignment.objects.filter(area__level="street").exists()
        assert "gbg_staff" in output and "demo-2026-charity" in output
        assert get_user_model().objects.get(username="gbg_staff").check_password("demo-2026-charity")

    def test_running_seed_demo_twice_changes_nothing(self, seeded):
        before = table_counts()
        seed()
        assert table_counts() == before

    def test_if_empty_leaves_an_existing_database_alone(self, seeded):
        before = table_counts()
        out = StringIO()
        call_command("seed_demo", "--if-empty", stdout=out)
        assert table_counts() == before
        assert "gbg_staff" in out.getvalue()

    def test_seed_demo_tells_facts_from_inventions(self, seeded):
        # Facts stay as the study gives them.
        for name in ["祯祥社", "酒泉市慈善联合总会", "凤凰花志愿服务队", "官北沟社区居民委员会"]:
            assert not Organization.objects.get(name=name).is_illustrative, name
        assert Organization.objects.get(name="凤凰花志愿服务队").area.name == "大龙社区"
        # Everything invented is flagged: the other organisations, every person, every fund's figures.
        invented = Organization.objects.filter(name__in=["老马牛肉面馆", "官北沟舞蹈队", "番禺区慈善会"])
        assert invented.count() == 3 and all(o.is_illustrative for o in invented)
        assert not Person.objects.filter(is_illustrative=False).exists()
        assert not Fund.objects.filter(is_illustrative=False).exists()
        # Demo numbers come from the placeholder block 13800138000–13800138999.
        mobiles = list(Person.objects.exclude(mobile=None).values_list("mobile", flat=True))
        assert mobiles and all(m.startswith("13800138") for m in mobiles)
        # Merchants give to their own community's fund.
        for donation in Donation.objects.filter(channel="merchant").select_related("fund__community"):
            merchant = Organization.objects.filter(name=donation.donor_name, type="merchant").first()
            if merchant is not None:
                assert merchant.area_id == donation.fund.community_id, donation.donor_name
