"""Service projects (公益项目): a plan fixed before the start, progress against milestones, an evaluation at
the end, residents' ratings, and disclosures that are published once and corrected, never edited
(docs/projects.md). Each service validates, writes and records its audit event in one transaction.

Who may act:
- staff of the project's community (STAFF role or above) plan, start, end, evaluate, disclose, moderate;
- the lead organisation's API key creates projects it leads in the areas it serves, and reports progress on
  them; another organisation's key that serves the community (and so reads the project) is refused
  (ForbiddenError), one outside it is answered as if the project did not exist (NotFoundError);
- a logged-in resident of the project's community rates it once, from its start on.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from charity.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from charity.models import Area, AuditAction, Organization, Person, StaffAssignment
from charity.scoping import scope_for_organization
from charity.services import Actor, record_audit, require_staff
from charity.validators import clean_text
from funds.models import MAX_AMOUNT_FEN

from .models import (
    COMMENT_MAX,
    PROJECT_TEXT_MAX,
    PROJECT_TITLE_MAX,
    Disclosure,
    Evaluation,
    Milestone,
    ProgressReport,
    Project,
    ProjectRating,
    Proposal,
)
from .selectors_projects import actual_end
from .text_checks import check_text

__all__ = [
    "DISCLOSURE_EDIT_REFUSED",
    "ProjectError",
    "WrongProjectStatus",
    "add_milestone",
    "cancel_project",
    "create_project",
    "criteria_lines",
    "end_project",
    "hide_rating",
    "link_proposal",
    "publish_correction",
    "publish_disclosure",
    "rate_project",
    "reach_milestone",
    "record_evaluation",
    "report_progress",
    "start_project",
    "update_plan",
]

P = Project.Status

BENEFICIARY_GROUPS_MAX = 500
EVALUATOR_MAX = 200
CRITERIA_MAX = 30
MILESTONES_MAX = 50
# A plan longer than this is almost certainly a typing mistake in a year.
LONGEST_PROJECT_DAYS = 10 * 366
MAX_PEOPLE = 10_000_000

# Changeable while the project runs; everything else in the plan is fixed once it starts (the issue:
# "goals, beneficiaries, plan, budget and evaluation criteria fixed before it starts").
CHANGEABLE_WHILE_RUNNING = ("title", "summary", "beneficiary_groups")
PLAN_FIELDS = (
    "title",
    "summary",
    "goals",
    "beneficiary_groups",
    "target_beneficiaries",
    "budget_fen",
    "evaluation_criteria",
    "starts_on",
    "ends_on",
    "lead_organization",
)


_LEAD_NOT_SERVING = _(
    "%(org)s neither is based in %(community)s nor serves it: it cannot lead a project there."
)


class ProjectError(DomainError):
    code = "invalid_project"


class WrongProjectStatus(ConflictError):
    code = "wrong_status"


# --- who may act -------------------------------------------------------------------------------------------


def _require_staff(actor: Actor, area: Area, role: str = StaffAssignment.Role.STAFF) -> None:
    """Staff of `area`; the system and superusers always. A key is told it needs a member of staff."""
    if actor.organization is not None:
        if not scope_for_organization(actor.organization).contains(area):
            raise NotFoundError()
        raise ForbiddenError(_("An organisation's API key cannot do this: it needs a member of staff."))
    require_staff(actor, area, role)


def _require_staff_or_lead_key(actor: Actor, project: Project) -> None:
    """Staff of the project's community, or the key of the organisation leading it. Another key that serves
    the community reads the project, so it is told it may not (ForbiddenError), not that it is absent; a key
    outside the community: NotFoundError."""
    if actor.organization is not None:
        if not scope_for_organization(actor.organization).contains(project.community):
            raise NotFoundError()
        if actor.organization.pk != project.lead_organization_id:
            raise ForbiddenError(
                _("Only the organisation leading this project reports on it through its API key."),
                code="not_lead_organization",
            )
        return
    require_staff(actor, project.community)


def _resident_of(actor: Actor) -> Person:
    person = getattr(actor.user, "person", None) if actor.user is not None else None
    if person is None:
        raise ForbiddenError(_("Log in as a resident of the community to do this."), code="login_required")
    return person


# --- checking input ----------------------------------------------------------------------------------------


def _text(value, *, field: str, max_length: int, required_message, public: bool = False) -> str:
    if value is not None and not isinstance(value, str):
        raise ProjectError(_("Enter text here."), code="invalid_text", field=field)
    # Shown on the portal (`public`): the same refusal of phone and ID numbers as a need's summary.
    return check_text(
        value,
        error=ProjectError,
        field=field,
        max_length=max_length,
        required_message=required_message,
        public=public,
    )


def _whole_number(value, *, field: str, minimum: int, maximum: int, message) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ProjectError(message, code="invalid_number", field=field)
    return value


def _fen(value, *, field: str, required: bool = True) -> int | None:
    if value is None and not required:
        return None
    return _whole_number(
        value,
        field=field,
        minimum=0,
        maximum=MAX_AMOUNT_FEN,
        message=_("Give the amount as a whole number of fen (1 yuan = 100 fen), zero or more."),
    )


def _date(value, *, field: str, message) -> datetime.date:
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise ProjectError(message, code="invalid_date", field=field)
    return value


def _not_future(value: datetime.date, *, field: str) -> datetime.date:
    if value > timezone.localdate():
        raise ProjectError(_("This date cannot be in the future."), code="date_in_future", field=field)
    return value


# The plan's text fields: (longest, what is said when one is left empty, shown on the portal).
_PLAN_TEXTS = {
    "title": (PROJECT_TITLE_MAX, _("Give the project a title."), False),
    "summary": (PROJECT_TEXT_MAX, _("Say in a few sentences what the project does."), True),
    "goals": (PROJECT_TEXT_MAX, _("Say what the project aims to achieve."), True),
    "beneficiary_groups": (BENEFICIARY_GROUPS_MAX, _("Say who the project serves."), True),
}
_PLAN_CHECKED = (*_PLAN_TEXTS, "target_beneficiaries", "budget_fen", "evaluation_criteria")


def _check_plan_value(name: str, value):
    """One field of a project's plan (a name in _PLAN_CHECKED), checked; the dates are checked together, by
    _check_period. Raises ProjectError naming the field."""
    if name in _PLAN_TEXTS:
        max_length, message, public = _PLAN_TEXTS[name]
        return _text(value, field=name, max_length=max_length, required_message=message, public=public)
    if name == "target_beneficiaries":
        return _whole_number(
            value,
            field=name,
            minimum=1,
            maximum=MAX_PEOPLE,
            message=_("Give the number of people the project aims to reach as a whole number, at least 1."),
        )
    if name == "budget_fen":
        return _fen(value, field=name)
    return _check_criteria(value)  # "evaluation_criteria", the last of _PLAN_CHECKED


def criteria_lines(text: str) -> list[str]:
    """The evaluation criteria as a list: one per non-empty line, in order."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _check_criteria(value) -> str:
    text = _text(
        value,
        field="evaluation_criteria",
        max_length=PROJECT_TEXT_MAX,
        required_message=_("Give at least one evaluation criterion: one per line."),
    )
    lines = criteria_lines(text)
    if len(lines) > CRITERIA_MAX:
        raise ProjectError(
            _("At most %(max)d evaluation criteria, one per line.") % {"max": CRITERIA_MAX},
            code="too_many_criteria",
            field="evaluation_criteria",
        )
    return "\n".join(lines)


