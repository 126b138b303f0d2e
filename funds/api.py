"""Funds and donations over the REST API. Thin: validation of shapes here, every rule in services."""

from decimal import Decimal

import django_filters
from django.db.models import Exists, OuterRef, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from charity.api_auth import is_api_key
from charity.api_common import (
    IDEMPOTENCY_KEY_PARAMETER,
    CachedReadsMixin,
    FastRepresentationMixin,
    ScopedQuerysetMixin,
    StrictBooleanField,
    StrictCharField,
    StrictCursorPagination,
    StrictPrimaryKeyRelatedField,
    ValuesListMixin,
    idempotent,
)
from charity.api_filters import IdFilter
from charity.models import AuditEvent, Consent, StaffAssignment
from charity.scoping import scope_for_request
from charity.services import Actor
from charity.validators import VISIBLE_CHARACTER_PATTERN

from . import selectors, services
from .models import MAX_AMOUNT_FEN, Donation, Entry, Fund


def write_scope(request):
    """Where the caller may record money: a key's served areas, or areas where the user is staff or more."""
    return scope_for_request(request, min_role=StaffAssignment.Role.STAFF)


@extend_schema_field(
    {
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_AMOUNT_FEN,
        "description": "The amount in fen, a JSON integer (1 yuan = 100 fen): 10000 is ¥100. At least 1, at "
        "most 1,000,000,000,000 (¥10,000,000,000). For goods, their valuation.",
        "example": 10000,
    }
)
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


class FundSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    balance_fen = serializers.SerializerMethodField()
    restricted_fen = serializers.SerializerMethodField()
    in_kind_fen = serializers.SerializerMethodField()
    principal_fen = serializers.SerializerMethodField()
    income_fen = serializers.SerializerMethodField()

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
            "principal_fen",
            "income_fen",
        ]

    def _balance(self, obj):
        return self.context["balances"][obj.pk]

    def get_balance_fen(self, obj) -> int:
        return self._balance(obj).balance_fen

    def get_restricted_fen(self, obj) -> int:
        return self._balance(obj).restricted_fen

    def get_in_kind_fen(self, obj) -> int:
        return self._balance(obj).in_kind_fen

    def get_principal_fen(self, obj) -> int:
        return self._balance(obj).principal_fen

    def get_income_fen(self, obj) -> int:
        return self._balance(obj).income_fen


class FundDetailSerializer(FundSerializer):
    restricted_by_purpose = serializers.SerializerMethodField()

    class Meta(FundSerializer.Meta):
        fields = [*FundSerializer.Meta.fields, "restricted_by_purpose"]

    def get_restricted_by_purpose(self, obj) -> dict[str, int]:
        return self._balance(obj).restricted_by_purpose


class EntrySerializer(FastRepresentationMixin, serializers.ModelSerializer):
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


class EntryCursorPagination(StrictCursorPagination):
    ordering = "-id"
    page_size = 100


class FundFilter(django_filters.FilterSet):
    # Plain ids, not model choices: an id out of scope and one that does not exist give the same answer.
    community = IdFilter(field_name="community_id", label="In this community: an area id")
    parent = IdFilter(field_name="parent_id", label="Named funds of this fund: a fund id")
    host = IdFilter(field_name="host_id", label="Hosted by this organisation: an organisation id")

    class Meta:
        model = Fund
        fields = ["community", "kind", "status", "parent", "host"]


