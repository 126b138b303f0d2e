"""A community's events as an iCalendar feed (RFC 5545), written by the platform's one writer (charity.ical).

A cancelled event stays in the feed with STATUS:CANCELLED so a subscribed phone removes it instead of keeping
a stale copy. Only what the public event page shows goes in: never a person's name.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable

from charity.ical import escape, fold, param, stamp, utc, write

__all__ = ["MAX_EVENTS", "PAST_DAYS", "PRODID", "calendar", "escape", "fold", "utc"]

PAST_DAYS = 30
MAX_EVENTS = 500
PRODID = "-//community-charity//volunteers events//ZH"


def _event_lines(event, *, dtstamp: str, domain: str, url_for: Callable) -> list[str]:
    description = event.description
    if event.risk_notice:
        description = f"{description}\n\n{event.risk_notice}".strip()
    lines = [
        f"UID:event-{event.pk}@{domain}",
        f"DTSTAMP:{dtstamp}",
        f"CREATED:{utc(event.created_at)}" if event.created_at else f"CREATED:{dtstamp}",
        f"DTSTART:{utc(event.starts_at)}",
        f"DTEND:{utc(event.ends_at)}",
        f"SUMMARY:{escape(event.title)}",
    ]
    if event.place:
        lines.append(f"LOCATION:{escape(event.place)}")
    if description:
        lines.append(f"DESCRIPTION:{escape(description)}")
    if event.series_id:
        lines.append(f"CATEGORIES:{escape(event.series.name)}")
    lines.append(f"ORGANIZER;CN={param(event.organizer.name)}:urn:x-organisation:{event.organizer_id}")
    lines.append(f"URL:{url_for(event)}")
    lines.append("STATUS:CANCELLED" if event.status == "cancelled" else "STATUS:CONFIRMED")
    return lines


def calendar(
    *, name: str, events: Iterable, host: str, url_for: Callable, now: datetime.datetime | None = None
) -> str:
    """The feed of `events` (Event rows) as one string, ready to send as text/calendar."""
    dtstamp = stamp(now)
    domain = (host or "localhost").split(":")[0]
    return write(
        name=name,
        prodid=PRODID,
        events=(_event_lines(e, dtstamp=dtstamp, domain=domain, url_for=url_for) for e in events),
    )
