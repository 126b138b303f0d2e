"""Service projects: the plan fixed once started, progress by staff or the lead organisation's key,
evaluation only after the end, residents' ratings once each, disclosures published and corrected, never
edited. Each refusal: a clear message and nothing changed."""
# ruff: noqa: F811  (the fixtures imported from project_world are the tests' arguments)

import datetime

import pytest
from django.core.exceptions import ValidationError

from charity.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from charity.models import AuditAction, AuditEvent
from governance import services
from governance.models import Disclosure, Evaluation, Milestone, ProgressReport, Project, ProjectRating
from tests.factories import UserFactory, assign

from .project_world import (  # noqa: F401  (fixtures)
    dalong_resident,
    days,
    ended,
    gbg_resident,
    key_actor,
    lead,
    other_hub,
    plan,
    resident_actor,
    running,
    staff,
    today,
)

pytestmark = pytest.mark.django_db
P = Project.Status


def _audits(action):
    return AuditEvent.objects.filter(action=action).count()


# --- planning ----------------------------------------------------------------------------------------------


def test_staff_plans_a_project_with_milestones_and_followers(guanbeigou, community_staff, lead, gbg_resident):
    project = plan(staff(community_staff), guanbeigou, lead, followers=[gbg_resident])
    assert project.status == P.PLANNED
    assert [m.title for m in project.milestones.order_by("due_on")] == ["第一次公益市集", "急救培训结业"]
    assert list(project.followers.all()) == [gbg_resident]
    assert project.evaluation_criteria.splitlines() == [
        "举办 12 次活动",
        "培训 100 名居民",
        "居民满意度 4 分以上",
    ]
    event = AuditEvent.objects.get(action=AuditAction.PROJECT_CREATED)
    assert event.area == guanbeigou and event.actor_user == community_staff


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"title": "  "}, "title", "Give the project a title."),
        ({"summary": "联系 13812345678"}, "summary", "phone"),
        ({"evaluation_criteria": "\n \n"}, "evaluation_criteria", "at least one evaluation criterion"),
        ({"target_beneficiaries": 0}, "target_beneficiaries", "at least 1"),
        ({"budget_fen": -1}, "budget_fen", "whole number of fen"),
        ({"budget_fen": 12.5}, "budget_fen", "whole number of fen"),
        (
            {"starts_on": datetime.date(2026, 5, 1), "ends_on": datetime.date(2026, 4, 30)},
            "ends_on",
            "end before",
        ),
        ({"starts_on": "2026-05-01"}, "starts_on", "date the project starts"),
        (
            {
                "starts_on": datetime.date(2026, 1, 1),
                "ends_on": datetime.date(2026, 6, 30),
                "milestones": [("太晚了", datetime.date(2026, 7, 1))],
            },
            "milestones",
            "outside the project's dates",
        ),
    ],
)
def test_bad_plans_are_refused_with_the_field_and_nothing_is_written(
    english, guanbeigou, community_staff, lead, fields, field, words
):
    with pytest.raises(DomainError) as caught:
        plan(staff(community_staff), guanbeigou, lead, **fields)
    assert caught.value.field == field
    assert words in str(caught.value.message)
    assert not Project.objects.exists() and not Milestone.objects.exists()
    assert _audits(AuditAction.PROJECT_CREATED) == 0


def test_a_project_belongs_to_a_community_not_a_street(english, street, street_staff, lead):
    with pytest.raises(DomainError) as caught:
        plan(staff(street_staff), street, lead)
    assert caught.value.code == "not_a_community"


def test_a_lead_organisation_must_work_in_the_community(english, guanbeigou, dalong, community_staff):
    from tests.factories import OrganizationFactory

    elsewhere = OrganizationFactory(name="大龙舞蹈队", area=dalong)
    with pytest.raises(DomainError) as caught:
        plan(staff(community_staff), guanbeigou, elsewhere)
    assert caught.value.code == "lead_not_serving"
    assert "大龙舞蹈队" in str(caught.value.message)


