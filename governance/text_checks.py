"""Free text as the governance services take it (proposals, meetings, topics, projects): cleaned of invisible
characters, measured, and — when it is published — free of phone and ID card numbers, with the same
refusal as a need's summary (needs.services.check_public_text). A refusal is the calling service's own
DomainError, naming the field."""

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _

from charity.errors import DomainError
from charity.validators import clean_text
from needs.services import check_public_text

# The codes check_public_text refuses a phone or ID card number with.
IDENTIFIER_CODES = ("mobile_in_public_text", "landline_in_public_text", "id_number_in_public_text")


def check_text(
    value,
    *,
    error: type[DomainError],
    field: str,
    max_length: int,
    required_message=None,
    public: bool = False,
    identifier_messages: Mapping | None = None,
) -> str:
    """Return `value` cleaned, or raise `error` naming `field`: empty (when `required_message` is given; code
    `<field>_required`), longer than `max_length` (too_long), or, when `public`, holding a phone or ID card
    number (check_public_text's code, with its message or the one `identifier_messages` gives that code)."""
    text = clean_text(value or "")
    if required_message is not None and not text:
        raise error(required_message, code=f"{field}_required", field=field)
    if len(text) > max_length:
        raise error(
            _("This text is too long: at most %(max)d characters, this one has %(n)d.")
            % {"max": max_length, "n": len(text)},
            code="too_long",
            field=field,
        )
    if public and text:
        try:
            check_public_text(text, field_name=field, max_length=max_length, required=False)
        except DomainError as exc:
            message = (identifier_messages or {}).get(exc.code, exc.message)
            raise error(message, code=exc.code, field=field) from None
    return text
