"""The disclosure calendar of a service project (CL arts. 72, 79; DOMAIN.md "Disclosure calendar").

Pure: dates in, due items out; no database, no clock (the caller passes `today`). docs/projects.md explains
the rules and the edge cases decided here:

- a project *running over six months* (its end later than start + 6 months) owes a progress disclosure
  every three months counted from the start: due on start + 3, + 6, + 9 … months while that date is before
  the end (a due date on the end itself is left to the final disclosure);
- every project owes a final disclosure, including what happened to the money left over, within three
  months after its end: due on end + 3 months (the law names it for projects over six months; the leftover
  money of any project must be disclosed — CL art. 58 — so the platform asks it of all);
- months are added to the start each time (never to the previous due date), clipped to the month's last
  day: a project starting on 31 August owes on 30 November, 28/29 February, 31 May, 31 August;
- a progress disclosure meets the item whose reporting period (after the previous due date, up to and
  including this one) holds the disclosure's `period_end`; of several, the first published counts and the
  others meet nothing more. A final disclosure meets the final item. Corrections meet nothing;
- status: `done` (met; `late` if published after the due date), `overdue` (unmet, due date before
  today), `due` (unmet, its period has begun, due today or later), `upcoming` (its period has not begun).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

# python-dateutil comes with Celery, a hard dependency (pyproject.toml).
from dateutil.relativedelta import relativedelta

PROGRESS = "progress"
FINAL = "final"

DONE = "done"
DUE = "due"
OVERDUE = "overdue"
UPCOMING = "upcoming"

INTERVAL_MONTHS = 3
LONG_PROJECT_MONTHS = 6
FINAL_WITHIN_MONTHS = 3


@dataclass(frozen=True)
class Published:
    """A published disclosure as the calendar sees it; `ref` is handed back on the item it meets."""

    kind: str
    period_end: datetime.date
    published_on: datetime.date
    ref: object = None


@dataclass(frozen=True)
class DueItem:
    """One disclosure owed: the period it reports, when it is due, and whether (and by what) it was met."""

    kind: str
    period_start: datetime.date
    period_end: datetime.date
    due_on: datetime.date
    status: str
    met_by: object = None
    late: bool = False

    @property
    def is_open(self) -> bool:
        """Due or overdue: what the admin index lists."""
        return self.status in (DUE, OVERDUE)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """`day` plus `months` calendar months, clipped to the last day of the month reached."""
    return day + relativedelta(months=months)


def owes_progress(starts_on: datetime.date, ends_on: datetime.date) -> bool:
    """Whether the project runs over six months, and so owes progress disclosures."""
    return ends_on > add_months(starts_on, LONG_PROJECT_MONTHS)


def progress_due_dates(starts_on: datetime.date, ends_on: datetime.date) -> list[datetime.date]:
    """The due dates of the progress disclosures: start + 3k months, before the end (none if ≤ 6 months)."""
    if not owes_progress(starts_on, ends_on):
        return []
    dates = []
    k = 1
    while (due := add_months(starts_on, INTERVAL_MONTHS * k)) < ends_on:
        dates.append(due)
        k += 1
    return dates


def final_due_date(ends_on: datetime.date) -> datetime.date:
    return add_months(ends_on, FINAL_WITHIN_MONTHS)


def _status(*, due_on, period_start, today, met: Published | None) -> tuple[str, bool]:
    if met is not None:
        return DONE, met.published_on > due_on
    if due_on < today:
        return OVERDUE, False
    if today >= period_start:
        return DUE, False
    return UPCOMING, False


def disclosure_calendar(
    *,
    starts_on: datetime.date,
    ends_on: datetime.date,
    today: datetime.date,
    published: Iterable[Published] = (),
) -> list[DueItem]:
    """Every disclosure the project owes, in due-date order, each with its status and what met it."""
    if ends_on < starts_on:
        raise ValueError("ends_on before starts_on")
    in_order = sorted(published, key=lambda p: p.published_on)
    items: list[DueItem] = []
    period_start = starts_on
    for due_on in progress_due_dates(starts_on, ends_on):
        # The first published whose period ends within this item's period: (previous due, due].
        met = next(
            (
                p
                for p in in_order
                if p.kind == PROGRESS
                and p.period_end <= due_on
                and (p.period_end > period_start or (not items and p.period_end == period_start))
            ),
            None,
        )
        status, late = _status(due_on=due_on, period_start=period_start, today=today, met=met)
        items.append(
            DueItem(
                kind=PROGRESS,
                period_start=period_start,
                period_end=due_on,
                due_on=due_on,
                status=status,
                met_by=met.ref if met is not None else None,
                late=late,
            )
        )
        period_start = due_on
    final_due = final_due_date(ends_on)
    met = next((p for p in in_order if p.kind == FINAL), None)
    # The final disclosure's period is the whole project; it can be published once the project has ended.
    status, late = _status(due_on=final_due, period_start=ends_on, today=today, met=met)
    items.append(
        DueItem(
            kind=FINAL,
            period_start=starts_on,
            period_end=ends_on,
            due_on=final_due,
            status=status,
            met_by=met.ref if met is not None else None,
            late=late,
        )
    )
    return items


def open_items(items: Iterable[DueItem]) -> list[DueItem]:
    """The items still owed whose period has begun: due or overdue."""
    return [item for item in items if item.is_open]
