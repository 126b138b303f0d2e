"""Public figures about people: a count below 3 is shown as "<3" (DESIGN.md §3), so a page never says that
one or two named-enough residents did something."""

from django import template

register = template.Library()

MIN_PUBLIC_COUNT = 3


@register.filter
def public_count(n) -> str:
    """Format a public count of people: "<3" below 3, else the number with thousands separators."""
    n = int(n or 0)
    return "<3" if n < MIN_PUBLIC_COUNT else f"{n:,}"


@register.filter
def plural_count(n) -> int:
    """The number that picks a public count's plural form: "<3" reads as a plural."""
    return max(int(n or 0), MIN_PUBLIC_COUNT)
