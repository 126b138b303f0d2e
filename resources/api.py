"""The resources registry and the tool library's loans over the REST API: shapes here, rules in services.

No resident is named here: a resource offered by a resident says so (`offered_by: "resident"`) without
their name, and a loan carries no borrower. Staff read names in the admin, where access is audited.
"""

import datetime
import re

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from charity.api_common import (
    IDEMPOTENCY_KEY_PARAMETER,
    CachedListMixin,
    CachedReadsMixin,
    ScopedQuerysetMixin,
    StrictBooleanField,
    StrictCharField,
    StrictPrimaryKeyRelatedField,
    idempotent,
)
from charity.api_filters import IdFilter
from charity.models import Area, AuditEvent, Category, Organization, StaffAssignment
from charity.scoping import scope_for_request
from charity.services import Actor

from . import services
from .models import DESCRIPTION_MAX, TITLE_MAX, UNIT_MAX, AvailabilitySlot, Loan, Resource


def write_scope(request):
    """Where the caller may offer: a key's served areas, or areas where the user is staff or more."""
    return scope_for_request(request, min_role=StaffAssignment.Role.STAFF)


CLOCK_TIME_PATTERN = "^([01][0-9]|2[0-3]):[0-5][0-9]$"


@extend_schema_field({"type": "string", "pattern": CLOCK_TIME_PATTERN, "example": "09:00"})
class ClockTimeField(serializers.Field):
    """A time of day as "HH:MM" (24-hour, local time, no seconds), in and out.

    Not DRF's TimeField: its "19:00:00" is no OpenAPI `format: time` (which wants a UTC offset), and it took
    "9:5" and "09:00:00.5". The schema's pattern is exactly what is accepted.
    """

    default_error_messages = {"invalid": _("Give a time of day as HH:MM, e.g. 09:00.")}

    def to_internal_value(self, data):
        if not isinstance(data, str) or not re.fullmatch(CLOCK_TIME_PATTERN, data):
            self.fail("invalid")
        return datetime.time(int(data[:2]), int(data[3:]))

    def to_representation(self, value):
        return value.strftime("%H:%M")


class SlotSerializer(serializers.ModelSerializer):
    # Declared, not derived from the model: the derived bounds would follow the database's integer sizes.
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 is Monday, 6 Sunday.")
    start_time = ClockTimeField(help_text="From, HH:MM.")
    end_time = ClockTimeField(help_text="Until, HH:MM (after the start).")

    class Meta:
        model = AvailabilitySlot
        fields = ["weekday", "start_time", "end_time"]


class ResourceSerializer(serializers.ModelSerializer):
    offered_by = serializers.SerializerMethodField()
    owner_organization = serializers.SerializerMethodField()
    categories = serializers.SerializerMethodField()
    free = serializers.IntegerField(read_only=True)
    quantity = serializers.IntegerField(read_only=True)
    amount_fen = serializers.IntegerField(read_only=True, allow_null=True)
    slots = SlotSerializer(many=True, read_only=True)
    help_kinds = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Skills and time: the kinds of help it gives (need sub_kind codes).",
    )

    class Meta:
        model = Resource
        fields = [
            "id",
            "kind",
            "title",
            "description",
            "offered_by",
            "owner_organization",
            "categories",
            "quantity",
            "unit",
            "free",
            "community",
            "reach",
            "available_from",
            "available_until",
            "slots",
            "help_kinds",
            "status",
            "for_exchange",
            "amount_fen",
            "fund",
            "created_at",
        ]

    def get_offered_by(self, obj) -> str:
        """`resident` or `organization`: a resident is never named here."""
        return "organization" if obj.owner_organization_id else "resident"

    def get_owner_organization(self, obj) -> dict | None:
        org = obj.owner_organization
        return {"id": org.pk, "name": org.name} if org else None

    def get_categories(self, obj) -> list[str]:
        return [c.code for c in obj.categories.all()]


class ScopedCommunityField(StrictPrimaryKeyRelatedField):
    """A community where the caller may offer resources; any other id reads as one that does not exist."""

    def get_queryset(self):
        return Area.objects.filter(level=Area.Level.COMMUNITY).filter(
            write_scope(self.context["request"]).q()
        )


