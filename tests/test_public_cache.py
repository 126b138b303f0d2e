"""Public pages come from the cache for anonymous visitors and change as soon as the money behind them moves.

charity/public_pages.py; docs/performance.md. "From the cache" is proven by the page answering with no
database query at all.
"""

import datetime

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext

from charity import public_pages
from charity.models import AuditAction, AuditEvent, Organization
from charity.services import Actor, record_audit
from funds import services
from funds.models import Fund
from tests.factories import FundFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def queries_for(client, url, **extra):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **extra)
    assert response.status_code == 200, response.status_code
    return response.content.decode(), len(ctx.captured_queries)


def assert_cached(client, url, **extra):
    """The page is (now) served from the cache: a second request asks the database nothing."""
    first, _ = queries_for(client, url, **extra)
    again, count = queries_for(client, url, **extra)
    assert count == 0, f"{url} ran {count} queries: not served from the cache"
    assert again == first
    return again


@pytest.fixture
def pages(fund, hub, guanbeigou):
    from governance.models import Committee

    committee = Committee.objects.create(fund=fund, name="官北沟社区慈善基金管理委员会")
    return [
        f"/funds/{fund.pk}/",
        f"/communities/{guanbeigou.pk}/",
        f"/organizations/{hub.pk}/",
        f"/committees/{committee.pk}/",
        f"/committees/community/{guanbeigou.pk}/proposals/",  # allocation proposals (issue 12)
        f"/funds/{fund.pk}/where/",
        "/",
    ]


@pytest.fixture
def fund(guanbeigou):
    host = OrganizationFactory(
        name="酒泉市慈善总会", type=Organization.Type.CHARITY_FEDERATION, area=guanbeigou
    )
    return FundFactory(name="官北沟社区慈善基金", community=guanbeigou, host=host)


@pytest.fixture
def actor():
    return Actor.system(AuditEvent.Surface.COMMAND)


def give(fund, actor, amount_fen, name, receipt):
    return services.post_donation(
        fund=fund,
        amount_fen=amount_fen,
        actor=actor,
        receipt_no=receipt,
        channel="resident",
        received_on=datetime.date(2026, 3, 1),
        donor_name=name,
        publish_name=True,
    )


def test_every_public_page_is_served_from_the_cache(client, pages):
    for url in pages:
        assert_cached(client, url)


def test_a_donation_is_on_the_cached_page_at_the_next_request(client, fund, actor):
    url = f"/funds/{fund.pk}/"
    assert "张建国" not in assert_cached(client, url)
    give(fund, actor, 123456, "张建国", "R-1")
    page, count = queries_for(client, url)
    assert "张建国" in page and "¥1,234.56" in page and count > 0


def test_a_refund_is_on_the_cached_page_at_the_next_request(client, fund, actor):
    url = f"/funds/{fund.pk}/"
    donation = give(fund, actor, 123456, "张建国", "R-1")
    assert "¥1,234.56" in assert_cached(client, url)
    services.refund_donation(donation=donation, reason="捐赠人要求退回", actor=actor)
    page, _ = queries_for(client, url)
    assert "<s>¥1,234.56</s>" in page and "¥0.00" in page


def test_closing_the_fund_is_on_the_cached_page_at_the_next_request(client, fund, actor):
    url = f"/funds/{fund.pk}/"
    assert 'class="tag">已关闭' not in assert_cached(client, url)
    services.close_fund(fund=fund, actor=actor, closed_on=datetime.date(2026, 11, 30))
    page, _ = queries_for(client, url)
    assert "已关闭" in page and "2026-11-30" in page


def test_the_change_is_announced_again_when_the_transaction_commits(
    fund, actor, django_capture_on_commit_callbacks
):
    """Bumped at once (the writer sees its change) and again at commit (a page another visitor rendered
    from the data before the commit is thrown away)."""
    scope = fund.community_id
    before = public_pages._versions([scope])[scope]
    with django_capture_on_commit_callbacks() as callbacks:
        give(fund, actor, 100, "张建国", "R-1")
        at_once = public_pages._versions([scope])[scope]
    assert at_once != before and len(callbacks) == 1
    callbacks[0]()
    assert public_pages._versions([scope])[scope] not in (before, at_once)


def test_money_in_one_community_leaves_other_communities_pages_in_the_cache(client, fund, dalong, actor):
    other = FundFactory(name="大龙社区慈善基金", community=dalong)
    assert_cached(client, f"/funds/{other.pk}/")
    assert_cached(client, f"/communities/{dalong.pk}/")
    give(fund, actor, 100, "张建国", "R-1")
    assert queries_for(client, f"/funds/{other.pk}/")[1] == 0
    assert queries_for(client, f"/communities/{dalong.pk}/")[1] == 0
    assert queries_for(client, f"/funds/{fund.pk}/")[1] > 0


def test_a_change_of_records_renews_every_page(client, pages, hub, actor):
    for url in pages:
        assert_cached(client, url)
    record_audit(actor=actor, action=AuditAction.ORGANIZATION_CHANGED, obj=hub, area=hub.area)
    for url in pages:
        assert queries_for(client, url)[1] > 0, url


def test_an_action_nobody_listed_renews_every_page(client, pages, actor, monkeypatch):
    """A new kind of write can make pages slower, never stale."""
    for url in pages:
        assert_cached(client, url)
    event = AuditEvent(action="something.new", area=None)
    public_pages.audit_recorded(event)
    for url in pages:
        assert queries_for(client, url)[1] > 0, url


