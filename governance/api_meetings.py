"""Coordination meetings and their action items over the REST API: shapes here, every rule in
governance.meetings (docs/coordination.md, "The API").

Who may call what:
- reading: staff see the meetings of their areas and the action items chased in them or decided there; an
  organisation's key sees the same in the areas it serves, plus the action items it owns wherever they are;
- `POST /meetings/` and `POST /action-items/`: staff (STAFF role) of the meeting's area; a key is refused
  with 403;
- `PATCH /action-items/{id}/`: staff of the level chasing the item (or above it), or the key of the
  organisation that owns it (a progress note and a status, never cancelling nor moving the due date).

No resident is named to a key: a person owner is `"owner_kind": "person"`, the internal minutes are staff's
only, and an opinion carries its organisation.
"""

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.response import Response

from charity.api_auth import is_api_key
from charity.api_common import (
    IDEMPOTENCY_KEY_PARAMETER,
    ScopedQuerysetMixin,
    StrictCharField,
    StrictPrimaryKeyRelatedField,
    idempotent,
)
from charity.api_filters import IdFilter
from charity.models import Area, AuditEvent
from charity.scoping import scope_for_request
from charity.services import Actor
from resources.api import StrictBooleanFilter

from . import services
from .meeting_selectors import (
    action_items_with_everything,
    in_scope_q,
    is_overdue,
    meetings_with_everything,
    reachable_organizations_for_scope,
    reachable_people_for_scope,
)
from .models import ActionItem, Decision, Meeting


def reference_scope(request):
    """Where the ids a request names are looked up: what the caller sees (a viewer too). Whether the caller
    may write there is the service's to say — 403 for a viewer — so a viewer is not told that a decision or
    an organisation it reads does not exist; anything out of sight still reads as absent."""
    return scope_for_request(request)


def _refuse_key(request, what):
    if is_api_key(request):
        raise exceptions.PermissionDenied(what)


# --- reading -----------------------------------------------------------------------------------------------


class MeetingAreaRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    level = serializers.CharField(help_text="city, district, street or community.")


class MeetingNamedRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MeetingAgendaEntrySerializer(serializers.Serializer):
    position = serializers.IntegerField()
    title = serializers.CharField()
    source = serializers.CharField(
        help_text="planned; carried_over (an open item of an earlier meeting); escalated (from the level "
        "below)."
    )
    action_item = serializers.IntegerField(source="action_item_id", allow_null=True)


class MeetingDecisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    text = serializers.CharField()
    action_items = serializers.SerializerMethodField(help_text="The ids of the action items following it up.")

    def get_action_items(self, obj) -> list[int]:
        return [item.pk for item in obj.action_items.all()]


class MeetingOpinionSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="Verbatim.")
    speaker_organization = serializers.SerializerMethodField()
    speaker = serializers.SerializerMethodField(help_text="The person's name: staff only (null for a key).")

    @extend_schema_field(MeetingNamedRefSerializer(allow_null=True))
    def get_speaker_organization(self, obj):
        org = obj.speaker_organization
        return {"id": org.pk, "name": org.name} if org else None

    def get_speaker(self, obj) -> str | None:
        request = self.context.get("request")
        if obj.speaker_person is None or request is None or is_api_key(request):
            return None
        return obj.speaker_person.name


def _area(area) -> dict:
    return {"id": area.pk, "name": area.name, "level": area.level}


class MeetingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    area = serializers.SerializerMethodField()
    kind = serializers.CharField(help_text="regular, follow_up or key_issue.")
    title = serializers.CharField()
    starts_at = serializers.DateTimeField()
    place = serializers.CharField()
    status = serializers.CharField(help_text="planned, held, published or cancelled.")
    convenor_organization = serializers.SerializerMethodField()
    participant_organizations = serializers.SerializerMethodField()
    participants = serializers.SerializerMethodField(help_text="How many people took part (never named).")
    agenda = MeetingAgendaEntrySerializer(many=True)
    decisions = MeetingDecisionSerializer(many=True)
    opinions = MeetingOpinionSerializer(many=True)
    minutes = serializers.SerializerMethodField(
        help_text="The internal minutes: staff only (null for a key)."
    )
    public_minutes = serializers.SerializerMethodField(
        help_text="The redacted minutes: to a key once approved and published."
    )
    minutes_approved_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def _is_key(self) -> bool:
        request = self.context.get("request")
        return request is not None and is_api_key(request)

    @extend_schema_field(MeetingAreaRefSerializer)
    def get_area(self, obj):
        return _area(obj.area)

    @extend_schema_field(MeetingNamedRefSerializer(allow_null=True))
    def get_convenor_organization(self, obj):
        org = obj.convenor_organization
        return {"id": org.pk, "name": org.name} if org else None

    @extend_schema_field(MeetingNamedRefSerializer(many=True))
    def get_participant_organizations(self, obj):
        return [{"id": o.pk, "name": o.name} for o in obj.participant_organizations.all()]

    def get_participants(self, obj) -> int:
        return len(obj.participant_people.all())

    def get_minutes(self, obj) -> str | None:
        return None if self._is_key() else obj.minutes

    def get_public_minutes(self, obj) -> str:
        if self._is_key() and obj.status != Meeting.Status.PUBLISHED:
            return ""
        return obj.public_minutes