def _check_period(starts_on, ends_on) -> tuple[datetime.date, datetime.date]:
    starts_on = _date(starts_on, field="starts_on", message=_("Give the date the project starts."))
    ends_on = _date(ends_on, field="ends_on", message=_("Give the date the project ends."))
    if ends_on < starts_on:
        raise ProjectError(
            _("The project cannot end before it starts."), code="ends_before_start", field="ends_on"
        )
    if (ends_on - starts_on).days > LONGEST_PROJECT_DAYS:
        raise ProjectError(
            _("A project runs for at most ten years: check the end date."),
            code="too_long_period",
            field="ends_on",
        )
    return starts_on, ends_on


def _check_milestone(title, due_on, *, starts_on, ends_on) -> tuple[str, datetime.date]:
    title = _text(
        title,
        field="milestones",
        max_length=PROJECT_TITLE_MAX,
        required_message=_("Each milestone needs a name."),
    )
    due_on = _date(due_on, field="milestones", message=_("Give each milestone a due date."))
    if not starts_on <= due_on <= ends_on:
        raise ProjectError(
            _("Milestone “%(title)s” is due on %(due)s, outside the project's dates (%(start)s to %(end)s).")
            % {"title": title, "due": due_on, "start": starts_on, "end": ends_on},
            code="milestone_outside_project",
            field="milestones",
        )
    return title, due_on


def _leads_in(organization: Organization, community: Area) -> bool:
    """An organisation may lead a project of a community it is based in (or above) or serves."""
    ancestors = [community.path[: i * Area.steplen] for i in range(1, community.depth + 1)]
    return (
        Organization.objects.filter(pk=organization.pk)
        .filter(Q(area__path__in=ancestors) | Q(served_areas__path__in=ancestors))
        .exists()
    )


