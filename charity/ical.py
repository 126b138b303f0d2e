"""The one iCalendar (RFC 5545) writer of the platform, by hand: it is a small, strict format.

What the standard asks and this module does: CRLF line ends; lines folded at 75 octets (never inside a
UTF-8 character) with a CRLF and one space; TEXT values escaped (backslash, semicolon, comma, newline);
times in UTC ("Z"), whole days as DATE values; every VEVENT with UID, DTSTAMP, DTSTART. The apps build their
events' properties (volunteers' events, governance's meetings and due dates) and hand them to `write`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable


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
    """A DATE-TIME value in UTC (§3.3.5, form 2)."""
    return moment.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def day(value: datetime.date) -> str:
    """A DATE value (§3.3.4), for an all-day entry: DTSTART;VALUE=DATE:…"""
    return value.strftime("%Y%m%d")


def param(value: str) -> str:
    """A parameter value (§3.2): quoted, without the characters a quoted value cannot hold."""
    cleaned = "".join(c for c in str(value) if c not in '"\r\n' and (c >= " " or c == "\t"))
    return f'"{cleaned}"'


def stamp(now: datetime.datetime | None = None) -> str:
    """The DTSTAMP of a feed written now."""
    return utc(now or datetime.datetime.now(datetime.UTC))


def write(*, name: str, prodid: str, events: Iterable[list[str]], refresh_hours: int = 1) -> str:
    """The whole feed as one string, ready to send as text/calendar: `events` are the content lines of each
    VEVENT (already escaped), without BEGIN/END, which are added here."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{prodid}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
        "X-WR-TIMEZONE:Asia/Shanghai",
        f"REFRESH-INTERVAL;VALUE=DURATION:PT{refresh_hours}H",
        f"X-PUBLISHED-TTL:PT{refresh_hours}H",
    ]
    for event in events:
        lines += ["BEGIN:VEVENT", *event, "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