def test_staff_of_another_community_cannot_plan_here(guanbeigou, outsider, lead):
    with pytest.raises(NotFoundError):
        plan(staff(outsider), guanbeigou, lead)


def test_a_viewer_cannot_plan(guanbeigou, community_viewer, lead):
    with pytest.raises(ForbiddenError):
        plan(staff(community_viewer), guanbeigou, lead)


def test_a_key_plans_only_projects_its_organisation_leads(guanbeigou, hub, other_hub):
    project = plan(key_actor(hub), guanbeigou, hub)
    assert project.lead_organization == hub
    with pytest.raises(ForbiddenError) as caught:
        plan(key_actor(hub), guanbeigou, other_hub)
    assert caught.value.code == "lead_must_be_key_owner"


def test_a_key_outside_its_areas_plans_nothing(guanbeigou, dalong, lead):
    from tests.factories import OrganizationFactory

    dalong_hub = OrganizationFactory(name="大龙枢纽", area=dalong)
    dalong_hub.served_areas.add(dalong)
    with pytest.raises(NotFoundError):
        plan(key_actor(dalong_hub), guanbeigou, lead)


def test_the_plan_changes_freely_before_the_start(guanbeigou, community_staff, lead):
    project = plan(staff(community_staff), guanbeigou, lead)
    services.update_plan(
        actor=staff(community_staff),
        project=project,
        budget_fen=4_000_000,
        goals="新的目标：两年内覆盖全部楼栋。",
    )
    project.refresh_from_db()
    assert project.budget_fen == 4_000_000
    assert _audits(AuditAction.PROJECT_PLAN_CHANGED) == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("evaluation_criteria", "只看一个指标"),
        ("goals", "换一个目标"),
        ("budget_fen", 9_000_000),
        ("ends_on", None),
    ],
)
def test_goals_budget_criteria_and_dates_are_fixed_once_started(
    english, guanbeigou, community_staff, lead, name, value
):
    project = running(staff(community_staff), guanbeigou, lead)
    value = project.ends_on + datetime.timedelta(days=30) if value is None else value
    before = Project.objects.values().get(pk=project.pk)
    with pytest.raises(ConflictError) as caught:
        services.update_plan(actor=staff(community_staff), project=project, **{name: value})
    assert caught.value.code == "plan_fixed"
    assert "fixed once the project has started" in str(caught.value.message)
    assert Project.objects.values().get(pk=project.pk) == before


def test_the_public_summary_may_still_change_while_running(guanbeigou, community_staff, lead):
    project = running(staff(community_staff), guanbeigou, lead)
    services.update_plan(
        actor=staff(community_staff), project=project, summary="更新后的简介：每月第二个周六举办。"
    )
    project.refresh_from_db()
    assert project.summary.startswith("更新后的简介")


# --- progress ----------------------------------------------------------------------------------------------


def test_staff_and_the_lead_organisations_key_report_progress(guanbeigou, community_staff, lead):
    project = running(staff(community_staff), guanbeigou, lead)
    milestone = project.milestones.order_by("due_on").first()
    services.report_progress(
        actor=staff(community_staff),
        project=project,
        text="第一次公益市集办完，来了 120 人。",
        reported_on=today(),
        milestone=milestone,
        people_reached=120,
    )
    report = services.report_progress(
        actor=key_actor(lead), project=project, text="急救培训第一期开课。", reported_on=today()
    )
    assert report.by_organization == lead and report.by_user is None
    assert ProgressReport.objects.filter(project=project).count() == 2
    assert _audits(AuditAction.PROJECT_PROGRESS_REPORTED) == 2


def test_progress_on_someone_elses_project_is_refused_and_changes_nothing(
    guanbeigou, community_staff, lead, other_hub
):
    # The other organisation serves the community and reads the project: told it may not, not "absent".
    project = running(staff(community_staff), guanbeigou, lead)
    with pytest.raises(ForbiddenError) as refused:
        services.report_progress(
            actor=key_actor(other_hub), project=project, text="冒名报告", reported_on=today()
        )
    assert refused.value.code == "not_lead_organization"
    assert not ProgressReport.objects.exists()


