"""A real Celery worker on Redis runs the housekeeping task against the test database, idempotently."""

import datetime
import os
import subprocess
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from charity.celery import app as celery_app
from charity.models import IdempotencyRecord
from charity.tasks import purge_idempotency_records

ROOT = Path(__file__).resolve().parent.parent
CELERY = ROOT / ".venv" / "bin" / "celery"
TEST_REDIS_DB = 15

pytestmark = [
    pytest.mark.redis,
    # The worker is another process: SQLite's in-memory test database is invisible to it.
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def redis_url_for_test(url: str) -> str:
    """Keep an explicit database number; otherwise use a dedicated one, so the test clears nobody's data."""
    parts = urlsplit(url)
    if parts.path.strip("/").isdigit():
        return url
    return urlunsplit(parts._replace(path=f"/{TEST_REDIS_DB}"))


def worker_database_url() -> str:
    """A DATABASE_URL for the test database this process is using (not the one DATABASE_URL names)."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s["HOST"] or "localhost"
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgres://{auth}@{host}{port}/{quote(s['NAME'], safe='')}"


@pytest.fixture
def broker_url():
    """Point this process's Celery app at the test's Redis database, and back afterwards."""
    url = redis_url_for_test(settings.REDIS_URL)
    saved = {k: celery_app.conf[k] for k in ("broker_url", "result_backend", "task_always_eager")}

    def reset_connections():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        celery_app._local.__dict__.pop("backend", None)

    celery_app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    reset_connections()
    yield url
    celery_app.conf.update(saved)
    reset_connections()


@pytest.fixture
def worker(broker_url, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DATABASE_CONN_MAX_AGE": "0",  # the test database is dropped at the end: hold no connection
    }
    log_path = tmp_path / "celery-worker.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            str(CELERY),
            "-A",
            "charity",
            "worker",
            "--pool=solo",
            "-c",
            "1",
            "--loglevel=info",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process, log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def wait_for(result, worker, timeout=60):
    process, log = worker
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the worker exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        if result.ready():
            return result.get(timeout=1)
        time.sleep(0.2)
    pytest.fail(f"no result within {timeout} s; worker log:\n{log.read_text()[-4000:]}")


def test_worker_purges_old_idempotency_records_once(worker):
    old = IdempotencyRecord.objects.create(
        client="key:1:1", key="old", method="POST", path="/api/v1/x/", body_hash="0" * 64
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=25)
    )
    fresh = IdempotencyRecord.objects.create(
        client="key:1:1", key="fresh", method="POST", path="/api/v1/x/", body_hash="1" * 64
    )

    assert wait_for(purge_idempotency_records.delay(), worker) == 1
    assert not IdempotencyRecord.objects.filter(pk=old.pk).exists()
    assert IdempotencyRecord.objects.filter(pk=fresh.pk).exists(), "a record under 24 hours old must stay"

    assert wait_for(purge_idempotency_records.delay(), worker) == 0
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
