"""Validation of Chinese identifiers (mainland mobile numbers, unified social credit codes) and the one
normalisation every identifier and key goes through before it is compared or stored."""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_SEPARATORS_RE = re.compile(r"[\s\-()（）]")


def normalize_mobile(value: str) -> str:
    """Return the 11-digit form of a mainland mobile number, or raise ValidationError.

    Accepts the ways people type it: spaces or dashes between groups, a +86 / 0086 / 86 prefix,
    full-width digits.
    """
    if value is None:
        raise ValidationError(_("Enter a mobile number."), code="mobile_required")
    digits = _SEPARATORS_RE.sub("", str(value).translate(_FULLWIDTH))
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    if not _MOBILE_RE.match(digits):
        raise ValidationError(
            _("Enter a valid mainland mobile number: 11 digits starting with 1, e.g. 13812345678."),
            code="invalid_mobile",
        )
    return digits


_FULLWIDTH = str.maketrans("０１２３４５６７８９＋", "0123456789+")

# GB 32100-2015: 18 characters from this 31-character alphabet (no I, O, Z, S, V); the last is a check
# character computed from the first 17 with these weights.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(r"^[0-9A-HJ-NP-RTUW-Y]{2}\d{6}[0-9A-HJ-NP-RTUW-Y]{10}$")


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_credit_code(value: str) -> str:
    """Return the upper-case unified social credit code, or raise ValidationError if malformed."""
    code = (value or "").strip().upper()
    if len(code) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters; this one has %(n)d.") % {"n": len(code)},
            code="invalid_credit_code",
        )
    if not _USCC_RE.match(code):
        raise ValidationError(
            _("A unified social credit code uses digits and capital letters except I, O, S, V and Z."),
            code="invalid_credit_code",
        )
    if uscc_check_char(code[:17]) != code[17]:
        raise ValidationError(
            _("This unified social credit code fails its check character: please check it for a typo."),
            code="invalid_credit_code",
        )
    return code


def validate_mobile(value):
    normalize_mobile(value)


def mask_mobile(mobile: str) -> str:
    """Return 139****0001 for 13900000001: what logs, the audit log and staff lists show of a number."""
    return f"{mobile[:3]}****{mobile[-4:]}" if mobile else ""


def validate_credit_code(value):
    if value:
        normalize_credit_code(value)


# --- identifiers and keys -------------------------------------------------------------------------------

# Characters that render as nothing. Format characters (Cf: zero-width space and joiners, word joiner, BOM,
# soft hyphen, bidi controls, tag characters), controls (Cc, NUL included — PostgreSQL refuses it in text),
# lone surrogates (Cs), variation selectors, the combining grapheme joiner and the blank "letters" (Hangul
# fillers, the Braille blank) that NFKC leaves in place.
_BLANK_LETTERS = frozenset("\u034f\u115f\u1160\u3164\uffa0\u2800")
_WHITESPACE_RE = re.compile(r"\s+")


def _is_invisible(ch: str) -> bool:
    if ch in _BLANK_LETTERS or "\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef":
        return True
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs")


def normalize_key(value: str) -> str:
    """Return the form of an identifier or key that is compared and stored.

    For receipt numbers, purposes, names matched as keys and Idempotency-Key values: NFKC (full-width
    ＺＷ１２３ is ZW123), invisible characters removed (ZW\u200b123 is ZW123), runs of white space (tabs and
    line breaks included) made one space, and the ends trimmed. Two strings that look the same are then one.
    """
    text = unicodedata.normalize("NFKC", str(value))
    text = _WHITESPACE_RE.sub(" ", text)
    return "".join(ch for ch in text if not _is_invisible(ch)).strip()


# A character that normalize_key and clean_text keep, as an ECMA-262 regular expression for the OpenAPI
# schema: "contains one" is how it says a text must not be empty once normalised. (Invisible characters
# outside the Basic Multilingual Plane and lone surrogates are left out: a JSON Schema pattern cannot name
# them portably, and the API refuses a lone surrogate before any field is read.)
VISIBLE_CHARACTER_PATTERN = (
    r"[^\s\u0000-\u001f\u007f-\u00a0\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    r"\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\u2800\u3164\ufe00-\ufe0f"
    r"\ufeff\uffa0\ufff9-\ufffb]"
)

# Free text keeps its line breaks and tabs, and the joiners that emoji sequences need.
_KEPT_IN_TEXT = frozenset("\n\t\u200c\u200d")
# The invisible characters that str.isprintable() accepts: those _is_invisible names besides Cc, Cf and Cs.
_INVISIBLE_PRINTABLE_RE = re.compile(
    "[" + "".join(sorted(_BLANK_LETTERS)) + "\ufe00-\ufe0f\U000e0100-\U000e01ef]"
)


def clean_text(value: str) -> str:
    """Return free text (a name as typed, a reason, a description) without invisible characters.

    Less than normalize_key: no NFKC (the text is shown as typed), line breaks kept; NUL, other controls,
    lone surrogates, zero-width spaces and bidi controls removed; the ends trimmed.
    """
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    # Most text has nothing to remove, and two scans in C say so (a 5 MB text: 1 s → 10 ms). A printable
    # character is in no category "C" or "Z" (ASCII space aside), so none of Cc, Cf, Cs.
    if text.replace("\n", "").replace("\t", "").isprintable() and not _INVISIBLE_PRINTABLE_RE.search(text):
        return text.strip()
    return "".join(ch for ch in text if ch in _KEPT_IN_TEXT or not _is_invisible(ch)).strip()