def test_progress_by_staff_of_another_community_looks_absent(guanbeigou, community_staff, outsider, lead):
    project = running(staff(community_staff), guanbeigou, lead)
    with pytest.raises(NotFoundError):
        services.report_progress(actor=staff(outsider), project=project, text="越权", reported_on=today())
    assert not ProgressReport.objects.exists()


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"text": ""}, "text_required"),
        ({"reported_on": None}, "date_in_future"),
        ({"reported_on": "today"}, "invalid_date"),
        ({"people_reached": -3}, "invalid_number"),
        ({"reported_on": datetime.date(2000, 1, 1)}, "before_start"),
    ],
)
def test_bad_progress_is_refused(guanbeigou, community_staff, lead, fields, code):
    project = running(staff(community_staff), guanbeigou, lead)
    values = {"text": "进展", "reported_on": today(), **fields}
    if "reported_on" in fields and fields["reported_on"] is None:
        values["reported_on"] = days(1)
    with pytest.raises(DomainError) as caught:
        services.report_progress(actor=staff(community_staff), project=project, **values)
    assert caught.value.code == code
    assert not ProgressReport.objects.exists()


def test_progress_against_another_projects_milestone_is_refused(guanbeigou, community_staff, lead):
    one = running(staff(community_staff), guanbeigou, lead)
    two = running(staff(community_staff), guanbeigou, lead, title="第二个项目")
    with pytest.raises(DomainError) as caught:
        services.report_progress(
            actor=staff(community_staff),
            project=one,
            text="进展",
            reported_on=today(),
            milestone=two.milestones.first(),
        )
    assert caught.value.code == "wrong_milestone"


def test_progress_is_reported_only_while_running(english, guanbeigou, community_staff, lead):
    project = plan(staff(community_staff), guanbeigou, lead)
    with pytest.raises(ConflictError) as caught:
        services.report_progress(
            actor=staff(community_staff), project=project, text="进展", reported_on=today()
        )
    assert "while the project runs" in str(caught.value.message)


def test_a_milestone_is_reached_once(english, guanbeigou, community_staff, lead):
    project = running(staff(community_staff), guanbeigou, lead)
    milestone = project.milestones.first()
    services.reach_milestone(actor=staff(community_staff), milestone=milestone, reached_on=today())
    with pytest.raises(ConflictError):
        services.reach_milestone(actor=staff(community_staff), milestone=milestone, reached_on=today())
    milestone.refresh_from_db()
    assert milestone.reached_on == today()


def test_a_progress_report_is_never_edited(guanbeigou, community_staff, lead):
    project = running(staff(community_staff), guanbeigou, lead)
    report = services.report_progress(
        actor=staff(community_staff), project=project, text="进展", reported_on=today()
    )
    report.text = "改过的"
    with pytest.raises(ValidationError):
        report.save()


# --- the end and the evaluation ----------------------------------------------------------------------------

RESULTS = [(True, "办了 12 次"), (False, "只培训了 80 人"), {"met": True, "note": "4.5 分"}]


def test_an_evaluation_before_the_project_ends_is_refused(english, guanbeigou, community_staff, lead):
    project = running(staff(community_staff), guanbeigou, lead)
    with pytest.raises(ConflictError) as caught:
        services.record_evaluation(
            actor=staff(community_staff),
            project=project,
            criteria_results=RESULTS,
            people_reached=400,
            summary="总结",
            evaluator="社区居委会",
        )
    assert caught.value.code == "not_ended"
    assert "evaluated once it has ended" in str(caught.value.message)
    assert not Evaluation.objects.exists()
    assert Project.objects.get(pk=project.pk).status == P.RUNNING


