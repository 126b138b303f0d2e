"""The unread count in the portal's header (templates/base.html): one query, only for a logged-in person.

base.html asks only inside `{% if user.is_authenticated %}{% if user.person %}`: an anonymous visitor (the
pages charity.public_pages caches) and a staff login without a person never reach the query.
"""

from django import template

from charity.notifications import unread_count

register = template.Library()


@register.simple_tag
def unread_notifications(person) -> int:
    """How many of `person`'s notifications are unread (one COUNT on a partial index); 0 for no person."""
    return unread_count(person) if person else 0
