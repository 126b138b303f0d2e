import pytest

from funds.models import Fund
from tests.factories import FundFactory

pytestmark = pytest.mark.django_db


def test_fund_page_shows_balance_channels_named_funds_and_consenting_donors(
    client, fund, named_fund, give, resident
):
    give(fund, 123456, donor_name="张建国", publish_name=True)
    give(fund, 5000, donor_name="不愿公开的人", publish_name=False, channel="merchant")
    give(fund, 7000, donor_person=resident, anonymous=True)
    give(fund, 2000, restriction="purpose", purpose="独居老人助餐", donor_name="某人")
    page = client.get(f"/funds/{fund.pk}/").content.decode()
    assert "¥1,374.56" in page  # balance: 1234.56 + 50 + 70 + 20
    assert "张建国" in page
    assert "不愿公开的人" not in page and resident.name not in page
    assert resident.mobile not in page
    assert "<svg" in page and "独居老人助餐" in page
    assert named_fund.name in page
    assert "<script" not in page


def test_fund_page_in_english(client, fund, give):
    give(fund, 100, donor_name="A", publish_name=False)
    page = client.get(f"/funds/{fund.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "anonymous" in page and "Donations" in page


def test_community_link_goes_to_its_fund(client, fund):
    response = client.get(f"/funds/community/{fund.community_id}/")
    assert response.status_code == 302 and response["Location"].endswith(f"/funds/{fund.pk}/")


def test_unknown_fund_is_404(client, db):
    assert client.get("/funds/999999/").status_code == 404
    assert client.get("/funds/community/999999/").status_code == 404


def test_a_page_that_is_not_a_number_shows_the_first_page(client, fund, give):
    give(fund, 100, donor_name="张建国", publish_name=True)
    response = client.get(f"/funds/{fund.pk}/?page=abc")
    assert response.status_code == 200 and "张建国" in response.content.decode()


def add_donations_and_named_funds(fund, give, numbers):
    for i in numbers:
        give(fund, 100 + i, donor_name=f"捐赠人{i}", publish_name=True)
        FundFactory(
            name=f"冠名{i}",
            kind=Fund.Kind.NAMED,
            parent=fund,
            community=fund.community,
            host=fund.host,
            named_after="某人",
        )


def test_fund_page_runs_as_many_queries_for_500_donations_as_for_one(
    client, fund, give, count_queries, settings
):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0  # the render is measured, not the cache

    def show():
        assert client.get(f"/funds/{fund.pk}/").status_code == 200

    add_donations_and_named_funds(fund, give, range(1))
    show()  # warm up
    one = count_queries(show)
    add_donations_and_named_funds(fund, give, range(1, 500))
    assert count_queries(show) == one <= 13  # 13: the payments with their proposals (issue 12)


def test_fund_page_weighs_under_60_kb_with_its_css(client, fund, give):
    from pathlib import Path

    from django.conf import settings

    for i in range(30):
        give(fund, 1000 + i, donor_name=f"捐赠人{i}", publish_name=True)
    html = client.get(f"/funds/{fund.pk}/").content
    css = (Path(settings.BASE_DIR) / "static/css/portal.css").read_bytes()
    assert len(html) + len(css) < 60_000
