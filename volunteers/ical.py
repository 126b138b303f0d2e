"""A community's events as an iCalendar feed (RFC 5545), written by hand: it is a small, strict format.

What the standard asks and this module does: CRLF line ends; lines folded at 75 octets (never inside a
UTF-8 character) with a CRLF and one space; TEXT values escaped (backslash, semicolon, comma, newline);
times in UTC ("Z"); every VEVENT with UID, DTSTAMP, DTSTART. A cancelled event stays in the feed with
STATUS:CANCELLED so a subscribed phone removes it instead of keeping a stale copy. Only what the public
event page shows goes in: never a person's name.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable

PAST_DAYS = 30
MAX_EVENTS = 500
PRODID = "-//community-charity//volunteers events//ZH"


def escape(value: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11)."""
    return (
        str(value)
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line at 75 octets (§3.1), splitting between characters, never inside one."""
    out, current, size = [], [], 0
    limit = 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append("".join(current))
            current, size, limit = [" "], 1, 75
        current.append(char)
        size += width
    out.append("".join(current))
    return "\r\n".join(out)


def utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(
    *, name: str, events: Iterable, host: str, url_for: Callable, now: datetime.datetime | None = None
) -> str:
    """The feed of `events` (Event rows) as one string, ready to send as text/calendar."""
    stamp = utc(now or datetime.datetime.now(datetime.UTC))
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
        "X-WR-TIMEZONE:Asia/Shanghai",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ]
    domain = (host or "localhost").split(":")[0]
    for event in events:
        description = event.description
        if event.risk_notice:
            description = f"{description}\n\n{event.risk_notice}".strip()
        lines += [
            "BEGIN:VEVENT",
            f"UID:event-{event.pk}@{domain}",
            f"DTSTAMP:{stamp}",
            f"CREATED:{utc(event.created_at)}" if event.created_at else f"CREATED:{stamp}",
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
        lines.append(f"ORGANIZER;CN={_param(event.organizer.name)}:urn:x-organisation:{event.organizer_id}")
        lines.append(f"URL:{url_for(event)}")
        lines.append("STATUS:CANCELLED" if event.status == "cancelled" else "STATUS:CONFIRMED")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


def _param(value: str) -> str:
    """A parameter value (§3.2): quoted, without the characters a quoted value cannot hold."""
    cleaned = "".join(c for c in str(value) if c not in '"\r\n' and (c >= " " or c == "\t"))
    return f'"{cleaned}"'