@extend_schema_view(
    list=extend_schema(
        summary="List the funds in your scope, with balances",
        description="The community funds and named funds of the communities in your scope. Balances are "
        "in fen (1 yuan = 100 fen), computed from the ledger: `balance_fen` is the money held, "
        "`restricted_fen` the part of it restricted to a purpose, `principal_fen` an endowment's principal "
        "(kept, never spent), `income_fen` the investment income it holds (spendable), `in_kind_fen` goods "
        "at their valuation. `parent` is the community fund a named fund belongs to; a named fund's money is "
        "restricted to it.",
    ),
    retrieve=extend_schema(
        summary="One fund, with its restricted money by purpose",
        description="One fund in your scope, with `restricted_by_purpose`: the restricted money held for "
        "each purpose, in fen. Any other id is 404.",
    ),
)
class FundViewSet(CachedReadsMixin, ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
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
        description="Every movement of money is a transaction of two or more lines that add up to zero: "
        "a donation credits the fund's `general` (or `restricted`, `in_kind`) account and debits `donors`. "
        "A correction or refund is a reversal: a new transaction whose `reverses` names the one it undoes. "
        "Lines are never edited or deleted. Follow `next` to page back in time; a cursor that was not "
        "given by the API is 404 `invalid_cursor`.",
        responses=EntrySerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=EntryCursorPagination, filterset_class=None)
    def entries(self, request, pk=None):
        fund = self.get_object()
        page = self.paginate_queryset(selectors.list_entries(fund))
        return self.get_paginated_response(EntrySerializer(page, many=True).data)


class ScopedFundField(StrictPrimaryKeyRelatedField):
    """A fund where the caller may record money; any other id reads as one that does not exist."""

    def get_queryset(self):
        request = self.context["request"]
        return write_scope(request).filter(Fund.objects.select_related("host", "community"), "community")


class DonationSerializer(FastRepresentationMixin, serializers.ModelSerializer):
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

    # The list reads `.values()` rows (ValuesListMixin): the columns `row_donor` and `row_refunded` read, and
    # `donor_consented`, which DonationViewSet's list annotates.
    row_annotations = ("donor_consented",)
    row_columns = (
        "donor_name",
        "donor_person_id",
        "donor_person__name",
        "donor_organization_id",
        "donor_organization__name",
        "refund_transaction_id",
    )

    def get_donor(self, obj) -> str | None:
        """Staff see the name; an API key sees what the public page shows, or the name of a resident who
        consented to share their details with the key's organisation (PIPL art. 23), unless the gift was
        anonymous."""
        return self._visible_donor(
            obj.donor_display_name, obj.anonymous, obj.publish_name, obj.donor_person_id
        )

    def row_donor(self, row) -> str | None:
        # Donation.donor_display_name, from the row's columns.
        if row["donor_organization_id"]:
            name = row["donor_organization__name"]
        elif row["donor_person_id"]:
            name = row["donor_person__name"]
        else:
            name = row["donor_name"] or None
        return self._visible_donor(name, row["anonymous"], row["publish_name"], row["donor_person_id"])

    def row_refunded(self, row) -> bool:
        return row["refund_transaction_id"] is not None  # Donation.is_refunded

    def _visible_donor(self, name, anonymous, publish_name, person_id):
        # The rule of get_donor's docstring (which the schema shows), for an instance and for a row alike. The
        # public name is Donation.public_donor_name's: published and not anonymous.
        consents = self.context.get("donor_consents")
        if consents is None or (publish_name and not anonymous):
            return name
        if not anonymous and person_id in consents:
            return name
        return None


