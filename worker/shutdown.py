"""Graceful shutdown: after SIGTERM a running fit either ends within SHUTDOWN_GRACE_S or is handed back
to the queue at its next history point, so a stopping worker leaves no job `running`."""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from multiprocessing.sharedctypes import RawValue
from typing import TYPE_CHECKING

from service.queue import enqueue
from service.store import jobs
from service.store.db import UNAVAILABLE

if TYPE_CHECKING:
    from celery import Celery
    from sqlalchemy.orm import Session

    from service.store.models import Job

log = logging.getLogger(__name__)
# time.monotonic() of the first stop request, 0 while there is none. Made on import, before a prefork
# pool forks, it is memory the pool processes share: the main process (the one docker stop signals)
# writes it, every pool process reads it at its fits' history points. No lock: one double, one writer
# at a time, written from signal handlers.
_requested = RawValue("d", 0.0)


class HandBack(Exception):
    """The worker is stopping and this fit would not end within the grace period."""


def request() -> None:
    """Ask the running fits, in this process and its pool processes, to finish or hand back; safe in a
    signal handler (one assignment, no lock)."""
    if not _requested.value:
        _requested.value = time.monotonic()


def requested_at() -> float | None:
    """When a stop was first requested (time.monotonic()), or None."""
    return _requested.value or None


def clear() -> None:
    """Forget a stop request (for tests: a worker that stops never starts again)."""
    _requested.value = 0.0


class Grace:
    """One run's clock: whether, once a stop is requested, the fit still ends within the grace period."""

    def __init__(self, grace_s: float) -> None:
        self.grace_s, self.started = grace_s, time.monotonic()

    def check(self, step: int, steps: int) -> None:
        """At a history point: raise HandBack if a stop was requested and the fit, at the pace it has
        kept so far, would not end by SHUTDOWN_GRACE_S after the request."""
        asked = requested_at()
        if asked is None:
            return
        at = time.monotonic()
        left_s = (at - self.started) * (steps - step) / step if step > 0 else math.inf
        if at + left_s > asked + self.grace_s:
            raise HandBack(f"stopping: step {step} of {steps}, about {left_s:.3g}s to go, "
                           f"more than the {self.grace_s:g}s grace period")


def hand_back(sessions: Callable[[], Session], celery: Celery, run: Sequence[Job], why: str) -> dict[str, str]:
    """Give each job of `run` back to the queue if this attempt still holds it (compare-and-set, its
    attempts unchanged), and send it again; {job id: what became of it}."""
    try:
        with sessions() as session:
            given = [job for job in run if jobs.give_back(session=session, job_id=job.id,
                                                          attempt=job.attempts)]
    except UNAVAILABLE as err:
        # No time to wait for the database: the heartbeat stops with this process, and the sweeper
        # queues the jobs again STALE_AFTER_S later.
        log.error("job %s not handed back (%s); the sweeper will queue it again",
                  ", ".join(job.id for job in run), type(err).__name__)
        return {job.id: "not handed back: database unavailable" for job in run}
    outcomes: dict[str, str] = {}
    for job in run:
        if job not in given:
            outcomes[job.id] = "stopped: cancelled or taken over while running"
            continue
        try:
            enqueue(celery, job)
        except Exception as err:  # it is queued in the database: the sweeper sends it again
            log.warning("job %s handed back but not sent again (%s)", job.id, type(err).__name__,
                        extra={"job_id": job.id})
        outcomes[job.id] = f"handed back to the queue ({why})"
    return outcomes
