"""The demo's service projects: Guanbeigou's fourteen-month "Together" project eight months in (milestones,
progress, one disclosure on time and one overdue) and Dalong's handrails, table tennis and CCTV, ended,
evaluated and funded by the proposals of the same names — written through the services, twice the same."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from governance import disclosure_calendar as dc
from governance.models import Project
from governance.selectors_projects import calendar_of, project_money

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _development(settings):
    settings.DEBUG = True  # seed_demo refuses to run with DEBUG off
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0


def test_the_demo_projects_and_their_calendars(client):
    call_command("seed_demo", stdout=StringIO())
    counts = (Project.objects.count(), sum(p.progress_reports.count() for p in Project.objects.all()))
    together = Project.objects.get(community__name="官北沟社区", title__contains="一起")
    assert together.status == "running" and together.lead_organization.name == "祯祥社"
    assert (
        together.ends_on.year - together.starts_on.year
    ) * 12 + together.ends_on.month - together.starts_on.month == 14
    assert together.milestones.filter(reached_on__isnull=False).count() == 2
    assert together.milestones.filter(reached_on__isnull=True).count() == 2
    assert together.progress_reports.count() == 4
    statuses = [(i.kind, i.status) for i in calendar_of(together, together.disclosures.all())]
    assert statuses == [
        ("progress", dc.DONE),
        ("progress", dc.OVERDUE),
        ("progress", dc.DUE),
        ("progress", dc.UPCOMING),
        ("final", dc.UPCOMING),
    ]
    dalong = {p.title: p for p in Project.objects.filter(community__name="大龙社区")}
    assert set(dalong) == {"老旧楼栋加装楼梯扶手", "社区乒乓球场翻新", "小区监控建设"}
    for project in dalong.values():
        assert project.status == "evaluated" and project.evaluation.criteria_results
        assert project.ended_at.date() < timezone.localdate()
        proposals, payments, received = project_money(project)
        assert [p.title for p in proposals] == [project.title]
        assert received == project.budget_fen
    final = {t: calendar_of(p, p.disclosures.all())[-1].status for t, p in dalong.items()}
    assert final == {"老旧楼栋加装楼梯扶手": dc.DONE, "社区乒乓球场翻新": dc.DONE, "小区监控建设": dc.DUE}
    html = client.get(f"/committees/projects/{together.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "A progress disclosure was due on" in html and "义诊和急救培训都很实用" in html
    call_command("seed_demo", stdout=StringIO())
    assert (Project.objects.count(), sum(p.progress_reports.count() for p in Project.objects.all())) == counts
