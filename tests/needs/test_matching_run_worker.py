"""The nightly matching on real Celery workers (Redis broker, the PostgreSQL test database): a partition
delivered twice, the whole night started twice, and a worker killed with SIGKILL at a random point, each
leave exactly one set of proposals."""

import os
import random
import signal
import subprocess
import time

import pytest
import redis
from django.db.models import Count
from django.utils import timezone

from needs import matching_run
from needs.models import Match, MatchRun
from needs.tasks import match_partition, run_nightly_matching
from tests.test_celery_worker import CELERY, ROOT, broker_url, worker_database_url  # noqa: F401 - fixture

from .matchrun_world import City, as_set, bulk_fill, proposed

pytestmark = [
    pytest.mark.redis,
    # The workers are other processes: SQLite's in-memory test database is invisible to them.
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


class Workers:
    """Celery worker processes on the test's Redis database; start more, kill one with SIGKILL."""

    def __init__(self, url: str, tmp_path):
        self.url, self.tmp_path, self.processes = url, tmp_path, []

    def start(self) -> subprocess.Popen:
        n = len(self.processes)
        env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": self.url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "DATABASE_CONN_MAX_AGE": "0",
        }
        log = (self.tmp_path / f"worker{n}.log").open("w")
        process = subprocess.Popen(
            [
                str(CELERY),
                "-A",
                "charity",
                "worker",
                "--pool=solo",
                "-n",
                f"matchrun{n}@%h",
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
        process.log_path = self.tmp_path / f"worker{n}.log"
        self.processes.append(process)
        deadline = time.monotonic() + 60
        while "ready." not in process.log_path.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker did not start:\n{process.log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        return process

    def kill(self, process) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=20)

    def logs(self) -> str:
        return "\n".join(p.log_path.read_text()[-3000:] for p in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture
def workers(broker_url, tmp_path):  # noqa: F811
    broker = redis.Redis.from_url(broker_url)
    broker.flushdb()  # the test's own Redis database: nothing left over from an earlier run
    pool = Workers(broker_url, tmp_path)
    try:
        yield pool
    finally:
        pool.stop()
        broker.flushdb()


def wait_all(results, workers, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(r.ready() for r in results):
            return [r.get(timeout=1) for r in results]
        time.sleep(0.2)
    pytest.fail(f"no result within {timeout} s; workers' logs:\n{workers.logs()}")


def wait_until(check, workers, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(f"not done within {timeout} s; workers' logs:\n{workers.logs()}")


def expected(area, partition, night):
    """What the partition proposes, computed here (it writes nothing)."""
    scope = matching_run.scope_of(area, partition)
    return as_set(matching_run.compute(scope, today=night)[1].proposals)


def assert_one_set():
    """Every run's matches are as many as it counted, and no need–resource pair is proposed twice."""
    for run in MatchRun.objects.all():
        assert Match.objects.filter(run=run).count() == run.matches_proposed, run
    twice = (
        Match.objects.filter(status=Match.Status.PROPOSED)
        .values("need_id", "resource_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not twice.exists()


def test_a_partition_delivered_twice_proposes_once(workers):
    city = City()
    bulk_fill(city, 11, needs=300, resources=150)
    night = timezone.localdate()
    district = city.fresh(city.districts[0])
    want = expected(district, "district", night)
    assert want
    workers.start()
    workers.start()
    args = [night.isoformat(), district.pk, "district"]
    outcomes = wait_all([match_partition.apply_async(args=args) for _ in range(2)], workers)
    assert {o["status"] for o in outcomes} == {"done"}
    run = MatchRun.objects.get()
    assert (run.status, run.partition, run.area_id) == (MatchRun.Status.DONE, "district", district.pk)
    assert proposed(run=run) == want
    assert_one_set()


def test_the_night_started_twice_runs_each_partition_once(workers):
    city = City()
    bulk_fill(city, 12, needs=200, resources=120)
    workers.start()
    workers.start()
    night = timezone.localdate().isoformat()
    wait_all([run_nightly_matching.delay(night), run_nightly_matching.delay(night)], workers)
    wait_until(lambda: MatchRun.objects.filter(status=MatchRun.Status.DONE).count() == 3, workers)
    time.sleep(1)  # any late second delivery has had time to write, if it were going to
    assert MatchRun.objects.count() == 3
    assert set(MatchRun.objects.values_list("partition", flat=True)) == {"district", "city"}
    assert_one_set()
    assert proposed()


def test_a_worker_killed_at_a_random_point_then_retried_leaves_one_set(workers):
    city = City()
    district = city.fresh(city.districts[0])
    bulk_fill(city, 13, needs=2500, resources=1500, within=city.in_district(district))
    night = timezone.localdate()
    want = expected(district, "district", night)
    args = [night.isoformat(), district.pk, "district"]

    # How long one run takes here, so the kills fall anywhere in it (from the delivery to the last write).
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    started = time.monotonic()
    matching_run.compute(matching_run.scope_of(district, "district"), today=night)
    span = (time.monotonic() - started) * 2 + 0.5
    for _ in range(3):
        worker = workers.start()
        match_partition.apply_async(args=args)
        time.sleep(rng.uniform(0, span))
        workers.kill(worker)
        states = list(MatchRun.objects.values_list("status", flat=True))
        assert states in ([], ["running"], ["done"]), (seed, states)
        if states != ["done"]:
            assert not Match.objects.exists(), f"a killed run left proposals behind (seed {seed})"

    workers.start()
    outcome = wait_all([match_partition.apply_async(args=args)], workers)[0]
    assert outcome["status"] == "done", seed
    run = MatchRun.objects.get()
    assert proposed(run=run) == want, seed
    assert_one_set()
