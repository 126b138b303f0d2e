"""Service projects over the REST API: shapes here, every rule in governance.projects (docs/projects.md).

Who may call what:
- reading: staff see the projects of their areas; an organisation's key those of the areas it serves;
- `POST /projects/`: staff of the community, or a key serving it (for a project its organisation leads);
- `POST /projects/{id}/progress/`: staff of the community, or the key of the organisation leading the
  project; another key that reads the project is refused (403), any other id is 404.

Residents are never named here (ratings are counted and averaged, not listed).
"""

import django_filters
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from charity.api_auth import IsStaffOrOrganizationKey
from charity.api_common import (
    IDEMPOTENCY_KEY_PARAMETER,
    ScopedQuerysetMixin,
    StrictCharField,
    StrictPrimaryKeyRelatedField,
    idempotent,
)
from charity.api_filters import IdFilter
from charity.models import Area, AuditEvent, Organization
from charity.scoping import scope_for_request
from charity.services import Actor
from needs.models import Need

from . import services
from .models import Milestone, ProgressReport, Project
from .selectors_projects import calendar_of, projects_for_api


def reference_scope(request):
    """Where the ids a request names are looked up: what the caller sees (a viewer too). Whether the caller
    may plan there is the service's to say — 403 for a viewer — so a viewer is not told that a community it
    reads does not exist; anything out of sight still reads as absent."""
    return scope_for_request(request)


# --- reading -----------------------------------------------------------------------------------------------


class MilestoneSerializer(serializers.ModelSerializer):
    class Meta:
        model = Milestone
        fields = ["id", "title", "due_on", "reached_on"]


class ProgressSerializer(serializers.ModelSerializer):
    reported_by_organization = serializers.SerializerMethodField(
        help_text="The organisation whose key reported it; null when staff did."
    )

    class Meta:
        model = ProgressReport
        fields = [
            "id",
            "reported_on",
            "text",
            "milestone",
            "people_reached",
            "reported_by_organization",
            "created_at",
        ]

    def get_reported_by_organization(self, obj) -> int | None:
        return obj.by_organization_id


class CriterionResultSerializer(serializers.Serializer):
    criterion = serializers.CharField()
    met = serializers.BooleanField()
    note = serializers.CharField()


class EvaluationSerializer(serializers.Serializer):
    criteria_results = CriterionResultSerializer(many=True)
    people_reached = serializers.IntegerField()
    summary = serializers.CharField()
    evaluator = serializers.CharField()
    recorded_at = serializers.DateTimeField()


class DueDisclosureSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="progress or final.")
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    due_on = serializers.DateField()
    status = serializers.CharField(help_text="done, due, overdue or upcoming.")
    late = serializers.BooleanField(help_text="Met, but published after the due date.")
    disclosure = serializers.SerializerMethodField(help_text="The id of the disclosure that met it, or null.")

    def get_disclosure(self, obj) -> int | None:
        return obj.met_by.pk if obj.met_by is not None else None


class ProjectSerializer(serializers.ModelSerializer):
    lead_organization = serializers.SerializerMethodField(help_text="{id, name} of the lead organisation.")
    evaluation_criteria = serializers.SerializerMethodField(help_text="One criterion per item, in order.")
    milestones = MilestoneSerializer(many=True, read_only=True)
    progress = ProgressSerializer(many=True, read_only=True, source="progress_reports")
    evaluation = serializers.SerializerMethodField()
    disclosure_calendar = serializers.SerializerMethodField(
        help_text="What the project owes (docs/projects.md): progress every three months for a project "
        "over six months, the final disclosure within three months after its end."
    )

    class Meta:
        model = Project
        fields = [
            "id",
            "community",
            "lead_organization",
            "title",
            "summary",
            "goals",
            "beneficiary_groups",
            "target_beneficiaries",
            "budget_fen",
            "evaluation_criteria",
            "starts_on",
            "ends_on",
            "status",
            "needs",
            "milestones",
            "progress",
            "evaluation",
            "disclosure_calendar",
            "created_at",
            "started_at",
            "ended_at",
        ]

    def get_lead_organization(self, obj) -> dict:
        return {"id": obj.lead_organization_id, "name": obj.lead_organization.name}

    def get_evaluation_criteria(self, obj) -> list[str]:
        return services.criteria_lines(obj.evaluation_criteria)

    @extend_schema_field(EvaluationSerializer(allow_null=True))
    def get_evaluation(self, obj):
        evaluation = getattr(obj, "evaluation", None)
        return EvaluationSerializer(evaluation).data if evaluation is not None else None

    @extend_schema_field(DueDisclosureSerializer(many=True))
    def get_disclosure_calendar(self, obj):
        today = self.context.setdefault("today", timezone.localdate())
        return DueDisclosureSerializer(calendar_of(obj, obj.disclosures.all(), today), many=True).data