class ScopedOrganizationField(StrictPrimaryKeyRelatedField):
    def get_queryset(self):
        return write_scope(self.context["request"]).filter(Organization.objects.all(), "area")


class CategoryCodeField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="code", queryset=Category.objects.filter(is_active=True), **kwargs)

    def to_internal_value(self, data):
        # No code holds a NUL, and PostgreSQL cannot even compare one (DataError, a 500): refused unread.
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


class ResourceCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Resource.Kind.choices)
    title = StrictCharField(max_length=None, help_text=f"At most {TITLE_MAX} characters.")
    # The lengths are the service's to check, so that the message names the limit and the length given.
    description = StrictCharField(
        max_length=None, required=False, allow_blank=True, default="", help_text=f"At most {DESCRIPTION_MAX}."
    )
    community = ScopedCommunityField(help_text="The community it is offered in: one in your scope.")
    owner_organization = ScopedOrganizationField(
        required=False,
        allow_null=True,
        default=None,
        help_text="With a staff session: the organisation that offers it. A key offers as its organisation.",
    )
    reach = serializers.ChoiceField(choices=Resource.Reach.choices, default=Resource.Reach.COMMUNITY)
    categories = CategoryCodeField(many=True, required=False, default=list)
    quantity = serializers.JSONField(
        default=1, help_text="How many needs it can serve: an integer, at least 1."
    )
    unit = StrictCharField(
        max_length=None, required=False, allow_blank=True, default="", help_text=f"≤ {UNIT_MAX}."
    )
    available_from = serializers.DateField(required=False, allow_null=True, default=None)
    available_until = serializers.DateField(required=False, allow_null=True, default=None)
    for_exchange = StrictBooleanField(default=False)
    amount_fen = serializers.JSONField(
        required=False, default=None, help_text="A money pledge: fen promised."
    )
    slots = SlotSerializer(many=True, required=False, default=list)
    # Checked by the service, so the message names the unknown code.
    help_kinds = serializers.JSONField(
        required=False,
        default=list,
        help_text="Skills and time: the kinds of help it gives, as need sub_kind codes (e.g. counselling).",
    )


class StrictBooleanFormField(forms.NullBooleanField):
    """`true` or `false` in a query string, nothing else: django-filter took `?x=null` as no filter."""

    widget = forms.TextInput

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in ("true", "false"):
            return value == "true"
        raise ValidationError(_("Give true or false."), code="invalid")

    def validate(self, value):
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanFormField


class ResourceFilter(django_filters.FilterSet):
    for_exchange = StrictBooleanFilter(label="Offered for exchange: true or false")
    community = IdFilter(field_name="community_id", label="Offered in this community: an area id")
    category = django_filters.CharFilter(
        field_name="categories__code", label="Can serve this category (its code)"
    )
    available_on = django_filters.DateFilter(method="filter_available_on", label="Available on this day")
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")

    class Meta:
        model = Resource
        fields = ["community", "category", "status", "kind", "for_exchange"]

    def filter_available_on(self, queryset, name, value):
        return queryset.filter(available_from__lte=value).filter(
            Q(available_until__isnull=True) | Q(available_until__gte=value)
        )


RESOURCE_EXAMPLES = [
    OpenApiExample(
        "A merchant's blankets",
        value={
            "kind": "goods",
            "title": "冬季棉被",
            "community": 12,
            "categories": ["elderly"],
            "quantity": 20,
            "unit": "床",
            "reach": "street",
            "available_until": "2027-02-28",
        },
        request_only=True,
    )
]


