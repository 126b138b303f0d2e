"""Each fund page says how to give — as the host's staff entered it; the platform collects nothing."""

import pytest

pytestmark = pytest.mark.django_db


def test_fund_page_shows_the_hosts_account_and_online_page(client, fund):
    fund.giving_instructions = "开户行：中国银行酒泉分行\n账号：6217 0000 0000 0000\n附言：官北沟社区慈善基金"
    fund.giving_url = "https://give.example.org/guanbeigou"
    fund.save()
    page = client.get(f"/funds/{fund.pk}/").content.decode()
    assert "附言：官北沟社区慈善基金" in page
    assert 'href="https://give.example.org/guanbeigou"' in page


def test_a_named_fund_without_its_own_uses_its_parents(client, fund, named_fund):
    fund.giving_instructions = "账号：6217 0000 0000 0000"
    fund.save()
    assert "账号：6217 0000 0000 0000" in client.get(f"/funds/{named_fund.pk}/").content.decode()


def test_without_instructions_the_page_sends_people_to_the_office(client, fund):
    page = client.get(f"/funds/{fund.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Ask the neighbourhood committee office how to give" in page
    assert "collects no money" in page


def test_a_closed_fund_asks_for_no_gifts(client, fund, actor):
    import datetime

    from funds.services import close_fund

    close_fund(fund=fund, actor=actor, closed_on=datetime.date(2026, 6, 30))
    page = client.get(f"/funds/{fund.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "How to give" not in page


def test_staff_enter_how_to_give_in_the_admin(client, community_manager, fund):
    client.force_login(community_manager)
    page = client.get(f"/admin/funds/fund/{fund.pk}/change/").content.decode()
    assert 'name="giving_instructions"' in page and 'name="giving_url"' in page