def _audit(actor: Actor, action: str, project: Project, summary: str, **data) -> None:
    record_audit(
        actor=actor,
        action=action,
        obj=project,
        area=project.community,
        summary=f"{project.title}: {summary}",
        data={"project": project.pk, "status": project.status, **data},
    )


def _lock(project: Project) -> Project:
    """The project's row, locked for the rest of the transaction and read afresh."""
    return (
        Project.objects.select_for_update(of=("self",))
        .select_related("community", "lead_organization")
        .get(pk=project.pk)
    )


def _require_status(project: Project, *allowed: str, message=None) -> None:
    if project.status not in allowed:
        raise WrongProjectStatus(
            message
            or _("This cannot be done while the project is “%(status)s”.")
            % {"status": project.get_status_display()}
        )


# --- planning ----------------------------------------------------------------------------------------------


def create_project(
    *,
    actor: Actor,
    community: Area,
    lead_organization: Organization,
    title: str,
    summary: str,
    goals: str,
    beneficiary_groups: str,
    target_beneficiaries: int,
    budget_fen: int,
    evaluation_criteria: str,
    starts_on: datetime.date,
    ends_on: datetime.date,
    milestones: Sequence[tuple[str, datetime.date]] = (),
    needs: Iterable = (),
    followers: Iterable[Person] = (),
) -> Project:
    """Plan a project: `milestones` is [(title, due_on), …] within the project's dates.

    Staff of the community, or a key of an organisation serving it for a project that organisation leads.
    Raises NotFoundError/ForbiddenError, ProjectError (not_a_community, lead_required, lead_not_serving,
    title_required, summary_required, goals_required, too_long, mobile_in_public_text…,
    beneficiary_groups_required, invalid_number, invalid_date, ends_before_start,
    evaluation_criteria_required, milestone_outside_project, wrong_need).
    """
    if not isinstance(community, Area) or community.level != Area.Level.COMMUNITY:
        raise ProjectError(
            _("A project belongs to one community: choose a community, not a street or district."),
            code="not_a_community",
            field="community",
        )
    community = Area.objects.get(pk=community.pk)  # read afresh: the tree may have been renumbered
    if actor.organization is not None:
        if not scope_for_organization(actor.organization).contains(community):
            raise NotFoundError()
        if lead_organization is not None and lead_organization.pk != actor.organization.pk:
            raise ForbiddenError(
                _("An organisation's API key creates only projects its own organisation leads."),
                code="lead_must_be_key_owner",
            )
        lead_organization = actor.organization
    else:
        require_staff(actor, community)
    if not isinstance(lead_organization, Organization):
        raise ProjectError(
            _("Name the organisation that leads the project."),
            code="lead_required",
            field="lead_organization",
        )
    if not _leads_in(lead_organization, community):
        raise ProjectError(
            _LEAD_NOT_SERVING % {"org": lead_organization.name, "community": community.name},
            code="lead_not_serving",
            field="lead_organization",
        )
    title = _check_plan_value("title", title)
    summary = _check_plan_value("summary", summary)
    goals = _check_plan_value("goals", goals)
    beneficiary_groups = _check_plan_value("beneficiary_groups", beneficiary_groups)
    target_beneficiaries = _check_plan_value("target_beneficiaries", target_beneficiaries)
    budget_fen = _check_plan_value("budget_fen", budget_fen)
    evaluation_criteria = _check_plan_value("evaluation_criteria", evaluation_criteria)
    starts_on, ends_on = _check_period(starts_on, ends_on)
    milestones = list(milestones)
    if len(milestones) > MILESTONES_MAX:
        raise ProjectError(
            _("At most %(max)d milestones.") % {"max": MILESTONES_MAX}, code="too_many", field="milestones"
        )
    checked = []
    for entry in milestones:
        try:
            m_title, m_due = entry
        except (TypeError, ValueError):
            raise ProjectError(
                _("Give each milestone as a name and a due date."),
                code="invalid_milestone",
                field="milestones",
            ) from None
        checked.append(_check_milestone(m_title, m_due, starts_on=starts_on, ends_on=ends_on))
    needs = list(needs)
    if any(need.community_id != community.pk for need in needs):
        raise ProjectError(_("A need of another community was chosen."), code="wrong_need", field="needs")
    followers = list(followers)
    with transaction.atomic():
        project = Project.objects.create(
            community=community,
            lead_organization=lead_organization,
            title=title,
            summary=summary,
            goals=goals,
            beneficiary_groups=beneficiary_groups,
            target_beneficiaries=target_beneficiaries,
            budget_fen=budget_fen,
            evaluation_criteria=evaluation_criteria,
            starts_on=starts_on,
            ends_on=ends_on,
            created_by=actor.user,
        )
        Milestone.objects.bulk_create(
            Milestone(project=project, position=i, title=t, due_on=d) for i, (t, d) in enumerate(checked)
        )
        if needs:
            project.needs.set(needs)
        if followers:
            project.followers.set(followers)
        _audit(
            actor,
            AuditAction.PROJECT_CREATED,
            project,
            "planned",
            budget_fen=budget_fen,
            starts_on=starts_on.isoformat(),
            ends_on=ends_on.isoformat(),
            milestones=len(checked),
            followers=len(followers),
        )
    return project


