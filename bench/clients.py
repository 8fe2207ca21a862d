"""Client threads that submit jobs over HTTP, each with its own Idempotency-Key, as users would."""
import collections
import threading
import time
from dataclasses import dataclass

import requests


@dataclass
class Submission:
    key: str
    body: dict
    job_id: str | None = None
    replayed: bool = False
    retries: int = 0
    outcome: str = "pending"  # accepted, rejected <status>, gave up
    detail: str = ""


class Clients:
    """`count` threads that submit every body once, each with its own Idempotency-Key, and retry a 503
    or a connection error with the same key after a short pause."""

    PAUSE_S = 0.5

    def __init__(self, base, submissions, count, deadline):
        self.url, self.submissions, self.deadline = f"{base}/api/v1/jobs", submissions, deadline
        self.next, self.lock, self.stop = 0, threading.Lock(), threading.Event()
        self.accepted, self.reasons = 0, collections.Counter()
        self.finished_at = None  # when the last thread ran out of work
        self.threads = [threading.Thread(target=self._run, name=f"client{i}", daemon=True)
                        for i in range(count)]

    def start(self):
        for thread in self.threads:
            thread.start()

    def alive(self):
        return any(t.is_alive() for t in self.threads)

    def _take(self):
        with self.lock:
            if self.next >= len(self.submissions):
                return None
            self.next += 1
            return self.submissions[self.next - 1]

    def _run(self):
        http = requests.Session()
        try:
            while not self.stop.is_set():
                sub = self._take()
                if sub is None:
                    return
                self._submit(http, sub)
        finally:
            with self.lock:
                self.finished_at = time.monotonic()

    def _submit(self, http, sub):
        while True:
            if self.stop.is_set() or time.monotonic() > self.deadline:
                sub.outcome, sub.detail = "gave up", sub.detail or "stopped"
                return
            try:
                r = http.post(self.url, json=sub.body, headers={"Idempotency-Key": sub.key}, timeout=30)
            except (requests.ConnectionError, requests.Timeout) as err:
                self._retry(sub, type(err).__name__)
                continue
            if r.status_code == 503:
                self._retry(sub, "503")
                continue
            if r.status_code == 202:
                sub.job_id = r.json()["id"]
                sub.replayed = r.headers.get("Idempotent-Replayed") == "true"
                sub.outcome = "accepted"
                with self.lock:
                    self.accepted += 1
                return
            sub.outcome, sub.detail = f"rejected {r.status_code}", r.text[:300]
            return

    def _retry(self, sub, reason):
        sub.retries += 1
        sub.detail = reason
        with self.lock:
            self.reasons[reason] += 1
        self.stop.wait(self.PAUSE_S)
