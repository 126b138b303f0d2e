"""How the committee actions read in the audit log and an object's history (charity.audit_display): rules
by their labels, the amount threshold in yuan, roles and categories by name. Registered in apps.py."""

from django.utils.translation import gettext

from charity.audit_display import SELECT_RELATED, join, label_of, register
from charity.models import AuditAction
from charity.templatetags.money import format_fen

from .models import Committee, Membership

SELECT_RELATED["governance.membership"] = ("committee", "person")


def _seat(event, objects) -> str:
    """Which committee and whom a membership event is about (the summary, "committee: person", if gone)."""
    membership = objects.of(event)
    if membership is None:
        return event.summary
    return gettext("%(committee)s: %(person)s") % {
        "committee": membership.committee.name,
        "person": membership.person.name,
    }


def _value(field: str, value) -> str:
    if field.endswith("_fen") and isinstance(value, int):
        return format_fen(value)
    if field == "role":
        return label_of(Membership.Role.choices, value)
    if field == "category":
        return label_of(Membership.Category.choices, value)
    return str(value)


def _changes(model, data) -> str:
    """{field: [old, new]} as "label old → new", in the reader's list punctuation."""
    parts = []
    for field, pair in (data or {}).items():
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            continue
        try:
            label = model._meta.get_field(field).verbose_name
        except Exception:
            continue
        parts.append(f"{label} {_value(field, pair[0])} → {_value(field, pair[1])}")
    return gettext(", ").join(parts)


@register(AuditAction.COMMITTEE_RULES_CHANGED)
def _rules_changed(event, objects):
    return join(event.summary, _changes(Committee, event.data))


@register(AuditAction.COMMITTEE_MEMBER_CHANGED)
def _member_changed(event, objects):
    return join(_seat(event, objects), _changes(Membership, event.data))


@register(AuditAction.COMMITTEE_MEMBER_ADDED)
def _member_added(event, objects):
    data = event.data or {}
    return join(
        _seat(event, objects),
        label_of(Membership.Role.choices, data.get("role")),
        label_of(Membership.Category.choices, data.get("category")),
    )


@register(AuditAction.COMMITTEE_MEMBER_ENDED)
def _member_ended(event, objects):
    term_end = (event.data or {}).get("term_end")
    return join(_seat(event, objects), gettext("last day %(date)s") % {"date": term_end} if term_end else "")


@register(AuditAction.COMMITTEE_RENAMED)
def _renamed(event, objects):
    names = (event.data or {}).get("name")
    if isinstance(names, list | tuple) and len(names) == 2:
        return f"{names[0]} → {names[1]}"
    return event.summary


# --- allocation proposals ----------------------------------------------------------------------------------

_PROPOSAL_ACTIONS = (
    AuditAction.PROPOSAL_CREATED,
    AuditAction.PROPOSAL_SUBMITTED,
    AuditAction.VOTING_OPENED,
    AuditAction.VOTE_CAST,
    AuditAction.CONFLICT_DECLARED,
    AuditAction.PAPER_BALLOTS_RECORDED,
    AuditAction.SUPERVISOR_OPINION_RECORDED,
    AuditAction.VOTING_CLOSED,
    AuditAction.OBJECTION_RAISED,
    AuditAction.OBJECTION_ANSWERED,
    AuditAction.NOTICE_ENDED,
    AuditAction.PROPOSAL_DISBURSED,
    AuditAction.PROPOSAL_REPORTED,
    AuditAction.PROPOSAL_CLOSED,
    AuditAction.PROPOSAL_WITHDRAWN,
    AuditAction.REPORT_OVERDUE,
    AuditAction.ATTACHMENT_ADDED,
)


@register(*_PROPOSAL_ACTIONS)
def _proposal_step(event, objects):
    """The proposal's title and the status it reached, with the round, the tally or the amount."""
    from .models import Proposal

    data = event.data or {}
    proposal = objects.of(event)
    title = proposal.title if proposal is not None else event.summary.partition(":")[0]
    parts = [title, label_of(Proposal.Status.choices, data.get("status"))]
    if isinstance(data.get("round"), int):
        parts.append(gettext("round %(n)d") % {"n": data["round"]})
    tally = data.get("tally")
    counts = ("yes", "no", "abstain", "eligible")
    if isinstance(tally, dict) and all(isinstance(tally.get(k), int) for k in counts):
        parts.append(
            gettext("%(yes)d yes, %(no)d no, %(abstain)d abstained of %(eligible)d eligible") % tally
        )
    for field in ("amount_fen", "released_fen"):
        if isinstance(data.get(field), int):
            parts.append(format_fen(data[field]))
    return join(*parts)