def update_plan(*, actor: Actor, project: Project, **changes) -> Project:
    """Change the plan. While planned: any of PLAN_FIELDS; once started only the title, the public summary
    and who it serves (goals, budget, criteria and dates are fixed); once ended, nothing.

    Raises ProjectError (unknown_field, plus create_project's checks), WrongProjectStatus (plan_fixed).
    """
    _require_staff(actor, project.community)
    unknown = set(changes) - set(PLAN_FIELDS)
    if unknown:
        raise ProjectError(
            _("This is not part of a project's plan."), code="unknown_field", field=sorted(unknown)[0]
        )
    with transaction.atomic():
        project = _lock(project)
        changed = {}
        for name, value in changes.items():
            old = getattr(project, name)
            if (old.pk if name == "lead_organization" and old is not None else old) == (
                value.pk if name == "lead_organization" and value is not None else value
            ):
                continue
            changed[name] = value
        if not changed:
            return project
        if project.status != P.PLANNED:
            fixed = [name for name in changed if name not in CHANGEABLE_WHILE_RUNNING]
            if project.status not in (P.RUNNING,) or fixed:
                field = fixed[0] if fixed else sorted(changed)[0]
                raise WrongProjectStatus(
                    _(
                        "The plan is fixed once the project has started: %(field)s can no longer be "
                        "changed (only the title, the public summary and who it serves, while it runs)."
                    )
                    % {"field": Project._meta.get_field(field).verbose_name},
                    code="plan_fixed",
                )
        cleaned = dict(changed)
        for name in _PLAN_CHECKED:  # in this order, as create_project checks them
            if name in cleaned:
                cleaned[name] = _check_plan_value(name, cleaned[name])
        if "starts_on" in cleaned or "ends_on" in cleaned:
            starts_on, ends_on = _check_period(
                cleaned.get("starts_on", project.starts_on), cleaned.get("ends_on", project.ends_on)
            )
            outside = project.milestones.exclude(due_on__range=(starts_on, ends_on)).first()
            if outside is not None:
                raise ProjectError(
                    _("Milestone “%(title)s” (due %(due)s) would fall outside the new dates.")
                    % {"title": outside.title, "due": outside.due_on},
                    code="milestone_outside_project",
                    field="starts_on" if "starts_on" in cleaned else "ends_on",
                )
        if "lead_organization" in cleaned:
            lead = cleaned["lead_organization"]
            if not isinstance(lead, Organization):
                raise ProjectError(
                    _("Name the organisation that leads the project."),
                    code="lead_required",
                    field="lead_organization",
                )
            if not _leads_in(lead, project.community):
                raise ProjectError(
                    _LEAD_NOT_SERVING % {"org": lead.name, "community": project.community.name},
                    code="lead_not_serving",
                    field="lead_organization",
                )
        for name, value in cleaned.items():
            setattr(project, name, value)
        project.save(update_fields=list(cleaned))
        _audit(
            actor,
            AuditAction.PROJECT_PLAN_CHANGED,
            project,
            ", ".join(sorted(cleaned)),
            fields=sorted(cleaned),
        )
    return project


def add_milestone(*, actor: Actor, project: Project, title: str, due_on: datetime.date) -> Milestone:
    """Add a milestone within the project's dates, while it is planned or running."""
    _require_staff(actor, project.community)
    with transaction.atomic():
        project = _lock(project)
        _require_status(project, P.PLANNED, P.RUNNING)
        title, due_on = _check_milestone(title, due_on, starts_on=project.starts_on, ends_on=project.ends_on)
        position = project.milestones.count()
        milestone = Milestone.objects.create(project=project, position=position, title=title, due_on=due_on)
        _audit(
            actor,
            AuditAction.MILESTONE_ADDED,
            project,
            title,
            milestone=milestone.pk,
            due_on=due_on.isoformat(),
        )
    return milestone


