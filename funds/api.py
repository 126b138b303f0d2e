"""Funds and donations over the REST API. Thin: validation of shapes here, every rule in services."""

import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, pagination, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from charity.api_common import IDEMPOTENCY_KEY_PARAMETER, ScopedQuerysetMixin, idempotent
from charity.models import AuditEvent, StaffAssignment
from charity.scoping import scope_for_request
from charity.services import Actor

from . import selectors, services
from .models import MAX_AMOUNT_FEN, Donation, Entry, Fund


def write_scope(request):
    """Where the caller may record money: a key's served areas, or areas where the user is staff or more."""
    return scope_for_request(request, min_role=StaffAssignment.Role.STAFF)


@extend_schema_field(OpenApiTypes.INT)
class StrictAmountField(serializers.Field):
    """An amount in fen: a JSON integer, nothing else (no 1.5, no "100", no true)."""

    default_error_messages = {
        "type": _("Give the amount as a whole number of fen (1 yuan = 100 fen), e.g. 10000 for ¥100."),
        "positive": _("The amount must be more than zero."),
        "too_large": _("The amount may not exceed ¥10,000,000,000."),
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("type")
        if data <= 0:
            self.fail("positive")
        if data > MAX_AMOUNT_FEN:
            self.fail("too_large")
        return data

    def to_representation(self, value):
        return value


class FundSerializer(serializers.ModelSerializer):
    balance_fen = serializers.SerializerMethodField()
    restricted_fen = serializers.SerializerMethodField()
    in_kind_fen = serializers.SerializerMethodField()

    class Meta:
        model = Fund
        fields = [
            "id",
            "name",
            "kind",
            "parent",
            "community",
            "host",
            "named_after",
            "purpose",
            "policy",
            "status",
            "opened_on",
            "closed_on",
            "balance_fen",
            "restricted_fen",
            "in_kind_fen",
        ]

    def _balance(self, obj):
        return self.context["balances"][obj.pk]

    def get_balance_fen(self, obj) -> int:
        return self._balance(obj).balance_fen

    def get_restricted_fen(self, obj) -> int:
        return self._balance(obj).restricted_fen

    def get_in_kind_fen(self, obj) -> int:
        return self._balance(obj).in_kind_fen


class FundDetailSerializer(FundSerializer):
    restricted_by_purpose = serializers.SerializerMethodField()

    class Meta(FundSerializer.Meta):
        fields = [*FundSerializer.Meta.fields, "restricted_by_purpose"]

    def get_restricted_by_purpose(self, obj) -> dict[str, int]:
        return self._balance(obj).restricted_by_purpose


class EntrySerializer(serializers.ModelSerializer):
    transaction_kind = serializers.CharField(source="transaction.kind")
    memo = serializers.CharField(source="transaction.memo")
    posted_at = serializers.DateTimeField(source="transaction.posted_at")
    reverses = serializers.IntegerField(source="transaction.reverses_id", allow_null=True)
    account = serializers.CharField(source="account.kind")
    purpose = serializers.CharField(source="account.purpose")
    fund = serializers.IntegerField(source="account.fund_id")

    class Meta:
        model = Entry
        fields = [
            "id",
            "transaction",
            "transaction_kind",
            "posted_at",
            "fund",
            "account",
            "purpose",
            "amount_fen",
            "memo",
            "reverses",
        ]


class EntryCursorPagination(pagination.CursorPagination):
    ordering = "-id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


class FundFilter(django_filters.FilterSet):
    class Meta:
        model = Fund
        fields = ["community", "kind", "status", "parent", "host"]


@extend_schema_view(
    list=extend_schema(summary="List the funds in your scope, with balances"),
    retrieve=extend_schema(summary="One fund, with its restricted money by purpose"),
)
class FundViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    scope_area_field = "community"
    queryset = Fund.objects.order_by("community_id", "kind", "name", "id")
    filterset_class = FundFilter

    def get_serializer_class(self):
        return FundDetailSerializer if self.action == "retrieve" else FundSerializer

    def get_serializer(self, *args, **kwargs):
        rows = args[0] if args else None
        if isinstance(rows, Fund):
            rows = [rows]
        if rows is not None and self.action in ("list", "retrieve"):
            kwargs.setdefault("context", self.get_serializer_context())
            kwargs["context"]["balances"] = selectors.get_fund_balances(list(rows))
        return super().get_serializer(*args, **kwargs)

    @extend_schema(
        summary="The fund's ledger lines, newest first (cursor-paginated)",
        responses=EntrySerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=EntryCursorPagination, filterset_class=None)
    def entries(self, request, pk=None):
        fund = self.get_object()
        page = self.paginate_queryset(selectors.list_entries(fund))
        return self.get_paginated_response(EntrySerializer(page, many=True).data)


@extend_schema_field(OpenApiTypes.INT)
class ScopedFundField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        request = self.context["request"]
        return write_scope(request).filter(Fund.objects.select_related("host", "community"), "community")


class DonationSerializer(serializers.ModelSerializer):
    donor = serializers.SerializerMethodField()
    refunded = serializers.BooleanField(source="is_refunded", read_only=True)

    class Meta:
        model = Donation
        fields = [
            "id",
            "fund",
            "form",
            "amount_fen",
            "channel",
            "donor",
            "anonymous",
            "publish_name",
            "receipt_no",
            "receipt_waived",
            "received_on",
            "restriction",
            "restricted_fund",
            "purpose",
            "item_description",
            "item_quantity",
            "item_unit",
            "transaction",
            "refunded",
            "refund_reason",
            "created_at",
        ]

    def get_donor(self, obj) -> str | None:
        return obj.donor_display_name


class DonationCreateSerializer(serializers.Serializer):
    fund = ScopedFundField()
    amount_fen = StrictAmountField()
    channel = serializers.ChoiceField(choices=Donation.Channel.choices)
    form = serializers.ChoiceField(choices=Donation.Form.choices, default=Donation.Form.MONEY)
    donor_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    anonymous = serializers.BooleanField(default=False)
    publish_name = serializers.BooleanField(default=False)
    receipt_no = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    receipt_waived = serializers.BooleanField(default=False)
    received_on = serializers.DateField(required=False)
    restriction = serializers.ChoiceField(choices=Donation.Restriction.choices, default="unrestricted")
    restricted_fund = serializers.PrimaryKeyRelatedField(
        queryset=Fund.objects.all(), required=False, allow_null=True, default=None
    )
    purpose = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    item_description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    item_quantity = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, allow_null=True, default=None, min_value=0
    )
    item_unit = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")

    def validate_received_on(self, value):
        if value > timezone.localdate():
            raise serializers.ValidationError(_("A donation cannot be received in the future."))
        return value


class RefundSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class DonationFilter(django_filters.FilterSet):
    received_after = django_filters.DateFilter(field_name="received_on", lookup_expr="gte")
    received_before = django_filters.DateFilter(field_name="received_on", lookup_expr="lte")

    class Meta:
        model = Donation
        fields = ["fund", "channel", "restriction", "form"]


@extend_schema_view(
    list=extend_schema(summary="List the donations recorded in your scope"),
    retrieve=extend_schema(summary="One donation"),
    create=extend_schema(
        summary="Record a donation (accepts Idempotency-Key)",
        request=DonationCreateSerializer,
        responses={201: DonationSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    ),
)
class DonationViewSet(ScopedQuerysetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    scope_area_field = "fund__community"
    serializer_class = DonationSerializer
    queryset = Donation.objects.select_related("fund", "donor_person", "donor_organization").order_by(
        "-received_on", "-id"
    )
    filterset_class = DonationFilter

    @idempotent
    def create(self, request, *args, **kwargs):
        incoming = DonationCreateSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        data["received_on"] = data.get("received_on") or timezone.localdate()
        actor = Actor.from_request(request, AuditEvent.Surface.API)
        donation = services.post_donation(actor=actor, handled_by=actor.user, **data)
        return Response(DonationSerializer(donation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Refund a donation: a reversal with a reason (accepts Idempotency-Key)",
        request=RefundSerializer,
        responses={200: DonationSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def refund(self, request, pk=None):
        donation = self.get_object()
        if not write_scope(request).contains(donation.fund.community):
            raise NotFound()
        incoming = RefundSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        services.refund_donation(
            donation=donation,
            reason=incoming.validated_data["reason"],
            actor=Actor.from_request(request, AuditEvent.Surface.API),
        )
        donation.refresh_from_db()
        return Response(DonationSerializer(donation).data)
