"""A named fund's page shows the money it holds and the gifts that brought it; pages never dead-end."""

import pytest

pytestmark = pytest.mark.django_db


def test_named_fund_page_lists_the_donations_restricted_to_it(client, fund, named_fund, give):
    give(
        fund,
        590050,
        restriction="named_fund",
        restricted_fund=named_fund,
        donor_name="马文斌",
        publish_name=True,
    )
    give(
        fund, 10000, donor_name="张建国", publish_name=True
    )  # unrestricted: the parent's, not the named fund's
    page = client.get(f"/funds/{named_fund.pk}/").content.decode()
    assert "¥5,900.50" in page
    assert "马文斌" in page and "张建国" not in page
    assert "<svg" in page  # this year's income by channel counts the named fund's gifts


def test_parent_page_still_lists_every_gift_recorded_to_it(client, fund, named_fund, give):
    give(
        fund,
        590050,
        restriction="named_fund",
        restricted_fund=named_fund,
        donor_name="马文斌",
        publish_name=True,
    )
    give(fund, 10000, donor_name="张建国", publish_name=True)
    page = client.get(f"/funds/{fund.pk}/").content.decode()
    assert "马文斌" in page and "张建国" in page


def test_a_page_past_the_end_shows_the_last_page(client, fund, give):
    for i in range(31):  # 30 a page: two pages
        give(fund, 100 + i, donor_name=f"捐赠人{i:02d}", publish_name=True)
    response = client.get(f"/funds/{fund.pk}/?page=99")
    assert response.status_code == 200
    assert "捐赠人00" in response.content.decode()  # the oldest gift, alone on the last page
