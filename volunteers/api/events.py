"""Events and sign-ups over the REST API: shapes here, rules in volunteers.services (events).

- `GET /api/v1/events/`: the events of the communities in your scope, with places taken and waiting and
  their volunteer roles. Filters: community, series, kind, status, starts_after / starts_before (dates).
- `POST /api/v1/events/`: an organisation's API key creates an event of its own organisation in a community
  it serves (a staff session names the organiser). Accepts Idempotency-Key.
- `POST /api/v1/events/{id}/signups/`: a hub organisation signs up a resident of a community it serves —
  the person is named by `person` (their id on this platform) or by `mobile` (the mobile number they
  registered with), exactly one of the two. The same rules as the portal (places, waiting list, deadline,
  guardian, volunteers and insurance). Accepts Idempotency-Key. The answer names nobody: the sign-up's id,
  status and place in line.
"""

import django_filters
from django.db.models import Count, Prefetch, Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from charity.api_common import (
    IDEMPOTENCY_KEY_PARAMETER,
    ScopedQuerysetMixin,
    StrictBooleanField,
    StrictCharField,
    StrictPrimaryKeyRelatedField,
    idempotent,
)
from charity.api_filters import IdFilter
from charity.errors import DomainError
from charity.models import Area, AuditEvent, Organization, Person, StaffAssignment
from charity.scoping import scope_for_request
from charity.services import Actor
from charity.validators import normalize_mobile
from governance.models import Project

from .. import services
from ..models import TEXT_MAX, TITLE_MAX, Event, EventSeries, Signup, VolunteerRole
from ..services.events import HOLDING


def write_scope(request):
    """Where the caller may act: a key's served areas, or areas where the user is staff or more."""
    return scope_for_request(request, min_role=StaffAssignment.Role.STAFF)


class RoleSerializer(serializers.ModelSerializer):
    taken = serializers.IntegerField(read_only=True)
    waiting = serializers.IntegerField(read_only=True)

    class Meta:
        model = VolunteerRole
        fields = ["id", "name", "description", "capacity", "taken", "waiting"]


class NamedSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class EventSerializer(serializers.ModelSerializer):
    series = NamedSerializer(read_only=True, allow_null=True)
    organizer = NamedSerializer(read_only=True)
    taken = serializers.IntegerField(
        read_only=True, help_text="Participant places held (confirmed or offered)."
    )
    waiting = serializers.IntegerField(read_only=True, help_text="Participants on the waiting list.")
    places_left = serializers.SerializerMethodField()
    insured = serializers.SerializerMethodField()
    roles = RoleSerializer(many=True, read_only=True)

    class Meta:
        model = Event
        fields = [
            "id",
            "title",
            "kind",
            "status",
            "community",
            "series",
            "project",
            "organizer",
            "description",
            "place",
            "starts_at",
            "ends_at",
            "capacity",
            "taken",
            "waiting",
            "places_left",
            "signup_deadline",
            "cancellation_cutoff",
            "is_risky",
            "risk_notice",
            "insured",
            "roles",
        ]

    def get_places_left(self, obj) -> int:
        return max(obj.capacity - obj.taken, 0)

    def get_insured(self, obj) -> bool:
        """Whether the accident insurance is recorded (a risky event takes volunteers only then)."""
        return obj.insurance_recorded_at is not None


class ScopedCommunityField(StrictPrimaryKeyRelatedField):
    def get_queryset(self):
        return Area.objects.filter(level=Area.Level.COMMUNITY).filter(
            write_scope(self.context["request"]).q()
        )


class ScopedSeriesField(StrictPrimaryKeyRelatedField):
    def get_queryset(self):
        return write_scope(self.context["request"]).filter(EventSeries.objects.all(), "community")


class ScopedProjectField(StrictPrimaryKeyRelatedField):
    def get_queryset(self):
        return write_scope(self.context["request"]).filter(Project.objects.all(), "community")


class ScopedOrganizationField(StrictPrimaryKeyRelatedField):
    def get_queryset(self):
        return write_scope(self.context["request"]).filter(Organization.objects.all(), "area")


class RoleCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=None)
    capacity = serializers.JSONField(help_text="Places in this role: an integer, at least 1.")
    description = StrictCharField(max_length=None, required=False, allow_blank=True, default="")


