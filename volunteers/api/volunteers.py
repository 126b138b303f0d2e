"""Volunteers over the REST API: read-only, by volunteer number.

Never an ID number, an ID type, a date of birth, a name or a mobile number: a hub organisation sees who
volunteers in the communities it serves by their volunteer number, community, skills, teams and status.
"""

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from charity.api_common import ScopedQuerysetMixin
from charity.api_filters import IdFilter

from .. import selectors
from ..models import Volunteer


class TeamSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class VolunteerSerializer(serializers.ModelSerializer):
    community = serializers.IntegerField(source="person.community_id", read_only=True)
    community_name = serializers.CharField(source="person.community.name", read_only=True)
    teams = TeamSerializer(many=True, read_only=True)

    class Meta:
        model = Volunteer
        fields = ["id", "number", "community", "community_name", "skills", "teams", "status", "registered_at"]


class VolunteerFilter(django_filters.FilterSet):
    community = IdFilter(field_name="person__community_id", label="Volunteers of this community: an area id")
    team = IdFilter(field_name="teams__id", label="Members of this volunteer team: an organisation id")

    class Meta:
        model = Volunteer
        fields = ["community", "team", "status"]


@extend_schema_view(
    list=extend_schema(
        summary="List the volunteers in your scope",
        description="Volunteers of the communities in your scope, by volunteer number: community, skills, "
        "teams and status. Never an ID number, a date of birth, a name or a mobile number.",
    ),
    retrieve=extend_schema(summary="One volunteer", description="Any id outside your scope is 404."),
)
class VolunteerViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    scope_area_field = "person__community"
    serializer_class = VolunteerSerializer
    queryset = selectors.with_details(Volunteer.objects.all()).order_by("number", "id")
    filterset_class = VolunteerFilter

    def filter_queryset(self, queryset):
        # The team filter joins the M2M: one row per volunteer all the same.
        return super().filter_queryset(queryset).distinct()


# (prefix, viewset, basename) for volunteers/api_urls.py
ROUTES: list[tuple] = [("volunteers", VolunteerViewSet, "volunteer")]