def reach_milestone(*, actor: Actor, milestone: Milestone, reached_on: datetime.date) -> Milestone:
    """Mark a milestone of a running project reached (once), on a date from the start up to today."""
    project = milestone.project
    _require_staff_or_lead_key(actor, project)
    reached_on = _not_future(
        _date(reached_on, field="reached_on", message=_("Give the date the milestone was reached.")),
        field="reached_on",
    )
    with transaction.atomic():
        project = _lock(project)
        _require_status(project, P.RUNNING)
        milestone = Milestone.objects.select_for_update().get(pk=milestone.pk, project=project)
        if milestone.reached_on is not None:
            raise ConflictError(
                _("This milestone was already reached on %(date)s.") % {"date": milestone.reached_on},
                code="already_reached",
            )
        if reached_on < project.starts_on:
            raise ProjectError(
                _("A milestone cannot be reached before the project starts (%(date)s).")
                % {"date": project.starts_on},
                code="before_start",
                field="reached_on",
            )
        milestone.reached_on = reached_on
        milestone.save(update_fields=["reached_on"])
        _audit(
            actor,
            AuditAction.MILESTONE_REACHED,
            project,
            milestone.title,
            milestone=milestone.pk,
            reached_on=reached_on.isoformat(),
        )
    return milestone


def link_proposal(*, actor: Actor, project: Project, proposal: Proposal) -> Proposal:
    """Record that an allocation proposal of the project's community funds the project."""
    _require_staff(actor, project.community)
    with transaction.atomic():
        proposal = Proposal.objects.select_for_update(of=("self",)).select_related("fund").get(pk=proposal.pk)
        if proposal.fund.community_id != project.community_id:
            raise ProjectError(
                _("This proposal spends another community's fund."), code="wrong_proposal", field="proposal"
            )
        if proposal.project_id not in (None, project.pk):
            raise ConflictError(
                _("This proposal already funds another project."), code="proposal_linked_elsewhere"
            )
        if proposal.project_id == project.pk:
            return proposal
        proposal.project = project
        proposal.save(update_fields=["project"])
        _audit(actor, AuditAction.PROJECT_PLAN_CHANGED, project, f"#{proposal.pk}", proposal=proposal.pk)
    return proposal


# --- running -----------------------------------------------------------------------------------------------


def start_project(*, actor: Actor, project: Project) -> Project:
    """Planned → running: from now on the plan is fixed."""
    _require_staff(actor, project.community)
    with transaction.atomic():
        project = _lock(project)
        _require_status(project, P.PLANNED)
        project.status = P.RUNNING
        project.started_at = timezone.now()
        project.save(update_fields=["status", "started_at"])
        _audit(actor, AuditAction.PROJECT_STARTED, project, "started")
    return project


def cancel_project(*, actor: Actor, project: Project, reason: str) -> Project:
    """Planned → cancelled (a project that has started is ended and evaluated instead)."""
    _require_staff(actor, project.community)
    reason = _text(
        reason, field="reason", max_length=COMMENT_MAX, required_message=_("Say why it is cancelled.")
    )
    with transaction.atomic():
        project = _lock(project)
        _require_status(
            project,
            P.PLANNED,
            message=_(
                "Only a project that has not started can be cancelled: end it and evaluate it instead."
            ),
        )
        project.status = P.CANCELLED
        project.save(update_fields=["status"])
        _audit(actor, AuditAction.PROJECT_CANCELLED, project, "cancelled", reason=reason)
    return project


