"""The demo's allocation proposals: 大龙社区's three spendings from the study decided, paid and reported,
one proposal in public notice now, and 官北沟社区's one in voting — written through the services, twice the
same."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from funds.selectors import verify_ledger
from governance.models import Proposal
from governance.tally import decide_from_record
from tests.demo_data import table_counts

pytestmark = pytest.mark.django_db
S = Proposal.Status


@pytest.fixture(autouse=True)
def _development(settings):
    settings.DEBUG = True  # seed_demo refuses to run with DEBUG off


def test_the_demo_walks_donation_decision_payment_and_result_and_runs_twice_the_same(client):
    call_command("seed_demo", stdout=StringIO())
    dalong = Proposal.objects.filter(fund__community__name="大龙社区")
    spent = {p.title: p for p in dalong.exclude(status=S.NOTICE)}
    assert set(spent) == {"老旧楼栋加装楼梯扶手", "社区乒乓球场翻新", "小区监控建设"}
    today = timezone.localdate()
    for proposal in spent.values():
        assert proposal.status in (S.REPORTED, S.CLOSED)
        assert proposal.disbursed_fen == proposal.approved_fen == proposal.amount_fen
        assert proposal.first_paid_on < today and proposal.report.outcomes
        assert proposal.attachments.filter(is_public=True, kind="photo").exists()
        voting_round = proposal.rounds.get()
        assert voting_round.approved and decide_from_record(voting_round.record).approved
        assert voting_round.closed_because == "meeting" and voting_round.opinions.exists()
        # The history is dated in the past, in order, through the services' own clock.
        steps = list(proposal.timeline.order_by("id").values_list("at", flat=True))
        assert steps == sorted(steps) and steps[-1].date() < today
        paid_on = list(proposal.disbursements.order_by("id").values_list("paid_on", flat=True))
        assert (
            steps[0].date() < voting_round.closed_at.date() < paid_on[0] < proposal.report.submitted_at.date()
        )
    handrails = spent["老旧楼栋加装楼梯扶手"]
    assert handrails.disbursements.count() == 2 and handrails.status == S.CLOSED
    assert handrails.rounds.get().ballots.filter(recused="proposer").count() == 1
    notice = dalong.get(status=S.NOTICE)
    assert notice.notice_starts_at < timezone.now() < notice.notice_ends_at
    voting = Proposal.objects.get(fund__community__name="官北沟社区")
    assert voting.status == S.VOTING and voting.voting_deadline > timezone.now()
    assert verify_ledger().ok

    before = table_counts()
    call_command("seed_demo", stdout=StringIO())
    assert table_counts() == before

    # Every demo proposal's page, the community list and the fund page answer, linked together.
    for proposal in Proposal.objects.exclude(status=S.VOTING):
        assert client.get(f"/committees/proposals/{proposal.pk}/").status_code == 200
    assert client.get(f"/committees/proposals/{voting.pk}/").status_code == 404  # the committee's, for now
    html = client.get(f"/funds/{handrails.fund_id}/").content.decode()
    assert all(f"/committees/proposals/{p.pk}/#decision" in html for p in spent.values())
    photo = handrails.attachments.get(kind="photo")
    response = client.get(f"/committees/proposals/{handrails.pk}/files/{photo.pk}/")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