def projects_with_everything():
    return (
        projects_for_api(Project.objects.all())
        .prefetch_related(
            Prefetch("progress_reports", queryset=ProgressReport.objects.order_by("reported_on", "id"))
        )
        .order_by("-starts_on", "-id")
    )


class ProjectFilter(django_filters.FilterSet):
    community = IdFilter(field_name="community_id", label="Projects of this community: an area id")
    lead_organization = IdFilter(
        field_name="lead_organization_id", label="Projects led by this organisation: an organisation id"
    )

    class Meta:
        model = Project
        fields = ["community", "lead_organization", "status"]


# --- writing -----------------------------------------------------------------------------------------------


class ScopedCommunityField(StrictPrimaryKeyRelatedField):
    def get_queryset(self):
        scope = reference_scope(self.context["request"])
        return Area.objects.filter(level=Area.Level.COMMUNITY).filter(scope.q())


class ScopedOrganizationField(StrictPrimaryKeyRelatedField):
    def get_queryset(self):
        scope = reference_scope(self.context["request"])
        return Organization.objects.filter(scope.q("area__") | scope.q("served_areas__")).distinct()


class ScopedNeedField(StrictPrimaryKeyRelatedField):
    def get_queryset(self):
        return reference_scope(self.context["request"]).filter(Need.objects.all(), "community")


@extend_schema_field({"type": "integer"})
class WholeNumberField(serializers.Field):
    """A JSON integer (no 1.5, no "100", no true); its range is the service's to check, with its message."""

    default_error_messages = {"type": _("Give a whole number, e.g. 100.")}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("type")
        return data

    def to_representation(self, value):
        return value


class MilestoneInput(serializers.Serializer):
    title = StrictCharField(max_length=None)
    due_on = serializers.DateField(help_text="Within the project's dates.")


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})
class CriteriaField(serializers.Field):
    """The evaluation criteria: a list of strings, or one string with one criterion per line."""

    default_error_messages = {"type": _("Give the criteria as a list of texts, or one text, one per line.")}

    def to_internal_value(self, data):
        if isinstance(data, str):
            return data
        if isinstance(data, list) and all(isinstance(item, str) for item in data):
            if any("\n" in item or "\r" in item for item in data):
                self.fail("type")
            return "\n".join(data)
        self.fail("type")

    def to_representation(self, value):
        return value


class ProjectCreateSerializer(serializers.Serializer):
    community = ScopedCommunityField(help_text="A community in your scope.")
    lead_organization = ScopedOrganizationField(
        required=False,
        help_text="The organisation leading it, based in or serving the community. A key leaves it out "
        "(its own organisation leads) or gives its own.",
    )
    # Blank text passes here so that the service says what is missing, in its own words.
    title = StrictCharField(max_length=None, allow_blank=True, help_text="At most 200 characters.")
    summary = StrictCharField(
        max_length=None, allow_blank=True, help_text="Public. No phone or ID numbers (refused)."
    )
    goals = StrictCharField(max_length=None, allow_blank=True)
    beneficiary_groups = StrictCharField(
        max_length=None, allow_blank=True, help_text="Who it serves (≤ 500)."
    )
    target_beneficiaries = WholeNumberField(help_text="People it aims to reach, at least 1.")
    budget_fen = WholeNumberField(help_text="In fen, 0 or more.")
    evaluation_criteria = CriteriaField(help_text="At least one; fixed once the project starts.")
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    milestones = MilestoneInput(many=True, required=False, default=list)
    needs = ScopedNeedField(many=True, required=False, default=list)


