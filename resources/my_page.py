"""What "my page" (charity.my_page) shows, downloads and erases of a person's resources, loans and claims.

Registered in ResourcesConfig.ready(). The person is the scope: only their own rows are read.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from charity import my_page
from charity.models import AuditEvent, Person
from charity.services import Actor

from . import selectors, services
from .models import Claim, Resource, WaitlistEntry


def _when(value):
    return value.isoformat() if value is not None else None


def export_resources(person: Person) -> list[dict]:
    return [
        {
            "kind": r.kind,
            "title": r.title,
            "description": r.description,
            "quantity": r.quantity,
            "unit": r.unit,
            "status": r.status,
            "available_from": _when(r.available_from),
            "available_until": _when(r.available_until),
            "created_at": _when(r.created_at),
        }
        for r in Resource.objects.filter(owner_person=person).order_by("created_at", "id")
    ]


def export_loans(person: Person) -> dict:
    return {
        "loans": [
            {
                "tool": loan.resource.title,
                "start": _when(loan.start),
                "due": _when(loan.due),
                "returned_at": _when(loan.returned_at),
                "condition_at_lend": loan.condition_at_lend,
                "condition_at_return": loan.condition_at_return,
            }
            for loan in selectors.list_my_loans(person)
        ],
        "waiting_lists": [
            {"tool": e.resource.title, "status": e.status, "joined": _when(e.created_at)}
            for e in WaitlistEntry.objects.filter(person=person).select_related("resource")
        ],
    }


def export_claims(person: Person) -> list[dict]:
    return [
        {
            "item": c.resource.title,
            "status": c.status,
            "claimed": _when(c.created_at),
            "handed_over": _when(c.handed_over_at),
        }
        for c in selectors.list_my_claims(person)
    ]


def erase(person: Person, actor: Actor) -> dict:
    """Delete my account (PIPL art. 47): leave the waiting lists (the next in line is told), cancel open
    claims (their units go back), withdraw what I offered that nobody holds, and clear my descriptions.
    Kept, linked to the anonymised person: loans (a tool still out must come back), handed-over claims, and
    honoured pledges (the ledger's donation points at them)."""
    system = Actor.system(AuditEvent.Surface.SYSTEM)
    places = list(
        WaitlistEntry.objects.filter(person=person, status__in=WaitlistEntry.ACTIVE).select_related(
            "resource"
        )
    )
    for entry in places:
        services.leave_waitlist(entry=entry, actor=system)
    WaitlistEntry.objects.filter(person=person).delete()
    claims = list(
        Claim.objects.filter(claimant=person, status=Claim.Status.CLAIMED).select_related("resource")
    )
    for claim in claims:
        services.cancel_claim(claim=claim, actor=system)
    withdrawn = Resource.objects.filter(
        owner_person=person,
        status__in=[Resource.Status.AVAILABLE, Resource.Status.RESERVED],
        taken=0,
        donation__isnull=True,
    ).update(status=Resource.Status.WITHDRAWN)
    Resource.objects.filter(owner_person=person).update(description="")
    return {
        "waitlist_places_left": len(places),
        "claims_cancelled": len(claims),
        "resources_withdrawn": withdrawn,
    }


def register() -> None:
    my_page.register_section(
        "resources",
        title=_("My resources"),
        template="resources/_my_resources.html",
        context=lambda request, person: {"resources": selectors.list_my_resources(person)},
    )
    my_page.register_section(
        "loans",
        title=_("My loans and waiting-list places"),
        template="resources/_my_loans.html",
        context=lambda request, person: {
            "loans": selectors.list_my_loans(person),
            "places": selectors.list_my_waitlist(person),
        },
    )
    my_page.register_section(
        "claims",
        title=_("My claims"),
        template="resources/_my_claims.html",
        context=lambda request, person: {"claims": selectors.list_my_claims(person)},
    )
    my_page.register_export("resources", export_resources)
    my_page.register_export("loans", export_loans)
    my_page.register_export("claims", export_claims)
    my_page.register_erasure("resources", erase)
