"""Read endpoints of the committee: who sits on a fund's committee, by which rules, and what it lacks."""

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, viewsets

from charity.api_common import CachedReadsMixin, FastRepresentationMixin, ScopedQuerysetMixin
from charity.api_filters import IdFilter

from .models import Committee, Membership
from .selectors import composition_issues, list_committees_for_api, prefetched_members
from .services import RULE_FIELDS


class MembershipSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    """A member as the API shows them: a name and a seat, never contact details."""

    person_name = serializers.CharField(source="person.name", read_only=True)
    organization_name = serializers.CharField(
        source="organization.name",
        read_only=True,
        allow_null=True,
        help_text="The organisation the member represents; null for a resident representative.",
    )
    is_voting = serializers.BooleanField(read_only=True)

    class Meta:
        model = Membership
        fields = [
            "id",
            "person_name",
            "organization",
            "organization_name",
            "category",
            "role",
            "is_voting",
            "term_start",
            "term_end",
        ]


class CompositionIssueSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class CommitteeSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    members = serializers.SerializerMethodField(help_text="The members serving today, chair first.")
    composition_issues = serializers.SerializerMethodField(
        help_text="Warnings about the composition (not blockers): too few or an even number of voting "
        "members, no supervisor, no resident, too few stakeholder categories."
    )

    class Meta:
        model = Committee
        fields = ["id", "name", "fund", *RULE_FIELDS, "members", "composition_issues", "created_at"]

    @extend_schema_field(MembershipSerializer(many=True))
    def get_members(self, obj):
        return MembershipSerializer(prefetched_members(obj), many=True).data

    @extend_schema_field(CompositionIssueSerializer(many=True))
    def get_composition_issues(self, obj):
        return composition_issues(obj, prefetched_members(obj))


class CommitteeFilter(django_filters.FilterSet):
    # A plain id, not a model choice: an unknown fund and a fund out of scope both give an empty list.
    fund = IdFilter(field_name="fund_id", label="Fund id")

    class Meta:
        model = Committee
        fields = ["fund"]


@extend_schema_view(
    list=extend_schema(
        summary="List the fund management committees in your scope",
        description="The committees of the funds in your scope: their voting rules, the members serving "
        "today (names and seats, never contact details) and `composition_issues`, warnings about the "
        "composition that never block anything. `fund` keeps the committee of one fund; a fund outside "
        "your scope gives an empty list, like one that does not exist.",
    ),
    retrieve=extend_schema(
        summary="One fund management committee",
        description="One committee of a fund in your scope; any other id is 404.",
    ),
)
class CommitteeViewSet(CachedReadsMixin, ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = CommitteeSerializer
    queryset = Committee.objects.order_by("id")
    filterset_class = CommitteeFilter
    scope_area_field = "fund__community"

    def get_queryset(self):
        return list_committees_for_api(super().get_queryset())
