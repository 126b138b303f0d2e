"""How a resident finds the needs and resources pages: the home page's "neighbours helping neighbours" links
and the community page's link to its needs. The home and community pages stay public cached pages: the
anonymous version carries no one's community, and a logged-in resident always gets their own."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db

HELP_LINKS = ("/needs/new/", "/resources/offer/", "/resources/tools/", "/resources/exchange/")


def get(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), len(ctx.captured_queries)


def test_the_home_page_links_to_asking_offering_borrowing_and_the_exchange(client, guanbeigou):
    page, _ = get(client, "/")
    for link in HELP_LINKS:
        assert f'href="{link}"' in page
    assert "/needs/community/" not in page  # whose community? not known to an anonymous visitor


def test_a_resident_finds_the_needs_of_their_own_community(client, resident, guanbeigou, dalong):
    client.force_login(resident.user)
    page, _ = get(client, "/")
    assert f'href="/needs/community/{guanbeigou.pk}/"' in page
    assert f"/needs/community/{dalong.pk}/" not in page
    for link in HELP_LINKS:
        assert f'href="{link}"' in page


def test_the_community_page_links_to_its_needs(client, guanbeigou):
    page, _ = get(client, f"/communities/{guanbeigou.pk}/")
    assert f'href="/needs/community/{guanbeigou.pk}/"' in page


def test_the_home_page_is_still_cached_for_visitors_and_never_for_a_resident(
    client, resident, guanbeigou, settings
):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 60
    first, _ = get(client, "/")
    again, queries = get(client, "/")
    assert queries == 0 and again == first  # the visitor's page came from the cache
    client.force_login(resident.user)
    mine, queries = get(client, "/")
    assert queries > 0 and f"/needs/community/{guanbeigou.pk}/" in mine
    client.logout()
    client.cookies.clear()
    anonymous, _ = get(client, "/")
    assert f"/needs/community/{guanbeigou.pk}/" not in anonymous