@extend_schema_view(
    list=extend_schema(
        summary="List the resources offered in your scope",
        description="Resources offered in the communities in your scope, newest first. `free` is how many "
        "units or tool copies are not claimed or lent out. A resource a resident offered says "
        "`offered_by: resident` and never names them.",
    ),
    retrieve=extend_schema(summary="One resource", description="Any id outside your scope is 404."),
    create=extend_schema(
        summary="Offer a resource (accepts Idempotency-Key)",
        description="Offer goods, a venue, a skill, time, a tool or a money pledge in a community of your "
        "scope. Refused with 400 and the field at fault: a `community` outside your scope "
        "(answered exactly as one that does not exist); `quantity` below 1 or not an integer; "
        "`available_until` before `available_from`; a title over 100 or a description over 2000 characters; "
        "`slots` for other kinds than venue and time, or ending before they start; `for_exchange` for other "
        "kinds than goods; a money pledge without `amount_fen`. Text is stored as given (HTML is not run).",
        request=ResourceCreateSerializer,
        responses={201: ResourceSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        examples=RESOURCE_EXAMPLES,
    ),
)
class ResourceViewSet(
    CachedReadsMixin, ScopedQuerysetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet
):
    scope_area_field = "community"
    serializer_class = ResourceSerializer
    queryset = (
        Resource.objects.select_related("owner_organization")
        .prefetch_related(
            Prefetch("categories", queryset=Category.objects.order_by("sort_order", "code")),
            Prefetch("slots", queryset=AvailabilitySlot.objects.order_by("weekday", "start_time")),
        )
        .order_by("-created_at", "-id")
    )
    filterset_class = ResourceFilter

    def filter_queryset(self, queryset):
        # The category filter joins the M2M: one row per resource all the same.
        return super().filter_queryset(queryset).distinct()

    @idempotent
    def create(self, request, *args, **kwargs):
        incoming = ResourceCreateSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        actor = Actor.from_request(request, AuditEvent.Surface.API)
        owner = actor.organization or data.pop("owner_organization", None)
        data.pop("owner_organization", None)
        if owner is None:
            raise serializers.ValidationError(
                {"owner_organization": [_("Name the organisation that offers it.")]}
            )
        slots = [(s["weekday"], s["start_time"], s["end_time"]) for s in data.pop("slots")]
        categories = data.pop("categories")
        resource = services.offer_resource(
            actor=actor,
            owner_organization=owner,
            categories=categories,
            slots=slots or None,
            **data,
        )
        resource = self.get_queryset().get(pk=resource.pk)
        return Response(self.get_serializer(resource).data, status=status.HTTP_201_CREATED)


class LoanSerializer(serializers.ModelSerializer):
    tool = serializers.CharField(source="resource.title", read_only=True)
    community = serializers.IntegerField(source="resource.community_id", read_only=True)
    late = serializers.SerializerMethodField()
    renewals = serializers.IntegerField(read_only=True)

    class Meta:
        model = Loan
        fields = ["id", "resource", "tool", "community", "start", "due", "returned_at", "renewals", "late"]

    def get_late(self, obj) -> bool:
        return obj.returned_at is None and obj.due < timezone.localdate()


class LoanFilter(django_filters.FilterSet):
    community = IdFilter(field_name="resource__community_id", label="Tools of this community: an area id")
    resource = IdFilter(field_name="resource_id", label="Loans of this tool: a resource id")
    state = django_filters.ChoiceFilter(
        method="filter_state",
        choices=[("open", "open"), ("late", "late"), ("returned", "returned")],
        label="open (still out), late (out past its due date) or returned",
    )
    due_after = django_filters.DateFilter(field_name="due", lookup_expr="gte")
    due_before = django_filters.DateFilter(field_name="due", lookup_expr="lte")

    class Meta:
        model = Loan
        fields = ["community", "resource", "state"]

    def filter_state(self, queryset, name, value):
        if value == "returned":
            return queryset.filter(returned_at__isnull=False)
        queryset = queryset.filter(returned_at__isnull=True)
        return queryset.filter(due__lt=timezone.localdate()) if value == "late" else queryset


@extend_schema_view(
    list=extend_schema(
        summary="List the tool library's loans in your scope",
        description="Loans of tools in the communities of your scope, latest first; `late` is true for a "
        "tool still out after its due date. Borrowers are not named.",
    )
)
class LoanViewSet(CachedListMixin, ScopedQuerysetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    scope_area_field = "resource__community"
    serializer_class = LoanSerializer
    queryset = Loan.objects.select_related("resource").order_by("-start", "-id")
    filterset_class = LoanFilter