MAX_QUANTITY = 9_999_999_999


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "string",
                "pattern": "^(?=[0-9.]*[1-9])[0-9]{1,10}(?:\\.[0-9]{1,2})?$",
                "example": "2.5",
            },
            {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY},
        ],
        "nullable": True,
        "description": "For goods: how many, more than 0 — a JSON integer, or a decimal written as a string "
        'with at most 10 digits before the point and 2 after ("2.5"). Null or absent for money.',
    }
)
class QuantityField(serializers.DecimalField):
    """A quantity of goods: a JSON integer or a decimal string ("2.5"); never a float (1.1 is not exact)."""

    default_error_messages = {
        "type": _('Give the quantity as a whole number (3) or as a decimal in a string ("2.5").'),
    }

    def __init__(self, **kwargs):
        super().__init__(max_digits=12, decimal_places=2, min_value=Decimal("0.01"), **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("type")
        return super().to_internal_value(data)


class DonationCreateSerializer(serializers.Serializer):
    """One donation the fund's host received. The rules across fields are listed in the operation's
    description."""

    fund = ScopedFundField(help_text="The fund that received it: a fund in the areas your key serves.")
    amount_fen = StrictAmountField()
    channel = serializers.ChoiceField(
        choices=Donation.Channel.choices, help_text="How the money or goods came in."
    )
    form = serializers.ChoiceField(
        choices=Donation.Form.choices,
        default=Donation.Form.MONEY,
        help_text="`money` (default) or `in_kind` (goods, valued in `amount_fen`).",
    )
    donor_name = StrictCharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="The donor as they want to be named. Shown publicly only with `publish_name`.",
    )
    anonymous = StrictBooleanField(
        default=False, help_text="The donor asked not to be named anywhere. Not together with `publish_name`."
    )
    publish_name = StrictBooleanField(
        default=False,
        help_text="The donor agreed to have their name published (Charity Law art. 82). "
        "Not with `anonymous`.",
    )
    receipt_no = StrictCharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text="The host's receipt number (捐赠票据号): required unless `receipt_waived` is true, and "
        "empty when it is; empty for a `venture_grant` (a grant takes no donation receipt). Unique per "
        "host organisation: a number already recorded is 409 `duplicate_receipt`. "
        "Normalised before it is compared and stored (NFKC — full-width ＡＢ１２ is AB12 —, invisible "
        "characters removed, white space collapsed and trimmed).",
    )
    receipt_waived = StrictBooleanField(
        default=False, help_text="The donor declined a receipt; then `receipt_no` is empty."
    )
    received_on = serializers.DateField(
        required=False,
        help_text="The day the host received it, not in the future. Default: today (Shanghai).",
    )
    restriction = serializers.ChoiceField(
        choices=Donation.Restriction.choices,
        default="unrestricted",
        help_text="`unrestricted` (default: no `purpose`, no `restricted_fund`); `purpose`: give `purpose`; "
        "`named_fund`: give `restricted_fund`, one of this fund's own named funds, and no `purpose`.",
    )
    restricted_fund = ScopedFundField(
        required=False,
        allow_null=True,
        default=None,
        help_text="With `restriction: named_fund` only: the id of one of `fund`'s open named funds.",
    )
    purpose = StrictCharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="With `restriction: purpose` only, and then required: what the money may be spent on. "
        "Normalised like `receipt_no`, so 助老 and 助\u200b老 are one purpose.",
    )
    item_description = StrictCharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="With `form: in_kind` only, and then required: the goods.",
    )
    item_quantity = QuantityField(required=False, allow_null=True, default=None)
    item_unit = StrictCharField(
        max_length=20,
        required=False,
        allow_blank=True,
        default="",
        help_text="With `form: in_kind` only: the unit of `item_quantity` (袋, 台, kg).",
    )

    def validate_received_on(self, value):
        if value > timezone.localdate():
            raise serializers.ValidationError(_("A donation cannot be received in the future."))
        return value


@extend_schema_field({"type": "string", "minLength": 1, "pattern": VISIBLE_CHARACTER_PATTERN})
class VisibleTextField(StrictCharField):
    """Required text that must keep a visible character once normalised (the schema says so)."""


