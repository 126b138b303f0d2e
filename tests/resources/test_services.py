"""The resources registry's services: offering, reach, money pledges, the rules every surface relies on."""

import datetime

import pytest

from charity.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from charity.models import AuditAction, AuditEvent, Category
from funds.models import Donation
from resources import selectors, services
from resources.models import AvailabilitySlot, Resource
from tests.factories import FundFactory, OrganizationFactory, PersonFactory, community

from .conftest import SYSTEM, make_resource, portal_actor, staff_actor

pytestmark = pytest.mark.django_db


def test_resident_offers_in_own_community_and_it_is_audited(resident, guanbeigou, english):
    category = Category.objects.get(code="elderly")
    resource = services.offer_resource(
        actor=portal_actor(resident),
        owner_person=resident,
        community=guanbeigou,
        kind=Resource.Kind.SKILL,
        title="修水管",
        quantity=3,
        unit="次",
        categories=[category],
    )
    assert resource.status == Resource.Status.AVAILABLE
    assert list(resource.categories.all()) == [category]
    event = AuditEvent.objects.get(action=AuditAction.RESOURCE_OFFERED)
    assert event.object_id == str(resource.pk) and event.area == guanbeigou


def test_resident_cannot_offer_as_someone_else(resident, guanbeigou):
    other = PersonFactory(community=guanbeigou)
    with pytest.raises(NotFoundError):
        make_resource(guanbeigou, owner=other, actor=portal_actor(resident))
    assert not Resource.objects.exists()


def test_outsider_staff_cannot_offer_here(outsider, guanbeigou):
    with pytest.raises(NotFoundError):
        make_resource(guanbeigou, actor=staff_actor(outsider))
    assert not Resource.objects.exists()


def test_viewer_cannot_offer(community_viewer, guanbeigou):
    with pytest.raises(ForbiddenError):
        make_resource(guanbeigou, actor=staff_actor(community_viewer))


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": "many"}, "quantity"),
        ({"title": ""}, "title"),
        ({"title": "被" * 101}, "title"),
        ({"description": "x" * (5 * 1024 * 1024)}, "description"),
        (
            {"available_from": datetime.date(2026, 5, 2), "available_until": datetime.date(2026, 5, 1)},
            "available_until",
        ),
        ({"reach": "planet"}, "reach"),
        ({"kind": "spaceship"}, "kind"),
        ({"kind": Resource.Kind.VENUE, "for_exchange": True}, "for_exchange"),
        ({"kind": Resource.Kind.MONEY_PLEDGE}, "amount_fen"),
        ({"kind": Resource.Kind.MONEY_PLEDGE, "amount_fen": -100}, "amount_fen"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(guanbeigou, fields, field):
    owner = PersonFactory(community=guanbeigou)
    with pytest.raises(DomainError) as caught:
        make_resource(guanbeigou, owner=owner, **fields)
    assert caught.value.field == field
    assert str(caught.value.message)
    assert not Resource.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.RESOURCE_OFFERED).exists()


def test_five_megabyte_description_names_the_limit(guanbeigou, english):
    with pytest.raises(DomainError) as caught:
        make_resource(guanbeigou, description="长" * (5 * 1024 * 1024))
    assert "At most 2000 characters" in str(caught.value.message)


def test_availability_ending_before_it_starts_says_so(guanbeigou, english):
    with pytest.raises(DomainError) as caught:
        make_resource(
            guanbeigou, available_from=datetime.date(2026, 5, 2), available_until=datetime.date(2026, 5, 1)
        )
    assert "ends before it starts" in str(caught.value.message)


def test_an_owner_is_one_person_or_one_organisation(guanbeigou):
    person = PersonFactory(community=guanbeigou)
    org = OrganizationFactory(area=guanbeigou)
    with pytest.raises(DomainError) as caught:
        services.offer_resource(
            actor=SYSTEM,
            owner_person=person,
            owner_organization=org,
            community=guanbeigou,
            kind=Resource.Kind.GOODS,
            title="x",
        )
    assert caught.value.field == "owner_person"
    with pytest.raises(DomainError):
        services.offer_resource(actor=SYSTEM, community=guanbeigou, kind=Resource.Kind.GOODS, title="x")


def test_html_is_stored_as_text(guanbeigou):
    resource = make_resource(guanbeigou, title="<script>alert(1)</script>", description="<b>hi</b>")
    resource.refresh_from_db()
    assert resource.title == "<script>alert(1)</script>"


def test_weekly_slots_only_for_venues_and_time(guanbeigou):
    start, end = datetime.time(9), datetime.time(12)
    hall = make_resource(guanbeigou, kind=Resource.Kind.VENUE, title="活动室", slots=[(5, start, end)])
    assert [str(s) for s in hall.slots.all()] == [str(AvailabilitySlot.objects.get())]
    with pytest.raises(DomainError) as caught:
        make_resource(guanbeigou, kind=Resource.Kind.GOODS, slots=[(5, start, end)])
    assert caught.value.field == "slots"
    with pytest.raises(DomainError):
        make_resource(guanbeigou, kind=Resource.Kind.TIME, slots=[(5, end, start)])
    with pytest.raises(DomainError):
        make_resource(guanbeigou, kind=Resource.Kind.TIME, slots=[(7, start, end)])
    assert Resource.objects.count() == 1


