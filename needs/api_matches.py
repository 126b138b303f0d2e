"""Matches and matching runs over the REST API: shapes here, every rule in needs.matches.

Who sees what (docs/matching-review.md, "The API"):
- staff sessions: the matches of the needs in their areas (any role reads; staff and above decide);
- an organisation's key: in the areas it serves, only the matches whose need it sent or whose resource it
  owns; it decides (accept, decline, fulfil) only on the needs it sent (a resource's owner reading its own
  match gets 403 when it tries to decide);
- anything else answers like something that does not exist (404, or an empty list).

No household is described beyond the need's public summary, and no resident giver is named.
"""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from charity.api_auth import is_api_key
from charity.api_common import IDEMPOTENCY_KEY_PARAMETER, ScopedQuerysetMixin, StrictCharField, idempotent
from charity.api_filters import IdFilter
from charity.models import Area, AuditEvent
from charity.scoping import scope_for_request
from charity.services import Actor

from . import matches as match_services
from .match_reasons import reasons_in_words
from .match_selectors import matches_with_details
from .models import NOTE_MAX, Match, MatchRun, Need

# --- reading -------------------------------------------------------------------------------------------


class MatchNeedSerializer(serializers.ModelSerializer):
    class Meta:
        model = Need
        fields = ["id", "community", "summary", "sub_kind", "urgency", "quantity", "unit", "status"]


class MatchResourceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.CharField()
    unit = serializers.CharField()
    community = serializers.IntegerField(source="community_id")
    offered_by = serializers.SerializerMethodField(help_text="resident or organisation (never a name).")
    owner_organization = serializers.IntegerField(
        source="owner_organization_id", allow_null=True, help_text="The owner organisation's id, if any."
    )

    def get_offered_by(self, resource) -> str:
        return "organisation" if resource.owner_organization_id else "resident"


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "array", "minItems": 2, "maxItems": 2, "items": {}},
        "description": 'Reason codes with their parameters, e.g. [["same_street", {}], ["waited", {"days": '
        "12}]]; see `reasons_text` for words.",
    }
)
class ReasonCodesField(serializers.JSONField):
    pass


class MatchSerializer(serializers.ModelSerializer):
    night = serializers.DateField(source="run.night", read_only=True)
    need = MatchNeedSerializer(read_only=True)
    resource = MatchResourceSerializer(read_only=True)
    reasons = ReasonCodesField(read_only=True)
    reasons_text = serializers.SerializerMethodField(
        help_text="The reasons in words, in the language of Accept-Language, joined by ' · '."
    )

    class Meta:
        model = Match
        fields = [
            "id",
            "run",
            "night",
            "need",
            "resource",
            "quantity",
            "cost",
            "cost_terms",
            "reasons",
            "reasons_text",
            "status",
            "decline_reason",
            "fulfilled_quantity",
            "decided_at",
            "fulfilled_at",
            "created_at",
        ]

    def get_reasons_text(self, match) -> str:
        return reasons_in_words(match.reasons)


class AreaSubtreeFilter(IdFilter):
    """Matches whose need is in this area or anywhere under it (an area id)."""

    def filter(self, queryset, value):
        if value is None:
            return queryset
        path = Area.objects.filter(pk=value).values_list("path", flat=True).first()
        if path is None:
            return queryset.none()
        return queryset.filter(need__community__path__startswith=path)


class MatchFilter(django_filters.FilterSet):
    area = AreaSubtreeFilter(label="Needs in this area or under it: an area id")
    run = IdFilter(field_name="run_id", label="Proposed by this run: a run id")
    need = IdFilter(field_name="need_id", label="Of this need: a need id")
    resource = IdFilter(field_name="resource_id", label="Of this resource: a resource id")

    class Meta:
        model = Match
        fields = ["area", "status", "run", "need", "resource"]


# --- writing -------------------------------------------------------------------------------------------


class DeclineInput(serializers.Serializer):
    reason = StrictCharField(
        max_length=NOTE_MAX,
        allow_blank=True,
        help_text="Why (required): kept, and the pair is not proposed again.",
    )


@extend_schema_field({"type": "integer", "minimum": 1})
class StrictIntegerField(serializers.Field):
    """A JSON integer (DRF's own field also took "3" and 3.0)."""

    default_error_messages = {"invalid": _("Give a whole number as a JSON integer, e.g. 3.")}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


class FulfilInput(serializers.Serializer):
    quantity = StrictIntegerField(
        required=False, help_text="Units delivered: 1 to the match's quantity (default: all of it)."
    )


DESCRIPTION_LIST = (
    "Staff see the matches of the needs in their areas; an organisation's key, in the areas it serves, the "
    "matches whose need it sent or whose resource it owns. Grouped by need, cheapest (best) first. Filters: "
    "`area` (the need's area or above), `status`, `run`, `need`, `resource`. `reasons` are codes; "
    "`reasons_text` says them in words in the language asked."
)


