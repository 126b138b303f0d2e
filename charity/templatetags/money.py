"""The one way money is shown: integer fen → ¥1,234.56."""

from django import template

register = template.Library()


def format_fen(fen) -> str:
    if fen is None or fen == "":
        return ""
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


@register.filter
def yuan(fen):
    """Format an integer number of fen as ¥1,234.56 (integer arithmetic only, never float)."""
    return format_fen(fen)