def test_an_ended_project_is_evaluated_once_with_one_result_per_criterion(guanbeigou, community_staff, lead):
    project = ended(staff(community_staff), guanbeigou, lead)
    evaluation = services.record_evaluation(
        actor=staff(community_staff),
        project=project,
        criteria_results=RESULTS,
        people_reached=400,
        summary="活动如期完成，培训人数未达标。",
        evaluator="酒泉示例大学社会工作系",
    )
    assert [r["met"] for r in evaluation.criteria_results] == [True, False, True]
    assert evaluation.criteria_results[1]["criterion"] == "培训 100 名居民"
    assert Project.objects.get(pk=project.pk).status == P.EVALUATED
    with pytest.raises(ConflictError):
        services.record_evaluation(
            actor=staff(community_staff),
            project=project,
            criteria_results=RESULTS,
            people_reached=1,
            summary="再来一次",
            evaluator="x",
        )


@pytest.mark.parametrize(
    ("results", "code"),
    [
        (RESULTS[:2], "results_mismatch"),
        ([(True, ""), ("yes", ""), (True, "")], "met_required"),
        (None, "results_mismatch"),
    ],
)
def test_evaluation_results_must_match_the_criteria(guanbeigou, community_staff, lead, results, code):
    project = ended(staff(community_staff), guanbeigou, lead)
    with pytest.raises(DomainError) as caught:
        services.record_evaluation(
            actor=staff(community_staff),
            project=project,
            criteria_results=results,
            people_reached=1,
            summary="总结",
            evaluator="居委会",
        )
    assert caught.value.code == code
    assert not Evaluation.objects.exists()
    assert Project.objects.get(pk=project.pk).status == P.ENDED


# --- ratings -----------------------------------------------------------------------------------------------


def test_a_resident_rates_once(english, guanbeigou, community_staff, lead, gbg_resident):
    project = running(staff(community_staff), guanbeigou, lead)
    actor = resident_actor(gbg_resident)
    services.rate_project(actor=actor, project=project, rating=5, comment="市集办得好")
    with pytest.raises(ConflictError) as caught:
        services.rate_project(actor=actor, project=project, rating=1)
    assert "already rated" in str(caught.value.message)
    assert list(ProjectRating.objects.values_list("rating", flat=True)) == [5]


def test_a_resident_of_another_community_cannot_rate(
    english, guanbeigou, community_staff, lead, dalong_resident
):
    project = running(staff(community_staff), guanbeigou, lead)
    with pytest.raises(ForbiddenError) as caught:
        services.rate_project(actor=resident_actor(dalong_resident), project=project, rating=4)
    assert "Only residents of 官北沟社区" in str(caught.value.message)
    assert not ProjectRating.objects.exists()


@pytest.mark.parametrize("rating", [0, 6, "5", 4.5, True])
def test_a_rating_is_a_whole_number_from_1_to_5(guanbeigou, community_staff, lead, gbg_resident, rating):
    project = running(staff(community_staff), guanbeigou, lead)
    with pytest.raises(DomainError) as caught:
        services.rate_project(actor=resident_actor(gbg_resident), project=project, rating=rating)
    assert caught.value.field == "rating"
    assert not ProjectRating.objects.exists()


def test_a_planned_project_is_not_rated_yet(guanbeigou, community_staff, lead, gbg_resident):
    project = plan(staff(community_staff), guanbeigou, lead)
    with pytest.raises(ConflictError):
        services.rate_project(actor=resident_actor(gbg_resident), project=project, rating=3)


def test_staff_hide_a_rating(guanbeigou, community_staff, lead, gbg_resident):
    project = running(staff(community_staff), guanbeigou, lead)
    rating = services.rate_project(
        actor=resident_actor(gbg_resident), project=project, rating=1, comment="不满意"
    )
    services.hide_rating(actor=staff(community_staff), rating=rating, reason="人身攻击")
    rating.refresh_from_db()
    assert rating.hidden_at is not None
    assert AuditEvent.objects.get(action=AuditAction.PROJECT_RATING_HIDDEN).data["reason"] == "人身攻击"


# --- disclosures -------------------------------------------------------------------------------------------


