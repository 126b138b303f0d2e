"""The fund's promises in the admin: a restriction change with consent, a leftover decision and investment
income are recorded through their services; a refusal shows on the form and records nothing."""

import pytest

from charity.models import AuditEvent
from funds.models import Fund, InvestmentIncome, LeftoverDecision, RestrictionChange, Transaction

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_staff_record_a_restriction_change_with_the_donors_consent(client, community_staff, fund, give):
    give(fund, 8_000, restriction="purpose", purpose="楼梯扶手")
    client.force_login(community_staff)
    form = {
        "fund": fund.pk,
        "from_purpose": "楼梯扶手",
        "to_fund": fund.pk,
        "to_purpose": "乒乓球场",
        "amount_yuan": "30.00",
        "consent_by": "马文斌",
        "consent_on": "2026-02-20",
        "consent_record": "书面同意书 JQ-TY-2026-003",
    }
    refused = client.post("/admin/funds/restrictionchange/add/", {**form, "consent_record": ""})
    assert refused.status_code == 200 and refused.context["adminform"].form.errors.get("consent_record")
    too_much = client.post("/admin/funds/restrictionchange/add/", {**form, "amount_yuan": "80.01"})
    assert too_much.status_code == 200 and too_much.context["adminform"].form.errors.get("amount_yuan")
    assert not RestrictionChange.objects.exists() and Transaction.objects.count() == 1
    response = client.post("/admin/funds/restrictionchange/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    change = RestrictionChange.objects.get()
    assert change.amount_fen == 3_000 and change.recorded_by == community_staff
    assert AuditEvent.objects.filter(action="funds.restriction_changed", surface="admin").count() == 1
    page = client.get(f"/admin/funds/restrictionchange/{change.pk}/change/").content.decode()
    assert "马文斌" in page and "JQ-TY-2026-003" in page


def test_a_leftover_decision_takes_a_manager_and_closes_the_named_fund(
    client, community_staff, community_manager, fund, named_fund, give
):
    give(fund, 5_000, restriction="named_fund", restricted_fund=named_fund)
    form = {
        "fund": named_fund.pk,
        "basis": "similar_purpose",
        "to_fund": fund.pk,
        "to_purpose": "助学",
        "reason": "冠名人已迁居，按同类用途（助学）转入社区基金。",
        "decided_on": "2026-03-01",
    }
    client.force_login(community_staff)
    assert client.post("/admin/funds/leftoverdecision/add/", form).status_code == 403
    client.force_login(community_manager)
    response = client.post("/admin/funds/leftoverdecision/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    decision = LeftoverDecision.objects.get()
    assert decision.amount_fen == 5_000
    named_fund.refresh_from_db()
    assert named_fund.status == Fund.Status.CLOSED


def test_staff_record_investment_income(client, community_staff, fund):
    client.force_login(community_staff)
    response = client.post(
        "/admin/funds/investmentincome/add/", {"fund": fund.pk, "amount_yuan": "12.00", "memo": "一季度利息"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    income = InvestmentIncome.objects.get()
    assert income.kind == "investment_income"
    listing = client.get("/admin/funds/investmentincome/").content.decode()
    assert "¥12.00" in listing and "一季度利息" in listing


def test_closing_a_fund_that_holds_money_says_to_decide_its_leftover(client, community_manager, fund, give):
    give(fund, 5_000)
    client.force_login(community_manager)
    response = client.post(
        "/admin/funds/fund/",
        {"action": "close_funds", "_selected_action": [fund.pk], "index": "0"},
        follow=True,
    )
    page = response.content.decode()
    assert "¥50.00" in page and fund.name in page  # "… still holds ¥50.00: record … (a leftover decision)"
    fund.refresh_from_db()
    assert fund.is_open
