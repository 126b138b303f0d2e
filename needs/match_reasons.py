"""A match's reasons in words, in the reader's language: "同一街道 · 很急 · 已等待 12 天 · 技能：心理辅导".

The engine (needs/matching) stores reasons as codes with parameters, `[["same_street", {}], ["waited",
{"days": 12}]]`, never as a sentence in one language. This module is the one place that turns them into
words, for the admin review queue, the API (`reasons_text`) and the portal. A code it does not know, or one
whose parameters are not what it expects, is skipped: a newer engine never breaks an older page.
"""

from __future__ import annotations

from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .models import Need

SEPARATOR = " · "

# How far the resource travels to the need, nearest first: the engine's distance codes ("city" is the
# older spelling of "same_city").
DISTANCE_CODES = ("same_community", "same_street", "same_district", "same_city")
_DISTANCE_ALIASES = {"city": "same_city"}

_DISTANCE_WORDS = {
    "same_community": _("same community"),
    "same_street": _("same street"),
    "same_district": _("same district"),
    "same_city": _("same city"),
}


def distance_code(reasons) -> str | None:
    """The distance code among `reasons` (one of DISTANCE_CODES), or None when there is none."""
    for code, _params in _pairs(reasons):
        code = _DISTANCE_ALIASES.get(code, code)
        if code in DISTANCE_CODES:
            return code
    return None


def _pairs(reasons):
    """(code, params) for each well-formed entry; anything else is passed over."""
    if not isinstance(reasons, list | tuple):
        return
    for entry in reasons:
        if isinstance(entry, str):
            yield entry, {}
        elif (
            isinstance(entry, list | tuple)
            and len(entry) == 2
            and isinstance(entry[0], str)
            and isinstance(entry[1], dict)
        ):
            yield entry[0], entry[1]


def _whole(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _phrase(code: str, params: dict) -> str | None:
    code = _DISTANCE_ALIASES.get(code, code)
    if code in _DISTANCE_WORDS:
        return str(_DISTANCE_WORDS[code])
    if code == "urgency":
        level = params.get("level")
        return str(Need.Urgency(level).label) if level in Need.Urgency.values else None
    if code == "waited":
        days = _whole(params.get("days"))
        if days is None:
            return None
        return ngettext("waited %(days)d day", "waited %(days)d days", days) % {"days": days}
    if code == "skill":
        skill = params.get("skill")
        if skill not in Need.SubKind.values:
            return None
        return gettext("skill: %(skill)s") % {"skill": Need.SubKind(skill).label}
    if code == "expires":
        days = _whole(params.get("days"))
        if days is None:
            return None
        if days == 0:
            return gettext("offered until today")
        return ngettext("offered for %(days)d more day", "offered for %(days)d more days", days) % {
            "days": days
        }
    return None


def reason_phrases(reasons) -> list[str]:
    """Each reason as a phrase in the active language, in the engine's order; unknown codes are skipped."""
    phrases = []
    for code, params in _pairs(reasons):
        phrase = _phrase(code, params)
        if phrase:
            phrases.append(phrase)
    return phrases


def reasons_in_words(reasons) -> str:
    """The reasons as one line, joined with " · " ("" when none can be said)."""
    return SEPARATOR.join(reason_phrases(reasons))
