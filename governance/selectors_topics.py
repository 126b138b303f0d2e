"""Reads of residents' topics, as the portal, the admin and the API show them: never a hidden topic or a
hidden comment outside the admin, counts of support and comments annotated in the same query as the rows."""

from __future__ import annotations

from django.db.models import Case, Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from charity.models import Area, Person

from .models import Topic, TopicComment, TopicSupport

TS = Topic.Status
# The orders a community's topics can be read in (portal and API): the most supported, or the newest.
ORDERS = {
    "support": ("-support_count", "-created_at", "-id"),
    "new": ("-created_at", "-id"),
}


def _count_of(model, *, condition: Q | None = None) -> Coalesce:
    """A correlated COUNT of `model` rows of each topic: one subquery per row, no join to multiply rows."""
    rows = model.objects.filter(topic=OuterRef("pk"))
    if condition is not None:
        rows = rows.filter(condition)
    counted = rows.order_by().values("topic").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_counts(queryset: QuerySet[Topic]) -> QuerySet[Topic]:
    """Annotate `support_count` and `comment_count` (visible comments only)."""
    return queryset.annotate(
        support_count=_count_of(TopicSupport),
        comment_count=_count_of(TopicComment, condition=Q(hidden_at__isnull=True)),
    )


def visible_topics() -> QuerySet[Topic]:
    """Every topic but the hidden ones, with their community and what they became."""
    return Topic.objects.exclude(status=TS.HIDDEN).select_related("community", "project", "merged_into")


def list_community_topics(community: Area, *, order: str = "support") -> QuerySet[Topic]:
    """A community's visible topics with their counts: open ones first, then by `order` (ORDERS)."""
    rows = with_counts(visible_topics().filter(community=community))
    still_open = Case(When(status=TS.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField())
    return rows.annotate(closed=still_open).order_by("closed", *ORDERS.get(order, ORDERS["support"]))


def get_public_topic(pk) -> Topic | None:
    """A visible topic with its counts, or None (missing and hidden look the same)."""
    return with_counts(visible_topics()).filter(pk=pk).first()


def public_comments(topic: Topic) -> list[TopicComment]:
    """The topic's visible comments, oldest first."""
    return list(TopicComment.objects.filter(topic=topic, hidden_at__isnull=True).order_by("created_at", "id"))


def visible_comments_prefetch() -> Prefetch:
    return Prefetch(
        "comments",
        queryset=TopicComment.objects.filter(hidden_at__isnull=True).order_by("created_at", "id"),
        to_attr="visible_comments",
    )


def person_supports(topic: Topic, person: Person | None) -> bool:
    return person is not None and TopicSupport.objects.filter(topic=topic, person=person).exists()


def merged_here(topic: Topic) -> list[Topic]:
    """The visible topics merged into `topic`."""
    return list(topic.merged_topics.exclude(status=TS.HIDDEN).order_by("created_at", "id"))
