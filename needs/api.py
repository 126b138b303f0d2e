"""Needs over the REST API: hub organisations register needs for the communities they serve and read them.

Thin: shapes are checked here, every rule is needs.services'. Sensitive details are accepted only with a
legal basis (for consent: who gave it and which hub organisations it names), and returned only to an
organisation the active consent names — never to staff sessions (they use the audited admin view), never
after the consent is withdrawn. Every page that returns some writes one audit event.
"""

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from charity.api_auth import is_api_key
from charity.api_common import (
    IDEMPOTENCY_KEY_PARAMETER,
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
from .models import DESCRIPTION_MAX, NOTE_MAX, SUMMARY_MAX, Need, NeedSensitiveDetails
from .services import MAX_COUNT, LegalBasisInput, NeedInput

SENSITIVE_FIELDS = {
    "name": "The beneficiary's name.",
    "phone": "Their phone number.",
    "address": "Their address.",
    "id_number": "Their ID card number.",
    "health": "Health information.",
    "minor_notes": "Notes about a minor.",
}


class SensitiveSerializer(serializers.Serializer):
    name = StrictCharField(required=False, allow_blank=True, max_length=500)
    phone = StrictCharField(required=False, allow_blank=True, max_length=500)
    address = StrictCharField(required=False, allow_blank=True, max_length=500)
    id_number = StrictCharField(required=False, allow_blank=True, max_length=500)
    health = StrictCharField(required=False, allow_blank=True, max_length=500)
    low_income = StrictBooleanField(required=False)
    about_minor = StrictBooleanField(required=False)
    minor_notes = StrictCharField(required=False, allow_blank=True, max_length=500)


class ConsentSerializer(serializers.Serializer):
    basis = serializers.ChoiceField(
        choices=NeedSensitiveDetails.LegalBasis.choices,
        help_text="consent (the person's separate consent), statutory (a statutory duty) or emergency.",
    )
    note = StrictCharField(
        required=False, allow_blank=True, max_length=NOTE_MAX, help_text="For statutory and emergency: which."
    )
    given_by = serializers.ChoiceField(
        choices=NeedSensitiveDetails.GivenBy.choices, required=False, help_text="For consent: who gave it."
    )
    publish_summary = StrictBooleanField(
        required=False, help_text="The consent covers publishing the summary."
    )
    share_with = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=20,
        help_text="Ids of the hub organisations the consent names: only they read the details back.",
    )


class ScopedCommunityField(StrictPrimaryKeyRelatedField):
    """A community where the caller may enter needs; any other id reads as one that does not exist."""

    def get_queryset(self):
        scope = scope_for_request(self.context["request"], min_role=StaffAssignment.Role.STAFF)
        return Area.objects.filter(scope.q(), level=Area.Level.COMMUNITY)


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "description": "The sensitive details, only for the organisations the beneficiary's active consent "
        "names; null for everyone else.",
        "properties": {
            **{k: {"type": "string"} for k in SENSITIVE_FIELDS},
            "low_income": {"type": "boolean"},
            "about_minor": {"type": "boolean"},
        },
    }
)
class SensitiveOutField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, need):
        return self.context.get("sensitive", {}).get(need.pk)


class NeedSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="code", read_only=True)
    kind = serializers.CharField(read_only=True)
    sensitive = SensitiveOutField()

    class Meta:
        model = Need
        fields = [
            "id",
            "community",
            "category",
            "kind",
            "sub_kind",
            "summary",
            "description",
            "quantity",
            "unit",
            "urgency",
            "needed_by",
            "status",
            "source",
            "beneficiary_count",
            "created_at",
            "published_at",
            "sensitive",
        ]


class CategoryCodeField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="code", queryset=Category.objects.filter(is_active=True), **kwargs)

    def to_internal_value(self, data):
        # No code holds a NUL, and PostgreSQL cannot even compare one (DataError, a 500): refused unread.
        if isinstance(data, str) and "\x00" in data:
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


class NeedCreateSerializer(serializers.Serializer):
    community = ScopedCommunityField(queryset=Area.objects.none(), help_text="A community your key serves.")
    category = CategoryCodeField(help_text="A category code.")
    sub_kind = serializers.ChoiceField(choices=Need.SubKind.choices)
    summary = StrictCharField(
        max_length=SUMMARY_MAX,
        help_text="Public: what is needed, for how many people — no names, phone or ID numbers (refused).",
    )
    description = StrictCharField(required=False, allow_blank=True, max_length=DESCRIPTION_MAX)
    quantity = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_COUNT)
    unit = StrictCharField(required=False, allow_blank=True, max_length=20)
    urgency = serializers.ChoiceField(choices=Need.Urgency.choices, required=False)
    needed_by = serializers.DateField(required=False, allow_null=True)
    beneficiary_count = serializers.IntegerField(required=False, min_value=1, max_value=MAX_COUNT)
    sensitive = SensitiveSerializer(required=False)
    legal_basis = ConsentSerializer(required=False)


