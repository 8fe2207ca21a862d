"""fitq's HTTP API as the checks use it: a real token, bounded waits, bulk reads through the listing."""
import time
import uuid
from collections import Counter

import requests

TERMINAL = {"succeeded", "failed", "diverged", "cancelled"}


class Client:
    """One API base URL and token."""

    def __init__(self, base, token):
        self.base, self.http = base.rstrip("/"), requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def url(self, path) -> str:
        return f"{self.base}/api/v1{path}"

    def submit(self, variant, timeout_s=None, **params) -> dict:
        """POST /jobs; the queued job. With an Idempotency-Key, so that a request sent on a kept-alive
        connection just as the server closed it (gunicorn closes one idle 2 s; check 3 once failed
        with RemoteDisconnected) is sent once more and still makes one job."""
        body = {"variant": variant, "params": params}
        if timeout_s:
            body["timeout_s"] = timeout_s
        key = {"Idempotency-Key": uuid.uuid4().hex}
        try:
            answer = self.http.post(self.url("/jobs"), json=body, headers=key, timeout=30)
        except requests.ConnectionError:
            answer = self.http.post(self.url("/jobs"), json=body, headers=key, timeout=30)
        assert answer.status_code == 202, f"submit {variant}: {answer.status_code} {answer.text[:300]}"
        return answer.json()

    def job(self, job_id) -> dict:
        answer = self.http.get(self.url(f"/jobs/{job_id}"), timeout=30)
        assert answer.status_code == 200, f"job {job_id}: {answer.status_code} {answer.text[:300]}"
        return answer.json()

    def wait(self, job_id, until=TERMINAL, timeout=120) -> dict:
        """Poll one job until its status is in `until`."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["status"] in until:
                return job
            assert time.monotonic() < deadline, f"job {job_id} still {job['status']} after {timeout} s"
            time.sleep(0.3)

    def unfinished(self) -> int:
        """Jobs queued or running, over the whole service (0 or 1: only whether there are any)."""
        answer = self.http.get(self.url("/jobs"), params={"status": "queued,running", "limit": 1}, timeout=30)
        answer.raise_for_status()
        return len(answer.json()["items"])

    def all_jobs(self) -> dict:
        """Every job, {id: job}, a page of 200 at a time."""
        found, cursor = {}, None
        while True:
            params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            answer = self.http.get(self.url("/jobs"), params=params, timeout=60)
            answer.raise_for_status()
            page = answer.json()
            found.update((j["id"], j) for j in page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return found

    def settle(self, ids, timeout=300) -> dict:
        """Wait until no job is queued or running, then {id: job} for `ids`."""
        deadline = time.monotonic() + timeout
        while self.unfinished():
            assert time.monotonic() < deadline, f"jobs still queued or running after {timeout} s"
            time.sleep(1)
        jobs = self.all_jobs()
        missing = set(ids) - jobs.keys()
        assert not missing, f"{len(missing)} jobs not listed: {sorted(missing)[:3]}"
        return {i: jobs[i] for i in ids}

    def all_succeeded(self, ids, timeout=300) -> tuple[dict, Counter]:
        """settle(ids), asserting every job succeeded; ({id: job}, how many jobs took each attempt count)."""
        jobs = self.settle(ids, timeout=timeout)
        statuses = Counter(j["status"] for j in jobs.values())
        assert statuses == {"succeeded": len(ids)}, statuses
        return jobs, Counter(j["attempts"] for j in jobs.values())