def report_progress(
    *,
    actor: Actor,
    project: Project,
    text: str,
    reported_on: datetime.date,
    milestone: Milestone | None = None,
    people_reached: int | None = None,
) -> ProgressReport:
    """Report progress on a running project, against one of its milestones or in general.

    Staff of the project's community, or the lead organisation's key; another organisation's key gets
    ForbiddenError (NotFoundError outside the areas it serves). Raises ProjectError (text_required, too_long,
    invalid_date, date_in_future, before_start, wrong_milestone, invalid_number), WrongProjectStatus.
    """
    _require_staff_or_lead_key(actor, project)
    text = _text(
        text,
        field="text",
        max_length=PROJECT_TEXT_MAX,
        required_message=_("Say what progress was made."),
        public=True,
    )
    reported_on = _not_future(
        _date(reported_on, field="reported_on", message=_("Give the date of the progress.")),
        field="reported_on",
    )
    if people_reached is not None:
        people_reached = _whole_number(
            people_reached,
            field="people_reached",
            minimum=0,
            maximum=MAX_PEOPLE,
            message=_("Give the number of people reached as a whole number."),
        )
    with transaction.atomic():
        project = _lock(project)
        _require_status(
            project,
            P.RUNNING,
            message=_("Progress is reported while the project runs: this one is “%(status)s”.")
            % {"status": project.get_status_display()},
        )
        if reported_on < project.starts_on:
            raise ProjectError(
                _("Progress cannot be dated before the project starts (%(date)s).")
                % {"date": project.starts_on},
                code="before_start",
                field="reported_on",
            )
        if milestone is not None and milestone.project_id != project.pk:
            raise ProjectError(
                _("This milestone belongs to another project."), code="wrong_milestone", field="milestone"
            )
        report = ProgressReport.objects.create(
            project=project,
            milestone=milestone,
            reported_on=reported_on,
            text=text,
            people_reached=people_reached,
            by_user=actor.user,
            by_organization=actor.organization,
        )
        _audit(
            actor,
            AuditAction.PROJECT_PROGRESS_REPORTED,
            project,
            reported_on.isoformat(),
            report=report.pk,
            milestone=milestone.pk if milestone is not None else None,
            people_reached=people_reached,
        )
    return report


def end_project(*, actor: Actor, project: Project) -> Project:
    """Running → ended: the evaluation and the final disclosure are now due (the calendar counts three
    months from the day it really ended)."""
    _require_staff(actor, project.community)
    with transaction.atomic():
        project = _lock(project)
        _require_status(project, P.RUNNING)
        project.status = P.ENDED
        project.ended_at = timezone.now()
        project.save(update_fields=["status", "ended_at"])
        _audit(actor, AuditAction.PROJECT_ENDED, project, "ended")
    return project


def _check_results(project: Project, criteria_results) -> list[dict]:
    criteria = criteria_lines(project.evaluation_criteria)
    try:
        results = list(criteria_results)
    except TypeError:
        results = None
    if results is None or len(results) != len(criteria):
        raise ProjectError(
            _("Give one result for each of the project's %(n)d evaluation criteria.") % {"n": len(criteria)},
            code="results_mismatch",
            field="criteria_results",
        )
    checked = []
    for criterion, result in zip(criteria, results, strict=True):
        if isinstance(result, dict):
            met, note = result.get("met"), result.get("note", "")
        else:
            try:
                met, note = result
            except (TypeError, ValueError):
                met, note = None, ""
        if not isinstance(met, bool):
            raise ProjectError(
                _("Say whether “%(criterion)s” was met.") % {"criterion": criterion},
                code="met_required",
                field="criteria_results",
            )
        note = clean_text(note or "") if isinstance(note, str) else None
        if note is None or len(note) > COMMENT_MAX:
            raise ProjectError(
                _("The note on “%(criterion)s” must be text of at most %(max)d characters.")
                % {"criterion": criterion, "max": COMMENT_MAX},
                code="invalid_note",
                field="criteria_results",
            )
        checked.append({"criterion": criterion, "met": met, "note": note})
    return checked


def record_evaluation(
    *,
    actor: Actor,
    project: Project,
    criteria_results,
    people_reached: int,
    summary: str,
    evaluator: str,
) -> Evaluation:
    """Record the evaluation of an ended project: one result per criterion line, as (met, note) pairs or
    {"met": …, "note": …}; ended → evaluated. Refused before the project has ended, and a second time."""
    _require_staff(actor, project.community)
    with transaction.atomic():
        project = _lock(project)
        if project.status in (P.PLANNED, P.RUNNING):
            raise WrongProjectStatus(
                _("A project is evaluated once it has ended: end “%(title)s” first.")
                % {"title": project.title},
                code="not_ended",
            )
        if project.status == P.EVALUATED or Evaluation.objects.filter(project=project).exists():
            raise ConflictError(_("This project has already been evaluated."), code="already_evaluated")
        _require_status(project, P.ENDED)
        results = _check_results(project, criteria_results)
        people_reached = _whole_number(
            people_reached,
            field="people_reached",
            minimum=0,
            maximum=MAX_PEOPLE,
            message=_("Give the number of people reached as a whole number."),
        )
        summary = _text(
            summary,
            field="summary",
            max_length=PROJECT_TEXT_MAX,
            required_message=_("Sum up what the project achieved."),
            public=True,
        )
        evaluator = _text(
            evaluator,
            field="evaluator",
            max_length=EVALUATOR_MAX,
            required_message=_("Say who evaluated the project."),
        )
        evaluation = Evaluation.objects.create(
            project=project,
            criteria_results=results,
            people_reached=people_reached,
            summary=summary,
            evaluator=evaluator,
            recorded_by=actor.user,
        )
        project.status = P.EVALUATED
        project.save(update_fields=["status"])
        _audit(
            actor,
            AuditAction.PROJECT_EVALUATED,
            project,
            "evaluated",
            met=sum(1 for r in results if r["met"]),
            criteria=len(results),
            people_reached=people_reached,
        )
    return evaluation


