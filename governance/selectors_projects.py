"""Reads of service projects, as the portal, the admin and the API show them: each a fixed number of
queries however many projects, milestones, reports, ratings or disclosures there are."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import (
    Avg,
    Count,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from charity.models import Area, Person
from charity.scoping import Scope
from funds.models import Transaction

from . import disclosure_calendar as dc
from .models import Disbursement, Disclosure, Evaluation, Milestone, ProgressReport, Project, ProjectRating
from .selectors import PUBLIC_STATUSES

P = Project.Status
# Statuses shown on the portal: a cancelled plan is the committee's business, not a project.
PUBLIC_PROJECT_STATUSES = (P.PLANNED, P.RUNNING, P.ENDED, P.EVALUATED)
# Statuses whose disclosures are owed (a planned project owes nothing yet).
DISCLOSING_STATUSES = (P.RUNNING, P.ENDED, P.EVALUATED)


def _count_of(model, *, condition: Q | None = None) -> Coalesce:
    rows = model.objects.filter(project=OuterRef("pk"))
    if condition is not None:
        rows = rows.filter(condition)
    counted = rows.order_by().values("project").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_summary(queryset: QuerySet[Project]) -> QuerySet[Project]:
    """Annotate what a list row shows: milestones (all, reached), the last progress date, the visible
    ratings' count and average."""
    visible = ProjectRating.objects.filter(project=OuterRef("pk"), hidden_at__isnull=True).order_by()
    return queryset.annotate(
        milestone_count=_count_of(Milestone),
        milestones_reached=_count_of(Milestone, condition=Q(reached_on__isnull=False)),
        last_progress_on=Subquery(
            ProgressReport.objects.filter(project=OuterRef("pk"))
            .order_by()
            .values("project")
            .annotate(last=Max("reported_on"))
            .values("last")
        ),
        rating_count=_count_of(ProjectRating, condition=Q(hidden_at__isnull=True)),
        rating_average=Subquery(visible.values("project").annotate(avg=Avg("rating")).values("avg")),
    )


def public_projects() -> QuerySet[Project]:
    return Project.objects.filter(status__in=PUBLIC_PROJECT_STATUSES).select_related(
        "community", "lead_organization"
    )


def list_community_projects(community: Area) -> list[Project]:
    """A community's public projects, running ones first, with their list summary: one query."""
    order = {P.RUNNING: 0, P.PLANNED: 1, P.ENDED: 2, P.EVALUATED: 3}
    rows = list(
        with_summary(public_projects().filter(community=community)).order_by("-starts_on", "-id")[:200]
    )
    rows.sort(key=lambda p: order.get(p.status, 9))
    return rows


def get_public_project(pk) -> Project | None:
    return with_summary(public_projects()).filter(pk=pk).first()


# --- the disclosure calendar -------------------------------------------------------------------------------


def _published(disclosures) -> list[dc.Published]:
    return [
        dc.Published(
            kind=d.kind,
            period_end=d.period_end,
            published_on=timezone.localdate(d.published_at),
            ref=d,
        )
        for d in disclosures
        if d.kind in (Disclosure.Kind.PROGRESS, Disclosure.Kind.FINAL)
    ]


def actual_end(project: Project) -> datetime.date:
    """The day the project really ended (the planned end while it has not)."""
    if project.ended_at is not None:
        return timezone.localdate(project.ended_at)
    return project.ends_on


def calendar_end(project: Project) -> datetime.date:
    """The end the disclosure calendar counts from: the day it ended, once it has; else the planned end
    (never before the planned start)."""
    return max(actual_end(project), project.starts_on)


def calendar_of(project: Project, disclosures, today: datetime.date | None = None) -> list[dc.DueItem]:
    """The project's disclosure calendar from its `disclosures` (already read); nothing for a cancelled
    project. Counted to the day it ended, once it has (calendar_end)."""
    if project.status == P.CANCELLED:
        return []
    return dc.disclosure_calendar(
        starts_on=project.starts_on,
        ends_on=calendar_end(project),
        today=today or timezone.localdate(),
        published=_published(disclosures),
    )


@dataclass
class OpenDisclosure:
    """A disclosure due or overdue, with its project (the admin index's lines)."""

    project: Project
    item: dc.DueItem


