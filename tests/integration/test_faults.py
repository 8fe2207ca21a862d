"""Fault tests: real processes are killed, Redis and PostgreSQL are stopped; no job is lost or run twice.
Every test ends with Faults.settle: each job terminal, each outcome written by exactly one attempt."""
import os
import pickle
import re
import signal
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from service.queue import enqueue, make_celery
from service.settings import Settings
from service.store.migrate import upgrade
from tests.integration.faults import FAST, LONG, SHORT, Faults
from tests.integration.servers import PrivatePostgres, PrivateRedis


@pytest.fixture
def private_redis(tmp_path):
    """A Redis of this test's own, which it may crash."""
    server = PrivateRedis(tmp_path)
    yield server
    server.close()


@pytest.fixture
def database(pg_databases):
    """A fresh, migrated PostgreSQL database on the shared server."""
    url = pg_databases()
    upgrade(url)
    return url


@pytest.fixture
def prefork(tmp_path, database, private_redis):
    """A stack whose worker has two pool processes, so one can die while the worker lives."""
    stack = Faults(tmp_path, database, private_redis.url, WORKER_POOL="prefork", WORKER_CONCURRENCY=2)
    yield stack
    stack.close()


@pytest.fixture
def solo(tmp_path, database, private_redis):
    """A stack with one solo worker (the default pool)."""
    stack = Faults(tmp_path, database, private_redis.url)
    yield stack
    stack.close()


def test_1_sigkill_of_the_pool_process_running_a_job(prefork):
    long = prefork.submit(LONG)
    row = prefork.wait_running(long)
    os.kill(row["worker_pid"], signal.SIGKILL)
    others = [prefork.submit(SHORT) for _ in range(3)]

    jobs = prefork.settle([long, *others])

    assert jobs[long]["status"] == "succeeded" and jobs[long]["attempts"] == 2
    assert all(jobs[j]["status"] == "succeeded" and jobs[j]["attempts"] == 1 for j in others)


def test_2_sigkill_of_the_whole_worker_then_a_new_worker(solo):
    long = solo.submit(LONG)
    solo.wait_running(long)
    solo.workers[0].stop(signal.SIGKILL)
    killed_at = datetime.now(UTC)
    solo.add_worker()
    ready_at = datetime.now(UTC)

    jobs = solo.settle([long])

    assert jobs[long]["status"] == "succeeded" and jobs[long]["attempts"] == 2
    # The sweeper's bound: silent for STALE_AFTER_S, found within a pass (SWEEP_INTERVAL_S), then picked
    # up as soon as the new worker consumes; as much again as slack for a loaded machine. Without the
    # sweeper it would wait for Redis's VISIBILITY_TIMEOUT_S (hours).
    found = timedelta(seconds=FAST["STALE_AFTER_S"] + FAST["SWEEP_INTERVAL_S"])
    restarted = datetime.fromisoformat(jobs[long]["started_at"].replace("Z", "+00:00"))
    assert restarted <= max(ready_at, killed_at + found) + 2 * found
    assert f"job {long} queued again: no heartbeat from fitq-" in solo.sweeper.output()


def test_3_redis_shut_down_without_saving_while_jobs_queued_and_running(solo, private_redis):
    long = solo.submit(LONG)
    solo.wait_running(long)
    queued = [solo.submit(SHORT) for _ in range(4)]  # behind the long one in the solo worker
    private_redis.crash()
    time.sleep(1)
    private_redis.start()  # empty: the four messages and the long job's delivery are gone

    jobs = solo.settle([long, *queued])

    assert all(job["status"] == "succeeded" and job["attempts"] == 1 for job in jobs.values())
    assert "its message is not in Redis" in solo.sweeper.output()


