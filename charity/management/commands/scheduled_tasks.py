"""The beat schedule without Celery beat: list it, print it as a crontab, or run one entry now.

On the embedded default (no Redis) nothing runs the periodic tasks — the vote that should close, the
action item that should be chased, the nightly matching. `--crontab` prints the same schedule for the
system's cron, each line calling `--run` with the entry's name; every scheduled task is written to be
run twice without harm, so a late or repeated cron call changes nothing more.
"""

from __future__ import annotations

import datetime
import shlex
import sys
from pathlib import Path

from celery.schedules import crontab
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from charity.celery import app


def _cron_field(values: set[int], full: range) -> str:
    """One crontab field from celery's expanded set: "*" for every value, "*/n" for a regular step."""
    ordered = sorted(values)
    if ordered == list(full):
        return "*"
    if len(ordered) > 2 and ordered[0] == full.start:
        step = ordered[1] - ordered[0]
        if ordered == list(range(full.start, full.stop, step)):
            return f"*/{step}"
    return ",".join(str(value) for value in ordered)


def cron_line(schedule) -> str:
    """The five time fields of a beat schedule (a crontab, or a timedelta of whole minutes)."""
    if isinstance(schedule, crontab):
        weekdays = _cron_field(schedule.day_of_week, range(0, 7))
        return " ".join(
            (
                _cron_field(schedule.minute, range(0, 60)),
                _cron_field(schedule.hour, range(0, 24)),
                _cron_field(schedule.day_of_month, range(1, 32)),
                _cron_field(schedule.month_of_year, range(1, 13)),
                weekdays,
            )
        )
    seconds = schedule.total_seconds() if isinstance(schedule, datetime.timedelta) else float(schedule)
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return f"*/{minutes} * * * *"
    hours = max(1, round(minutes / 60))
    return f"0 */{hours} * * *"


class Command(BaseCommand):
    help = (
        "Without Celery beat: list the scheduled tasks, print them as a crontab (--crontab), or run one "
        "now (--run NAME)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--run", metavar="NAME", help="Run this schedule entry (or task path) now.")
        parser.add_argument(
            "--crontab", action="store_true", help="Print the schedule as crontab lines for this checkout."
        )

    def handle(self, *args, **options):
        schedule = settings.CELERY_BEAT_SCHEDULE
        if options["run"]:
            return self._run(schedule, options["run"])
        if options["crontab"]:
            return self._crontab(schedule)
        width = max(len(name) for name in schedule)
        for name, entry in sorted(schedule.items()):
            self.stdout.write(f"{name:<{width}}  {cron_line(entry['schedule']):<16}  {entry['task']}")

    def _run(self, schedule, name):
        entry = schedule.get(name) or next((e for e in schedule.values() if e["task"] == name), None)
        if entry is None:
            raise CommandError(
                f"No scheduled task is called {name!r}: run the command without options to list them."
            )
        app.loader.import_default_modules()
        task = app.tasks.get(entry["task"])
        if task is None:
            raise CommandError(f"The task {entry['task']!r} is not registered.")
        result = task.apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}))
        if result.failed():
            raise CommandError(f"{entry['task']} failed: {result.result!r}")
        self.stdout.write(f"{entry['task']}: {result.result!r}")

    def _crontab(self, schedule):
        manage = shlex.quote(str(Path(settings.BASE_DIR) / "manage.py"))
        python = shlex.quote(sys.executable)
        self.stdout.write(f"# Scheduled tasks of {settings.BASE_DIR} (times in {settings.CELERY_TIMEZONE}).")
        self.stdout.write(f"CRON_TZ={settings.CELERY_TIMEZONE}")
        for name, entry in sorted(schedule.items()):
            self.stdout.write(
                f"{cron_line(entry['schedule'])} cd {shlex.quote(str(settings.BASE_DIR))} && "
                f"{python} {manage} scheduled_tasks --run {shlex.quote(name)}"
            )
