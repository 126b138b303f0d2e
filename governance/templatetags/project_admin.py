"""The admin index's panel of project disclosures due and overdue in the staff member's areas."""

from django import template

from charity.scoping import scope_for_user
from governance.selectors_projects import open_disclosures

register = template.Library()


@register.simple_tag
def disclosures_due(user) -> list:
    """The disclosures due or overdue for the projects in the user's areas, overdue first."""
    return open_disclosures(scope_for_user(user))