def open_disclosures(scope: Scope, today: datetime.date | None = None) -> list[OpenDisclosure]:
    """Disclosures due or overdue for the projects in `scope`, overdue first then by due date: two queries."""
    if not scope.everything and not scope.paths:
        return []
    today = today or timezone.localdate()
    projects = scope.filter(
        Project.objects.filter(status__in=DISCLOSING_STATUSES)
        .select_related("community")
        .prefetch_related(
            Prefetch(
                "disclosures",
                queryset=Disclosure.objects.only(
                    "id", "project_id", "kind", "period_end", "published_at"
                ).order_by("published_at", "id"),
            )
        ),
        "community",
    )
    found = []
    for project in projects:
        for item in calendar_of(project, project.disclosures.all(), today):
            if item.is_open:
                found.append(OpenDisclosure(project=project, item=item))
    found.sort(key=lambda o: (o.item.status != dc.OVERDUE, o.item.due_on, o.project.pk))
    return found


# --- one project's page ------------------------------------------------------------------------------------


@dataclass
class Payment:
    paid_on: datetime.date
    amount_fen: int
    proposal: object
    reversed: bool


@dataclass
class ProjectRecord:
    milestones: list = field(default_factory=list)
    reports: list = field(default_factory=list)
    evaluation: object = None
    ratings: list = field(default_factory=list)
    disclosures: list = field(default_factory=list)
    calendar: list = field(default_factory=list)
    proposals: list = field(default_factory=list)
    payments: list = field(default_factory=list)
    received_fen: int = 0
    events: list = field(default_factory=list)


def project_money(project: Project) -> tuple[list, list[Payment], int]:
    """The public proposals funding the project, the payments made on them (a reversed one marked and not
    counted), and the money received: two queries."""
    proposals = list(
        project.proposals.filter(Q(status__in=PUBLIC_STATUSES))
        .select_related("fund")
        .order_by("created_at", "id")
    )
    rows = (
        Disbursement.objects.filter(proposal__in=[p.pk for p in proposals])
        .annotate(is_reversed=Exists(Transaction.objects.filter(reverses=OuterRef("transaction"))))
        .order_by("paid_on", "id")
    )
    by_pk = {p.pk: p for p in proposals}
    payments = (
        [
            Payment(
                paid_on=d.paid_on,
                amount_fen=d.amount_fen,
                proposal=by_pk[d.proposal_id],
                reversed=d.is_reversed,
            )
            for d in rows
        ]
        if proposals
        else []
    )
    return proposals, payments, sum(p.amount_fen for p in payments if not p.reversed)


def project_record(project: Project, today: datetime.date | None = None) -> ProjectRecord:
    """Everything a project's page shows besides the project: a fixed number of queries. Hidden ratings are
    left out; raters are not named. Events are read through the reverse relation `project.events` (the
    volunteers app's Event.project): governance never imports volunteers."""
    disclosures = list(project.disclosures.select_related("corrects").order_by("published_at", "id"))
    corrections: dict[int, list] = {}
    for d in disclosures:
        if d.corrects_id:
            corrections.setdefault(d.corrects_id, []).append(d)
    for d in disclosures:
        d.correction_list = corrections.get(d.pk, [])
    proposals, payments, received = project_money(project)
    events = list(project.events.filter(status="published").order_by("starts_at", "id")[:50])
    return ProjectRecord(
        milestones=list(project.milestones.order_by("due_on", "position", "id")),
        reports=list(project.progress_reports.select_related("milestone").order_by("-reported_on", "-id")),
        evaluation=Evaluation.objects.filter(project=project).first(),
        ratings=list(project.ratings.filter(hidden_at__isnull=True).order_by("-created_at", "-id")[:100]),
        disclosures=[d for d in disclosures if not d.corrects_id],
        calendar=calendar_of(project, disclosures, today),
        proposals=proposals,
        payments=payments,
        received_fen=received,
        events=events,
    )


def rating_of(project: Project, person: Person | None) -> ProjectRating | None:
    if person is None:
        return None
    return ProjectRating.objects.filter(project=project, person=person).first()


# --- admin and API lists -----------------------------------------------------------------------------------


def projects_for_api(queryset: QuerySet[Project]) -> QuerySet[Project]:
    """Projects with every row the API serialiser reads, in a fixed number of queries."""
    return queryset.select_related("community", "lead_organization", "evaluation").prefetch_related(
        Prefetch("milestones", queryset=Milestone.objects.order_by("due_on", "position", "id")),
        Prefetch(
            "disclosures",
            queryset=Disclosure.objects.only(
                "id", "project_id", "kind", "period_start", "period_end", "published_at", "corrects_id"
            ).order_by("published_at", "id"),
        ),
        "needs",
    )
