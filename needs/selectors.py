"""Reads of the needs registry used in more than one place."""

from django.db.models import Prefetch

from .models import PUBLIC_STATUSES, Need, NeedStatusChange, Offer

PUBLIC_LIST_MAX = 200


def list_public_needs(*, community):
    """The published needs of `community`, most urgent and soonest first (summaries only)."""
    urgency = {"emergency": 0, "urgent": 1, "soon": 2, "routine": 3}
    needs = list(
        Need.objects.filter(community=community, status__in=PUBLIC_STATUSES)
        .select_related("category")
        .order_by("-published_at", "-id")[:PUBLIC_LIST_MAX]
    )
    return sorted(needs, key=lambda n: urgency.get(n.urgency, 9))


def get_public_need(pk):
    return (
        Need.objects.select_related("community", "category").filter(pk=pk, status__in=PUBLIC_STATUSES).first()
    )


def list_my_needs(person):
    """A person's own needs with their timelines and the offers on them (a fixed number of queries)."""
    return list(
        Need.objects.filter(posted_by=person)
        .select_related("category", "community")
        .prefetch_related(
            Prefetch("timeline", queryset=NeedStatusChange.objects.order_by("changed_at", "id")),
            Prefetch(
                "offers", queryset=Offer.objects.select_related("offered_by", "organization", "resource")
            ),
        )
        .order_by("-created_at", "-id")
    )


def list_my_offers(person):
    return list(
        Offer.objects.filter(offered_by=person)
        .select_related("need", "need__community", "resource")
        .order_by("-id")
    )
