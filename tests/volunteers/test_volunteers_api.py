"""GET /api/v1/volunteers/: volunteer numbers in the key's scope; never an ID number or a date of birth."""

import json

import pytest

from charity.models import Organization
from tests.factories import OrganizationFactory, PersonFactory
from tests.volunteers.factories import make_volunteer, valid_resident_id

pytestmark = pytest.mark.django_db

URL = "/api/v1/volunteers/"


def test_lists_volunteers_of_the_keys_communities_without_id_numbers(hub_api, guanbeigou, dalong):
    team = OrganizationFactory(area=guanbeigou, type=Organization.Type.VOLUNTEER_TEAM, name="舞蹈队")
    number = valid_resident_id(serial=301)
    mine = make_volunteer(PersonFactory(community=guanbeigou, name="钱九"), id_number=number, skills="跳舞")
    mine.teams.add(team)
    far = make_volunteer(area=dalong)
    response = hub_api.get(URL)
    assert response.status_code == 200
    body = response.json()
    results = body["results"] if isinstance(body, dict) else body
    assert [r["number"] for r in results] == [mine.number]
    row = results[0]
    assert (
        row["community"] == guanbeigou.pk and row["skills"] == "跳舞" and row["teams"][0]["name"] == "舞蹈队"
    )
    text = json.dumps(body, ensure_ascii=False)
    for secret in (number, number[-4:] + '"', "1980-05-17", "钱九", mine.id_ciphertext, mine.person.mobile):
        assert secret not in text
    assert set(row) == {
        "id",
        "number",
        "community",
        "community_name",
        "skills",
        "teams",
        "status",
        "registered_at",
    }
    assert hub_api.get(f"{URL}{far.pk}/").status_code == 404
    assert hub_api.get(f"{URL}{mine.pk}/").status_code == 200


def test_filter_by_community_and_out_of_scope_is_empty(hub_api, guanbeigou, dalong):
    make_volunteer(area=guanbeigou)
    make_volunteer(area=dalong)

    def numbers(params):
        body = hub_api.get(URL, params).json()
        return body["results"] if isinstance(body, dict) else body

    assert len(numbers({"community": guanbeigou.pk})) == 1
    assert numbers({"community": dalong.pk}) == []
    assert hub_api.get(URL, {"community": "abc"}).status_code == 400


def test_anonymous_is_refused(api):
    assert api.get(URL).status_code in (401, 403)


def test_query_count_is_flat(hub_api, guanbeigou, count_queries):
    team = OrganizationFactory(area=guanbeigou, type=Organization.Type.VOLUNTEER_TEAM)
    make_volunteer(area=guanbeigou).teams.add(team)
    hub_api.get(URL)  # warm the key's cache
    one = count_queries(lambda: hub_api.get(URL))
    for _ in range(499):
        make_volunteer(area=guanbeigou).teams.add(team)
    # Past one page the pager counts the rows once (then keeps the count a while): one query, not one a row.
    assert count_queries(lambda: hub_api.get(URL)) <= one + 1
    assert count_queries(lambda: hub_api.get(URL)) == one
