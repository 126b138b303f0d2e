"""`manage.py scheduled_tasks`: the beat schedule for a machine without Celery beat (cron)."""

import datetime
from io import StringIO

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.management import CommandError, call_command

from charity.celery import app
from charity.management.commands.scheduled_tasks import cron_line


def run(*args) -> str:
    out = StringIO()
    call_command("scheduled_tasks", *args, stdout=out)
    return out.getvalue()


def test_every_scheduled_task_exists():
    app.loader.import_default_modules()
    missing = [e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] not in app.tasks]
    assert missing == []


@pytest.mark.parametrize(
    ("schedule", "line"),
    [
        (crontab(hour=2, minute=0), "0 2 * * *"),
        (crontab(minute="*/15"), "*/15 * * * *"),
        (crontab(minute=45), "45 * * * *"),
        (crontab(hour=7, minute=30, day_of_week=1), "30 7 * * 1"),
        (datetime.timedelta(minutes=5), "*/5 * * * *"),
        (datetime.timedelta(hours=2), "0 */2 * * *"),
    ],
)
def test_cron_line(schedule, line):
    assert cron_line(schedule) == line


def test_crontab_has_one_line_per_entry_in_shanghai_time():
    lines = run("--crontab").splitlines()
    assert "CRON_TZ=Asia/Shanghai" in lines
    for name in settings.CELERY_BEAT_SCHEDULE:
        assert sum(line.endswith(f"scheduled_tasks --run {name}") for line in lines) == 1


def test_the_list_names_each_task():
    listing = run()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in listing


@pytest.mark.django_db
def test_run_executes_the_task_now():
    assert "charity.tasks.purge_idempotency_records" in run("--run", "purge-idempotency-records-hourly")


def test_an_unknown_name_is_refused():
    with pytest.raises(CommandError, match="No scheduled task is called 'nosuch'"):
        run("--run", "nosuch")