def test_4_postgresql_stopped_and_started_again(tmp_path, private_redis):
    pg = PrivatePostgres()
    stack = None
    try:
        upgrade(pg.url)
        stack = Faults(tmp_path, pg.url, private_redis.url)
        long = stack.submit(LONG)
        stack.wait_running(long)
        queued = [stack.submit(SHORT) for _ in range(3)]
        pg.stop()
        base, http = f"{stack.client.base}/api/v1", stack.client.http
        for response in (http.get(f"{base}/jobs/{long}"), http.post(f"{base}/jobs", json=SHORT),
                         http.get(f"{base}/jobs"), http.get(f"{stack.client.base}/readyz")):
            assert response.status_code == 503, response.text
            assert response.headers["Content-Type"] == "application/problem+json"
        # The long job finishes while the database is down: its worker keeps the outcome and retries.
        stack.workers[0].wait_for_output(f"outcome of job {long}: database unreachable", timeout=90)
        time.sleep(1)
        pg.start()

        jobs = stack.settle([long, *queued])

        assert all(job["status"] == "succeeded" and job["attempts"] == 1 for job in jobs.values())
        assert stack.client.http.get(f"{stack.client.base}/readyz").status_code == 200
    finally:
        if stack is not None:
            stack.close()
        pg.close()


def test_5_the_same_message_delivered_twice_runs_once(prefork):
    settings = Settings.from_env(prefork.env)
    celery = make_celery(settings)
    job_id = prefork.submit(LONG)
    enqueue(celery, _Job(job_id))  # the second pool process gets it while the first runs the job
    celery.close()

    jobs = prefork.settle([job_id])

    assert jobs[job_id]["status"] == "succeeded" and jobs[job_id]["attempts"] == 1
    logs = "".join(w.output() for w in prefork.workers)
    assert re.search(rf"job {job_id} (is running, not queued|was claimed by another delivery).*skipped", logs)


class _Job:
    """Just what enqueue reads of a job."""

    def __init__(self, job_id):
        self.id, self.params = job_id, {"device": "auto"}


def test_6_a_job_that_kills_its_worker_every_time_fails_after_the_cap(prefork):
    doomed = prefork.submit(LONG)
    kills, stop = [], threading.Event()

    def killer():  # what an out-of-memory kill looks like from outside, on every attempt
        while not stop.is_set():
            row = prefork.row(doomed)
            if row["status"] != "running":
                if row["status"] != "queued":
                    return
            elif row["worker_pid"] and row["worker_pid"] not in kills and row["progress_step"] > 0:
                kills.append(row["worker_pid"])
                os.kill(row["worker_pid"], signal.SIGKILL)
            time.sleep(0.05)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    others = [prefork.submit(SHORT) for _ in range(3)]
    try:
        jobs = prefork.settle([doomed, *others])
    finally:
        stop.set()
        thread.join()

    assert jobs[doomed]["status"] == "failed" and jobs[doomed]["attempts"] == 3 and len(kills) == 3
    assert jobs[doomed]["error"]["type"] == "worker_lost"
    assert "each of 3 attempts" in jobs[doomed]["error"]["message"]
    assert all(jobs[j]["status"] == "succeeded" for j in others)  # the worker kept serving
    later = prefork.submit(SHORT)
    assert prefork.settle([later])[later]["status"] == "succeeded"


class _Payload:
    """Unpickling this would create a file: proof that pickle content never gets deserialized."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickled_message_is_refused_and_nothing_in_it_runs(solo, tmp_path):
    marker = tmp_path / "pickle-ran"
    celery = make_celery(Settings.from_env(solo.env))
    celery.send_task("fitq.run_fit", args=[_Payload(str(marker))], serializer="pickle", queue="fitq")
    celery.close()
    solo.workers[0].wait_for_output("untrusted content", timeout=30)

    after = solo.submit(SHORT)  # the worker goes on serving
    assert solo.settle([after])[after]["status"] == "succeeded"
    assert not marker.exists()
    assert pickle.dumps(_Payload(str(marker)))  # the payload itself is a real pickle
