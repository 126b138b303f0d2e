"""The fund's part of "my page" (charity.my_page): a resident's own donations in their data download, and what
deleting their account does to them.

Deleting an account never deletes a donation: the ledger is append-only and the host organisation's books,
its donation receipts (Charity Law art. 38) and the public accounts of the fund must still add up. So the
donation keeps its amount, fund, date, receipt number and restriction; what made it *theirs* goes: the link to
the person and the donor's name are cleared, and it is marked anonymous with no consent to publish a name
(PIPL art. 47; docs/fund-rules.md). A named fund's "named after" and a restriction change's "consent given
by" are the fund's public record, typed by staff, not links to the person: they are left to staff.
"""

from __future__ import annotations

from .models import Donation


def export_donations(person) -> list[dict]:
    """The donations this person gave as a resident (donor_person), oldest first."""
    rows = Donation.objects.filter(donor_person=person).select_related("fund").order_by("received_on", "id")
    return [
        {
            "fund": d.fund.name,
            "form": d.form,
            "amount_fen": d.amount_fen,
            "received_on": d.received_on.isoformat(),
            "receipt_no": d.receipt_no,
            "receipt_waived": d.receipt_waived,
            "channel": d.channel,
            "anonymous": d.anonymous,
            "publish_name": d.publish_name,
            "restriction": d.restriction,
            "purpose": d.purpose,
            "goods": d.item_description,
            "refunded": d.refund_transaction_id is not None,
        }
        for d in rows
    ]


def erase_donor(person, actor) -> dict:
    """Keep the person's donations in the ledger, anonymised: no link to them, no name, nothing published.

    Runs inside charity.my_page.erase_person's transaction, which writes the one `person.erased` event.
    """
    anonymised = Donation.objects.filter(donor_person=person).update(
        donor_person=None, donor_name="", anonymous=True, publish_name=False
    )
    return {"donations_anonymised": anonymised}
