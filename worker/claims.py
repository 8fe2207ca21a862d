"""Claiming a message's jobs: the named job (or a batch-mate when it went elsewhere), the message's other
jobs of its shape, and more waiting jobs that can share the pass, up to BATCH_SIZE in all."""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from fits.batch_key import batch_key, most_in_pass
from service.queue import enqueue, enqueue_batches
from service.store import jobs
from service.store.models import Job, JobStatus
from worker import presence

if TYPE_CHECKING:
    from celery import Celery
    from sqlalchemy.orm import Session

    from service.settings import Settings

    class ClaimContext(Protocol):
        """What claiming needs of worker.tasks.Context (which imports this module, so it is not named)."""

        settings: Settings
        app: Celery

log = logging.getLogger("worker.tasks")


def claim(session: Session, ctx: ClaimContext, job_id: str, worker: str,
          also: Sequence[str] = ()) -> tuple[list[Job], str | None]:
    """(jobs this delivery runs, None), or ([], what happened to the message)."""
    if also:
        # The message's jobs in one compare-and-set (a round trip and a commit fewer than the named job
        # first: about 10-40 ms a pass on a loaded machine).
        named = jobs.claim_named(session=session, ids=[job_id, *also], worker=worker, pid=os.getpid())
        job = next((j for j in named if j.id == job_id), None)
        named = [j for j in named if j is not job]
    else:
        job, named = jobs.claim(session=session, job_id=job_id, worker=worker, pid=os.getpid()), []
    if job is None and named:
        # This job went elsewhere (a duplicate, or another worker's batch); its batch-mates named in
        # the same message still need a runner: the first of them leads.
        job, named = named[0], named[1:]
    if job is not None:
        most = min(ctx.settings.batch_size, pass_limit(job, ctx.settings))
        mates = within(session, ctx, job, shaped_like(session, ctx, job, named), most - 1)
        try:
            more = siblings(session, job, worker, most - 1 - len(mates))
            return [job, *mates, *more], None
        except Exception:  # the jobs are claimed already: run them rather than strand them
            session.rollback()
            log.exception("job %s: claiming more waiting jobs failed; the message's jobs run alone", job.id)
            return [job, *mates], None
    job = jobs.get(session=session, job_id=job_id)
    if job is None:
        return [], "does not exist; message dropped"
    if job.status == JobStatus.RUNNING.value and died_here(job, worker):
        # Redelivered because the pool process running it died (task_reject_on_worker_lost).
        if job.attempts >= ctx.settings.max_attempts:
            jobs.abandon(session=session, job_id=job.id, attempt=job.attempts,
                         message=jobs.lost_message(job.attempts, job.worker))
            return [], f"failed: its worker process died on all {job.attempts} attempts"
        taken = jobs.claim(session=session, job_id=job_id, worker=worker, pid=os.getpid(),
                           takeover=job.attempts)
        return ([taken], None) if taken else ([], "was recovered by another delivery; skipped")
    return [], f"is {job.status}, not queued; duplicate delivery skipped"


def shaped_like(session: Session, ctx: ClaimContext, job: Job, named: list[Job]) -> list[Job]:
    """The named jobs that can share `job`'s pass; one that cannot is queued again, alone."""
    # The API groups a message's jobs by batch key, so all should fit.
    key = batch_key(job.variant, job.params)
    mates = [other for other in named if same_pass(job, key, other)]
    for other in named:
        if other not in mates:
            log.warning("job %s, named in job %s's message, has another shape; sent again alone",
                        other.id, job.id)
            if jobs.give_back(session=session, job_id=other.id, attempt=other.attempts, ran=False):
                enqueue(ctx.app, other)
    return mates


def pass_limit(job: Job, settings: Settings) -> int:
    """The most jobs like `job` its pass may hold within their time budget (fits.batch_key.most_in_pass),
    at the rate of the device it runs on here; 1 for a job that runs alone."""
    if batch_key(job.variant, job.params) is None:
        return 1
    requested = job.params.get("device", "auto")
    on_gpu = requested == "cuda" or (requested == "auto" and job.variant != "numpy" and presence.device() == "cuda")
    return most_in_pass(job.params, job.timeout_s or settings.default_timeout_s, "cuda" if on_gpu else "cpu")


def within(session: Session, ctx: ClaimContext, job: Job, mates: list[Job], most: int) -> list[Job]:
    """The first `most` of the named jobs; the rest go back to the queue, in messages a pass can hold.
    (The API sends no more than fit; this guards a message that does, e.g. from an older API.)"""
    if len(mates) <= most:
        return mates
    back = [other for other in mates[most:]
            if jobs.give_back(session=session, job_id=other.id, attempt=other.attempts, ran=False)]
    log.info("job %s: %d of its message's jobs sent on: a pass of more would not fit their time budget",
             job.id, len(back))
    try:
        enqueue_batches(ctx.app, back, most + 1, default_timeout_s=ctx.settings.default_timeout_s)
    except Exception as err:  # queued in the database: the sweeper sends them once Redis answers
        log.warning("job %s: sending on %d jobs failed (%s); the sweeper sends them", job.id, len(back), err)
    return mates[:most]


def same_pass(job: Job, key: object, other: Job) -> bool:
    """Whether `other` can run in `job`'s pass: the same batch key and the same time budget."""
    return other.timeout_s == job.timeout_s and key is not None \
        and batch_key(other.variant, other.params) == key


def siblings(session: Session, job: Job, worker: str, limit: int) -> list[Job]:
    """Claim up to `limit` waiting jobs that can share this job's vectorised pass."""
    key = batch_key(job.variant, job.params)
    if limit <= 0 or key is None:
        return []
    return jobs.claim_siblings(session=session, first=job, limit=limit, worker=worker, pid=os.getpid(),
                               same=lambda other: same_pass(job, key, other))


def died_here(job: Job, worker: str) -> bool:
    """Whether the job's last runner was a process of this host that has exited."""
    # Only a process on this host can be checked; elsewhere the sweeper's stale heartbeat decides.
    same_host = job.worker and job.worker.rpartition("@")[2] == worker.rpartition("@")[2]
    return bool(same_host and job.worker_pid and job.worker_pid != os.getpid()
                and not alive(job.worker_pid))


def alive(pid: int, proc: str = "/proc") -> bool:
    """Whether process `pid` runs (a zombie has exited); True when it cannot be told."""
    # `proc` is where the process table is mounted: a test gives one that refuses reads, which a real
    # /proc does only to a user it hides processes from (hidepid), never to root.
    try:
        with open(f"{proc}/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: assume alive, the sweeper's heartbeat check still applies
