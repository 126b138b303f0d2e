"""Residents' topics in the admin: the moderation queue (open topics, the most supported first; comments to
hide) and one small form per decision — answer, merge, turn into a project, hide. Nothing is saved here:
every write goes through governance.topics, so a refusal is shown on the form with nothing changed.

Scoped like every admin (charity.admin_base): staff see the topics of their areas; a topic elsewhere is a
404, as one that does not exist; a viewer reads and is refused the decisions (403).
"""

import datetime
from decimal import Decimal

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminDateWidget
from django.db.models import Case, IntegerField, Q, Value, When
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from charity.admin_base import ScopedAdminMixin
from charity.models import Area, Organization, Person

from . import admin_steps
from . import topics as services
from .admin_steps import AddThroughServiceMixin, ServiceAddForm, StepPagesMixin, fen_from_yuan
from .admin_steps import table as _table
from .models import Project, Topic, TopicComment
from .selectors_topics import with_counts

TS = Topic.Status


# --- raising a topic for a resident -------------------------------------------------------------------------


class TopicAddForm(ServiceAddForm):
    """A topic staff enter for a resident who raised it on paper or at a meeting (governance.topics)."""

    class Meta:
        model = Topic
        fields = ["community", "title", "description", "category", "raised_by"]
        help_texts = {
            "raised_by": _(
                "The resident who raised it on paper or at a meeting, if they agree to be named here."
            )
        }

    field_names = {"on_behalf_of": "raised_by"}
    outside_field = "community"

    def create(self, actor):
        return services.raise_topic(actor=actor, **self.arguments())

    def arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "community": data.get("community"),
            "title": data.get("title"),
            "description": data.get("description"),
            "category": data.get("category"),
            "on_behalf_of": data.get("raised_by"),
        }


# --- the decisions ------------------------------------------------------------------------------------------


class StepForm(admin_steps.StepForm):
    """One decision, on `self.topic`."""

    record_name = "topic"
    done_text = _("Done: the topic is now “%(status)s”.")


class AnswerForm(StepForm):
    step, title, button = "answer", _("Answer the topic"), _("Publish the answer")
    help = _(
        "The answer is shown on the topic's page for everyone, and the residents who raised or support the "
        "topic are told. The topic then takes no more support."
    )
    answer = forms.CharField(label=_("answer"), widget=forms.Textarea(attrs={"rows": 6}), required=False)

    def perform(self, actor):
        services.answer_topic(topic=self.topic, answer=self.cleaned_data["answer"], actor=actor)


