"""What a clerk does with a committee in the admin: the amount threshold in yuan, no delete."""

import re

import pytest
from django.utils.html import strip_tags

from charity.services import Actor
from governance.models import Committee
from governance.services import create_committee

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    return re.sub(r"\s+", " ", strip_tags(response.content.decode()))


RULES = {
    "quorum_numerator": 2,
    "quorum_denominator": 3,
    "approval_numerator": 1,
    "approval_denominator": 2,
    "high_approval_numerator": 2,
    "high_approval_denominator": 3,
    "notice_days": 7,
}


@pytest.fixture
def committee(gbg_fund):
    return create_committee(fund=gbg_fund, name="官北沟基金管委会", actor=Actor.system())


def change(client, committee, threshold):
    return client.post(
        f"/admin/governance/committee/{committee.pk}/change/",
        {
            "name": committee.name,
            **RULES,
            "high_amount_threshold_yuan": threshold,
            "memberships-TOTAL_FORMS": 0,
            "memberships-INITIAL_FORMS": 0,
            "memberships-MIN_NUM_FORMS": 0,
            "memberships-MAX_NUM_FORMS": 1000,
        },
    )


def test_the_threshold_is_typed_in_yuan(client, community_staff, committee):
    client.force_login(community_staff)
    page = client.get(f"/admin/governance/committee/{committee.pk}/change/").content.decode()
    assert 'name="high_amount_threshold_yuan"' in page and 'value="50000.00"' in page
    assert "金额门槛（元）" in page and 'name="high_amount_threshold_fen"' not in page
    assert change(client, committee, "80000.50").status_code == 302
    committee.refresh_from_db()
    assert committee.high_amount_threshold_fen == 8_000_050


@pytest.mark.parametrize("typed", ["-1", "1.234", "abc"])
def test_a_bad_threshold_is_refused_and_nothing_changes(client, community_staff, committee, typed):
    client.force_login(community_staff)
    response = change(client, committee, typed)
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    committee.refresh_from_db()
    assert committee.high_amount_threshold_fen == 5_000_000


def test_a_viewer_reads_the_threshold_in_yuan(client, community_viewer, committee):
    client.force_login(community_viewer)
    page = text_of(client.get(f"/admin/governance/committee/{committee.pk}/change/"))
    assert "金额门槛（元）： ¥50,000.00" in page or "¥50,000.00" in page
    assert "5000000" not in page and "（分）" not in page


def test_the_rule_change_reads_in_yuan_in_the_audit_log(client, community_manager, committee):
    client.force_login(community_manager)
    change(client, committee, "80000")
    page = text_of(client.get("/admin/charity/auditevent/"))
    assert "¥50,000.00 → ¥80,000.00" in page, page
    assert Committee.objects.get().high_amount_threshold_fen == 8_000_000


def test_a_manager_is_offered_no_way_to_delete_a_committee(client, community_manager, committee):
    client.force_login(community_manager)
    listing = client.get("/admin/governance/committee/").content.decode()
    page = client.get(f"/admin/governance/committee/{committee.pk}/change/").content.decode()
    assert "delete_selected" not in listing and f"/{committee.pk}/delete/" not in page
    assert (
        client.post(f"/admin/governance/committee/{committee.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert Committee.objects.filter(pk=committee.pk).exists()
