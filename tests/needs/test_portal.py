"""The portal: post a need with a preview, the public list and page (summaries only), offers, my page."""

import datetime

import pytest
from django.utils import timezone

from charity.models import Notification
from charity.services import Actor
from needs import services
from needs.models import Need, NeedSensitiveDetails, Offer

from .conftest import SECRET_ADDRESS, SECRETS, copies_of

pytestmark = pytest.mark.django_db


def form_data(category, **extra):
    return {
        "category": category.pk,
        "sub_kind": "clothing",
        "summary": "冬季需要10床棉被，给社区独居老人",
        "quantity": "10",
        "unit": "床",
        "beneficiary_count": "10",
        "urgency": "soon",
        "needed_by": (timezone.localdate() + datetime.timedelta(days=20)).isoformat(),
        "address": "",
        "agree_publish": "on",
        **extra,
    }


@pytest.fixture
def resident_client(client, resident):
    client.force_login(resident.user)
    return client


def test_posting_shows_a_preview_then_under_review(resident_client, category, resident, english):
    resident_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the page in the language asserted on
    data = form_data(category, address=SECRET_ADDRESS)
    preview = resident_client.post("/needs/new/", data)
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "This is exactly what everyone will see" in page and "冬季需要10床棉被" in page
    assert Need.objects.count() == 0
    done = resident_client.post("/needs/new/", {**data, "confirm": "1"})
    need = Need.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/needs/{need.pk}/submitted/"
    assert need.posted_by == resident and need.source == "portal" and need.status == "submitted"
    assert NeedSensitiveDetails.objects.get(need=need).consent_publish_summary
    assert "Under review" in resident_client.get(done["Location"]).content.decode()


def test_a_phone_number_in_the_summary_is_refused_at_the_preview(resident_client, category, english):
    resident_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = resident_client.post("/needs/new/", form_data(category, summary="有事打13812345678"))
    assert response.status_code == 200
    assert "looks like a mobile number" in response.content.decode()
    assert Need.objects.count() == 0


@pytest.mark.parametrize("extra", [{"quantity": "0"}, {"quantity": "-1"}, {"needed_by": "2020-01-01"}])
def test_bad_input_on_the_portal_changes_nothing(resident_client, category, extra):
    response = resident_client.post("/needs/new/", {**form_data(category, **extra), "confirm": "1"})
    assert response.status_code == 200
    assert Need.objects.count() == 0


def test_posting_needs_a_login(client):
    assert client.get("/needs/new/").status_code == 302


def test_the_public_list_and_page_show_summaries_never_sensitive_details(
    client, consent_need, staff_actor, guanbeigou, post_need
):
    services.publish_need(need=consent_need, actor=staff_actor)
    hidden = post_need(summary="还在审核中的需求")
    listing = client.get(f"/needs/community/{guanbeigou.pk}/").content.decode()
    page = client.get(f"/needs/{consent_need.pk}/").content.decode()
    assert consent_need.summary in listing and consent_need.summary in page
    assert "还在审核中的需求" not in listing
    assert client.get(f"/needs/{hidden.pk}/").status_code == 404
    for secret in SECRETS:
        assert secret not in listing and secret not in page


def test_html_in_a_summary_is_shown_as_text(client, post_need, staff_actor):
    need = post_need(summary="<script>alert(1)</script>需要扶手")
    services.publish_need(need=need, actor=staff_actor)
    page = client.get(f"/needs/{need.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_i_can_help_creates_an_offer_and_tells_the_poster(client, published_need, helper, resident):
    client.force_login(helper.user)
    response = client.post(f"/needs/{published_need.pk}/offer/", {"message": "我周六有空"})
    assert response.status_code == 302
    offer = Offer.objects.get()
    assert offer.offered_by == helper and offer.message == "我周六有空"
    notice = Notification.objects.get(person=resident, kind="need.offer")
    for secret in ("我周六有空", helper.name, helper.mobile):
        assert secret not in notice.text


def test_my_page_shows_my_needs_with_timeline_and_offers_and_i_can_accept(
    resident_client, published_need, helper, resident
):
    services.make_offer(
        need=published_need, actor=Actor("portal", user=helper.user), person=helper, message="我来"
    )
    page = resident_client.get("/me/").content.decode()
    assert published_need.summary in page and "我来" in page
    offer = Offer.objects.get()
    response = resident_client.post(f"/needs/offers/{offer.pk}/decide/", {"status": "accepted"})
    assert response.status_code == 302
    offer.refresh_from_db()
    published_need.refresh_from_db()
    assert offer.status == "accepted" and published_need.status == "matched"


def test_a_stranger_cannot_decide_an_offer(client, published_need, helper):
    offer = services.make_offer(need=published_need, actor=Actor("portal", user=helper.user), person=helper)
    client.force_login(helper.user)
    assert client.post(f"/needs/offers/{offer.pk}/decide/", {"status": "accepted"}).status_code == 404


def test_the_public_list_query_count_is_flat(
    client, guanbeigou, category, staff_actor, count_queries, settings
):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0

    need = services.submit_need(
        data=services.NeedInput(
            community=guanbeigou, category=category, sub_kind="goods", summary="第000件物品"
        ),
        source="staff",
        actor=staff_actor,
    )
    services.publish_need(need=need, actor=staff_actor)
    one = count_queries(lambda: client.get(f"/needs/community/{guanbeigou.pk}/"))
    copies_of(need, (f"第{i:03d}件物品" for i in range(1, 200)))  # published too
    many = count_queries(lambda: client.get(f"/needs/community/{guanbeigou.pk}/"))
    assert one == many


def test_download_and_account_deletion(resident_client, consent_need, post_need, resident):
    need = post_need()
    data = resident_client.get("/me/data/")
    assert data.status_code == 200 and need.summary in data.content.decode("utf-8")
    from charity import my_page

    my_page._erasures["needs"](resident, Actor.system())
    need.refresh_from_db()
    assert need.posted_by is None