# --- residents' feedback -----------------------------------------------------------------------------------


def rate_project(*, actor: Actor, project: Project, rating: int, comment: str = "") -> ProjectRating:
    """A logged-in resident of the project's community rates it 1–5, once, with an optional comment."""
    person = _resident_of(actor)
    if person.community_id != project.community_id:
        raise ForbiddenError(
            _("Only residents of %(community)s can rate this project.")
            % {"community": project.community.name},
            code="not_your_community",
        )
    rating = _whole_number(
        rating, field="rating", minimum=1, maximum=5, message=_("Choose a rating from 1 to 5.")
    )
    comment = clean_text(comment or "") if isinstance(comment, str | type(None)) else None
    if comment is None or len(comment) > COMMENT_MAX:
        raise ProjectError(
            _("A comment has at most %(max)d characters.") % {"max": COMMENT_MAX},
            code="too_long",
            field="comment",
        )
    if comment:
        comment = _text(
            comment,
            field="comment",
            max_length=COMMENT_MAX,
            required_message=_("Write a comment."),
            public=True,
        )
    with transaction.atomic():
        project = _lock(project)
        if project.status in (P.PLANNED, P.CANCELLED):
            raise WrongProjectStatus(_("A project can be rated once it has started."), code="not_started")
        try:
            with transaction.atomic():
                row = ProjectRating.objects.create(
                    project=project, person=person, rating=rating, comment=comment
                )
        except IntegrityError:
            raise ConflictError(_("You have already rated this project."), code="already_rated") from None
        _audit(actor, AuditAction.PROJECT_RATED, project, f"{rating}/5", rating=rating, rating_id=row.pk)
    return row


def hide_rating(*, actor: Actor, rating: ProjectRating, reason: str) -> ProjectRating:
    """Hide a resident's rating and comment from the portal (moderation); kept, with the reason audited."""
    project = rating.project
    _require_staff(actor, project.community)
    reason = _text(
        reason, field="reason", max_length=COMMENT_MAX, required_message=_("Say why it is hidden.")
    )
    with transaction.atomic():
        row = ProjectRating.objects.select_for_update().get(pk=rating.pk)
        if row.hidden_at is not None:
            raise ConflictError(_("This rating is already hidden."), code="already_hidden")
        row.hidden_at = timezone.now()
        row.save(update_fields=["hidden_at"])
        _audit(
            actor,
            AuditAction.PROJECT_RATING_HIDDEN,
            project,
            "rating hidden",
            rating_id=row.pk,
            reason=reason,
        )
    return row


# --- disclosures -------------------------------------------------------------------------------------------

DISCLOSURE_EDIT_REFUSED = _(
    "A published disclosure is never edited: publish a correction, a new dated note that points at it."
)


def _check_leftover_use(value, *, required: bool) -> str:
    """What happens to the money left over, as published; a final disclosure (`required`) must say it."""
    if not isinstance(value, str | type(None)):
        raise ProjectError(_("Enter text here."), code="invalid_text", field="leftover_use")
    text = clean_text(value or "")
    if required and not text:
        raise ProjectError(
            _("Say what happens to the money left over (Charity Law art. 58), or that nothing is left over."),
            code="leftover_use_required",
            field="leftover_use",
        )
    if text:
        text = _text(
            text,
            field="leftover_use",
            max_length=PROJECT_TEXT_MAX,
            required_message=_("Say what happens to the money left over (Charity Law art. 58)."),
            public=True,
        )
    return text


