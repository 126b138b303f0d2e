"""Residents' topics over the REST API, read-only: `GET /api/v1/topics/` and `GET /api/v1/topics/{id}/`.

Scoped like every list of the API (charity.scoping): staff read the topics of their areas, an organisation's
key those of the areas it serves; any other id answers 404, as one that does not exist. Hidden topics and
hidden comments are never in an answer (not even as a status to filter on). No resident is named: a topic
says whether a resident or staff raised it, a comment carries its text and date only. Raising, supporting
and commenting happen on the portal, moderation in the admin (governance.topics).
"""

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from charity.api_common import CachedReadsMixin, ScopedQuerysetMixin
from charity.api_filters import IdFilter

from .models import Topic, TopicComment
from .selectors_topics import ORDERS, visible_comments_prefetch, visible_topics, with_counts

TS = Topic.Status
PUBLIC_STATUSES = [(value, label) for value, label in TS.choices if value != TS.HIDDEN]


class TopicCommentSerializer(serializers.ModelSerializer):
    class Meta:
        model = TopicComment
        fields = ["id", "text", "created_at"]


class TopicSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=PUBLIC_STATUSES, read_only=True)
    raised_by = serializers.SerializerMethodField(help_text="`resident` or `staff` (never a name).")
    support_count = serializers.IntegerField(read_only=True, help_text="Residents who support the topic.")
    comment_count = serializers.IntegerField(read_only=True, help_text="Visible comments.")
    project_title = serializers.CharField(
        source="project.title", read_only=True, allow_null=True, help_text="The project it became, if any."
    )

    class Meta:
        model = Topic
        fields = [
            "id",
            "community",
            "title",
            "description",
            "category",
            "status",
            "raised_by",
            "support_count",
            "comment_count",
            "answer",
            "answered_at",
            "merged_into",
            "project",
            "project_title",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_raised_by(self, topic) -> str:
        return "staff" if topic.raised_by_staff_id and not topic.raised_by_id else "resident"


class TopicDetailSerializer(TopicSerializer):
    comments = TopicCommentSerializer(
        source="visible_comments", many=True, read_only=True, help_text="Visible comments, oldest first."
    )

    class Meta(TopicSerializer.Meta):
        fields = [*TopicSerializer.Meta.fields, "comments"]
        read_only_fields = fields


class TopicFilter(django_filters.FilterSet):
    community = IdFilter(field_name="community_id", label="In this community: an area id")
    status = django_filters.ChoiceFilter(choices=PUBLIC_STATUSES, label="open, answered, merged or project")
    category = django_filters.ChoiceFilter(choices=Topic.Category.choices, label="A topic category")
    order = django_filters.ChoiceFilter(
        choices=[("new", "new"), ("support", "support")],
        method="filter_order",
        label="new (default): newest first; support: the most supported first",
    )

    class Meta:
        model = Topic
        fields = ["community", "status", "category"]

    def filter_order(self, queryset, name, value):
        return queryset.order_by(*ORDERS[value])


@extend_schema_view(
    list=extend_schema(
        summary="List residents' topics in your scope",
        description="Newest first (`order=support`: the most supported first), with `support_count` and "
        "`comment_count`. Filters: `community` (an area id), `status` (open, answered, merged, project), "
        "`category`. Hidden topics are never listed; a community outside your scope gives an empty list, "
        "like one that does not exist.",
    ),
    retrieve=extend_schema(
        summary="One topic, with its visible comments",
        description="A visible topic of your scope; any other id (hidden, elsewhere, missing) is 404.",
    ),
)
class TopicViewSet(CachedReadsMixin, ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    scope_area_field = "community"
    serializer_class = TopicSerializer
    queryset = visible_topics().order_by(*ORDERS["new"])
    filterset_class = TopicFilter

    def get_serializer_class(self):
        return TopicDetailSerializer if self.action == "retrieve" else TopicSerializer

    def get_queryset(self):
        queryset = with_counts(super().get_queryset())
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(visible_comments_prefetch())
        return queryset
