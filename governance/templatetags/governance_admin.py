"""The admin index's line about allocation proposals whose report is overdue."""

from django import template

from governance.admin_proposals import overdue_report_count

register = template.Library()


@register.simple_tag
def overdue_reports(user) -> int:
    """How many paid proposals in the user's areas are unreported 90 days after their first payment."""
    return overdue_report_count(user)