def publish_disclosure(
    *,
    actor: Actor,
    project: Project,
    kind: str,
    period_start: datetime.date,
    period_end: datetime.date,
    text: str,
    spent_fen: int | None = None,
    leftover_fen: int | None = None,
    leftover_use: str = "",
) -> Disclosure:
    """Publish a progress disclosure (a running or ended project) or the final one (once it has ended, with
    what was spent, what is left over and what happens to it). Published once, never edited.

    Raises ProjectError (invalid_kind, invalid_date, ends_before_start, period_outside_project,
    date_in_future, text_required, too_long, mobile_in_public_text…, invalid_number, spent_required,
    leftover_required, leftover_use_required), WrongProjectStatus, ConflictError (final_already_published).
    """
    _require_staff(actor, project.community)
    if kind not in (Disclosure.Kind.PROGRESS, Disclosure.Kind.FINAL):
        raise ProjectError(
            _(
                "A disclosure is a progress disclosure or the final one (a correction is published on "
                "the one it corrects)."
            ),
            code="invalid_kind",
            field="kind",
        )
    period_start = _date(
        period_start, field="period_start", message=_("Give the start of the period disclosed.")
    )
    period_end = _date(period_end, field="period_end", message=_("Give the end of the period disclosed."))
    if period_end < period_start:
        raise ProjectError(
            _("The period cannot end before it starts."), code="ends_before_start", field="period_end"
        )
    _not_future(period_end, field="period_end")
    text = _text(
        text,
        field="text",
        max_length=PROJECT_TEXT_MAX,
        required_message=_("Write the disclosure."),
        public=True,
    )
    final = kind == Disclosure.Kind.FINAL
    if final and spent_fen is None:
        raise ProjectError(
            _("The final disclosure says how much was spent."), code="spent_required", field="spent_fen"
        )
    spent_fen = _fen(spent_fen, field="spent_fen", required=False)
    if final and leftover_fen is None:
        raise ProjectError(
            _("The final disclosure says how much money is left over (0 if none)."),
            code="leftover_required",
            field="leftover_fen",
        )
    leftover_fen = _fen(leftover_fen, field="leftover_fen", required=False)
    leftover_use = _check_leftover_use(leftover_use, required=final)
    with transaction.atomic():
        project = _lock(project)
        if final:
            _require_status(
                project,
                P.ENDED,
                P.EVALUATED,
                message=_("The final disclosure is published once the project has ended."),
            )
            if project.disclosures.filter(kind=Disclosure.Kind.FINAL).exists():
                raise ConflictError(
                    _("The final disclosure is already published: publish a correction to it instead."),
                    code="final_already_published",
                )
        else:
            _require_status(
                project,
                P.RUNNING,
                P.ENDED,
                P.EVALUATED,
                message=_("Progress is disclosed once the project has started."),
            )
        if period_start < project.starts_on or period_end > max(project.ends_on, actual_end(project)):
            raise ProjectError(
                _("The period disclosed must lie within the project's dates (%(start)s to %(end)s).")
                % {"start": project.starts_on, "end": max(project.ends_on, actual_end(project))},
                code="period_outside_project",
                field="period_start" if period_start < project.starts_on else "period_end",
            )
        disclosure = Disclosure.objects.create(
            project=project,
            kind=kind,
            period_start=period_start,
            period_end=period_end,
            text=text,
            spent_fen=spent_fen,
            leftover_fen=leftover_fen,
            leftover_use=leftover_use,
            published_by=actor.user,
        )
        _audit(
            actor,
            AuditAction.DISCLOSURE_PUBLISHED,
            project,
            f"{kind} {period_start.isoformat()}–{period_end.isoformat()}",
            disclosure=disclosure.pk,
            kind=kind,
            spent_fen=spent_fen,
            leftover_fen=leftover_fen,
        )
    return disclosure


def publish_correction(
    *,
    actor: Actor,
    disclosure: Disclosure,
    text: str,
    spent_fen: int | None = None,
    leftover_fen: int | None = None,
    leftover_use: str = "",
) -> Disclosure:
    """Publish a dated correction of a disclosure (the original stays as published). A correction of a
    correction points at the original disclosure."""
    original = disclosure
    if original.kind == Disclosure.Kind.CORRECTION:
        original = original.corrects
    project = original.project
    _require_staff(actor, project.community)
    text = _text(
        text,
        field="text",
        max_length=PROJECT_TEXT_MAX,
        required_message=_("Say what is corrected."),
        public=True,
    )
    spent_fen = _fen(spent_fen, field="spent_fen", required=False)
    leftover_fen = _fen(leftover_fen, field="leftover_fen", required=False)
    leftover_use = _check_leftover_use(leftover_use, required=False)
    with transaction.atomic():
        project = _lock(project)
        correction = Disclosure.objects.create(
            project=project,
            kind=Disclosure.Kind.CORRECTION,
            period_start=original.period_start,
            period_end=original.period_end,
            text=text,
            spent_fen=spent_fen,
            leftover_fen=leftover_fen,
            leftover_use=leftover_use,
            corrects=original,
            published_by=actor.user,
        )
        _audit(
            actor,
            AuditAction.DISCLOSURE_CORRECTED,
            project,
            f"correction of #{original.pk}",
            disclosure=correction.pk,
            corrects=original.pk,
        )
    return correction
