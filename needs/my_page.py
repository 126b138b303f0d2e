"""The needs registry on "my page" (charity.my_page): my needs with their timelines, my offers, the data
download and what deleting an account does to needs and offers."""

from django.utils.translation import gettext_lazy as _

from charity import my_page

from . import selectors
from .match_selectors import list_my_matched_resources
from .models import NeedSensitiveDetails, Offer


def _when(value):
    return value.isoformat() if value else None


def my_needs_context(request, person):
    return {"needs": selectors.list_my_needs(person)}


def my_offers_context(request, person):
    return {"offers": selectors.list_my_offers(person)}


def export_needs(person) -> list:
    return [
        {
            "id": need.pk,
            "summary": need.summary,
            "description": need.description,
            "category": need.category.code,
            "status": need.status,
            "created_at": _when(need.created_at),
            "timeline": [
                {"from": c.from_status, "to": c.to_status, "at": _when(c.changed_at), "note": c.note}
                for c in need.timeline.all()
            ],
            "offers": [
                {"id": o.pk, "status": o.status, "created_at": _when(o.created_at)} for o in need.offers.all()
            ],
        }
        for need in selectors.list_my_needs(person)
    ]


def export_offers(person) -> list:
    return [
        {
            "id": o.pk,
            "need": o.need_id,
            "message": o.message,
            "resource": {"id": o.resource_id, "title": o.resource.title} if o.resource_id else None,
            "status": o.status,
            "created_at": _when(o.created_at),
        }
        for o in selectors.list_my_offers(person)
    ]


def erase(person, actor) -> dict:
    """Deleting an account (PIPL art. 47): the sensitive details of the person's own portal needs are deleted;
    the needs stay without their poster (the public summary holds no personal detail, and the timeline and
    audit log must keep what staff did); their offers lose the person and the message."""
    from .models import Need

    own = Need.objects.filter(posted_by=person)
    deleted, _detail = NeedSensitiveDetails.objects.filter(
        need__in=own, need__source=Need.Source.PORTAL
    ).delete()
    needs = own.update(posted_by=None)
    offers = Offer.objects.filter(offered_by=person).update(offered_by=None, message="")
    return {"needs_anonymised": needs, "sensitive_deleted": deleted, "offers_anonymised": offers}


def register() -> None:
    my_page.register_section(
        "needs", title=_("My needs"), template="needs/_my_needs.html", context=my_needs_context
    )
    my_page.register_section(
        "offers", title=_("My offers of help"), template="needs/_my_offers.html", context=my_offers_context
    )
    my_page.register_section(
        "matches",
        title=_("Where what you offered went"),
        template="needs/_my_matches.html",
        context=lambda request, person: {"matched": list_my_matched_resources(person)},
    )
    my_page.register_export("needs", export_needs)
    my_page.register_export("offers", export_offers)
    my_page.register_erasure("needs", erase)
