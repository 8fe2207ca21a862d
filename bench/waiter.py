"""One job submitted and waited for, timed: over HTTP as a user would, or by reading its row."""
import time

import psycopg
import requests

TERMINAL = ("succeeded", "failed", "diverged", "cancelled")


class Waiter:
    """Waits for a job: over HTTP as a user would, or by reading its row, which costs the API nothing."""

    def __init__(self, stack, timeout, poll_s):
        self.base, self.timeout, self.poll_s = stack.base, timeout, poll_s
        self.http = requests.Session()
        self.db = psycopg.connect(stack.database.libpq_url, autocommit=True)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.db.close()

    def get(self, job_id):
        return self.http.get(f"{self.base}/api/v1/jobs/{job_id}", timeout=10).json()

    def row_status(self, job_id):
        return self.db.execute("SELECT status FROM jobs WHERE id = %s", (job_id,)).fetchone()[0]

    def run(self, body, quiet):
        """Submit `body` and wait until it is terminal: (job document, seconds to the 202, seconds
        until it was seen terminal: in its row when `quiet`, else over HTTP)."""
        t0 = time.perf_counter()
        r = self.http.post(f"{self.base}/api/v1/jobs", json=body, timeout=10)
        answered = time.perf_counter() - t0
        if r.status_code != 202:
            raise RuntimeError(f"POST /jobs answered {r.status_code}: {r.text[:300]}")
        job, deadline = r.json(), time.monotonic() + self.timeout
        status = job["status"]
        while status not in TERMINAL:
            if time.monotonic() > deadline:
                raise RuntimeError(f"job {job['id']} still {status} after {self.timeout:g} s")
            time.sleep(self.poll_s)
            status = self.row_status(job["id"]) if quiet else self.get(job["id"])["status"]
        seen = time.perf_counter() - t0
        job = self.get(job["id"])
        if job["status"] != "succeeded":
            raise RuntimeError(f"job {job['id']} {job['status']}: {job['error']}")
        return job, answered, seen
