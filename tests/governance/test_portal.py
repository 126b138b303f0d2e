from tests.governance.conftest import VALID, C, R, build_committee, seat


def test_public_page_shows_members_grouped_by_category_and_no_mobile(client, gbg_committee):
    response = client.get(f"/committees/{gbg_committee.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    members = list(gbg_committee.memberships.select_related("person"))
    for m in members:
        assert m.person.name in html
        assert m.person.mobile not in html
        assert m.person.masked_mobile not in html
    assert "官北沟社区慈善基金管理委员会" in html and "官北沟社区慈善基金" in html
    assert "Resident" in html or "resident" in html
    assert "supervisor" in html


def test_public_page_states_the_voting_rules_in_words(client, gbg_committee):
    html = client.get(f"/committees/{gbg_committee.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "two-thirds of voting members" in html
    assert "more than half of members present" in html
    assert "¥50,000" in html
    assert "7 days" in html


def test_public_page_lists_composition_warnings(client, gbg_fund):
    committee = build_committee(gbg_fund, [s for s in VALID if s[1] != "supervisor"])
    html = client.get(f"/committees/{committee.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "no supervisor" in html


def test_valid_committee_page_shows_no_warnings(client, gbg_committee):
    html = client.get(f"/committees/{gbg_committee.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Composition warnings" not in html


def test_unknown_committee_is_404(client, db):
    assert client.get("/committees/999999/").status_code == 404


def test_public_page_runs_as_many_queries_for_many_members_as_for_few(
    client, gbg_committee, count_queries, settings
):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0  # the render is measured, not the cache

    def show():
        assert client.get(f"/committees/{gbg_committee.pk}/").status_code == 200

    show()  # warm up
    eight = count_queries(show)
    for _ in range(12):
        seat(gbg_committee, C.RESIDENT, R.MEMBER)
    assert count_queries(show) == eight <= 4