DONATION_EXAMPLES = [
    OpenApiExample(
        "Money, unrestricted",
        value={
            "fund": 1,
            "amount_fen": 20000,
            "channel": "resident",
            "donor_name": "张建国",
            "publish_name": True,
            "receipt_no": "JQCS-2026-0142",
            "received_on": "2026-03-01",
        },
        request_only=True,
    ),
    OpenApiExample(
        "Restricted to a purpose",
        value={
            "fund": 1,
            "amount_fen": 50000,
            "channel": "merchant",
            "donor_name": "官北沟爱心超市",
            "receipt_no": "JQCS-2026-0143",
            "restriction": "purpose",
            "purpose": "独居老人助餐",
        },
        request_only=True,
    ),
    OpenApiExample(
        "Goods, receipt waived, anonymous",
        value={
            "fund": 1,
            "amount_fen": 250000,
            "channel": "charity_market",
            "form": "in_kind",
            "anonymous": True,
            "receipt_waived": True,
            "item_description": "大米（5公斤装）",
            "item_quantity": "50",
            "item_unit": "袋",
        },
        request_only=True,
    ),
    OpenApiExample(
        "A venture philanthropy grant (no receipt)",
        value={
            "fund": 1,
            "amount_fen": 3000000,
            "channel": "venture_grant",
            "donor_name": "肃州区民政局",
            "publish_name": True,
            "restriction": "purpose",
            "purpose": "邻里互助项目",
        },
        request_only=True,
    ),
]


class RefundSerializer(serializers.Serializer):
    reason = VisibleTextField(
        max_length=300,
        help_text="Why the money goes back (kept in the ledger and the audit log): at least one visible "
        "character.",
    )


class DonationFilter(django_filters.FilterSet):
    fund = IdFilter(field_name="fund_id", label="To this fund: a fund id")
    received_after = django_filters.DateFilter(field_name="received_on", lookup_expr="gte")
    received_before = django_filters.DateFilter(field_name="received_on", lookup_expr="lte")

    class Meta:
        model = Donation
        fields = ["fund", "channel", "restriction", "form"]