class ActionItemProgressSerializer(serializers.Serializer):
    noted_on = serializers.DateField()
    note = serializers.CharField()
    to_status = serializers.CharField(help_text="The status the item moved to with this note, or empty.")
    by_organization = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(MeetingNamedRefSerializer(allow_null=True))
    def get_by_organization(self, obj):
        org = obj.by_organization
        return {"id": org.pk, "name": org.name} if org else None


class ActionItemEscalationSerializer(serializers.Serializer):
    from_area = serializers.SerializerMethodField()
    to_area = serializers.SerializerMethodField()
    overdue_days = serializers.IntegerField()
    escalated_at = serializers.DateTimeField()

    @extend_schema_field(MeetingAreaRefSerializer)
    def get_from_area(self, obj):
        return _area(obj.from_area)

    @extend_schema_field(MeetingAreaRefSerializer)
    def get_to_area(self, obj):
        return _area(obj.to_area)


class ActionItemDecisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()


class ActionItemMeetingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    starts_at = serializers.DateTimeField()
    area = MeetingAreaRefSerializer()


class ActionItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    meeting = serializers.SerializerMethodField()
    decision = serializers.SerializerMethodField()
    area = serializers.SerializerMethodField(help_text="The level chasing the item now.")
    owner_kind = serializers.SerializerMethodField(help_text="organization, person, or both.")
    owner_organization = serializers.SerializerMethodField()
    owner_person = serializers.SerializerMethodField(help_text="{id, name}: staff only (null for a key).")
    due_on = serializers.DateField()
    status = serializers.CharField(help_text="open, in_progress, done or cancelled.")
    overdue = serializers.SerializerMethodField(help_text="Open (or in progress) and past its due date.")
    overdue_since = serializers.DateField(allow_null=True)
    escalations = serializers.IntegerField(help_text="How many levels it was passed up.")
    escalation_log = ActionItemEscalationSerializer(many=True)
    progress = ActionItemProgressSerializer(many=True)
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(ActionItemMeetingSerializer)
    def get_meeting(self, obj):
        meeting = obj.decision.meeting
        return {
            "id": meeting.pk,
            "title": meeting.title,
            "starts_at": serializers.DateTimeField().to_representation(meeting.starts_at),
            "area": _area(meeting.area),
        }

    @extend_schema_field(ActionItemDecisionSerializer)
    def get_decision(self, obj):
        return {"id": obj.decision.pk, "text": obj.decision.text}

    @extend_schema_field(MeetingAreaRefSerializer)
    def get_area(self, obj):
        return _area(obj.area)

    def get_owner_kind(self, obj) -> str:
        if obj.owner_person_id and obj.owner_organization_id:
            return "both"
        return "person" if obj.owner_person_id else "organization"

    @extend_schema_field(MeetingNamedRefSerializer(allow_null=True))
    def get_owner_organization(self, obj):
        org = obj.owner_organization
        return {"id": org.pk, "name": org.name} if org else None

    @extend_schema_field(MeetingNamedRefSerializer(allow_null=True))
    def get_owner_person(self, obj):
        request = self.context.get("request")
        person = obj.owner_person
        if person is None or request is None or is_api_key(request):
            return None
        return {"id": person.pk, "name": person.name}

    def get_overdue(self, obj) -> bool:
        return is_overdue(obj, self.context.get("today"))


class MeetingFilter(django_filters.FilterSet):
    area = IdFilter(field_name="area_id", label="Meetings at this area: an area id")
    level = django_filters.ChoiceFilter(field_name="area__level", choices=Area.Level.choices)
    starts_after = django_filters.DateFilter(field_name="starts_at", lookup_expr="date__gte")
    starts_before = django_filters.DateFilter(field_name="starts_at", lookup_expr="date__lte")

    class Meta:
        model = Meeting
        fields = ["area", "level", "kind", "status"]