class PaperSupportsForm(StepForm):
    step, title, button = "paper_supports", _("Enter supporters from a paper sheet"), _("Add the supporters")
    help = _(
        "Residents without a smartphone support a topic by signing a sheet at the residents' committee. "
        "Choose those who signed: each is counted once."
    )
    people = forms.ModelMultipleChoiceField(
        label=_("residents who signed"),
        queryset=Person.objects.none(),
        widget=forms.SelectMultiple(attrs={"size": 12}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["people"].queryset = Person.objects.filter(community_id=self.topic.community_id).order_by(
            "name", "id"
        )

    def perform(self, actor):
        self.added = services.record_supports(
            topic=self.topic, people=self.cleaned_data["people"], actor=actor
        )

    def done_message(self):
        return ngettext("%(n)d supporter added.", "%(n)d supporters added.", self.added) % {"n": self.added}


class MergeForm(StepForm):
    step, title, button = "merge", _("Merge into another topic"), _("Merge")
    help = _(
        "For the same idea raised twice: its raiser and supporters become supporters of the other topic "
        "(each counted once) and are told. The other topic must still be open."
    )
    into = forms.ModelChoiceField(label=_("merge into"), queryset=Topic.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["into"].queryset = (
            Topic.objects.filter(community_id=self.topic.community_id, status=TS.OPEN)
            .exclude(pk=self.topic.pk)
            .order_by("-created_at")
        )

    def perform(self, actor):
        services.merge_topic(topic=self.topic, into=self.cleaned_data["into"], actor=actor)


class ProjectForm(StepForm):
    step, title, button = "project", _("Turn into a service project"), _("Create the project")
    help = _(
        "The project is created in the topic's community; the residents who raised and support the topic are "
        "its first followers and are told. Goals, target numbers, budget and evaluation criteria are fixed "
        "before the project starts. Milestones are added on the project's page."
    )
    field_names = {"title": "project_title", "budget_fen": "budget_yuan"}
    lead_organization = forms.ModelChoiceField(
        label=_("lead organisation"), queryset=Organization.objects.none()
    )
    # Not "title": that is the step's own title (a form field of that name would hide it).
    project_title = forms.CharField(label=_("title"), required=False)
    summary = forms.CharField(
        label=_("public summary"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    goals = forms.CharField(label=_("goals"), widget=forms.Textarea(attrs={"rows": 4}), required=False)
    beneficiary_groups = forms.CharField(label=_("who it serves"), required=False)
    target_beneficiaries = forms.IntegerField(label=_("people it aims to reach"), min_value=0)
    budget_yuan = forms.DecimalField(
        label=_("budget (yuan)"), min_value=Decimal("0"), max_digits=14, decimal_places=2, initial=0
    )
    evaluation_criteria = forms.CharField(
        label=_("evaluation criteria"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=_("One criterion per line. Fixed once the project starts."),
    )
    starts_on = forms.DateField(label=_("starts"), widget=AdminDateWidget)
    ends_on = forms.DateField(label=_("ends"), widget=AdminDateWidget)
    milestones = forms.CharField(
        label=_("milestones"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=_("Optional, one a line: “due date, milestone”, like “2026-09-30, first rehearsal”."),
    )

    def clean_milestones(self):
        rows = []
        for raw in (self.cleaned_data.get("milestones") or "").splitlines():
            line = raw.strip()
            if not line:
                continue
            day, _sep, title = line.replace("，", ",").partition(",")
            try:
                due_on = datetime.date.fromisoformat(day.strip())
            except ValueError:
                due_on = None
            if due_on is None or not title.strip():
                raise forms.ValidationError(
                    gettext("Write each milestone as “2026-09-30, what is reached”: “%(line)s” is not.")
                    % {"line": line[:50]}
                )
            rows.append((title.strip(), due_on))
        return rows

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        topic = self.topic
        community = Area.objects.get(pk=topic.community_id)
        # The organisations that may lead it (governance.projects): based in or above it, or serving it.
        ancestors = [community.path[: i * Area.steplen] for i in range(1, community.depth + 1)]
        self.fields["lead_organization"].queryset = (
            Organization.objects.filter(Q(area__path__in=ancestors) | Q(served_areas__path__in=ancestors))
            .distinct()
            .order_by("name")
        )
        self.fields["project_title"].initial = topic.title
        self.fields["summary"].initial = topic.description
        self.fields["starts_on"].initial = timezone.localdate()

    def perform(self, actor):
        data = self.cleaned_data
        self.project = services.turn_into_project(
            topic=self.topic,
            actor=actor,
            lead_organization=data["lead_organization"],
            title=data["project_title"],
            summary=data["summary"],
            goals=data["goals"],
            beneficiary_groups=data["beneficiary_groups"],
            target_beneficiaries=data["target_beneficiaries"],
            budget_fen=fen_from_yuan(data["budget_yuan"]),
            evaluation_criteria=data["evaluation_criteria"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            milestones=data["milestones"],
        )

    def done_message(self):
        return gettext("The project “%(title)s” was created; the topic's supporters follow it.") % {
            "title": self.project.title
        }


class ExistingProjectForm(StepForm):
    step, title, button = "existing_project", _("Taken up by an existing project"), _("Link the project")
    help = _(
        "When a project of the community already does what the topic asks: the residents who raised and "
        "support the topic follow that project and are told."
    )
    project = forms.ModelChoiceField(label=_("project"), queryset=Project.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = (
            Project.objects.filter(community_id=self.topic.community_id)
            .exclude(status=Project.Status.CANCELLED)
            .order_by("-starts_on", "-id")
        )

    def perform(self, actor):
        services.attach_to_project(topic=self.topic, project=self.cleaned_data["project"], actor=actor)


class HideForm(StepForm):
    step, title, button = "hide", _("Hide the topic"), _("Hide")
    help = _(
        "A hidden topic is shown nowhere, on the portal or in the API. The reason is kept on the record and "
        "sent to the resident who raised it. A topic that became a project stays on the record."
    )
    reason = forms.CharField(
        label=_("why it is hidden"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def perform(self, actor):
        services.hide_topic(topic=self.topic, reason=self.cleaned_data["reason"], actor=actor)


class HideCommentForm(StepForm):
    step, title, button = "hide_comment", _("Hide a comment"), _("Hide the comment")
    help = _("The comment is shown nowhere any more; it is never edited or deleted, and the reason is kept.")
    reason = forms.CharField(
        label=_("why it is hidden"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def __init__(self, *args, comment: TopicComment, **kwargs):
        super().__init__(*args, **kwargs)
        self.comment = comment

    def perform(self, actor):
        services.hide_comment(comment=self.comment, reason=self.cleaned_data["reason"], actor=actor)

    def done_message(self):
        return gettext("The comment is hidden.")


STEP_FORMS = {
    form.step: form
    for form in (AnswerForm, PaperSupportsForm, MergeForm, ProjectForm, ExistingProjectForm, HideForm)
}
STEPS_BY_STATUS = {
    TS.OPEN: ("answer", "paper_supports", "merge", "project", "existing_project", "hide"),
    TS.ANSWERED: ("merge", "project", "existing_project", "hide"),
    TS.MERGED: ("hide",),
    TS.PROJECT: (),
    TS.HIDDEN: (),
}


# --- the queue ----------------------------------------------------------------------------------------------


def _open_first(queryset):
    still_open = Case(When(status=TS.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField())
    return queryset.annotate(closed=still_open)


DETAIL_FIELDS = [
    "title",
    "community",
    "category",
    "status",
    "description",
    "raised",
    "supporters",
    "answer",
    "answered_at",
    "merged_into",
    "project",
    "moderation_note",
    "created_at",
    "comments_table",
]


@admin.register(Topic)
class TopicAdmin(AddThroughServiceMixin, StepPagesMixin, ScopedAdminMixin, admin.ModelAdmin):
    scope_area_field = "community"
    form = TopicAddForm
    step_forms = STEP_FORMS
    steps_by_status = STEPS_BY_STATUS
    step_template = "admin/governance/topic/step.html"
    list_display = ["title", "community", "category", "status", "supporters", "comments", "created_at"]
    list_filter = ["status", "category"]
    list_select_related = ["community"]
    search_fields = ["title"]
    list_per_page = 50

    def get_queryset(self, request):
        # Annotated before ordering (ModelAdmin.get_queryset orders by get_ordering, which names annotations).
        queryset = self.scoped(_open_first(with_counts(Topic.objects.all())), request)
        return queryset.order_by(*self.get_ordering(request))

    def get_ordering(self, request):
        # The moderation queue: open topics first, the most supported first.
        return ["closed", "-support_count", "-created_at", "-id"]

    def get_fields(self, request, obj=None):
        return TopicAddForm.Meta.fields if obj is None else DETAIL_FIELDS

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else DETAIL_FIELDS

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and db_field.name == "community":
            field.queryset = field.queryset.filter(level=Area.Level.COMMUNITY)
        return field

    # The page of a topic is its record: changed only by the decisions (StepPagesMixin).

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, gettext("The topic is up on the portal."))
        return redirect(reverse("admin:governance_topic_change", args=[obj.pk]))

    # --- columns --------------------------------------------------------------------------------------------

    @admin.display(description=_("supporters"), ordering="support_count")
    def supporters(self, obj):
        return obj.support_count

    @admin.display(description=_("comments"), ordering="comment_count")
    def comments(self, obj):
        return obj.comment_count

    @admin.display(description=_("raised by"))
    def raised(self, obj):
        if obj.raised_by_id and obj.raised_by_staff_id:
            return gettext("%(person)s (entered by %(staff)s)") % {
                "person": obj.raised_by,
                "staff": obj.raised_by_staff.get_full_name() or obj.raised_by_staff.get_username(),
            }
        if obj.raised_by_staff_id:
            return gettext("staff: %(staff)s") % {
                "staff": obj.raised_by_staff.get_full_name() or obj.raised_by_staff.get_username()
            }
        return obj.raised_by or "—"

    @admin.display(description=_("comments"))
    def comments_table(self, obj):
        rows = []
        for c in obj.comments.select_related("person").order_by("created_at", "id"):
            if c.hidden_at:
                state = gettext("hidden: %(reason)s") % {"reason": c.hidden_reason}
            else:  # the hide page itself refuses a viewer
                url = reverse("admin:governance_topic_hide_comment", args=[obj.pk, c.pk])
                state = format_html('<a href="{}">{}</a>', url, gettext("hide"))
            rows.append(
                (f"{timezone.localtime(c.created_at):%Y-%m-%d %H:%M}", c.person or "—", c.text, state)
            )
        return _table([gettext("written"), gettext("resident"), gettext("comment"), ""], rows)

    # --- the decisions --------------------------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<int:pk>/comments/<int:comment_pk>/hide/",
                self.admin_site.admin_view(self.hide_comment_view),
                name="governance_topic_hide_comment",
            ),
            *super().get_urls(),
        ]

    def step_context(self, topic, form) -> dict:
        return {"comment": getattr(form, "comment", None)}

    def hide_comment_view(self, request, pk, comment_pk):
        topic = self.record_for(request, pk)
        comment = TopicComment.objects.filter(topic=topic, pk=comment_pk).first()
        if comment is None:
            raise Http404
        form = HideCommentForm(
            request.POST if request.method == "POST" else None, topic=topic, comment=comment
        )
        return self.step_page(request, topic, form)


class HiddenFilter(admin.SimpleListFilter):
    title = _("shown")
    parameter_name = "hidden"

    def lookups(self, request, model_admin):
        return [("no", _("shown on the portal")), ("yes", _("hidden"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(hidden_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(hidden_at__isnull=False)
        return queryset


@admin.register(TopicComment)
class TopicCommentAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Comments to moderate, newest first: each hidden from its topic's page with a reason."""

    scope_area_field = "topic__community"
    list_display = ["text", "topic", "person", "created_at", "moderation"]
    list_filter = [HiddenFilter]
    list_select_related = ["topic", "person"]
    search_fields = ["text"]
    ordering = ["-created_at", "-id"]
    fields = ["topic", "person", "text", "created_at", "hidden_at", "hidden_reason"]
    readonly_fields = fields

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("moderation"))
    def moderation(self, obj):
        if obj.hidden_at:
            return gettext("hidden: %(reason)s") % {"reason": obj.hidden_reason}
        url = reverse("admin:governance_topic_hide_comment", args=[obj.topic_id, obj.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("hide"))