class EventCreateSerializer(serializers.Serializer):
    community = ScopedCommunityField(help_text="A community your key serves (or where you are staff).")
    series = ScopedSeriesField(required=False, allow_null=True, default=None)
    project = ScopedProjectField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The service project the event belongs to: one of the event's own community.",
    )
    organizer = ScopedOrganizationField(
        required=False,
        allow_null=True,
        default=None,
        help_text="With a staff session: the organising organisation. A key creates its own organisation's.",
    )
    kind = serializers.ChoiceField(choices=Event.Kind.choices)
    title = StrictCharField(max_length=None, help_text=f"At most {TITLE_MAX} characters.")
    description = StrictCharField(max_length=None, required=False, allow_blank=True, default="")
    place = StrictCharField(
        max_length=None, required=False, allow_blank=True, default="", help_text="Empty for an online event."
    )
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.JSONField(help_text="Places for participants: an integer, 0 for volunteers only.")
    signup_deadline = serializers.DateTimeField(required=False, allow_null=True, default=None)
    cancellation_cutoff = serializers.DateTimeField(required=False, allow_null=True, default=None)
    is_risky = StrictBooleanField(default=False)
    risk_notice = StrictCharField(
        max_length=None, required=False, allow_blank=True, default="", help_text=f"At most {TEXT_MAX}."
    )
    roles = RoleCreateSerializer(many=True, required=False, default=list)


class SignupCreateSerializer(serializers.Serializer):
    person = serializers.JSONField(
        required=False, default=None, help_text="The resident's id on this platform."
    )
    mobile = StrictCharField(
        required=False, allow_blank=True, default="", help_text="Or: the mobile number they registered with."
    )
    role = serializers.JSONField(
        required=False,
        default=None,
        help_text="A volunteer role of this event (its id); empty for a participant.",
    )
    participant_age = serializers.JSONField(
        required=False, default=None, help_text="A participant's age in years, if under 18."
    )
    guardian_name = StrictCharField(
        required=False, allow_blank=True, default="", max_length=None, help_text="At most 50 characters."
    )


class SignupSerializer(serializers.ModelSerializer):
    position = serializers.SerializerMethodField()

    class Meta:
        model = Signup
        fields = ["id", "event", "role", "status", "position", "offer_expires_at", "created_at"]

    def get_position(self, obj) -> int | None:
        """The place in line (1 = next) of a waiting sign-up, else null."""
        return services.waiting_position(obj)


class EventFilter(django_filters.FilterSet):
    community = IdFilter(field_name="community_id", label="Events of this community: an area id")
    series = IdFilter(field_name="series_id", label="Events of this series: a series id")
    starts_after = django_filters.DateFilter(
        field_name="starts_at", lookup_expr="date__gte", label="Starting on or after this day"
    )
    starts_before = django_filters.DateFilter(
        field_name="starts_at", lookup_expr="date__lte", label="Starting on or before this day"
    )

    class Meta:
        model = Event
        fields = ["community", "series", "kind", "status", "starts_after", "starts_before"]


EVENT_EXAMPLES = [
    OpenApiExample(
        "A free clinic of the Together series",
        value={
            "community": 12,
            "series": 3,
            "kind": "free_clinic",
            "title": "一起·社区义诊",
            "place": "社区卫生服务站",
            "starts_at": "2027-03-06T09:00:00+08:00",
            "ends_at": "2027-03-06T12:00:00+08:00",
            "capacity": 60,
            "roles": [{"name": "引导", "capacity": 4}],
        },
        request_only=True,
    )
]
SIGNUP_EXAMPLES = [
    OpenApiExample("By mobile number", value={"mobile": "13800138000"}, request_only=True),
    OpenApiExample("A volunteer role, by person id", value={"person": 345, "role": 17}, request_only=True),
]


def _person(request, data) -> Person:
    """The resident named by `person` (id) or `mobile`, among the communities the caller may act in."""
    person_id, mobile = data.get("person"), (data.get("mobile") or "").strip()
    if (person_id is None) == (not mobile):
        raise DomainError(
            _("Name the resident by `person` (their id) or by `mobile`, exactly one of the two."),
            field="person",
        )
    people = write_scope(request).filter(Person.objects.select_related("community"), "community")
    if person_id is not None:
        if isinstance(person_id, bool) or not isinstance(person_id, int) or not 1 <= person_id < 2**63:
            raise DomainError(_("Give the id as a JSON integer, e.g. 12."), field="person")
        found = people.filter(pk=person_id).first()
        field = "person"
    else:
        try:
            mobile = normalize_mobile(mobile)
        except Exception as error:
            raise DomainError(
                error.messages[0] if hasattr(error, "messages") else str(error), field="mobile"
            ) from None
        found = people.filter(mobile=mobile).first()
        field = "mobile"
    if found is None:
        raise DomainError(
            _("No resident with this id or mobile number in the communities you serve."), field=field
        )
    return found


