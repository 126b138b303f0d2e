"""What the API's speed work must not change (docs/performance.md, "API"): serialisers write what DRF wrote,
a list's rows read with `.values()` are the objects the detail shows, a cached key never admits another key
and stops working within VERIFIED_KEY_SECONDS of its revocation, the throttle counts per window, and a
list's count stays true."""

import datetime
import json
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers
from rest_framework.test import APIClient

from charity.api_auth import VERIFIED_KEY_SECONDS, PerClientThrottle, verified_key_cache_key, verified_keys
from charity.api_common import COUNT_CACHE_SECONDS, FastRepresentationMixin
from charity.models import AuditEvent, Consent, Organization
from charity.services import Actor, create_api_key, revoke_api_key
from funds import services
from funds.models import Donation, Fund
from governance.models import Committee
from tests.factories import FundFactory, OrganizationFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db

# Shanghai: 10:00:10 on a working day, 10 s into a throttle window of a minute.
NOW = datetime.datetime(2026, 3, 2, 2, 0, 10, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _no_verified_keys():
    verified_keys.clear()  # per process, not cleared with the default cache between tests
    yield
    verified_keys.clear()


def key_client(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def as_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


# --- serialisers ----------------------------------------------------------------------------------------


@pytest.fixture
def checked_representation(monkeypatch):
    """Every object a FastRepresentationMixin serialiser writes is also written by DRF's own code and compared
    as JSON (so that 1 and true, or "1" and 1, differ). Returns the serialisers seen."""
    fast = FastRepresentationMixin.to_representation
    seen = set()

    def both(self, instance):
        written = fast(self, instance)
        if type(instance) is not dict:  # `.values()` rows are compared with the detail below
            assert as_json(written) == as_json(self.drf_representation(instance)), type(self).__name__
        seen.add(type(self).__name__)
        return written

    monkeypatch.setattr(FastRepresentationMixin, "to_representation", both)
    return seen


@pytest.fixture
def world(settings):
    """The demonstration data (every kind of fund, donation, committee and organisation), and donations of
    the kinds it lacks: goods with a decimal quantity, an organisation's gift, a consenting resident."""
    settings.DEBUG = True  # seed_demo refuses otherwise
    call_command("seed_demo", stdout=StringIO())
    hub = Organization.objects.get(name="祯祥社")
    fund = Fund.objects.filter(kind=Fund.Kind.COMMUNITY, community__in=hub.served_areas.all()).first()
    actor = Actor.system(AuditEvent.Surface.COMMAND)
    resident = PersonFactory(name="测试同意", community=fund.community)
    Consent.objects.create(
        person=resident, kind=Consent.Kind.SHARE_WITH_ORGANIZATION, organization=hub, text_version="1"
    )
    common = {"fund": fund, "actor": actor, "channel": "resident", "received_on": datetime.date(2026, 3, 1)}
    services.post_donation(amount_fen=12345, receipt_no="SPEED-1", donor_person=resident, **common)
    services.post_donation(
        amount_fen=5000,
        receipt_waived=True,
        form="in_kind",
        item_description="大米",
        item_quantity=Decimal("2.5"),
        item_unit="袋",
        **common,
    )
    merchant = OrganizationFactory(name="测试商户", type=Organization.Type.MERCHANT, area=fund.community)
    services.post_donation(
        amount_fen=800, receipt_no="SPEED-2", donor_organization=merchant, publish_name=True, **common
    )
    _api_key, key = create_api_key(organization=hub, name="speed", actor=actor)
    staff = UserFactory(username="speed-admin", is_superuser=True, is_staff=True)
    return key, staff


def all_rows(client, path):
    rows, url = [], path
    while url:
        body = client.get(url).json()
        rows += body["results"]
        url = body["next"]
    return rows


def test_fast_serialisers_write_what_drf_writes_and_list_rows_match_the_detail(world, checked_representation):
    key, staff = world
    superuser = APIClient()
    superuser.force_login(staff)
    for client in (key_client(key), superuser):
        for path in ("areas", "organizations", "funds", "committees"):
            for row in all_rows(client, f"/api/v1/{path}/?page_size=500"):
                assert client.get(f"/api/v1/{path}/{row['id']}/").status_code == 200
        for fund_id in Fund.objects.values_list("id", flat=True):
            client.get(f"/api/v1/funds/{fund_id}/entries/?page_size=500")
        donations = all_rows(client, "/api/v1/donations/?page_size=500")
        assert donations
        if client is superuser:
            assert len(donations) == Donation.objects.count()
        for row in donations:  # read from `.values()`: the same object the detail writes from the model
            assert as_json(row) == as_json(client.get(f"/api/v1/donations/{row['id']}/").json())
    assert {r["donor"] for r in donations} >= {"测试同意", "测试商户", None}
    assert {r["item_quantity"] for r in donations} >= {"2.50", None}
    assert any(r["refunded"] for r in donations)
    assert Committee.objects.exists()
    assert checked_representation == {
        "AreaSerializer",
        "OrganizationSerializer",
        "FundSerializer",
        "FundDetailSerializer",
        "EntrySerializer",
        "DonationSerializer",
        "CommitteeSerializer",
        "MembershipSerializer",
    }


def test_a_serialiser_whose_field_depends_on_the_request_is_refused():
    class Nested(FastRepresentationMixin, serializers.ModelSerializer):
        host = serializers.HyperlinkedRelatedField(view_name="organization-detail", read_only=True)

        class Meta:
            model = Fund
            fields = ["id", "host"]

    with pytest.raises(ImproperlyConfigured, match="SerializerMethodField"):
        Nested.representation_plan()


def test_a_value_that_is_no_column_needs_a_row_method_for_values_rows():
    class Refunds(FastRepresentationMixin, serializers.ModelSerializer):
        refunded = serializers.BooleanField(source="is_refunded", read_only=True)

        class Meta:
            model = Donation
            fields = ["id", "refunded"]

    with pytest.raises(ImproperlyConfigured, match="row_refunded"):
        Refunds.row_values()


# --- API keys -------------------------------------------------------------------------------------------


@pytest.fixture
def keyed_fund(hub, guanbeigou):
    return FundFactory(name="官北沟社区慈善基金", community=guanbeigou)


def test_a_revoked_key_reads_at_most_verified_key_seconds_more_and_writes_nothing(
    hub, hub_key, keyed_fund, community_manager
):
    from charity.models import OrganizationAPIKey

    client = key_client(hub_key)
    with time_machine.travel(NOW, tick=False) as clock:
        assert client.get("/api/v1/funds/").status_code == 200  # verified, and kept
        api_key = OrganizationAPIKey.objects.get(organization=hub)
        revoke_api_key(api_key=api_key, actor=Actor(surface=AuditEvent.Surface.ADMIN, user=community_manager))
        write = client.post("/api/v1/donations/", {}, format="json")
        assert write.status_code == 401 and write.json()["code"] == "revoked_api_key"
        clock.shift(VERIFIED_KEY_SECONDS - 1)
        assert client.get("/api/v1/funds/").status_code == 200  # the documented delay
        clock.shift(2)
        refused = client.get("/api/v1/funds/")
        assert refused.status_code == 401 and refused.json()["code"] == "revoked_api_key"


def test_a_cached_key_admits_no_other_secret_with_its_prefix(hub_key, keyed_fund):
    assert key_client(hub_key).get("/api/v1/funds/").status_code == 200
    prefix, secret = hub_key.split(".")
    for wrong in (f"{prefix}.{secret[:-1]}", f"{prefix}.{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}",
                  f"{prefix}.{secret}A", f"{prefix}.x"):  # fmt: skip
        response = key_client(wrong).get("/api/v1/funds/")
        assert response.status_code == 401 and response.json()["code"] == "invalid_api_key", wrong


def test_the_cache_entry_is_named_by_the_whole_key(hub_key):
    prefix, secret = hub_key.split(".")
    entry = verified_key_cache_key(hub_key)
    assert entry != verified_key_cache_key(f"{prefix}.{secret}x")
    assert prefix not in entry and secret not in entry


def fund_ids(key):
    return [f["id"] for f in key_client(key).get("/api/v1/funds/").json()["results"]]


def test_two_cached_keys_each_act_for_their_own_organisation(hub_key, outside_org_key, keyed_fund):
    other = FundFactory(name="大龙社区慈善基金", community=Organization.objects.get(name="大龙枢纽").area)
    for _ in range(2):  # verified, then from the cache
        assert fund_ids(hub_key) == [keyed_fund.pk]
        assert fund_ids(outside_org_key) == [other.pk]


def test_an_expired_key_is_refused_though_verified_a_moment_ago(hub, keyed_fund):
    with time_machine.travel(NOW, tick=False) as clock:
        _api_key, key = create_api_key(
            organization=hub,
            name="short",
            actor=Actor.system(),
            expiry_date=NOW + datetime.timedelta(seconds=2),
        )
        assert key_client(key).get("/api/v1/funds/").status_code == 200
        clock.shift(3)
        response = key_client(key).get("/api/v1/funds/")
        assert response.status_code == 401 and response.json()["code"] == "expired_api_key"


def test_a_key_reads_its_organisations_new_areas_within_the_delay(hub, hub_key, keyed_fund, dalong):
    other = FundFactory(name="大龙社区慈善基金", community=dalong)
    client = key_client(hub_key)
    with time_machine.travel(NOW, tick=False) as clock:
        assert client.get(f"/api/v1/funds/{other.pk}/").status_code == 404
        hub.served_areas.add(dalong)
        clock.shift(VERIFIED_KEY_SECONDS + 1)
        assert client.get(f"/api/v1/funds/{other.pk}/").status_code == 200


# --- throttle -------------------------------------------------------------------------------------------


def test_the_throttle_counts_per_window_and_names_the_next_one(hub_api, keyed_fund, monkeypatch):
    monkeypatch.setattr(PerClientThrottle, "THROTTLE_RATES", {"client": "3/min"})
    with time_machine.travel(NOW, tick=False) as clock:
        assert [hub_api.get("/api/v1/funds/").status_code for _ in range(4)] == [200, 200, 200, 429]
        throttled = hub_api.get("/api/v1/funds/")
        assert throttled.json()["code"] == "throttled" and throttled["Retry-After"] == "50"
        clock.shift(49)
        assert hub_api.get("/api/v1/funds/").status_code == 429
        clock.shift(1)  # the next minute
        assert [hub_api.get("/api/v1/funds/").status_code for _ in range(4)] == [200, 200, 200, 429]


# --- a list's count -------------------------------------------------------------------------------------


def orgs(client, query=""):
    return client.get(f"/api/v1/organizations/?page_size=2{query}")


def add_orgs(hub, guanbeigou, count, start=0):
    for i in range(start, start + count):
        OrganizationFactory(name=f"队伍{i:02d}", area=guanbeigou, hub=hub).served_areas.add(guanbeigou)


def test_a_list_that_fits_its_page_is_counted_without_a_count_query(hub_api, hub, guanbeigou):
    add_orgs(hub, guanbeigou, 1)  # and the hub itself: two
    hub_api.get("/api/v1/organizations/")
    with CaptureQueriesContext(connection) as queries:
        body = orgs(hub_api).json()
    assert body["count"] == 2 and body["next"] is None
    assert not [q for q in queries if "COUNT(" in q["sql"]]


def test_a_full_pages_count_is_kept_a_few_seconds_and_never_below_the_rows_a_page_shows(
    hub_api, hub, guanbeigou, settings
):
    # time-machine moves the local-memory cache's clock, not a Redis server's: the expiry is tested there.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    add_orgs(hub, guanbeigou, 2)  # three with the hub
    with time_machine.travel(NOW, tick=False) as clock:
        first = orgs(hub_api).json()
        assert first["count"] == 3 and first["next"] and first["previous"] is None
        add_orgs(hub, guanbeigou, 1, start=2)  # four
        kept = orgs(hub_api).json()
        assert kept["count"] == 3, "kept for COUNT_CACHE_SECONDS"
        last = orgs(hub_api, "&page=2").json()
        assert last["count"] == 4 and last["next"] is None, "the last page counts its own rows"
        add_orgs(hub, guanbeigou, 2, start=3)  # six: page 2 of 2 shows rows 3-4 and proves a fifth
        middle = orgs(hub_api, "&page=2").json()
        assert middle["count"] == 6 and middle["next"], "a kept count below what the page proves is redone"
        add_orgs(hub, guanbeigou, 1, start=5)  # seven
        clock.shift(COUNT_CACHE_SECONDS + 1)
        assert orgs(hub_api).json()["count"] == 7


def test_pages_past_the_end_are_404_and_last_is_the_last(hub_api, hub, guanbeigou):
    add_orgs(hub, guanbeigou, 2)  # three with the hub
    last = orgs(hub_api, "&page=last").json()
    assert last["count"] == 3 and [o["name"] for o in last["results"]] == ["队伍01"]
    for page in ("3", "0", "99999999999999999999", "1.5", "x"):
        response = orgs(hub_api, f"&page={page}")
        assert response.status_code == 404 and response.json()["code"] == "not_found", page
