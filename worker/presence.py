"""This worker process's report in Redis: who and where it is, its device, its queues and the jobs it
runs; rewritten every HEARTBEAT_S (at once when its jobs change), gone STALE_AFTER_S after it stops."""
from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import redis

from service import roster
from service.clock import iso, now
from worker import shutdown

if TYPE_CHECKING:
    from service.settings import Settings

log = logging.getLogger(__name__)
current: Presence | None = None  # this process's Presence, once it runs jobs


class Presence:
    """One process's report and the thread that keeps it fresh."""

    _jobs: dict[str, None]  # the ids of the jobs it runs, in the order they started

    def __init__(self, client: redis.Redis, name: str, queues: Iterable[str], pool: str, interval_s: float,
                 ttl_s: float, device: str, gpu: str | None = None) -> None:
        self.client, self.interval_s, self.ttl_s = client, interval_s, ttl_s
        self.key = roster.key(name, os.getpid())
        self.report: dict[str, Any] = {"name": name, "host": socket.gethostname(), "pid": os.getpid(), "device": device,
                       "gpu": gpu, "queues": list(queues), "pool": pool, "started_at": iso(now())}
        self._jobs, self._lock = {}, threading.Lock()
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._beat, name="presence", daemon=True)
        self._failing = False

    def start(self) -> Presence:
        """Write the report and keep it fresh."""
        self.write()
        self._thread.start()
        return self

    def running(self, job_ids: Iterable[str]) -> None:
        """These jobs started here."""
        with self._lock:
            self._jobs.update(dict.fromkeys(job_ids))
        self._wake.set()

    def finished(self, job_ids: Iterable[str]) -> None:
        """These jobs ended here (or were handed back)."""
        with self._lock:
            for job_id in job_ids:
                self._jobs.pop(job_id, None)
        self._wake.set()

    def document(self) -> dict:
        """The report as it is now."""
        with self._lock:
            jobs = list(self._jobs)
        stopping = shutdown.requested_at() is not None  # it takes no new job; shown at the next beat
        return {**self.report, "jobs": jobs, "stopping": stopping, "heartbeat_at": iso(now())}

    def write(self) -> None:
        """Write the report with a fresh expiry; a Redis outage is logged once and outlasted."""
        try:
            roster.write(self.client, self.key, self.document(), self.ttl_s)
        except redis.RedisError as err:
            if not self._failing:
                log.warning("worker report not written to Redis: %s", type(err).__name__)
            self._failing = True
            return
        self._failing = False

    def _beat(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if not self._stop.is_set():
                self.write()

    def stop(self) -> None:
        """Stop refreshing and remove the report: a clean exit leaves no ghost behind."""
        self._stop.set()
        self._wake.set()
        self._thread.join(5)
        try:
            roster.remove(self.client, self.key)
        except redis.RedisError:
            pass  # it expires after STALE_AFTER_S anyway


def local_device() -> tuple[str, str | None]:
    """(device, GPU name) of this process. It starts CUDA where there is one, so call it only in a
    process that will not fork again (a solo worker, or a prefork pool process)."""
    import torch

    if torch.cuda.is_available():
        return "cuda", torch.cuda.get_device_name(torch.cuda.current_device())
    return "cpu", None


def start(settings: Settings, name: str, queues: Sequence[str], pool: str) -> None:
    """Report this process from now on (it runs jobs); once per process."""
    global current
    if current is not None:
        return
    device, gpu = local_device()
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    current = Presence(client, name, queues, pool, settings.heartbeat_s, settings.stale_after_s,
                       device, gpu).start()
    log.info("worker %s (pid %d) reports itself: %s%s, queues %s", name, os.getpid(), device,
             f" ({gpu})" if gpu else "", ",".join(queues))


def stop() -> None:
    """Remove this process's report, if it has one."""
    global current
    if current is not None:
        current.stop()
        current = None


def running(job_ids: Iterable[str]) -> None:
    """Note jobs that started in this process (nothing without a report, e.g. in unit tests)."""
    if current is not None:
        current.running(job_ids)


def finished(job_ids: Iterable[str]) -> None:
    """Note jobs that ended in this process."""
    if current is not None:
        current.finished(job_ids)


def device() -> str:
    """This process's device as its report gives it ("cpu" without a report, e.g. in unit tests)."""
    return current.report["device"] if current is not None else "cpu"


def busy() -> bool:
    """Whether this process runs a job now."""
    return current is not None and bool(current._jobs)