@extend_schema_view(
    list=extend_schema(summary="List proposed and decided matches", description=DESCRIPTION_LIST),
    retrieve=extend_schema(
        summary="One match", description="Any id you may not read is 404, as one that is absent."
    ),
)
class MatchViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    scope_area_field = "need__community"
    serializer_class = MatchSerializer
    queryset = matches_with_details().order_by("need_id", "cost", "resource_id", "id")
    filterset_class = MatchFilter

    def get_queryset(self):
        queryset = super().get_queryset()
        if is_api_key(self.request):
            organization = self.request.auth.organization_id
            queryset = queryset.filter(
                Q(need__source_organization=organization) | Q(resource__owner_organization=organization)
            )
        return queryset

    def _actor(self):
        return Actor.from_request(self.request, AuditEvent.Surface.API)

    def _fresh(self, match):
        return MatchSerializer(
            matches_with_details().get(pk=match.pk), context=self.get_serializer_context()
        ).data

    @extend_schema(
        summary="Accept a proposed match (accepts Idempotency-Key)",
        description="Staff (role staff or above) of the need's community, or the key of the organisation "
        "that sent the need. Reserves the match's units of the resource (the resource is reserved when none "
        "are left) and moves a published need to matched; the resource's owner and the organisation that "
        "sent the need are told. Refused with 409 and nothing changed: `not_proposed` (already decided or "
        "expired), `need_closed`, `need_covered` (the need already has help for all it asked), "
        "`resource_gone` (no longer available), `resource_used_up` (the units were taken meanwhile). 403 "
        "for a viewer or a key that only owns the resource.",
        request=None,
        responses={200: MatchSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def accept(self, request, pk=None):
        match = match_services.accept_match(match=self.get_object(), actor=self._actor())
        return Response(self._fresh(match))

    @extend_schema(
        summary="Decline a proposed match, with a reason (accepts Idempotency-Key)",
        description="The same deciders as accept. `reason` is required (400 `reason_required`); the pair is "
        "not proposed again. 409 `already_declined` the second time, `not_proposed` for a match accepted, "
        "fulfilled or expired.",
        request=DeclineInput,
        responses={200: MatchSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def decline(self, request, pk=None):
        incoming = DeclineInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        match = match_services.decline_match(
            match=self.get_object(), actor=self._actor(), reason=incoming.validated_data["reason"]
        )
        return Response(self._fresh(match))

    @extend_schema(
        summary="Record that an accepted match was delivered (accepts Idempotency-Key)",
        description="The same deciders as accept. `quantity`: the units delivered, 1 to the match's "
        "quantity (default all; 400 `invalid_quantity` otherwise). Units not delivered go back to the "
        "resource. The need becomes met when its delivered matches cover all it asked, else help is under "
        "way; the resource is used up when all its units were delivered. 409 `already_fulfilled`, "
        "`not_accepted`.",
        request=FulfilInput,
        responses={200: MatchSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def fulfil(self, request, pk=None):
        incoming = FulfilInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        match = match_services.fulfil_match(
            match=self.get_object(), actor=self._actor(), quantity=incoming.validated_data.get("quantity")
        )
        return Response(self._fresh(match))


# --- runs ----------------------------------------------------------------------------------------------


class MatchRunSerializer(serializers.ModelSerializer):
    skipped_count = serializers.SerializerMethodField(help_text="How many rows the run could not use.")

    class Meta:
        model = MatchRun
        fields = [
            "id",
            "night",
            "area",
            "partition",
            "trigger",
            "dry_run",
            "status",
            "parameters",
            "started_at",
            "finished_at",
            "needs_considered",
            "resources_considered",
            "candidates",
            "matches_proposed",
            "quantity_matched",
            "total_cost",
            "skipped_count",
            "timings",
        ]

    def get_skipped_count(self, run) -> int:
        return len(run.skipped) if isinstance(run.skipped, list) else 0


class MatchRunFilter(django_filters.FilterSet):
    area = IdFilter(field_name="area_id", label="Runs of this area: an area id")
    night = django_filters.DateFilter(field_name="night")

    class Meta:
        model = MatchRun
        fields = ["area", "night", "status", "trigger"]


@extend_schema_view(
    list=extend_schema(
        summary="List matching runs",
        description="The runs that cover your areas: those of an area you see and those of the district or "
        "city above it. Newest first. Filters: `area`, `night`, `status`, `trigger`. The rows a run could "
        "not use are counted (`skipped_count`), not listed.",
    )
)
class MatchRunViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = MatchRunSerializer
    queryset = MatchRun.objects.order_by("-night", "-started_at", "-id")
    filterset_class = MatchRunFilter

    def get_queryset(self):
        scope = scope_for_request(self.request)
        queryset = super().get_queryset()
        if scope.everything:
            return queryset
        above = {p[:i] for p in scope.paths for i in range(Area.steplen, len(p), Area.steplen)}
        return queryset.filter(scope.q("area__") | Q(area__path__in=sorted(above)))
