"""Read endpoints of the core structure layer: areas and organisations."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, viewsets

from .api_common import ScopedQuerysetMixin
from .models import Area, Organization
from .selectors import list_organizations_for_api


class AreaSerializer(serializers.ModelSerializer):
    parent = serializers.SerializerMethodField()

    class Meta:
        model = Area
        fields = ["id", "name", "level", "division_code", "parent", "is_illustrative"]

    def get_parent(self, obj) -> int | None:
        return self.context.get("parents", {}).get(obj.path[: -Area.steplen])


class AreaFilter(django_filters.FilterSet):
    level = django_filters.ChoiceFilter(choices=Area.Level.choices)
    within = django_filters.ModelChoiceFilter(
        queryset=Area.objects.all(), method="filter_within", label="Within this area (inclusive)"
    )

    class Meta:
        model = Area
        fields = ["level", "division_code"]

    @extend_schema_field(OpenApiTypes.INT)  # an area id; without this the schema check warns
    def filter_within(self, queryset, name, value):
        return queryset.filter(path__startswith=value.path)


@extend_schema_view(
    list=extend_schema(summary="List the areas in your scope"),
    retrieve=extend_schema(summary="One area"),
)
class AreaViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = AreaSerializer
    queryset = Area.objects.order_by("path")
    filterset_class = AreaFilter

    def get_queryset(self):
        return Area.objects.filter(self.get_scope().q()).order_by("path")

    def get_serializer(self, *args, **kwargs):
        # Parent ids for a whole page in one query, not one per row.
        rows = args[0] if args else None
        rows = [rows] if isinstance(rows, Area) else rows
        if rows:
            paths = {a.path[: -Area.steplen] for a in rows if a.depth > 1}
            kwargs.setdefault("context", self.get_serializer_context())
            kwargs["context"]["parents"] = dict(Area.objects.filter(path__in=paths).values_list("path", "id"))
        return super().get_serializer(*args, **kwargs)


class OrganizationSerializer(serializers.ModelSerializer):
    served_areas = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "type",
            "area",
            "served_areas",
            "registration",
            "credit_code",
            "hub",
            "description",
        ]


class OrganizationFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=Organization.Type.choices)
    area = django_filters.ModelChoiceFilter(
        queryset=Area.objects.all(), method="filter_area", label="Based in this area or under it"
    )

    class Meta:
        model = Organization
        fields = ["type", "area", "registration", "hub"]

    def filter_area(self, queryset, name, value):
        return queryset.filter(area__path__startswith=value.path)


@extend_schema_view(
    list=extend_schema(summary="List the organisations in your scope"),
    retrieve=extend_schema(summary="One organisation"),
)
class OrganizationViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = OrganizationSerializer
    queryset = Organization.objects.order_by("name", "id")
    filterset_class = OrganizationFilter

    def get_queryset(self):
        return list_organizations_for_api(super().get_queryset())