@extend_schema_view(
    list=extend_schema(
        summary="List the donations recorded in your scope",
        description="Donations to the funds in your scope, newest first. `donor` is the name as the public "
        "fund page shows it — null unless the donor agreed to publish it (`publish_name`) and did not give "
        "anonymously — or, for a resident who consented to share their details with your organisation, "
        "their name. Staff sessions see every name.",
    ),
    retrieve=extend_schema(
        summary="One donation",
        description="One donation to a fund in your scope (donor names as in the list); any other id is 404.",
    ),
    create=extend_schema(
        summary="Record a donation (accepts Idempotency-Key)",
        description="Record a donation that the fund's host organisation received, and post it to the "
        "ledger in the same step. The rules, each answered with 400 and the field at fault:\n\n"
        "- `fund` is a fund in the areas your key serves, open (a closed fund is 409 `fund_closed`);\n"
        "- `amount_fen` is a JSON integer from 1 to 1,000,000,000,000;\n"
        "- `receipt_no` is required unless `receipt_waived` is true (`receipt_required`), and empty when it "
        "is (`invalid_receipt`); a number the host already recorded is 409 `duplicate_receipt`;\n"
        "- `channel: venture_grant` is a venture philanthropy grant, not a gift: no `receipt_no` and no "
        "`receipt_waived` (`invalid_receipt`), money only (`invalid_form`);\n"
        "- `restriction`: `unrestricted` takes no `purpose` and no `restricted_fund`; `purpose` needs "
        "`purpose`; `named_fund` needs `restricted_fund`, an open named fund of `fund`, and no `purpose` "
        "(`invalid_restriction`); an endowment (`policy: endowment`) keeps every gift as principal and takes "
        "no `purpose` (`invalid_restriction`);\n"
        "- `form: in_kind` needs `item_description` (`item_required`); `money` takes no `item_*` "
        "(`invalid_form`);\n"
        "- `anonymous` and `publish_name` are not both true (`invalid_donor`);\n"
        "- `received_on` is not in the future (`invalid_date`).\n\n"
        'Ids are JSON integers (1.0, "1" and 1e0 are refused); text is normalised before it is '
        "compared and stored. Your organisation is recorded as the one that recorded the donation: only "
        "it may refund it.",
        request=DonationCreateSerializer,
        responses={201: DonationSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        examples=DONATION_EXAMPLES,
    ),
)
class DonationViewSet(
    CachedReadsMixin,
    ScopedQuerysetMixin,
    ValuesListMixin,
    mixins.CreateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    scope_area_field = "fund__community"
    serializer_class = DonationSerializer
    # Newest first across the funds in scope: read in the order of `donation_recent_idx`, one page at a time.
    queryset = Donation.objects.select_related("donor_person", "donor_organization").order_by(
        "-received_on", "-id"
    )
    filterset_class = DonationFilter

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "refund":
            # A refund checks the caller's role where the fund is; nothing else reads the fund's row.
            return queryset.select_related("fund__community")
        if self.action == "list":
            # Each row says whether its donor consented to share their details with the key's organisation
            # (DonationSerializer.row_annotations), instead of a second query for the page's donors.
            return queryset.annotate(donor_consented=self._donor_consented())
        return queryset

    def _donor_consented(self):
        if not is_api_key(self.request):
            return Value(False)  # staff see every name
        return Exists(
            Consent.objects.filter(
                person_id=OuterRef("donor_person_id"),
                kind=Consent.Kind.SHARE_WITH_ORGANIZATION,
                organization_id=self.request.auth.organization_id,
                withdrawn_at__isnull=True,
            )
        )

    def get_serializer(self, *args, **kwargs):
        rows = args[0] if args else None
        rows = [rows] if isinstance(rows, Donation) else rows
        if rows is not None:
            kwargs.setdefault("context", self.get_serializer_context())
            kwargs["context"]["donor_consents"] = self._donor_consents(rows)
        return super().get_serializer(*args, **kwargs)

    def _donor_consents(self, rows) -> set[int] | None:
        """For an API key: the donors among `rows` who consented to its organisation (read with the list's
        rows, else one query). None for staff, who see every name."""
        if not is_api_key(self.request):
            return None
        if rows and isinstance(rows[0], dict):  # the list's `.values()` rows
            return {d["donor_person_id"] for d in rows if d["donor_consented"]}
        person_ids = {d.donor_person_id for d in rows if d.donor_person_id and not d.anonymous}
        if not person_ids:
            return set()
        return set(
            Consent.objects.filter(
                person_id__in=person_ids,
                kind=Consent.Kind.SHARE_WITH_ORGANIZATION,
                organization_id=self.request.auth.organization_id,
                withdrawn_at__isnull=True,
            ).values_list("person_id", flat=True)
        )

    @idempotent
    def create(self, request, *args, **kwargs):
        incoming = DonationCreateSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        data["received_on"] = data.get("received_on") or timezone.localdate()
        actor = Actor.from_request(request, AuditEvent.Surface.API)
        donation = services.post_donation(actor=actor, handled_by=actor.user, **data)
        return Response(self.get_serializer(donation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Refund a donation: a reversal with a reason (accepts Idempotency-Key)",
        description="Give the money back: the donation's ledger transaction is reversed with `reason` and "
        "the donation is marked refunded. An organisation refunds only the donations it recorded (403 "
        "`not_recorded_by_you` otherwise); staff with the staff or manager role refund any donation in "
        "their areas, viewers none (403). A second refund is 409 `already_refunded`; money already spent "
        "is 409 `insufficient_funds`.",
        request=RefundSerializer,
        responses={200: DonationSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def refund(self, request, pk=None):
        donation = self.get_object()
        if not write_scope(request).contains(donation.fund.community):
            # The caller sees this donation (else get_object was 404) but only as a viewer.
            raise PermissionDenied(_("Your role in this area lets you see donations, not refund them."))
        incoming = RefundSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        services.refund_donation(
            donation=donation,
            reason=incoming.validated_data["reason"],
            actor=Actor.from_request(request, AuditEvent.Surface.API),
        )
        donation.refresh_from_db()
        return Response(self.get_serializer(donation).data)
