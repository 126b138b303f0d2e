"""Read endpoints of the core structure layer: areas and organisations."""

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from .api_common import CachedReadsMixin, FastRepresentationMixin, ScopedQuerysetMixin
from .api_filters import IdFilter
from .models import Area, Organization
from .scoping import scope_for_request
from .selectors import list_organizations_for_api


class AreaSerializer(FastRepresentationMixin, serializers.ModelSerializer):
    parent = serializers.SerializerMethodField()

    class Meta:
        model = Area
        fields = ["id", "name", "level", "division_code", "parent", "is_illustrative"]

    def get_parent(self, obj) -> int | None:
        return self.context.get("parents", {}).get(obj.path[: -Area.steplen])


def _subtree_in_scope(request, area_id: int, queryset, path_field: str):
    """Rows of `queryset` in the subtree of area `area_id` — empty if that area is absent or out of scope.

    The area is looked up among those in the caller's scope, so an ancestor above the scope (the street
    over a key's community) answers like an id that does not exist.
    """
    path = scope_for_request(request).areas().filter(pk=area_id).values_list("path", flat=True).first()
    if path is None:
        return queryset.none()
    return queryset.filter(**{f"{path_field}__startswith": path})


class AreaFilter(django_filters.FilterSet):
    level = django_filters.ChoiceFilter(choices=Area.Level.choices)
    within = IdFilter(method="filter_within", label="Within this area (inclusive): an area id")

    class Meta:
        model = Area
        fields = ["level", "division_code"]

    def filter_within(self, queryset, name, value):
        return _subtree_in_scope(self.request, value, queryset, "path")


@extend_schema_view(
    list=extend_schema(
        summary="List the areas in your scope",
        description="The areas your organisation serves and every area under them (for a staff session: "
        "the areas you are assigned to), in tree order: city → district → street → community. `within` "
        "keeps one area and everything under it; an area outside your scope gives an empty list, exactly "
        "like an id that does not exist.",
    ),
    retrieve=extend_schema(
        summary="One area",
        description="One area in your scope. `parent` is the id of the area above it (null for a city); "
        "an area outside your scope is 404, like one that does not exist.",
    ),
)
class AreaViewSet(CachedReadsMixin, ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
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


class OrganizationSerializer(FastRepresentationMixin, serializers.ModelSerializer):
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
    area = IdFilter(method="filter_area", label="Based in this area or under it: an area id")
    hub = IdFilter(field_name="hub_id", label="Connected to this hub organisation: an organisation id")

    class Meta:
        model = Organization
        fields = ["type", "area", "registration", "hub"]

    def filter_area(self, queryset, name, value):
        return _subtree_in_scope(self.request, value, queryset, "area__path")


@extend_schema_view(
    list=extend_schema(
        summary="List the organisations in your scope",
        description="Organisations based in your areas, by name. `area` keeps those based in that area or "
        "under it, `hub` those connected to that hub organisation, `type` and `registration` filter on "
        "those fields. Contact details are never part of the API.",
    ),
    retrieve=extend_schema(
        summary="One organisation",
        description="One organisation based in your areas; any other id is 404.",
    ),
)
class OrganizationViewSet(CachedReadsMixin, ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = OrganizationSerializer
    queryset = Organization.objects.order_by("name", "id")
    filterset_class = OrganizationFilter

    def get_queryset(self):
        return list_organizations_for_api(super().get_queryset())
