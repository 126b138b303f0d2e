"""Service projects in the admin: the project's page (its plan, milestones, progress, evaluation, ratings,
the money it received, its disclosure calendar and disclosures with their corrections) and one small form
per step. Nothing is saved here: every write goes through governance.projects (docs/projects.md).

A published disclosure has a page of its own, read-only: a change sent to it is refused with a message
saying how to correct it (a new dated correction), and nothing changes.
"""

import datetime
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminDateWidget
from django.db.models import Count, Prefetch, Q
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from charity.admin_base import ROLE, ReadOnlyAdminMixin, ScopedAdminMixin
from charity.models import Organization
from charity.templatetags.money import format_fen
from needs.models import Need

from . import admin_steps, services
from . import disclosure_calendar as dc
from .admin_steps import AddThroughServiceMixin, ServiceAddForm, StepPagesMixin
from .admin_steps import fen_from_yuan as _fen
from .admin_steps import table as _table
from .models import (
    COMMENT_MAX,
    PROJECT_TEXT_MAX,
    PROJECT_TITLE_MAX,
    Disclosure,
    Milestone,
    ProgressReport,
    Project,
    ProjectRating,
    Proposal,
)
from .projects import MAX_PEOPLE
from .selectors_projects import calendar_of, project_money

P = Project.Status


def _yuan_field(label, *, required=True, **kwargs):
    return forms.DecimalField(
        label=label, min_value=Decimal("0"), max_digits=14, decimal_places=2, required=required, **kwargs
    )


def _date_field(label, **kwargs):
    return forms.DateField(label=label, widget=AdminDateWidget, **kwargs)


def parse_milestones(text: str) -> list[tuple[str, datetime.date]]:
    """Milestones written one a line, "title, YYYY-MM-DD": "第一次公益市集，2026-06-01"."""
    found = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        title, _sep, day = line.replace("，", ",").rpartition(",")
        if not _sep:
            title, _sep, day = line.rpartition(" ")
        try:
            due_on = datetime.date.fromisoformat(day.strip())
        except ValueError:
            due_on = None
        if not title.strip() or due_on is None:
            raise forms.ValidationError(
                gettext(
                    "Write each milestone as “name, YYYY-MM-DD”, like “第一次市集, 2026-06-01”: "
                    "“%(line)s” is not."
                )
                % {"line": line[:50]}
            )
        found.append((title.strip(), due_on))
    return found


STATUS_WORDS = {
    dc.DONE: _("done"),
    dc.DUE: _("due"),
    dc.OVERDUE: _("overdue"),
    dc.UPCOMING: _("upcoming"),
}
KIND_WORDS = {dc.PROGRESS: _("progress disclosure"), dc.FINAL: _("final disclosure")}


# --- creating a project ------------------------------------------------------------------------------------