class ActionItemFilter(django_filters.FilterSet):
    area = IdFilter(field_name="area_id", label="Items chased at this area now: an area id")
    meeting = IdFilter(field_name="decision__meeting_id", label="Items following up this meeting's decisions")
    owner_organization = IdFilter(field_name="owner_organization_id", label="Items this organisation owns")
    overdue = StrictBooleanFilter(method="filter_overdue", label="true: open and past the due date")
    due_after = django_filters.DateFilter(field_name="due_on", lookup_expr="gte")
    due_before = django_filters.DateFilter(field_name="due_on", lookup_expr="lte")

    class Meta:
        model = ActionItem
        fields = ["area", "meeting", "owner_organization", "status"]

    def filter_overdue(self, queryset, name, value):
        overdue = Q(status__in=ActionItem.OPEN_STATUSES, due_on__lt=timezone.localdate())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


# --- writing -----------------------------------------------------------------------------------------------


class MeetingAreaField(StrictPrimaryKeyRelatedField):
    """An area the caller works in, below it, or above it: above is refused by the service with its own
    message (a meeting at a level above yours); anywhere else reads as absent."""

    def get_queryset(self):
        scope = scope_for_request(self.context["request"])
        if scope.everything:
            return Area.objects.all()
        above = {p[: i * Area.steplen] for p in scope.paths for i in range(1, len(p) // Area.steplen + 1)}
        return Area.objects.filter(scope.q() | Q(path__in=above))


class ReachableOrganizationField(StrictPrimaryKeyRelatedField):
    def get_queryset(self):
        return reachable_organizations_for_scope(reference_scope(self.context["request"]))


class ReachablePersonField(StrictPrimaryKeyRelatedField):
    def get_queryset(self):
        return reachable_people_for_scope(reference_scope(self.context["request"]))


class ScopedDecisionField(StrictPrimaryKeyRelatedField):
    def get_queryset(self):
        return reference_scope(self.context["request"]).filter(
            Decision.objects.select_related("meeting"), "meeting__area"
        )


class MeetingCreateSerializer(serializers.Serializer):
    area = MeetingAreaField(help_text="The area whose level meets: yours or one below it.")
    kind = serializers.ChoiceField(choices=Meeting.Kind.choices)
    title = StrictCharField(max_length=None, help_text="At most 200 characters.")
    starts_at = serializers.DateTimeField(help_text="When it starts (ISO 8601 with its offset).")
    place = StrictCharField(max_length=None, required=False, allow_blank=True, default="")
    convenor_organization = ReachableOrganizationField(required=False, allow_null=True, default=None)
    participant_organizations = ReachableOrganizationField(many=True, required=False, default=list)
    agenda = serializers.ListField(
        child=StrictCharField(max_length=None),
        required=False,
        default=list,
        max_length=50,
        help_text="Points for the agenda, after the open action items it starts with.",
    )


class ActionItemCreateSerializer(serializers.Serializer):
    decision = ScopedDecisionField(help_text="The decision it follows up, of a meeting in your areas.")
    title = StrictCharField(max_length=None, help_text="What is to be done: at most 200 characters, public.")
    description = StrictCharField(max_length=None, required=False, allow_blank=True, default="")
    owner_organization = ReachableOrganizationField(required=False, allow_null=True, default=None)
    owner_person = ReachablePersonField(required=False, allow_null=True, default=None)
    due_on = serializers.DateField(help_text="Today or later.")


class ActionItemUpdateSerializer(serializers.Serializer):
    note = StrictCharField(
        max_length=None, help_text="What was done, or why the status or due date changes (published)."
    )
    status = serializers.ChoiceField(
        choices=ActionItem.Status.choices,
        required=False,
        default="",
        help_text="The new status: open → in_progress → done / cancelled (a key may not cancel).",
    )
    noted_on = serializers.DateField(required=False, default=None, help_text="Default today; never later.")
    due_on = serializers.DateField(required=False, default=None, help_text="Staff only: a new due date.")


# --- the viewsets ------------------------------------------------------------------------------------------


def _actor(request) -> Actor:
    return Actor.from_request(request, AuditEvent.Surface.API)


STAFF_ONLY = _("An organisation's API key cannot do this: it needs a member of staff.")


@extend_schema_view(
    list=extend_schema(
        summary="List coordination meetings",
        description="Meetings at the areas you see (a key: the areas its organisation serves, and below), "
        "newest first, with their agenda, decisions (and the ids of the action items following each up) and "
        "the opinions recorded verbatim. The internal minutes are for staff; a key reads the minutes for "
        "publication once they are approved.",
    ),
    retrieve=extend_schema(
        summary="One coordination meeting",
        description="Any id you may not read is 404, as one that is absent.",
    ),
    create=extend_schema(
        summary="Plan a coordination meeting (accepts Idempotency-Key)",
        description="Staff of the area (or above it) plan a meeting at its level. Its agenda starts with the "
        "open action items chased at that area — carried over from earlier meetings, or escalated from the "
        "level below — then the points given. Refused: 403 `meeting_above_your_area` for a level above the "
        "areas you work in; 400 with the field at fault for an empty title, an unknown kind, an area or "
        "organisation outside your reach (answered as one that does not exist); 403 for a key or a viewer.",
        request=MeetingCreateSerializer,
        responses={201: MeetingSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    ),
)
class MeetingViewSet(ScopedQuerysetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    scope_area_field = "area"
    serializer_class = MeetingSerializer
    queryset = meetings_with_everything()
    filterset_class = MeetingFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Meeting.objects.none()
        return super().get_queryset()

    @idempotent
    def create(self, request, *args, **kwargs):
        _refuse_key(request, STAFF_ONLY)
        incoming = MeetingCreateSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        meeting = services.create_meeting(actor=_actor(request), **incoming.validated_data)
        fresh = meetings_with_everything().get(pk=meeting.pk)
        return Response(
            MeetingSerializer(fresh, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema_view(
    list=extend_schema(
        summary="List action items",
        description="Action items chased in your areas or decided by a meeting there (a key: in the areas "
        "its organisation serves, and every item it owns), earliest due first, each with its meeting, "
        "decision, owner, status, `overdue`, its escalations and its dated progress notes. A person owner "
        "is named to staff only.",
    ),
    retrieve=extend_schema(
        summary="One action item", description="Any id you may not read is 404, as one that is absent."
    ),
    create=extend_schema(
        summary="Create an action item following a decision (accepts Idempotency-Key)",
        description="Staff of the meeting's area name an owner (an organisation, a person, or both) and a "
        "due date. Refused with 400 and the field at fault: `owner_required` without an owner, "
        "`due_in_past` for a due date before today, an empty title, a phone or ID number in the title "
        "(it is published); 409 `wrong_status` for a cancelled meeting; 403 for a key or a viewer.",
        request=ActionItemCreateSerializer,
        responses={201: ActionItemSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    ),
    partial_update=extend_schema(
        summary="Report progress on an action item (accepts Idempotency-Key)",
        description="A dated progress note (published), with a new status and, for staff, a new due date. "
        "The key of the organisation that owns the item may report on it (403 for an item it sees but does "
        "not own; it may not cancel nor move the due date); staff of the level chasing it, or above, may do "
        "everything. Refused: 409 `action_item_closed` once done or cancelled; 400 `status_backwards`, "
        "`note_required`, `date_in_future`, `due_in_past`.",
        request=ActionItemUpdateSerializer,
        responses={200: ActionItemSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    ),
)
class ActionItemViewSet(
    ScopedQuerysetMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    serializer_class = ActionItemSerializer
    queryset = action_items_with_everything()
    filterset_class = ActionItemFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ActionItem.objects.none()
        queryset = self.queryset.all()
        scope_q = in_scope_q(self.get_scope())
        if is_api_key(self.request):
            scope_q |= Q(owner_organization_id=self.request.auth.organization_id)
        return queryset.filter(scope_q)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def _fresh(self, item):
        return ActionItemSerializer(
            action_items_with_everything().get(pk=item.pk), context=self.get_serializer_context()
        ).data

    @idempotent
    def create(self, request, *args, **kwargs):
        _refuse_key(request, STAFF_ONLY)
        incoming = ActionItemCreateSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        item = services.create_action_item(actor=_actor(request), **incoming.validated_data)
        return Response(self._fresh(item), status=status.HTTP_201_CREATED)

    @idempotent
    def partial_update(self, request, *args, **kwargs):
        incoming = ActionItemUpdateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        services.update_action_item(item=self.get_object(), actor=_actor(request), **incoming.validated_data)
        return Response(self._fresh(self.get_object()))