@extend_schema_view(
    list=extend_schema(
        summary="List the events in your scope",
        description="Events of the communities in your scope, soonest first, with participant places "
        "(`capacity`, `taken`, `waiting`, `places_left`) and their volunteer roles with their own places.",
    ),
    retrieve=extend_schema(summary="One event", description="Any id outside your scope is 404."),
    create=extend_schema(
        summary="Create an event (accepts Idempotency-Key)",
        description="A key creates an event of its own organisation in a community it serves; a staff "
        "session names the `organizer`. Refused with 400 and the field at fault: a community or series "
        "outside your scope (answered as one that does not exist), an end before the start, sign-up closing "
        "after the end, cancellations closing after the start, a capacity below 0, a role with fewer than 1 "
        "place, a risky event without `risk_notice`. `signup_deadline` and `cancellation_cutoff` default to "
        "the start.",
        request=EventCreateSerializer,
        responses={201: EventSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        examples=EVENT_EXAMPLES,
    ),
)
class EventViewSet(ScopedQuerysetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    scope_area_field = "community"
    serializer_class = EventSerializer
    filterset_class = EventFilter

    def get_queryset(self):
        roles = VolunteerRole.objects.annotate(
            taken=Count("signups", filter=Q(signups__status__in=HOLDING)),
            waiting=Count("signups", filter=Q(signups__status=Signup.Status.WAITING)),
        ).order_by("pk")
        self.queryset = (
            services.with_places(Event.objects.select_related("series", "organizer"))
            .prefetch_related(Prefetch("roles", queryset=roles))
            .order_by("starts_at", "id")
        )
        return super().get_queryset()

    @idempotent
    def create(self, request, *args, **kwargs):
        incoming = EventCreateSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        actor = Actor.from_request(request, AuditEvent.Surface.API)
        organizer = actor.organization or data.pop("organizer", None)
        data.pop("organizer", None)
        if organizer is None:
            raise serializers.ValidationError(
                {"organizer": [_("Name the organisation that organises the event.")]}
            )
        roles = [(r["name"], r["capacity"], r["description"]) for r in data.pop("roles")]
        event = services.create_event(actor=actor, organizer=organizer, roles=roles, **data)
        event = self.get_queryset().get(pk=event.pk)
        return Response(self.get_serializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Sign a resident up for this event (accepts Idempotency-Key)",
        description="A hub organisation (or staff) signs up a resident of a community it serves, named by "
        "`person` (id) or `mobile`, exactly one. A free place gives `status: confirmed`; a full event or "
        "role `waiting` with `position` in line. Refused with 400 or 409 and a code: `already_signed_up`, "
        "`signup_closed`, `event_cancelled`, `not_a_volunteer` (a role needs a registered active "
        "volunteer), `insurance_missing` (a risky event before its insurance is recorded), `too_young`, "
        "`guardian_needed` (a participant under 14 needs `guardian_name`), `volunteers_only`. A resident "
        "outside your communities is answered like one that does not exist.",
        request=SignupCreateSerializer,
        responses={201: SignupSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        examples=SIGNUP_EXAMPLES,
    )
    @action(detail=True, methods=["post"], url_path="signups")
    @idempotent
    def signups(self, request, pk=None):
        event = self.get_object()
        incoming = SignupCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        person = _person(request, data)
        role = None
        if data.get("role") is not None:
            role_id = data["role"]
            if isinstance(role_id, bool) or not isinstance(role_id, int):
                raise DomainError(_("Give the id as a JSON integer, e.g. 12."), field="role")
            role = (
                VolunteerRole.objects.filter(pk=role_id, event=event).first()
                if 1 <= role_id < 2**63
                else None
            )
            if role is None:
                raise DomainError(_("Choose one of this event's volunteer roles."), field="role")
        signup = services.sign_up(
            event=event,
            person=person,
            role=role,
            participant_age=data.get("participant_age"),
            guardian_name=data.get("guardian_name") or "",
            actor=Actor.from_request(request, AuditEvent.Surface.API),
        )
        return Response(SignupSerializer(signup).data, status=status.HTTP_201_CREATED)


# (prefix, viewset, basename) for volunteers/api_urls.py
ROUTES: list[tuple] = [("events", EventViewSet, "event")]
