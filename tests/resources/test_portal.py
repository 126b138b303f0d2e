"""The portal: offer, the exchange, the tool library, "my" pages, and the sections on "my page"."""

import pytest
from django.urls import reverse

from charity.models import Notification
from resources.models import Claim, Resource, WaitlistEntry

from .conftest import SYSTEM, make_item, make_resource, make_tool, neighbour, portal_actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client, resident):
    client.force_login(resident.user)
    return client


def test_pages_need_a_login(client):
    for name in ("index", "offer", "exchange", "tools", "my_resources", "my_loans", "my_claims"):
        response = client.get(reverse(f"resources:{name}"))
        assert response.status_code == 302 and "login" in response["Location"]


def test_resident_offers_and_finds_it_on_my_resources(browser, resident):
    response = browser.post(
        reverse("resources:offer"),
        {
            "kind": "goods",
            "title": "<b>旧童书</b>",
            "quantity": "5",
            "reach": "community",
            "for_exchange": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    resource = Resource.objects.get()
    assert resource.owner_person == resident and resource.for_exchange
    page = browser.get(reverse("resources:my_resources")).content.decode()
    assert "&lt;b&gt;旧童书&lt;/b&gt;" in page and "<b>旧童书</b>" not in page


@pytest.mark.parametrize(
    "data, message",
    [
        ({"quantity": "0"}, "at least 1"),
        ({"quantity": "-1"}, "at least 1"),
        ({"available_from": "2026-05-02", "available_until": "2026-05-01"}, "ends before it starts"),
        ({"description": "长" * 3000}, "At most 2000"),
    ],
)
def test_bad_offers_say_why_and_change_nothing(browser, english, data, message):
    form = {"kind": "goods", "title": "被子", "quantity": "1", "reach": "community", **data}
    response = browser.post(reverse("resources:offer"), form, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Resource.objects.exists()


def test_claim_from_the_exchange_then_twice_is_refused(browser, resident, guanbeigou):
    item = make_item(guanbeigou, quantity=3, title="台灯")
    page = browser.get(reverse("resources:exchange")).content.decode()
    assert "台灯" in page
    assert browser.post(reverse("resources:claim", args=[item.pk])).status_code == 302
    assert Claim.objects.get().claimant == resident
    browser.post(reverse("resources:claim", args=[item.pk]), follow=True)
    assert Claim.objects.count() == 1
    assert "台灯" in browser.get(reverse("resources:my_claims")).content.decode()


def test_another_communitys_item_is_404(browser, dalong):
    item = make_item(dalong)
    assert browser.post(reverse("resources:claim", args=[item.pk])).status_code == 404
    assert not Claim.objects.exists()
    assert item.title not in browser.get(reverse("resources:exchange")).content.decode()


def test_tool_library_shows_when_free_and_takes_a_waiting_place(browser, resident, guanbeigou):
    from resources import services

    drill = make_tool(guanbeigou, title="冲击钻")
    services.lend_tool(resource=drill, borrower=neighbour(guanbeigou), actor=SYSTEM)
    page = browser.get(reverse("resources:tools")).content.decode()
    assert "冲击钻" in page
    assert browser.post(reverse("resources:wait", args=[drill.pk])).status_code == 302
    assert WaitlistEntry.objects.get().person == resident
    assert "冲击钻" in browser.get(reverse("resources:my_loans")).content.decode()


def test_giver_hands_over_on_my_resources(client, guanbeigou):
    giver = neighbour(guanbeigou)
    taker = neighbour(guanbeigou)
    item = make_item(guanbeigou, owner=giver)
    from resources import services

    claim = services.claim_item(resource=item, person=taker, actor=portal_actor(taker))
    client.force_login(giver.user)
    assert taker.name in client.get(reverse("resources:my_resources")).content.decode()
    client.post(reverse("resources:hand_over", args=[claim.pk]))
    claim.refresh_from_db()
    assert claim.status == Claim.Status.HANDED_OVER
    assert Notification.objects.filter(person=taker).count() == 1
    # Nobody else's claim can be confirmed from here.
    client.force_login(taker.user)
    assert client.post(reverse("resources:hand_over", args=[claim.pk])).status_code == 404


def test_my_page_has_the_three_sections(browser, resident, guanbeigou):
    make_resource(guanbeigou, owner=resident, title="我的场地", kind=Resource.Kind.VENUE)
    from charity import my_page

    names = [s.name for s in my_page.sections()]
    assert {"resources", "loans", "claims"} <= set(names)
    response = browser.get("/me/")
    assert response.status_code == 200
    assert "我的场地" in response.content.decode()


def test_my_data_download_and_erasure(resident, guanbeigou):
    from charity import my_page
    from resources import services

    make_resource(guanbeigou, owner=resident, title="我的旧书", description="住3号楼")
    item = make_item(guanbeigou, quantity=1)
    services.claim_item(resource=item, person=resident, actor=portal_actor(resident))
    data = my_page.export_person_data(resident)
    assert data["resources"][0]["title"] == "我的旧书" and data["claims"][0]["status"] == "claimed"
    from resources.my_page import erase

    counts = erase(resident, portal_actor(resident))
    assert counts["claims_cancelled"] == 1 and counts["resources_withdrawn"] == 1
    mine = Resource.objects.get(owner_person=resident)
    assert mine.status == Resource.Status.WITHDRAWN and mine.description == ""
    item.refresh_from_db()
    assert item.taken == 0


def test_pages_run_as_many_queries_for_many_rows(browser, resident, guanbeigou, count_queries):
    from resources import services

    def add(n):
        for _ in range(n):
            make_item(guanbeigou, quantity=2)
            make_tool(guanbeigou)
            item = make_item(guanbeigou)
            services.claim_item(resource=item, person=resident, actor=portal_actor(resident))

    counts = {}
    add(1)
    names = ("index", "exchange", "tools", "my_claims", "my_loans")
    for name in names:
        browser.get(reverse(f"resources:{name}"))
        counts[name] = count_queries(lambda n=name: browser.get(reverse(f"resources:{n}")))
    add(15)
    for name in names:
        assert count_queries(lambda n=name: browser.get(reverse(f"resources:{n}"))) == counts[name], name
