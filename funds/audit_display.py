"""How the money actions read in the audit log and an object's history (charity.audit_display): funds by
name, amounts in yuan, channels and kinds by their labels. Registered when the app is ready (apps.py)."""

from django.utils.translation import gettext

from charity.audit_display import SELECT_RELATED, join, label_of, name_of, register, with_note, yuan_in
from charity.models import AuditAction
from charity.templatetags.money import format_fen

from .models import Transaction

FUND = "funds.fund"
SELECT_RELATED.update({"funds.donation": ("fund",), "funds.transaction": ("fund",)})


def _money(data, key="amount_fen") -> str:
    value = (data or {}).get(key)
    return format_fen(value) if isinstance(value, int) else ""


def _reason(event) -> str:
    return gettext("reason: %(reason)s") % {"reason": event.summary} if event.summary else ""


def _donation_refs(event):
    return [(event.object_type, event.object_id), (FUND, (event.data or {}).get("fund_id"))]


@register(AuditAction.DONATION_POSTED, refs=_donation_refs)
def _donation_posted(event, objects):
    data = event.data or {}
    donation = objects.of(event)
    if donation is None:  # the summary is "fund: N fen (channel)"
        fund = objects.get(FUND, data.get("fund_id"))
        return join(name_of(fund, event.summary.split(": ")[0]), _money(data))
    return with_note(
        f"{donation.fund} {format_fen(donation.amount_fen)}",
        join(donation.get_channel_display(), donation.receipt_no),
    )


@register(AuditAction.DONATION_REFUNDED)
def _donation_refunded(event, objects):
    donation = objects.of(event)
    what = f"{donation.fund} {format_fen(donation.amount_fen)}" if donation else _money(event.data)
    return join(what, _reason(event))


@register(AuditAction.LEDGER_POSTED)
def _ledger_posted(event, objects):
    data = event.data or {}
    lines = data.get("lines") or []
    total = sum(
        line[1] for line in lines if isinstance(line, list | tuple) and len(line) == 2 and line[1] > 0
    )
    return join(
        with_note(label_of(Transaction.Kind.choices, data.get("kind")), event.summary),
        format_fen(total) if total else "",
    )


@register(AuditAction.LEDGER_REVERSED)
def _ledger_reversed(event, objects):
    return join(name_of(objects.of(event), f"#{event.object_id}"), _reason(event))


def _transfer_refs(event):
    data = event.data or {}
    return [(FUND, data.get("from_fund_id")), (FUND, data.get("to_fund_id"))]


@register(AuditAction.FUNDS_TRANSFERRED, refs=_transfer_refs)
def _transferred(event, objects):
    data = event.data or {}
    source, target = objects.get(FUND, data.get("from_fund_id")), objects.get(FUND, data.get("to_fund_id"))
    if source is None or target is None:
        return yuan_in(event.summary)
    return gettext("%(amount)s from %(source)s to %(target)s") % {
        "amount": _money(data),
        "source": source,
        "target": target,
    }


@register(AuditAction.FUNDS_WITHDRAWN, refs=lambda event: [])
def _withdrawn(event, objects):
    data = event.data or {}  # the summary is "fund: N fen (purpose)"
    return join(event.summary.split(": ")[0], _money(data), data.get("purpose") or "")


@register(AuditAction.FUND_CLOSED)
def _fund_closed(event, objects):
    return join(name_of(objects.of(event), event.summary), (event.data or {}).get("closed_on", ""))


@register(AuditAction.LEDGER_VERIFIED, refs=lambda event: [])
def _verified(event, objects):
    data = event.data or {}
    if data.get("ok") or event.summary == "ok":
        return gettext("every balance equals the sum of its entries")
    count = sum(len(data.get(k) or []) for k in data if k.endswith("_differences"))
    return gettext("%(n)s differences found") % {"n": count or event.summary.split(" ")[0]}


def _summary_with_amount(event, objects):
    """Money's later actions write "what → where: N fen": the what and where, then the amount in yuan."""
    head, _colon, _amount = event.summary.rpartition(": ")
    return join(head or yuan_in(event.summary), _money(event.data))


# The movements of the fund's promises (restriction changes, leftovers, investment income), by name so that
# this module still loads while they are being added or renamed.
for _name in ("INCOME_RECORDED", "RESTRICTION_CHANGED", "LEFTOVER_DECIDED"):
    if hasattr(AuditAction, _name):
        register(getattr(AuditAction, _name), refs=lambda event: [])(_summary_with_amount)