def test_a_log_in_renews_nothing(client, pages, actor):
    for url in pages:
        assert_cached(client, url)
    record_audit(actor=actor, action=AuditAction.LOGGED_IN)
    for url in pages:
        assert queries_for(client, url)[1] == 0, url


def test_one_language_never_reaches_another(client, pages):
    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    cookie_english = Client()
    cookie_english.cookies["django_language"] = "en"
    for url in pages:
        chinese_page = assert_cached(client, url)
        english_page = assert_cached(english, url)
        assert assert_cached(cookie_english, url) == english_page
        assert 'lang="zh-CN"' in chinese_page and "社区慈善" in chinese_page
        assert 'lang="en"' in english_page and "Community charity" in english_page
        assert client.get(url).content.decode() == chinese_page


def test_a_login_never_reaches_another_visitor_nor_the_other_way(client, pages, resident):
    logged_in = Client()
    logged_in.force_login(resident.user)
    for url in pages:
        anonymous = assert_cached(client, url)
        assert "登录" in anonymous and "退出" not in anonymous
        own = logged_in.get(url).content.decode()
        assert resident.name in own and "退出" in own and "csrfmiddlewaretoken" in own
        assert resident.name not in client.get(url).content.decode()
        # A logged-in visitor's page is rendered for them, every time.
        assert queries_for(logged_in, url)[1] > 0


def test_a_cached_page_holds_no_csrf_token_and_the_language_switch_still_works(client, fund):
    page = assert_cached(client, f"/funds/{fund.pk}/")
    assert "csrfmiddlewaretoken" not in page
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/i18n/setlang/", {"language": "en", "next": f"/funds/{fund.pk}/"})
    assert response.status_code == 302 and response.cookies["django_language"].value == "en"
    assert 'lang="en"' in strict.get(f"/funds/{fund.pk}/").content.decode()


def test_a_visitor_with_a_message_waiting_gets_their_own_page(client, resident):
    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert_cached(english, "/")
    english.force_login(resident.user)
    english.post("/accounts/logout/")
    assert "sessionid" not in english.cookies or not english.cookies["sessionid"].value
    page = english.get("/").content.decode()
    assert "You are logged out." in page  # the message, not the page cached before
    again, count = queries_for(english, "/")
    assert "You are logged out." not in again and count == 0


def test_pages_of_the_list_are_cached_apart_and_odd_values_not_at_all(client, fund, actor):
    for i in range(35):
        give(fund, actor, 100 + i, f"捐赠人{i}", f"R-{i}")
    first = assert_cached(client, f"/funds/{fund.pk}/")
    second = assert_cached(client, f"/funds/{fund.pk}/?page=2")
    assert "捐赠人34" in first and "捐赠人34" not in second and "捐赠人0" in second
    assert queries_for(client, f"/funds/{fund.pk}/?page=2&utm=x")[1] == 0  # other parameters are ignored
    assert queries_for(client, f"/funds/{fund.pk}/?page=x")[1] > 0
    assert queries_for(client, f"/funds/{fund.pk}/?page=x")[1] > 0  # never stored


def test_a_missing_page_is_not_cached(client, db):
    assert client.get("/funds/999999/").status_code == 404
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/funds/999999/").status_code == 404
    assert len(ctx.captured_queries) > 0


def test_zero_seconds_turns_the_cache_off(client, fund, settings):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0
    queries_for(client, f"/funds/{fund.pk}/")
    assert queries_for(client, f"/funds/{fund.pk}/")[1] > 0


def test_a_version_lost_from_the_cache_never_brings_back_an_old_page(client, fund, actor):
    """An evicted version is created anew with a fresh token: no page stored before matches it."""
    from django.core.cache import cache

    url = f"/funds/{fund.pk}/"
    assert_cached(client, url)
    cache.delete(public_pages._version_key(fund.community_id))
    assert queries_for(client, url)[1] > 0


def test_a_named_fund_closing_renews_the_parent_fund_page(client, fund, actor):
    named = FundFactory(
        name="马氏助学冠名基金", kind=Fund.Kind.NAMED, parent=fund, community=fund.community, host=fund.host
    )
    assert_cached(client, f"/funds/{fund.pk}/")
    services.close_fund(fund=named, actor=actor, closed_on=datetime.date(2026, 11, 30))
    assert queries_for(client, f"/funds/{fund.pk}/")[1] > 0


def test_a_page_that_asked_for_a_csrf_token_is_never_stored(rf, db):
    """Should a public template ever grow a form with a token, the page stays its visitor's own."""
    from django.middleware.csrf import get_token

    @public_pages.public_page()
    def with_a_form(request):
        return HttpResponse(f"<input value='{get_token(request)}'>")

    @public_pages.public_page()
    def without(request):
        return HttpResponse("plain")

    def visit(view):
        request = rf.get("/somewhere/")
        request.LANGUAGE_CODE = "zh-hans"
        return view(request).content

    assert visit(with_a_form) != visit(with_a_form)
    calls = []

    @public_pages.public_page()
    def counted(request):
        calls.append(1)
        return HttpResponse("plain")

    visit(counted), visit(counted)
    assert len(calls) == 1