class NeedFilter(django_filters.FilterSet):
    community = IdFilter(field_name="community_id", label="In this community: an area id")
    category = django_filters.CharFilter(field_name="category__code", label="A category code")
    needed_after = django_filters.DateFilter(field_name="needed_by", lookup_expr="gte")
    needed_before = django_filters.DateFilter(field_name="needed_by", lookup_expr="lte")
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")

    class Meta:
        model = Need
        fields = ["community", "category", "status", "urgency", "sub_kind"]


NEED_EXAMPLES = [
    OpenApiExample(
        "A need with consent to share with your organisation",
        value={
            "community": 4,
            "category": "elderly",
            "sub_kind": "housing",
            "summary": "为3户高龄独居老人的楼梯加装扶手",
            "quantity": 3,
            "unit": "处",
            "urgency": "soon",
            "needed_by": "2026-12-31",
            "beneficiary_count": 3,
            "sensitive": {"name": "张某某", "phone": "13800000000", "address": "幸福路8号"},
            "legal_basis": {
                "basis": "consent",
                "given_by": "beneficiary",
                "publish_summary": True,
                "share_with": [7],
            },
        },
        request_only=True,
    ),
]


@extend_schema_view(
    list=extend_schema(
        summary="List the needs of the communities in your scope",
        description="Newest first. Filters: `community`, `category` (code), `status`, `urgency`, `sub_kind`, "
        "`needed_after`/`needed_before` (dates), `created_after`. `sensitive` is null unless your "
        "organisation is named in the beneficiary's active consent; reading it is recorded.",
    ),
    retrieve=extend_schema(summary="One need", description="A need of your scope; any other id is 404."),
    create=extend_schema(
        summary="Register a need for review (accepts Idempotency-Key)",
        description="A hub organisation's key registers a need of a community it serves; staff review it "
        "before it is published. Refused with 400 and the field at fault: a `community` outside your scope "
        "(answered exactly as one that does not exist) or a `category` code that is not active. "
        "The summary is public: one that looks like a mobile, landline or ID "
        "number is refused (400 `mobile_in_public_text`, `landline_in_public_text`, "
        "`id_number_in_public_text`). `sensitive` needs `legal_basis` (400 "
        "`sensitive_without_legal_basis`); consent needs `given_by`, and `share_with` names hub "
        "organisations serving the community. Likely duplicates are flagged to staff.",
        request=NeedCreateSerializer,
        responses={201: NeedSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        examples=NEED_EXAMPLES,
    ),
)
class NeedViewSet(
    CachedReadsMixin, ScopedQuerysetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet
):
    scope_area_field = "community"
    serializer_class = NeedSerializer
    queryset = Need.objects.select_related("category").order_by("-created_at", "-id")
    filterset_class = NeedFilter

    def get_serializer(self, *args, **kwargs):
        rows = args[0] if args else None
        if rows is not None and self.action in ("list", "retrieve", "create"):
            rows = [rows] if isinstance(rows, Need) else list(rows)
            kwargs.setdefault("context", self.get_serializer_context())
            kwargs["context"]["sensitive"] = self._sensitive(rows)
        return super().get_serializer(*args, **kwargs)

    def _sensitive(self, rows) -> dict:
        if not is_api_key(self.request) or not rows:
            return {}
        organization = self.request.auth.organization
        return services.sensitive_for_organization(
            rows, organization, actor=Actor.from_request(self.request, AuditEvent.Surface.API)
        )

    @idempotent
    def create(self, request, *args, **kwargs):
        incoming = NeedCreateSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        basis = None
        if "legal_basis" in data:
            given = data["legal_basis"]
            share_ids = given.get("share_with", [])
            share_with = list(Organization.objects.filter(pk__in=share_ids))
            if len(share_with) != len(set(share_ids)):
                raise services.NeedError(
                    _("There is no such id among those you may use here."),
                    code="share_with_invalid",
                    field="legal_basis",
                )
            basis = LegalBasisInput(
                basis=given["basis"],
                note=given.get("note", ""),
                given_by=given.get("given_by", ""),
                publish_summary=given.get("publish_summary", False),
                share_with=share_with,
            )
        actor = Actor.from_request(request, AuditEvent.Surface.API)
        need = services.submit_need(
            data=NeedInput(
                community=data["community"],
                category=data["category"],
                sub_kind=data["sub_kind"],
                summary=data["summary"],
                description=data.get("description", ""),
                quantity=data.get("quantity"),
                unit=data.get("unit", ""),
                urgency=data.get("urgency", Need.Urgency.ROUTINE),
                needed_by=data.get("needed_by"),
                beneficiary_count=data.get("beneficiary_count", 1),
            ),
            source=Need.Source.API if actor.organization else Need.Source.STAFF,
            actor=actor,
            sensitive=dict(data.get("sensitive") or {}),
            basis=basis,
        )
        return Response(self.get_serializer(need).data, status=status.HTTP_201_CREATED)
