"""SIGTERM to a worker running a job: the job finishes within SHUTDOWN_GRACE_S, or is handed back to the
queue and runs exactly once more elsewhere; the worker exits in time and leaves nothing `running`."""
import os
import re
import signal
import time

import pytest

from service.settings import Settings
from service.store.migrate import upgrade
from tests.integration.processes import Client, Process, clean_env, free_port
from tests.integration.servers import PrivateRedis

GRACE_S = 2
# A worker that hands its job back must be gone before `fitq up` kills it (STOP_TIMEOUT_S, 10 s by
# default); it takes 1 to 3 s on 2 idle cores (Celery's own shutdown, the pool's).
EXIT_BOUND_S = Settings().stop_timeout_s
LONG = {"variant": "autograd", "params": {"steps": 150000, "samples": 100, "log_every": 500},
        "timeout_s": 600}  # about 9 s on 2 shared cores: far longer than the grace period
SHORT = {"variant": "autograd", "params": {"steps": 30000, "samples": 100, "log_every": 500}}


class Deployment:
    """An API and workers started one by one, on a database and a Redis of their own."""

    def __init__(self, tmp, database, redis_url, **env):
        self.tmp, port = tmp, free_port()
        self.env = clean_env(DATABASE_URL=database, REDIS_URL=redis_url, PORT=port, DATA_DIR=tmp,
                             API_WORKERS=1, HEARTBEAT_S=0.5, STALE_AFTER_S=3, **env)
        self.client = Client(f"http://127.0.0.1:{port}")
        self.processes = [Process("api", self.env, tmp / "api.log")]
        self.client.wait_healthy()

    def worker(self, **env) -> Process:
        """Start a worker and wait until it consumes."""
        process = Process("worker", {**self.env, **{k: str(v) for k, v in env.items()}},
                          self.tmp / f"worker{len(self.processes)}.log")
        self.processes.append(process)
        process.wait_for_output("ready.")
        return process

    def submit(self, body) -> str:
        """POST a job; its id."""
        r = self.client.http.post(f"{self.client.base}/api/v1/jobs", json=body)
        assert r.status_code == 202, r.text
        return r.json()["id"]

    def wait_progress(self, job_id, timeout=60) -> dict:
        """Wait until the job runs and has passed a history point."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.client.job(job_id)
            if job["status"] == "running" and job["progress"]["step"] > 0:
                return job
            assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
            time.sleep(0.05)

    def close(self):
        """Stop everything still running."""
        for process in reversed(self.processes):
            process.stop()


@pytest.fixture
def deployment(tmp_path, pg_databases):
    """A Deployment whose grace period is GRACE_S."""
    database = pg_databases()
    upgrade(database)
    broker = PrivateRedis(tmp_path)
    made = Deployment(tmp_path, database, broker.url, SHUTDOWN_GRACE_S=GRACE_S)
    yield made
    made.close()
    broker.close()


def _terminate(process, whole_group) -> float:
    """SIGTERM as docker stop sends it (the main process alone) or as systemd does (the whole group);
    the seconds until the process exited."""
    start = time.monotonic()
    if whole_group:
        os.killpg(process.proc.pid, signal.SIGTERM)
    else:
        os.kill(process.proc.pid, signal.SIGTERM)
    assert process.proc.wait(EXIT_BOUND_S + 30) == 0, process.output()[-3000:]
    return time.monotonic() - start


@pytest.mark.parametrize("pool,whole_group", [("solo", False), ("prefork", False), ("prefork", True)],
                         ids=["solo-docker-stop", "prefork-docker-stop", "prefork-process-group"])
def test_a_long_job_is_handed_back_and_runs_once_more_on_another_worker(deployment, pool, whole_group):
    first = deployment.worker(WORKER_POOL=pool)
    job_id = deployment.submit(LONG)
    running = deployment.wait_progress(job_id)
    assert running["worker"].startswith(f"fitq-{first.proc.pid}@") and running["attempts"] == 1

    took = _terminate(first, whole_group)

    assert took < EXIT_BOUND_S, f"the worker took {took:.1f}s to stop"
    handed = deployment.client.job(job_id)
    assert (handed["status"], handed["attempts"], handed["worker"], handed["progress"]["step"]) == \
        ("queued", 1, None, 0)
    assert re.search(rf"job {job_id} handed back to the queue \(stopping: step \d+ of 150000", first.output())
    workers = deployment.client.http.get(f"{deployment.client.base}/api/v1/workers").json()
    assert not [w for w in workers if w["name"].startswith(f"fitq-{first.proc.pid}@")]  # gone at once

    second = deployment.worker()
    done = deployment.client.wait(job_id, timeout=180)

    assert (done["status"], done["attempts"]) == ("succeeded", 2)
    assert done["worker"].startswith(f"fitq-{second.proc.pid}@")
    assert len(re.findall(rf"job {job_id} started", second.output())) == 1
    assert len(re.findall(rf"job {job_id} succeeded", first.output() + second.output())) == 1


def test_a_job_that_ends_within_the_grace_period_finishes_before_the_worker_exits(tmp_path, pg_databases):
    database = pg_databases()
    upgrade(database)
    broker = PrivateRedis(tmp_path)
    deployment = Deployment(tmp_path, database, broker.url, SHUTDOWN_GRACE_S=60)
    try:
        worker = deployment.worker()
        job_id = deployment.submit(SHORT)
        deployment.wait_progress(job_id)

        _terminate(worker, whole_group=False)

        done = deployment.client.job(job_id)
        assert (done["status"], done["attempts"]) == ("succeeded", 1)
        assert "handed back" not in worker.output()
    finally:
        deployment.close()
        broker.close()