class ProjectAddForm(ServiceAddForm):
    """A planned project, written by governance.projects.create_project: checked by it before anything is
    saved (a trial run, rolled back), so a refusal names its field."""

    budget_yuan = _yuan_field(_("budget (yuan)"))
    milestone_lines = forms.CharField(
        label=_("milestones"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One a line: “name, YYYY-MM-DD”, within the project's dates."),
    )

    class Meta:
        model = Project
        fields = SERVICE_FIELDS = [
            "community",
            "lead_organization",
            "title",
            "summary",
            "goals",
            "beneficiary_groups",
            "target_beneficiaries",
            "evaluation_criteria",
            "starts_on",
            "ends_on",
            "needs",
        ]
        widgets = {"starts_on": AdminDateWidget, "ends_on": AdminDateWidget}

    field_names = {"budget_fen": "budget_yuan", "milestones": "milestone_lines"}

    def clean_milestone_lines(self):
        return parse_milestones(self.cleaned_data.get("milestone_lines") or "")

    def arguments(self) -> dict:
        data = self.cleaned_data
        return {
            **{name: data.get(name) for name in ProjectAddForm.Meta.SERVICE_FIELDS},
            "needs": list(data.get("needs") or ()),
            "budget_fen": _fen(data["budget_yuan"]),
            "milestones": data.get("milestone_lines") or (),
        }

    def create(self, actor):
        return services.create_project(actor=actor, **self.arguments())


# --- the steps ---------------------------------------------------------------------------------------------


class StepForm(admin_steps.StepForm):
    """One step, on `self.project`."""

    record_name = "project"
    done_text = _("Done: the project is now “%(status)s”.")


class PlanForm(StepForm):
    step, title, button = "plan", _("Change the plan"), _("Save the plan")
    help = _(
        "Before the start everything may change. Once the project has started its goals, budget, "
        "evaluation criteria and dates are fixed: only the title, the public summary and who it serves."
    )
    field_names = {"budget_fen": "budget_yuan"}
    title_text = forms.CharField(label=_("title"), max_length=PROJECT_TITLE_MAX)
    summary = forms.CharField(label=_("public summary"), widget=forms.Textarea(attrs={"rows": 4}))
    goals = forms.CharField(label=_("goals"), widget=forms.Textarea(attrs={"rows": 4}))
    beneficiary_groups = forms.CharField(label=_("who it serves"), max_length=500)
    target_beneficiaries = forms.IntegerField(
        label=_("people it aims to reach"), min_value=1, max_value=MAX_PEOPLE
    )
    budget_yuan = _yuan_field(_("budget (yuan)"))
    evaluation_criteria = forms.CharField(
        label=_("evaluation criteria"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One criterion per line. Fixed once the project starts."),
    )
    starts_on = _date_field(_("starts"))
    ends_on = _date_field(_("ends"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        p = self.project
        self.initial_values = {
            "title": p.title,
            "summary": p.summary,
            "goals": p.goals,
            "beneficiary_groups": p.beneficiary_groups,
            "target_beneficiaries": p.target_beneficiaries,
            "budget_fen": p.budget_fen,
            "evaluation_criteria": p.evaluation_criteria,
            "starts_on": p.starts_on,
            "ends_on": p.ends_on,
        }
        self.initial = {
            **self.initial_values,
            "title_text": p.title,
            "budget_yuan": Decimal(p.budget_fen).scaleb(-2),
        }
        self.field_names = {"budget_fen": "budget_yuan", "title": "title_text"}

    def perform(self, actor):
        data = dict(self.cleaned_data)
        data["title"] = data.pop("title_text")
        data["budget_fen"] = _fen(data.pop("budget_yuan"))
        changes = {k: v for k, v in data.items() if v != self.initial_values[k]}
        # Line breaks as the browser sends them (\r\n) are no change.
        changes = {
            k: v
            for k, v in changes.items()
            if not (
                isinstance(v, str) and v.replace("\r\n", "\n").strip() == str(self.initial_values[k]).strip()
            )
        }
        if changes:
            services.update_plan(actor=actor, project=self.project, **changes)

    def done_message(self):
        return gettext("The plan was saved.")


class StartForm(StepForm):
    step, title, button = "start", _("Start the project"), _("Start")
    help = _("From now on its goals, budget, evaluation criteria and dates are fixed.")

    def perform(self, actor):
        services.start_project(actor=actor, project=self.project)


class CancelForm(StepForm):
    step, title, button = "cancel", _("Cancel the project"), _("Cancel the project")
    help = _("Only before it starts; a project that has started is ended and evaluated instead.")
    reason = forms.CharField(label=_("why it is cancelled"), widget=forms.Textarea(attrs={"rows": 3}))

    def perform(self, actor):
        services.cancel_project(actor=actor, project=self.project, reason=self.cleaned_data["reason"])


class AddMilestoneForm(StepForm):
    step, title, button = "add_milestone", _("Add a milestone"), _("Add")
    field_names = {"milestones": "title_text"}
    title_text = forms.CharField(label=_("milestone"), max_length=PROJECT_TITLE_MAX)
    due_on = _date_field(_("due"))

    def perform(self, actor):
        services.add_milestone(
            actor=actor,
            project=self.project,
            title=self.cleaned_data["title_text"],
            due_on=self.cleaned_data["due_on"],
        )

    def done_message(self):
        return gettext("The milestone was added.")


class ReachMilestoneForm(StepForm):
    step, title, button = "reach_milestone", _("Mark a milestone reached"), _("Mark reached")
    milestone = forms.ModelChoiceField(label=_("milestone"), queryset=Milestone.objects.none())
    reached_on = _date_field(_("reached"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["milestone"].queryset = self.project.milestones.filter(reached_on__isnull=True)
        self.fields["reached_on"].initial = timezone.localdate()

    def perform(self, actor):
        services.reach_milestone(
            actor=actor, milestone=self.cleaned_data["milestone"], reached_on=self.cleaned_data["reached_on"]
        )

    def done_message(self):
        return gettext("The milestone is marked reached.")


class ProgressForm(StepForm):
    step, title, button = "progress", _("Report progress"), _("Add the report")
    help = _("Shown on the project's public page: no resident's name, phone number or address.")
    text = forms.CharField(label=_("progress"), widget=forms.Textarea(attrs={"rows": 5}))
    reported_on = _date_field(_("date"))
    milestone = forms.ModelChoiceField(
        label=_("milestone"), queryset=Milestone.objects.none(), required=False
    )
    people_reached = forms.IntegerField(
        label=_("people reached so far"), required=False, min_value=0, max_value=MAX_PEOPLE
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["milestone"].queryset = self.project.milestones.all()
        self.fields["reported_on"].initial = timezone.localdate()

    def perform(self, actor):
        data = self.cleaned_data
        services.report_progress(
            actor=actor,
            project=self.project,
            text=data["text"],
            reported_on=data["reported_on"],
            milestone=data.get("milestone"),
            people_reached=data.get("people_reached"),
        )

    def done_message(self):
        return gettext("The progress report was added.")


class EndForm(StepForm):
    step, title, button = "end", _("End the project"), _("End")
    help = _(
        "The evaluation is then due, and the final disclosure within three months, with what happens to the "
        "money left over."
    )

    def perform(self, actor):
        services.end_project(actor=actor, project=self.project)


class EvaluateForm(StepForm):
    step, title, button = "evaluate", _("Record the evaluation"), _("Record the evaluation")
    help = _("One result per evaluation criterion fixed before the start, the people reached and a summary.")
    field_names = {"criteria_results": None}
    people_reached = forms.IntegerField(label=_("people reached"), min_value=0, max_value=MAX_PEOPLE)
    summary = forms.CharField(label=_("summary"), widget=forms.Textarea(attrs={"rows": 5}))
    evaluator = forms.CharField(
        label=_("evaluated by"),
        max_length=200,
        help_text=_("Who evaluated: staff, residents, a research partner."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = services.criteria_lines(self.project.evaluation_criteria)
        for n, criterion in enumerate(self.criteria):
            self.fields[f"met_{n}"] = forms.BooleanField(label=criterion, required=False)
            self.fields[f"note_{n}"] = forms.CharField(
                label=gettext("note on “%(criterion)s”") % {"criterion": criterion[:40]},
                required=False,
                max_length=COMMENT_MAX,
            )

    def perform(self, actor):
        data = self.cleaned_data
        services.record_evaluation(
            actor=actor,
            project=self.project,
            criteria_results=[(data[f"met_{n}"], data[f"note_{n}"]) for n in range(len(self.criteria))],
            people_reached=data["people_reached"],
            summary=data["summary"],
            evaluator=data["evaluator"],
        )


class DiscloseForm(StepForm):
    step, title, button = "disclose", _("Publish a disclosure"), _("Publish")
    help = _(
        "Published once and never edited: a mistake is put right by a correction. A progress disclosure "
        "reports the period since the last one; the final one, after the end, says what was spent, what is "
        "left over and what happens to it (Charity Law arts. 58, 72, 79)."
    )
    field_names = {"spent_fen": "spent_yuan", "leftover_fen": "leftover_yuan"}
    kind = forms.ChoiceField(
        label=_("kind"),
        choices=[(k, v) for k, v in Disclosure.Kind.choices if k != Disclosure.Kind.CORRECTION],
    )
    period_start = _date_field(_("period from"))
    period_end = _date_field(_("period until"))
    text = forms.CharField(
        label=_("disclosure"), widget=forms.Textarea(attrs={"rows": 6}), max_length=PROJECT_TEXT_MAX
    )
    spent_yuan = _yuan_field(_("spent in the period (yuan)"), required=False)
    leftover_yuan = _yuan_field(_("money left over (yuan)"), required=False)
    leftover_use = forms.CharField(
        label=_("what happens to the money left over"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        open_items = [
            i for i in calendar_of(self.project, self.project.disclosures.all()) if i.status != dc.DONE
        ]
        if open_items:
            first = open_items[0]
            self.initial.update(
                {
                    "kind": first.kind,
                    "period_start": first.period_start,
                    "period_end": min(first.period_end, timezone.localdate()),
                }
            )

    def perform(self, actor):
        data = self.cleaned_data
        services.publish_disclosure(
            actor=actor,
            project=self.project,
            kind=data["kind"],
            period_start=data["period_start"],
            period_end=data["period_end"],
            text=data["text"],
            **_money_stated(data),
        )

    def done_message(self):
        return gettext("The disclosure was published.")


def _money_stated(data) -> dict:
    """The money a disclosure or its correction states, as the services take it."""
    return {
        "spent_fen": _fen(data.get("spent_yuan")),
        "leftover_fen": _fen(data.get("leftover_yuan")),
        "leftover_use": data.get("leftover_use") or "",
    }


class CorrectForm(StepForm):
    step, title, button = "correct", _("Publish a correction"), _("Publish the correction")
    help = _(
        "A new, dated note shown with the disclosure it corrects; the disclosure itself stays as published."
    )
    field_names = {"spent_fen": "spent_yuan", "leftover_fen": "leftover_yuan"}
    disclosure = forms.ModelChoiceField(label=_("corrects"), queryset=Disclosure.objects.none())
    text = forms.CharField(label=_("what is corrected"), widget=forms.Textarea(attrs={"rows": 5}))
    spent_yuan = _yuan_field(_("corrected amount spent (yuan)"), required=False)
    leftover_yuan = _yuan_field(_("corrected money left over (yuan)"), required=False)
    leftover_use = forms.CharField(
        label=_("what happens to the money left over"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["disclosure"]
        field.queryset = self.project.disclosures.exclude(kind=Disclosure.Kind.CORRECTION).order_by(
            "published_at"
        )
        field.label_from_instance = lambda d: (
            f"{d.get_kind_display()} · {d.period_start:%Y-%m-%d}–{d.period_end:%Y-%m-%d} · "
            f"{timezone.localtime(d.published_at):%Y-%m-%d}"
        )

    def perform(self, actor):
        data = self.cleaned_data
        services.publish_correction(
            actor=actor,
            disclosure=data["disclosure"],
            text=data["text"],
            **_money_stated(data),
        )

    def done_message(self):
        return gettext("The correction was published.")


class HideRatingForm(StepForm):
    step, title, button = "hide_rating", _("Hide a resident's rating"), _("Hide")
    help = _("Hidden from the portal and left out of the average; kept, with the reason, in the record.")
    rating = forms.ModelChoiceField(label=_("rating"), queryset=ProjectRating.objects.none())
    reason = forms.CharField(label=_("why it is hidden"), max_length=COMMENT_MAX)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["rating"]
        field.queryset = self.project.ratings.filter(hidden_at__isnull=True).order_by("-created_at")
        field.label_from_instance = lambda r: f"{r.rating}/5 · {r.comment[:60] or '—'}"

    def perform(self, actor):
        services.hide_rating(
            actor=actor, rating=self.cleaned_data["rating"], reason=self.cleaned_data["reason"]
        )

    def done_message(self):
        return gettext("The rating is hidden.")


class LinkProposalForm(StepForm):
    step, title, button = "link_proposal", _("Record a proposal that funds it"), _("Link")
    help = _(
        "An allocation proposal of the community's fund: its payments are shown as money the project "
        "received."
    )
    proposal = forms.ModelChoiceField(label=_("allocation proposal"), queryset=Proposal.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["proposal"].queryset = Proposal.objects.filter(
            fund__community_id=self.project.community_id, project__isnull=True
        ).order_by("-created_at")

    def perform(self, actor):
        services.link_proposal(actor=actor, project=self.project, proposal=self.cleaned_data["proposal"])

    def done_message(self):
        return gettext("The proposal is recorded as funding the project.")


STEP_FORMS = {
    form.step: form
    for form in (
        PlanForm,
        StartForm,
        CancelForm,
        AddMilestoneForm,
        ReachMilestoneForm,
        ProgressForm,
        EndForm,
        EvaluateForm,
        DiscloseForm,
        CorrectForm,
        HideRatingForm,
        LinkProposalForm,
    )
}

# The steps offered on a project's page in each status (the services refuse any other anyway).
STEPS_BY_STATUS = {
    P.PLANNED: ("plan", "add_milestone", "link_proposal", "start", "cancel"),
    P.RUNNING: (
        "progress",
        "reach_milestone",
        "add_milestone",
        "disclose",
        "correct",
        "hide_rating",
        "plan",
        "link_proposal",
        "end",
    ),
    P.ENDED: ("evaluate", "disclose", "correct", "hide_rating", "link_proposal"),
    P.EVALUATED: ("disclose", "correct", "hide_rating"),
    P.CANCELLED: (),
}


# --- the project's page ------------------------------------------------------------------------------------


class _RecordInline(admin.TabularInline):
    """A read-only list on the project's page: rows are added by the steps, never here."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MilestoneInline(_RecordInline):
    model = Milestone
    fields = readonly_fields = ["title", "due_on", "reached_on"]


class ProgressInline(_RecordInline):
    model = ProgressReport
    fields = readonly_fields = [
        "reported_on",
        "milestone",
        "text",
        "people_reached",
        "by_user",
        "by_organization",
    ]
    ordering = ["-reported_on", "-id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("milestone", "by_user", "by_organization")


class DisclosureInline(_RecordInline):
    model = Disclosure
    fk_name = "project"
    fields = readonly_fields = [
        "published_at",
        "kind",
        "period",
        "text",
        "spent",
        "leftover",
        "leftover_use",
        "corrects",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("corrects")

    @admin.display(description=_("period"))
    def period(self, obj):
        return f"{obj.period_start:%Y-%m-%d} – {obj.period_end:%Y-%m-%d}"

    @admin.display(description=_("spent"))
    def spent(self, obj):
        return format_fen(obj.spent_fen) if obj.spent_fen is not None else "—"

    @admin.display(description=_("left over"))
    def leftover(self, obj):
        return format_fen(obj.leftover_fen) if obj.leftover_fen is not None else "—"


class RatingInline(_RecordInline):
    model = ProjectRating
    fields = readonly_fields = ["created_at", "rating", "comment", "hidden_at"]


class OpenDisclosureFilter(admin.SimpleListFilter):
    title = _("disclosures")
    parameter_name = "disclosures"

    def lookups(self, request, model_admin):
        return [("open", _("running, ended or evaluated"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(status__in=(P.RUNNING, P.ENDED, P.EVALUATED))
        return queryset


DETAIL_FIELDS = [
    "title",
    "status",
    "community",
    "lead_organization",
    "summary",
    "goals",
    "beneficiary_groups",
    "target_beneficiaries",
    "budget",
    "criteria",
    "starts_on",
    "ends_on",
    "started_at",
    "ended_at",
    "needs_served",
    "followers_count",
]
RECORD_FIELDS = ["calendar_table", "money_table", "evaluation_block"]


@admin.register(Project)
class ProjectAdmin(AddThroughServiceMixin, StepPagesMixin, ScopedAdminMixin, admin.ModelAdmin):
    scope_area_field = "community"
    form = ProjectAddForm
    step_forms = STEP_FORMS
    steps_by_status = STEPS_BY_STATUS
    step_template = "admin/governance/project/step.html"
    step_answers_with_status = True
    list_display = [
        "title",
        "community",
        "lead_organization",
        "status",
        "starts_on",
        "ends_on",
        "milestones_done",
        "disclosures_open",
    ]
    list_filter = ["status", OpenDisclosureFilter, ("community", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["community", "lead_organization"]
    search_fields = ["title"]
    filter_horizontal = ["needs"]
    add_fieldsets = [
        (None, {"fields": ["community", "lead_organization", "title", "summary", "goals"]}),
        (
            _("Beneficiaries, budget and evaluation"),
            {"fields": ["beneficiary_groups", "target_beneficiaries", "budget_yuan", "evaluation_criteria"]},
        ),
        (_("Plan"), {"fields": ["starts_on", "ends_on", "milestone_lines", "needs"]}),
    ]
    fieldsets = [
        (None, {"fields": DETAIL_FIELDS}),
        (_("The record"), {"fields": RECORD_FIELDS}),
    ]
    inlines = [MilestoneInline, ProgressInline, DisclosureInline, RatingInline]

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else [*DETAIL_FIELDS, *RECORD_FIELDS]

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                milestone_total=Count("milestones", distinct=True),
                milestone_reached=Count(
                    "milestones", filter=Q(milestones__reached_on__isnull=False), distinct=True
                ),
            )
            .prefetch_related(
                Prefetch(
                    "disclosures",
                    queryset=Disclosure.objects.only(
                        "id", "project_id", "kind", "period_end", "published_at"
                    ).order_by("published_at", "id"),
                )
            )
        )

    # The page of a project is its record: read here, changed only by the steps (StepPagesMixin).

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is None:
            return field
        scope = self.scope(request, ROLE.STAFF)
        if db_field.name == "community":
            field.queryset = field.queryset.filter(level="community")
        elif db_field.name == "lead_organization" and not scope.everything:
            field.queryset = Organization.objects.filter(
                scope.q("area__") | scope.q("served_areas__")
            ).distinct()
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.name == "needs":
            field.queryset = self.scope(request, ROLE.STAFF).filter(Need.objects.all(), "community")
        return field

    # The service sets the milestones and the many-to-many fields (AddThroughServiceMixin).

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, gettext("The project is planned. Start it when it begins."))
        return redirect(reverse("admin:governance_project_change", args=[obj.pk]))

    # --- list and page columns --------------------------------------------------------------------------

    @admin.display(description=_("milestones reached"))
    def milestones_done(self, obj):
        total = getattr(obj, "milestone_total", None)
        if total is None:
            return "—"
        return f"{obj.milestone_reached}/{total}"

    @admin.display(description=_("disclosures due or overdue"))
    def disclosures_open(self, obj):
        items = [i for i in calendar_of(obj, obj.disclosures.all()) if i.is_open]
        if not items:
            return "—"
        overdue = sum(1 for i in items if i.status == dc.OVERDUE)
        text = gettext("%(n)d open") % {"n": len(items)}
        if overdue:
            text += " · " + gettext("%(n)d overdue") % {"n": overdue}
        return text

    @admin.display(description=_("budget"))
    def budget(self, obj):
        return format_fen(obj.budget_fen)

    @admin.display(description=_("evaluation criteria"))
    def criteria(self, obj):
        return format_html_join(
            "", "<div>{}</div>", ((c,) for c in services.criteria_lines(obj.evaluation_criteria))
        )

    @admin.display(description=_("needs it serves"))
    def needs_served(self, obj):
        return gettext(", ").join(n.summary[:40] for n in obj.needs.all()) or "—"

    @admin.display(description=_("followers"))
    def followers_count(self, obj):
        return obj.followers.count()

    @admin.display(description=_("disclosure calendar"))
    def calendar_table(self, obj):
        rows = [
            (
                KIND_WORDS[i.kind],
                f"{i.period_start:%Y-%m-%d} – {i.period_end:%Y-%m-%d}",
                f"{i.due_on:%Y-%m-%d}",
                STATUS_WORDS[i.status] + (f" ({gettext('late')})" if i.late else ""),
                f"{timezone.localtime(i.met_by.published_at):%Y-%m-%d}" if i.met_by is not None else "—",
            )
            for i in calendar_of(obj, obj.disclosures.all())
        ]
        return _table(
            [gettext("owed"), gettext("period"), gettext("due on"), gettext("status"), gettext("published")],
            rows,
        )

    @admin.display(description=_("money received"))
    def money_table(self, obj):
        _proposals, payments, received = project_money(obj)
        rows = [
            (
                f"{p.paid_on:%Y-%m-%d}",
                p.proposal.title,
                format_fen(p.amount_fen),
                gettext("reversed") if p.reversed else "",
            )
            for p in payments
        ]
        return format_html(
            "{}<p>{}</p>",
            _table([gettext("paid on"), gettext("proposal"), gettext("amount"), ""], rows),
            gettext("Received in all: %(amount)s") % {"amount": format_fen(received)},
        )

    @admin.display(description=_("evaluation"))
    def evaluation_block(self, obj):
        evaluation = getattr(obj, "evaluation", None)
        if evaluation is None:
            return gettext("Not evaluated yet.")
        rows = [
            (r["criterion"], gettext("met") if r["met"] else gettext("not met"), r["note"] or "—")
            for r in evaluation.criteria_results
        ]
        return format_html(
            "{}<p>{}</p><p>{}</p>",
            _table([gettext("criterion"), gettext("result"), gettext("note")], rows),
            gettext("%(n)d people reached. Evaluated by %(who)s.")
            % {"n": evaluation.people_reached, "who": evaluation.evaluator},
            evaluation.summary,
        )

    def audit_history_refs(self, obj):
        return [(obj._meta.label_lower, str(obj.pk))]

    # The steps: StepPagesMixin (a viewer is refused, out of scope is 404).


@admin.register(Disclosure)
class DisclosureAdmin(ReadOnlyAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    """Published disclosures, as published: never edited (a change sent here is refused, nothing changes)."""

    scope_area_field = "project__community"
    list_display = ["project", "kind", "period_start", "period_end", "published_at", "corrects"]
    list_filter = ["kind"]
    list_select_related = ["project", "corrects", "corrects__project"]
    search_fields = ["project__title", "text"]
    fields = readonly_fields = [
        "project",
        "kind",
        "period_start",
        "period_end",
        "text",
        "spent_fen",
        "leftover_fen",
        "leftover_use",
        "corrects",
        "published_by",
        "published_at",
        "how_to_correct",
    ]

    @admin.display(description=_("to correct it"))
    def how_to_correct(self, obj):
        url = reverse("admin:governance_project_step", args=[obj.project_id, "correct"])
        return format_html(
            '{} <a href="{}">{}</a>', services.DISCLOSURE_EDIT_REFUSED, url, gettext("Publish a correction")
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST":
            self.get_object(request, object_id)  # out of scope: 404
            self.message_user(request, str(services.DISCLOSURE_EDIT_REFUSED), messages.ERROR)
            response = redirect(request.path)
            return response
        return super().change_view(request, object_id, form_url, extra_context)
