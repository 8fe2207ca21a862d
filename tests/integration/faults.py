"""A stack built to be hurt: API, sweeper and workers on a private Redis, with short recovery times."""
import re
import time

import psycopg

from tests.integration.processes import TERMINAL, Client, Process, clean_env, free_port

# Heartbeats every 0.5 s; silent for 3 s means dead; the sweeper looks twice a second.
FAST = {"HEARTBEAT_S": 0.5, "STALE_AFTER_S": 3, "SWEEP_INTERVAL_S": 0.5, "REDELIVER_AFTER_S": 2,
        "MAX_ATTEMPTS": 3, "DB_RETRY_S": 120, "API_WORKERS": 1}
# A job that runs for a few seconds on this machine, reporting progress often.
LONG = {"variant": "autograd", "params": {"steps": 20000, "samples": 100, "log_every": 200}}
SHORT = {"variant": "tensor", "params": {"steps": 300, "samples": 200}}


class Faults:
    """API + sweeper + workers on `database_url` and `redis_url`; workers can be killed and added."""

    def __init__(self, tmp, database_url, redis_url, **worker_env):
        self.tmp, self.database_url = tmp, database_url
        port = free_port()
        self.env = clean_env(DATABASE_URL=database_url, REDIS_URL=redis_url, PORT=port, DATA_DIR=tmp,
                             **FAST)
        self.worker_env = {k: str(v) for k, v in worker_env.items()}
        self.client = Client(f"http://127.0.0.1:{port}")
        self.processes, self.workers = [], []
        try:
            self.api = self._start("api")
            self.client.wait_healthy()
            self.sweeper = self._start("sweeper")
            self.add_worker()
        except BaseException:
            self.close()
            raise

    def _start(self, command, env=None):
        process = Process(command, env or self.env, self.tmp / f"{command}{len(self.processes)}.log")
        self.processes.append(process)
        return process

    def add_worker(self):
        """Start one more worker and wait until it consumes."""
        worker = self._start("worker", {**self.env, **self.worker_env})
        worker.wait_for_output("ready.")
        self.workers.append(worker)
        return worker

    def submit(self, body) -> str:
        """POST a job body; returns its id."""
        r = self.client.http.post(f"{self.client.base}/api/v1/jobs", json=body)
        assert r.status_code == 202, r.text
        return r.json()["id"]

    def row(self, job_id) -> dict:
        """The job's row, read from the database directly (worker_pid is not in the API)."""
        with psycopg.connect(self.database_url.replace("+psycopg", ""), row_factory=psycopg.rows.dict_row) as c:
            return c.execute("SELECT * FROM jobs WHERE id = %s", (job_id,)).fetchone()

    def wait_running(self, job_id, timeout=60) -> dict:
        """Block until the job runs and has reported progress; returns its row."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = self.row(job_id)
            if row["status"] == "running" and row["progress_step"] > 0:
                return row
            assert row["status"] in ("queued", "running"), row
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not start within {timeout}s")

    def settle(self, job_ids, timeout=120) -> dict:
        """Wait until every job is terminal; assert each finished outcome was written exactly once."""
        jobs = {job_id: self.client.wait(job_id, timeout=timeout) for job_id in job_ids}
        logs = "".join(w.output() for w in self.workers)
        for job_id, job in jobs.items():
            assert job["status"] in TERMINAL
            # The INFO line of worker.tasks (a fit that raises also logs an ERROR "job ... failed").
            written = len(re.findall(rf"INFO worker\.tasks job {job_id} (succeeded|failed|diverged)$",
                                     logs, re.M))
            # A worker writes every outcome but cancelled and worker_lost (the API and sweeper write those).
            by_worker = job["status"] != "cancelled" and (job["error"] or {}).get("type") != "worker_lost"
            assert written == (1 if by_worker else 0), (job, written)
            assert (job["result"] is not None) == (job["status"] in ("succeeded", "diverged")), job
        return jobs

    def close(self):
        """Stop every process."""
        for process in reversed(self.processes):
            process.stop()
