"""A service project on a phone (390 px, no JavaScript, zh-hans): a resident opens their community's
projects from the community page, reads a project's milestones, progress, disclosures and the overdue
warning, and rates it once. The pages fit a phone. With E2E_SCREENSHOTS=1 the pages are saved to
artifacts/screenshots/."""

# ruff: noqa: F811  (fixtures)

import re

import pytest
from django.utils import translation

from governance import services
from governance.models import ProjectRating
from tests.e2e.conftest import browser, log_in_resident, phone_page  # noqa: F401 (the module's Chromium)
from tests.e2e.test_portal_browser import (  # noqa: F401 (BROWSER_ARGS: the module's Chromium)
    BROWSER_ARGS,
    assert_fits_a_phone,
)
from tests.e2e.test_portal_browser import shot as portal_shot
from tests.factories import PersonFactory, UserFactory

from .project_world import days, lead, running, staff  # noqa: F401

playwright_sync = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _chinese() -> bool:
    """Until the lead merges /work/tr/projects.json the project pages are still partly in English."""
    with translation.override("zh-hans"):
        return translation.gettext("Service projects") != "Service projects"


def shot(page, name):
    portal_shot(page, f"projects-{name}")


def test_a_resident_reads_a_project_and_rates_it_on_a_phone(
    phone_page, live_server, guanbeigou, community_staff, lead
):
    expect = playwright_sync.expect
    chinese = _chinese()
    actor = staff(community_staff)
    project = running(actor, guanbeigou, lead, starts_on=days(-200), ends_on=days(220))
    first = project.milestones.order_by("due_on").first()
    services.reach_milestone(actor=actor, milestone=first, reached_on=days(-175))
    services.report_progress(
        actor=actor,
        project=project,
        text="第一次公益市集办完，来了 120 人。",
        reported_on=days(-175),
        milestone=first,
        people_reached=120,
    )
    services.publish_disclosure(
        actor=actor,
        project=project,
        kind="progress",
        period_start=project.starts_on,
        period_end=days(-120),
        text="前两个月举办 2 次活动。",
        spent_fen=300_000,
    )
    me = PersonFactory(name="刘阿姨", mobile="13900000077", community=guanbeigou, user=UserFactory())

    page = phone_page()
    base = live_server.url
    log_in_resident(page, base, me.mobile)

    page.goto(f"{base}/communities/{guanbeigou.pk}/")
    page.locator(f"a[href='/committees/community/{guanbeigou.pk}/projects/']").click()
    expect(page.get_by_text("“一起”社区公益服务")).to_be_visible()
    shot(page, "01-list")
    assert_fits_a_phone(page, chinese=chinese)

    page.get_by_role("link", name=re.compile("“一起”社区公益服务")).click()
    expect(page.get_by_text("第一次公益市集办完，来了 120 人。")).to_be_visible()
    expect(page.get_by_text("前两个月举办 2 次活动。")).to_be_visible()
    expect(page.locator("p.notice[role=alert]").first).to_be_visible()  # the overdue progress disclosure
    shot(page, "02-project")
    assert_fits_a_phone(page, chinese=chinese)

    page.locator("form textarea[name=comment]").fill("义诊很实用")
    page.locator("form button[name=rating][value='5']").click()
    page.wait_for_load_state("load")
    rating = ProjectRating.objects.get()
    assert (rating.person, rating.rating, rating.comment) == (me, 5, "义诊很实用")
    expect(page.get_by_text("义诊很实用")).to_be_visible()
    assert page.locator("form button[name=rating]").count() == 0  # once only
    shot(page, "03-rated")
    assert_fits_a_phone(page, chinese=chinese)