class ProgressInput(serializers.Serializer):
    text = StrictCharField(
        max_length=None, allow_blank=True, help_text="What progress was made (public, ≤ 5000)."
    )
    reported_on = serializers.DateField(required=False, help_text="Today or earlier; today when left out.")
    milestone = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="The id of one of the project's milestones."
    )
    people_reached = WholeNumberField(required=False, allow_null=True, default=None)


DESCRIPTION_LIST = (
    "Service projects of your areas, latest start first: the plan (goals, beneficiaries, budget, criteria, "
    "milestones), the progress reported, the evaluation, and the disclosure calendar with what is due and "
    "overdue. Staff see their areas; an organisation's key the areas it serves."
)


@extend_schema_view(
    list=extend_schema(summary="List service projects", description=DESCRIPTION_LIST),
    retrieve=extend_schema(
        summary="One service project", description="Any id you may not read is 404, as one that is absent."
    ),
    create=extend_schema(
        summary="Plan a service project (accepts Idempotency-Key)",
        description="A planned project of a community in your scope, with its milestones. A key plans as "
        "the lead organisation. Refused with 400 and the field at fault: an empty title, summary, goals or "
        "criteria, a phone or ID number in public text, an end before the start, a milestone outside the "
        "project's dates, a lead organisation that neither is based in nor serves the community; a "
        "community outside your scope is answered as one that does not exist; a viewer of the community "
        "gets 403.",
        request=ProjectCreateSerializer,
        responses={201: ProjectSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    ),
)
class ProjectViewSet(ScopedQuerysetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    scope_area_field = "community"
    serializer_class = ProjectSerializer
    queryset = projects_with_everything()
    filterset_class = ProjectFilter
    permission_classes = [IsStaffOrOrganizationKey]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        return super().get_queryset()

    def _actor(self):
        return Actor.from_request(self.request, AuditEvent.Surface.API)

    def _fresh(self, project):
        return ProjectSerializer(
            projects_with_everything().get(pk=project.pk), context=self.get_serializer_context()
        ).data

    @idempotent
    def create(self, request, *args, **kwargs):
        incoming = ProjectCreateSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        data.setdefault("lead_organization", None)
        project = services.create_project(
            actor=self._actor(),
            milestones=[(m["title"], m["due_on"]) for m in data.pop("milestones")],
            **data,
        )
        return Response(self._fresh(project), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Report progress on a running project (accepts Idempotency-Key)",
        description="Staff of the community, or the key of the organisation leading the project: another "
        "organisation's key that reads the project gets 403 `not_lead_organization`, a viewer 403; a project "
        "you cannot read is 404, as one that does not exist. 409 `wrong_status` "
        "unless the project runs; 400 with the field at fault: empty text, a date in the future or before "
        "the start, a milestone of another project, a negative number of people.",
        request=ProgressInput,
        responses={201: ProgressSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def progress(self, request, pk=None):
        incoming = ProgressInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        project = self.get_object()
        milestone = None
        if data["milestone"] is not None:
            milestone = Milestone.objects.filter(pk=data["milestone"]).first()
            if milestone is None or milestone.project_id != project.pk:
                raise services.ProjectError(
                    _("This milestone belongs to another project."), code="wrong_milestone", field="milestone"
                )
        report = services.report_progress(
            actor=self._actor(),
            project=project,
            text=data["text"],
            reported_on=data.get("reported_on") or timezone.localdate(),
            milestone=milestone,
            people_reached=data["people_reached"],
        )
        return Response(ProgressSerializer(report).data, status=status.HTTP_201_CREATED)
