"""Honouring a money pledge from the resources admin (`<id>/honour/`): staff of the pledge's community,
through resources.services.honour_pledge (a donation posted to the fund's ledger, audited), errors as admin
messages, nothing changed on a refusal."""

import datetime

import pytest
from django.contrib.messages import get_messages

from charity.errors import DomainError
from charity.models import AuditAction, AuditEvent
from funds.models import Donation
from resources import services
from resources.models import Resource
from tests.factories import FundFactory, OrganizationFactory

from .conftest import SYSTEM, make_resource, staff_actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def fund(guanbeigou):
    return FundFactory(community=guanbeigou, name="官北沟社区基金")


@pytest.fixture
def pledge(guanbeigou, fund):
    merchant = OrganizationFactory(area=guanbeigou, type="merchant", name="爱心超市")
    return make_resource(
        guanbeigou, owner=merchant, kind=Resource.Kind.MONEY_PLEDGE, title="认捐五百元", amount_fen=50_000
    )


@pytest.fixture
def staff_client(client, community_staff):
    client.force_login(community_staff)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def url(resource):
    return f"/admin/resources/resource/{resource.pk}/honour/"


def data(to_fund, **extra):
    values = {
        "fund": to_fund.pk,
        "received_on": datetime.date.today().isoformat(),
        "receipt_no": "SJ-2026-001",
    }
    return {k: v for k, v in {**values, **extra}.items() if v is not None}


def state(pledge):
    pledge.refresh_from_db()
    return pledge.status, pledge.donation_id, Donation.objects.count()


def test_the_change_page_offers_the_button_to_staff_only_on_an_open_pledge(
    staff_client, pledge, guanbeigou, client, community_viewer
):
    page = staff_client.get(f"/admin/resources/resource/{pledge.pk}/change/").content.decode()
    assert url(pledge) in page
    tool = make_resource(guanbeigou, kind=Resource.Kind.TOOL, title="电钻")
    assert url(tool) not in staff_client.get(f"/admin/resources/resource/{tool.pk}/change/").content.decode()
    client.force_login(community_viewer)
    assert url(pledge) not in client.get(f"/admin/resources/resource/{pledge.pk}/change/").content.decode()


def test_honouring_records_the_donation_and_uses_the_pledge_up(staff_client, pledge, fund, community_staff):
    page = staff_client.get(url(pledge))
    assert page.status_code == 200 and "¥500.00" in page.content.decode()
    response = staff_client.post(url(pledge), data(fund))
    assert response.status_code == 302
    assert response["Location"] == f"/admin/resources/resource/{pledge.pk}/change/"
    donation = Donation.objects.get()
    assert (donation.amount_fen, donation.fund, donation.receipt_no) == (50_000, fund, "SJ-2026-001")
    assert donation.donor_organization == pledge.owner_organization
    assert state(pledge) == (Resource.Status.USED_UP, donation.pk, 1)
    assert (
        AuditEvent.objects.filter(action=AuditAction.PLEDGE_HONOURED, actor_user=community_staff).count() == 1
    )
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("¥500.00" in m and fund.name in m for m in shown)
    # The button is gone, and the page says it was honoured; a second POST records nothing.
    assert (
        url(pledge) not in staff_client.get(f"/admin/resources/resource/{pledge.pk}/change/").content.decode()
    )
    again = staff_client.post(url(pledge), data(fund, receipt_no="SJ-2026-002"))
    assert again.status_code == 200 and "already been honoured" in again.content.decode()
    assert Donation.objects.count() == 1


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"receipt_no": ""}, "or record that the donor waived the receipt"),
        ({"receipt_waived": "on"}, "A waived receipt has no number"),
        ({"received_on": "2999-01-01"}, "cannot be received in the future"),
        ({"received_on": "not a date"}, "Enter a valid date."),
        ({"fund": "987654"}, "Select a valid choice."),
        ({"fund": None}, "This field is required."),
        ({"receipt_no": "x" * 65}, "at most 64 characters"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(staff_client, pledge, fund, extra, message):
    before = state(pledge), AuditEvent.objects.count()
    response = staff_client.post(url(pledge), data(fund, **extra))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert (state(pledge), AuditEvent.objects.count()) == before


def test_a_service_refusal_is_an_admin_message(staff_client, pledge, fund):
    response = staff_client.post(url(pledge), data(fund, receipt_no=""))
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("receipt number" in m for m in shown)


def test_a_duplicate_receipt_number_is_refused_and_leaves_the_pledge_open(
    staff_client, pledge, fund, guanbeigou
):
    other = make_resource(guanbeigou, kind=Resource.Kind.MONEY_PLEDGE, title="另一笔", amount_fen=100)
    assert staff_client.post(url(other), data(fund)).status_code == 302
    response = staff_client.post(url(pledge), data(fund))
    assert response.status_code == 200 and "already been recorded" in response.content.decode()
    assert state(pledge) == (Resource.Status.AVAILABLE, None, 1)


def test_another_communitys_fund_is_not_offered_nor_accepted(staff_client, pledge, dalong, community_staff):
    theirs = FundFactory(community=dalong, name="大龙社区基金")
    page = staff_client.get(url(pledge))
    assert "大龙社区基金" not in page.content.decode()
    before = state(pledge)
    response = staff_client.post(url(pledge), data(theirs))
    assert response.status_code == 200 and state(pledge) == before
    # And the service refuses it on its own.
    with pytest.raises(DomainError) as caught:
        services.honour_pledge(
            resource=pledge,
            actor=staff_actor(community_staff),
            received_on=datetime.date.today(),
            receipt_waived=True,
            fund=theirs,
        )
    assert caught.value.field == "fund" and state(pledge) == before


def test_a_withdrawn_pledge_cannot_be_honoured(staff_client, pledge, fund):
    services.set_resource_status(resource=pledge, status=Resource.Status.WITHDRAWN, actor=SYSTEM)
    response = staff_client.post(url(pledge), data(fund))
    assert response.status_code == 200 and "no longer open" in response.content.decode()
    assert Donation.objects.count() == 0


def test_a_viewer_is_refused_and_another_community_gets_404(client, pledge, fund, community_viewer, outsider):
    before = state(pledge)
    client.force_login(community_viewer)
    assert client.get(url(pledge)).status_code == 403
    assert client.post(url(pledge), data(fund)).status_code == 403
    client.force_login(outsider)
    assert client.get(url(pledge)).status_code == 404
    assert client.post(url(pledge), data(fund)).status_code == 404
    assert client.get("/admin/resources/resource/987654/honour/").status_code == 404
    assert state(pledge) == before


def test_a_resource_that_is_not_a_pledge_has_no_honour_page(staff_client, guanbeigou):
    tool = make_resource(guanbeigou, kind=Resource.Kind.TOOL, title="电钻")
    assert staff_client.get(url(tool)).status_code == 404
