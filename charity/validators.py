"""Validation of Chinese identifiers: mainland mobile numbers and unified social credit codes."""

import re

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


def validate_credit_code(value):
    if value:
        normalize_credit_code(value)
