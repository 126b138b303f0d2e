"""Pages say which demo rows are invented, so no visitor reads an invention as a fact."""

import pytest

from charity.models import Area, Organization
from funds.models import Fund
from governance.models import Committee
from tests.demo_data import seeded_once

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo data, seeded once for the module (it took a second or more a test); each test reads it in a
    savepoint of its own (pytest-django's `db`)."""
    with seeded_once(django_db_blocker):
        yield


def test_an_invented_organisation_is_marked_and_a_real_one_is_not(client, demo):
    invented = client.get(f"/organizations/{Organization.objects.get(name='老马牛肉面馆').pk}/")
    real = client.get(f"/organizations/{Organization.objects.get(name='祯祥社').pk}/")
    assert "tag-illustrative" in invented.content.decode()
    # The heading is the organisation's own: a real one is not marked (the invented groups it connects are).
    heading = real.content.decode().split("<h1>", 1)[1].split("</h1>", 1)[0]
    assert "tag-illustrative" not in heading
    assert "tag-illustrative" in real.content.decode()  # 官北沟舞蹈队, an invented group it connects


def test_fund_pages_say_their_amounts_are_invented(client, demo):
    page = client.get(f"/funds/{Fund.objects.get(name='官北沟社区慈善基金').pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "every amount on this page is invented" in page.content.decode()
    named = Fund.objects.filter(kind="named").first()
    page = client.get(f"/funds/{named.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "this named fund's name and every amount on this page are invented" in page.content.decode()


def test_committee_page_marks_invented_members(client, demo):
    committee = Committee.objects.get(fund__name="官北沟社区慈善基金")
    page = client.get(f"/committees/{committee.pk}/").content.decode()
    assert page.count("tag-illustrative") >= 8  # every member is invented; some organisations too


def test_the_illustrative_community_is_marked(client, demo):
    example = Area.objects.get(name="示例社区")
    assert "tag-illustrative" in client.get(f"/communities/{example.pk}/").content.decode()