def test_a_published_disclosure_is_never_edited_a_correction_is_a_new_note(guanbeigou, community_staff, lead):
    project = running(staff(community_staff), guanbeigou, lead, starts_on=days(-100))
    disclosure = services.publish_disclosure(
        actor=staff(community_staff),
        project=project,
        kind="progress",
        period_start=project.starts_on,
        period_end=today(),
        text="前三个月举办 3 次活动。",
        spent_fen=500_000,
    )
    disclosure.text = "悄悄改掉"
    with pytest.raises(ValidationError):
        disclosure.save()
    with pytest.raises(ValidationError):
        Disclosure.objects.filter(pk=disclosure.pk).update(text="悄悄改掉")
    correction = services.publish_correction(
        actor=staff(community_staff),
        disclosure=disclosure,
        text="更正：支出应为 5,200 元。",
        spent_fen=520_000,
    )
    assert correction.corrects == disclosure and correction.kind == "correction"
    assert Disclosure.objects.get(pk=disclosure.pk).text == "前三个月举办 3 次活动。"
    assert _audits(AuditAction.DISCLOSURE_CORRECTED) == 1


def test_the_final_disclosure_needs_the_leftover_money_and_its_use(
    english, guanbeigou, community_staff, lead
):
    project = ended(staff(community_staff), guanbeigou, lead, starts_on=days(-100), ends_on=days(-1))
    base = {
        "actor": staff(community_staff),
        "project": project,
        "kind": "final",
        "period_start": project.starts_on,
        "period_end": days(-1),
        "text": "项目结束，全部公开。",
    }
    for extra, code in [
        ({}, "spent_required"),
        ({"spent_fen": 100}, "leftover_required"),
        ({"spent_fen": 100, "leftover_fen": 5_000}, "leftover_use_required"),
        ({"spent_fen": 100, "leftover_fen": 0}, "leftover_use_required"),
    ]:
        with pytest.raises(DomainError) as caught:
            services.publish_disclosure(**base, **extra)
        assert caught.value.code == code
    assert not Disclosure.objects.exists()
    services.publish_disclosure(**base, spent_fen=100, leftover_fen=5_000, leftover_use="转入社区助老专项")
    with pytest.raises(ConflictError):
        services.publish_disclosure(**base, spent_fen=100, leftover_fen=0, leftover_use="无结余")


def test_a_final_disclosure_waits_for_the_end(guanbeigou, community_staff, lead):
    project = running(staff(community_staff), guanbeigou, lead)
    with pytest.raises(ConflictError):
        services.publish_disclosure(
            actor=staff(community_staff),
            project=project,
            kind="final",
            period_start=project.starts_on,
            period_end=today(),
            text="提前公开",
            spent_fen=0,
            leftover_fen=0,
            leftover_use="无结余",
        )
    assert not Disclosure.objects.exists()


@pytest.mark.parametrize(
    ("period", "code"),
    [
        ((0, 5), "date_in_future"),
        ((-5, -10), "ends_before_start"),
        ((-400, -1), "period_outside_project"),
    ],
)
def test_a_disclosure_period_must_be_real(guanbeigou, community_staff, lead, period, code):
    project = running(staff(community_staff), guanbeigou, lead)
    with pytest.raises(DomainError) as caught:
        services.publish_disclosure(
            actor=staff(community_staff),
            project=project,
            kind="progress",
            period_start=days(period[0]),
            period_end=days(period[1]),
            text="公开",
        )
    assert caught.value.code == code
    assert not Disclosure.objects.exists()


def test_a_key_cannot_publish_disclosures(guanbeigou, community_staff, lead):
    project = running(staff(community_staff), guanbeigou, lead)
    with pytest.raises(ForbiddenError):
        services.publish_disclosure(
            actor=key_actor(lead),
            project=project,
            kind="progress",
            period_start=project.starts_on,
            period_end=today(),
            text="公开",
        )


def test_street_staff_act_on_the_communities_below(guanbeigou, street_staff, lead):
    project = running(staff(street_staff), guanbeigou, lead)
    assert project.status == P.RUNNING


def test_a_deactivated_staff_member_acts_on_nothing(guanbeigou, lead):
    user = assign(UserFactory(username="gone", is_staff=True, is_active=False), guanbeigou)
    with pytest.raises(NotFoundError):
        plan(staff(user), guanbeigou, lead)