def test_reach_follows_the_area_tree(guanbeigou):
    neighbour_community = community("酒泉市", "肃州区", "示例街道", "东关社区")
    other_street = community("酒泉市", "肃州区", "别的街道", "西关社区")
    other_city = community("广州市", "番禺区", "石碁镇", "大龙社区")
    own = make_resource(guanbeigou, title="own", reach=Resource.Reach.COMMUNITY)
    street = make_resource(guanbeigou, title="street", reach=Resource.Reach.STREET)
    district = make_resource(guanbeigou, title="district", reach=Resource.Reach.DISTRICT)
    city = make_resource(guanbeigou, title="city", reach=Resource.Reach.CITY)

    def reaching(area):
        area.refresh_from_db()  # adding areas renumbers their paths
        return set(selectors.list_resources_reaching(area).values_list("title", flat=True))

    assert reaching(guanbeigou) == {"own", "street", "district", "city"}
    assert reaching(neighbour_community) == {"street", "district", "city"}
    assert reaching(other_street) == {"district", "city"}
    assert reaching(other_city) == set()
    assert [r.reach_area.level for r in (own, street, district, city)] == [
        "community",
        "street",
        "district",
        "city",
    ]


def test_reaching_is_one_query(guanbeigou, django_assert_num_queries):
    make_resource(guanbeigou, reach=Resource.Reach.CITY)
    with django_assert_num_queries(1):
        assert len(list(selectors.list_resources_reaching(guanbeigou))) == 1


def test_owner_withdraws_own_offer(resident, guanbeigou):
    resource = make_resource(guanbeigou, owner=resident)
    services.set_resource_status(
        resource=resource, status=Resource.Status.WITHDRAWN, actor=portal_actor(resident)
    )
    resource.refresh_from_db()
    assert resource.status == Resource.Status.WITHDRAWN
    with pytest.raises(ConflictError):
        services.set_resource_status(resource=resource, status=Resource.Status.AVAILABLE, actor=SYSTEM)


def test_change_keeps_the_counters(guanbeigou, community_staff):
    resource = make_resource(guanbeigou, quantity=5)
    Resource.objects.filter(pk=resource.pk).update(taken=3)
    resource.refresh_from_db()
    resource.taken = 0
    resource.status = Resource.Status.USED_UP
    resource.title = "新棉被"
    services.save_resource(resource=resource, actor=staff_actor(community_staff))
    resource.refresh_from_db()
    assert (resource.title, resource.taken, resource.status) == ("新棉被", 3, Resource.Status.AVAILABLE)
    resource.quantity = 2
    with pytest.raises(DomainError) as caught:
        services.save_resource(resource=resource, actor=staff_actor(community_staff))
    assert caught.value.field == "quantity"


# --- money pledges ---------------------------------------------------------------------------------------


def test_honouring_a_pledge_records_the_donation_and_uses_it_up(guanbeigou, community_staff, today):
    fund = FundFactory(community=guanbeigou)
    merchant = OrganizationFactory(area=guanbeigou, type="merchant", name="爱心超市")
    pledge = make_resource(
        guanbeigou,
        owner=merchant,
        kind=Resource.Kind.MONEY_PLEDGE,
        title="认捐",
        amount_fen=50_000,
        fund=fund,
    )
    donation = services.honour_pledge(
        resource=pledge, actor=staff_actor(community_staff), received_on=today, receipt_waived=True
    )
    pledge.refresh_from_db()
    assert pledge.status == Resource.Status.USED_UP and pledge.donation == donation
    assert Donation.objects.get().amount_fen == 50_000
    assert donation.donor_organization == merchant
    assert AuditEvent.objects.filter(action=AuditAction.PLEDGE_HONOURED, object_id=str(pledge.pk)).exists()
    assert AuditEvent.objects.filter(action=AuditAction.DONATION_POSTED).count() == 1
    with pytest.raises(ConflictError):
        services.honour_pledge(
            resource=pledge, actor=staff_actor(community_staff), received_on=today, receipt_waived=True
        )
    assert Donation.objects.count() == 1


def test_a_refused_donation_leaves_the_pledge_open(guanbeigou, community_staff, today):
    fund = FundFactory(community=guanbeigou)
    pledge = make_resource(guanbeigou, kind=Resource.Kind.MONEY_PLEDGE, amount_fen=100, fund=fund)
    with pytest.raises(DomainError):  # neither a receipt number nor a waiver
        services.honour_pledge(resource=pledge, actor=staff_actor(community_staff), received_on=today)
    pledge.refresh_from_db()
    assert pledge.status == Resource.Status.AVAILABLE and pledge.donation is None
    assert not Donation.objects.exists()


def test_outsider_cannot_honour_a_pledge(guanbeigou, outsider, today):
    pledge = make_resource(
        guanbeigou, kind=Resource.Kind.MONEY_PLEDGE, amount_fen=100, fund=FundFactory(community=guanbeigou)
    )
    with pytest.raises(NotFoundError):
        services.honour_pledge(
            resource=pledge, actor=staff_actor(outsider), received_on=today, receipt_waived=True
        )
    assert not Donation.objects.exists()
