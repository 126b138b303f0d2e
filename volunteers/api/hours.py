"""Service records over the REST API: list, enter, confirm. Shapes here, rules in volunteers.services.hours.

A volunteer appears by volunteer number only: never a name or an ID number. A key sees and enters records
of the communities its organisation serves, as their organiser; a staff session those of its areas.
"""

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from charity.api_common import (
    IDEMPOTENCY_KEY_PARAMETER,
    ScopedQuerysetMixin,
    StrictCharField,
    StrictPrimaryKeyRelatedField,
    idempotent,
)
from charity.api_filters import IdFilter
from charity.models import Area, AuditEvent, Organization, StaffAssignment
from charity.scoping import scope_for_request
from charity.services import Actor

from ..models import TITLE_MAX, Event, ServiceRecord, Volunteer
from ..services import hours as services


def write_scope(request):
    return scope_for_request(request, min_role=StaffAssignment.Role.STAFF)


class ServiceRecordSerializer(serializers.ModelSerializer):
    volunteer = serializers.CharField(
        source="volunteer.number", read_only=True, help_text="Volunteer number."
    )
    organizer = serializers.SerializerMethodField()
    hours = serializers.SerializerMethodField()

    class Meta:
        model = ServiceRecord
        fields = [
            "id",
            "volunteer",
            "event",
            "organizer",
            "community",
            "content",
            "started_at",
            "ended_at",
            "minutes",
            "hours",
            "status",
            "source",
            "rejection_reason",
            "decided_at",
            "created_at",
        ]

    def get_organizer(self, obj) -> dict:
        return {"id": obj.organizer_id, "name": obj.organizer.name}

    def get_hours(self, obj) -> str:
        """Hours as a decimal string in quarter hours, e.g. "2.75"."""
        return services.format_hours(obj.minutes)


class ScopedCommunityField(StrictPrimaryKeyRelatedField):
    def get_queryset(self):
        return Area.objects.filter(level=Area.Level.COMMUNITY).filter(
            write_scope(self.context["request"]).q()
        )


class ScopedOrganizationField(StrictPrimaryKeyRelatedField):
    def get_queryset(self):
        return write_scope(self.context["request"]).filter(Organization.objects.all(), "area")


class ScopedEventField(StrictPrimaryKeyRelatedField):
    def get_queryset(self):
        return write_scope(self.context["request"]).filter(Event.objects.all(), "community")


class ServiceRecordCreateSerializer(serializers.Serializer):
    volunteer_number = StrictCharField(
        max_length=32, help_text="The volunteer's number (never an ID number)."
    )
    community = ScopedCommunityField(help_text="Where the service took place: a community in your scope.")
    organizer = ScopedOrganizationField(
        required=False,
        allow_null=True,
        default=None,
        help_text="With a staff session: the organiser who certifies. A key records as its organisation.",
    )
    event = ScopedEventField(required=False, allow_null=True, default=None)
    content = StrictCharField(max_length=None, help_text=f"What the service was; at most {TITLE_MAX}.")
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField()
    minutes = serializers.JSONField(
        required=False,
        default=None,
        help_text="Minutes actually served in quarter hours (15, 30…); default: the whole quarter hours "
        "between start and end.",
    )


class ServiceRecordFilter(django_filters.FilterSet):
    community = IdFilter(field_name="community_id", label="Records of this community: an area id")
    event = IdFilter(field_name="event_id", label="Records of this event: an event id")
    date_after = django_filters.DateFilter(
        field_name="started_at", lookup_expr="date__gte", label="Served on or after this day"
    )
    date_before = django_filters.DateFilter(
        field_name="started_at", lookup_expr="date__lte", label="Served on or before this day"
    )
    volunteer = django_filters.CharFilter(field_name="volunteer__number", label="A volunteer number")

    class Meta:
        model = ServiceRecord
        fields = ["community", "event", "status", "source", "volunteer"]


EXAMPLE = OpenApiExample(
    "Two hours at the charity market",
    value={
        "volunteer_number": "V440113000123",
        "community": 12,
        "content": "一起·公益集市 引导",
        "started_at": "2026-03-01T09:00:00+08:00",
        "ended_at": "2026-03-01T11:00:00+08:00",
    },
    request_only=True,
)


@extend_schema_view(
    list=extend_schema(
        summary="List service records in your scope",
        description="Hours served in the communities of your scope, latest first. Only `confirmed` records "
        "count. A volunteer appears by volunteer number only.",
    ),
    retrieve=extend_schema(summary="One service record", description="Any id outside your scope is 404."),
    create=extend_schema(
        summary="Record hours served (accepts Idempotency-Key)",
        description="The organiser records hours; they wait for confirmation. Refused with 400/409 and the "
        "field at fault: minutes of 0 or less, not in quarter hours, more than the time between start and "
        "end, more than 24 on one day; hours in the future; hours overlapping the volunteer's other records "
        "(409 `hours_overlap`); an unknown volunteer number or one outside your scope.",
        request=ServiceRecordCreateSerializer,
        responses={201: ServiceRecordSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        examples=[EXAMPLE],
    ),
    confirm=extend_schema(
        summary="Confirm a service record (accepts Idempotency-Key)",
        description="The organiser confirms the hours; from then on they count and the volunteer is told. "
        "A record already confirmed or rejected is 409 `already_decided`.",
        request=None,
        responses={200: ServiceRecordSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    ),
)
class ServiceRecordViewSet(ScopedQuerysetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    scope_area_field = "community"
    serializer_class = ServiceRecordSerializer
    queryset = ServiceRecord.objects.select_related("volunteer", "organizer").order_by("-started_at", "-id")
    filterset_class = ServiceRecordFilter

    @idempotent
    def create(self, request, *args, **kwargs):
        incoming = ServiceRecordCreateSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        actor = Actor.from_request(request, AuditEvent.Surface.API)
        organizer = actor.organization or data["organizer"]
        if organizer is None and data["event"] is not None:
            organizer = data["event"].organizer
        if organizer is None:
            raise serializers.ValidationError(
                {"organizer": [_("Name the organiser who certifies the hours.")]}
            )
        volunteer = (
            write_scope(request)
            .filter(Volunteer.objects.select_related("person"), "person__community")
            .filter(number=data["volunteer_number"])
            .first()
        )
        if volunteer is None:
            raise serializers.ValidationError(
                {"volunteer_number": [_("There is no volunteer with this number in your scope.")]}
            )
        record = services.record_service(
            volunteer=volunteer,
            organizer=organizer,
            community=data["community"],
            content=data["content"],
            started_at=data["started_at"],
            ended_at=data["ended_at"],
            minutes=data["minutes"],
            event=data["event"],
            source=ServiceRecord.Source.ORGANISER,
            actor=actor,
        )
        record = self.get_queryset().get(pk=record.pk)
        return Response(self.get_serializer(record).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    @idempotent
    def confirm(self, request, pk=None):
        record = self.get_object()
        services.confirm_record(record=record, actor=Actor.from_request(request, AuditEvent.Surface.API))
        record = self.get_queryset().get(pk=record.pk)
        return Response(self.get_serializer(record).data)


# (prefix, viewset, basename) for volunteers/api_urls.py
ROUTES: list[tuple] = [("service-records", ServiceRecordViewSet, "service-record")]
