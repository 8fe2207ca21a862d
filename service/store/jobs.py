"""Data-access functions for jobs: every read and write of the jobs table goes through here."""
from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from service.clock import now
from service.store import deliveries
from service.store import outcomes as outcomes_table
from service.store.models import LEGACY_OWNER, Job, JobStatus
from service.store.outcomes import COPIED, Outcome

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, CursorResult
    from sqlalchemy.orm import Session

ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


class IdempotencyConflict(Exception):
    """An Idempotency-Key was reused for a different request."""

    def __init__(self, job: Job) -> None:
        super().__init__(job.id)
        self.job = job


ID_PATTERN = re.compile(r"[0-9a-f]{32}")


def is_id(text: object) -> bool:
    """Whether `text` has the shape of a job id (so it is never sent to the database otherwise)."""
    return isinstance(text, str) and ID_PATTERN.fullmatch(text) is not None


def new_id() -> str:
    """A 32-hex-digit id that sorts by creation time: 52 bits of microseconds, 76 random bits."""
    return f"{time.time_ns() // 1000:013x}{secrets.token_hex(10)[:19]}"



def create(*, session: Session, variant: str, params: dict[str, Any], requested: Mapping[str, Any] | None = None,
           idempotency_key: str | None = None, timeout_s: int | None = None,
           owner: str = LEGACY_OWNER, callback_url: str | None = None) -> tuple[Job, bool]:
    """Commit a queued job of `owner`; returns (job, created). The owner's repeated Idempotency-Key returns
    its first job (another owner's key is another key)."""
    if idempotency_key is not None:
        existing = _by_key(session, owner, idempotency_key)
        if existing is not None:
            return _same_request(existing, variant, params, requested or {}), False
    job = new_job(variant, params, timeout_s, now(), idempotency_key=idempotency_key, owner=owner,
                  callback_url=callback_url)
    session.add(job)
    try:
        session.commit()
    except IntegrityError:
        # Another request with the same key committed first: answer with its job.
        session.rollback()
        existing = _by_key(session, owner, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return _same_request(existing, variant, params, requested or {}), False
    return job, True


def new_job(variant: str, params: dict[str, Any], timeout_s: int | None, stamp: datetime, **more: Any) -> Job:
    """A queued job row, not yet added to a session (owned by `legacy` unless `owner` is given)."""
    return Job(**new_row(variant, params, timeout_s, stamp, **more))


def new_row(variant: str, params: dict[str, Any], timeout_s: int | None, stamp: datetime,
            **more: Any) -> dict[str, Any]:
    """new_job's columns as a dict, for a bulk insert."""
    more.setdefault("owner", LEGACY_OWNER)
    # enqueued_at is set before the send: if the send never happens, the sweeper finds no message.
    return {"id": new_id(), "variant": variant, "status": JobStatus.QUEUED.value, "params": params,
            "progress_step": 0, "progress_steps": params.get("steps", 1), "attempts": 0, "created_at": stamp,
            "enqueued_at": stamp, "timeout_s": timeout_s, **more}


def by_key(*, session: Session, owner: str, key: str) -> Job | None:
    """`owner`'s job made with Idempotency-Key `key`, or None."""
    return _by_key(session, owner, key)


def _by_key(session: Session, owner: str, key: str) -> Job | None:
    return session.scalars(select(Job).where(Job.owner == owner, Job.idempotency_key == key)).first()


def _same_request(job: Job, variant: str, params: Mapping[str, Any], requested: Mapping[str, Any]) -> Job:
    # Same variant and the same resolved parameters; the seed only counts if the client chose it.
    differs = [k for k, v in params.items()
               if job.params.get(k) != v and (k != "seed" or requested.get("seed") is not None)]
    if job.variant != variant or differs:
        raise IdempotencyConflict(job)
    return job


def queued_work(*, session: Session, owner: str | None) -> tuple[int, int]:
    """(jobs, their steps x samples) queued or running for `owner`, or for every owner with None."""
    work = Job.progress_steps * Job.params["samples"].as_integer()
    query = select(func.count(), func.coalesce(func.sum(work), 0)).where(Job.status.in_(ACTIVE))
    if owner is not None:
        query = query.where(Job.owner == owner)
    count, total = session.execute(query).one()
    return int(count), int(total)


def get(*, session: Session, job_id: str) -> Job | None:
    """The job with this id, or None."""
    return session.get(Job, job_id)


def cancel(*, session: Session, job_id: str) -> tuple[Job | None, bool]:
    """Cancel a queued or running job; returns (job, changed). A running job stops at its next
    history point, when its worker finds it no longer holds the claim."""
    changed = cast("CursorResult[Any]", session.execute(
        update(Job).where(Job.id == job_id, Job.status.in_(ACTIVE))
        .values(status=JobStatus.CANCELLED.value, finished_at=now())
    )).rowcount
    if changed:
        deliveries.on_end(session, [job_id])
    session.commit()
    return session.get(Job, job_id, populate_existing=True), bool(changed)


def requeue_running(*, session: Session) -> int:
    """Put every running job back in the queue: for a restart that knows no worker is alive."""
    count = cast("CursorResult[Any]", session.execute(
        update(Job).where(Job.status == JobStatus.RUNNING.value)
        .values(status=JobStatus.QUEUED.value, worker=None, worker_pid=None, heartbeat_at=None,
                enqueued_at=now())
    )).rowcount
    session.commit()
    return count


def stale_running(*, session: Session, before: datetime, limit: int = 500) -> list[Job]:
    """Running jobs whose last heartbeat is older than `before`, oldest first: their worker is gone."""
    return list(session.scalars(
        select(Job).where(Job.status == JobStatus.RUNNING.value, Job.heartbeat_at < before)
        .order_by(Job.heartbeat_at).limit(limit)))


def waiting_since(*, session: Session, before: datetime, limit: int = 5000) -> list[Job]:
    """Queued jobs last sent before `before`, oldest first: candidates for a missing message."""
    return list(session.scalars(
        select(Job).where(Job.status == JobStatus.QUEUED.value, Job.enqueued_at < before)
        .order_by(Job.id).limit(limit)))


def resent(*, session: Session, job_id: str, attempt: int) -> bool:
    """Mark a queued job as sent again now; False if it is not queued at that attempt any more."""
    held = cast("CursorResult[Any]", session.execute(
        update(Job).where(Job.id == job_id, Job.status == JobStatus.QUEUED.value, Job.attempts == attempt)
        .values(enqueued_at=now())
    )).rowcount
    session.commit()
    return bool(held)


def give_back(*, session: Session, job_id: str, attempt: int, ran: bool = True) -> bool:
    """Running at `attempt` -> queued, for another attempt; False if that attempt no longer holds it.
    `ran=False`: the claim is undone before the job ran (a message's job that cannot share the pass it
    was claimed for), so its attempt is not counted against MAX_ATTEMPTS."""
    values: dict[str, Any] = {"status": JobStatus.QUEUED.value, "worker": None, "worker_pid": None,
                              "heartbeat_at": None, "progress_step": 0, "enqueued_at": now()}
    if not ran:
        values["attempts"] = Job.attempts - 1
    held = cast("CursorResult[Any]", session.execute(
        update(Job).where(*_held(job_id, attempt)).values(**values))).rowcount
    session.commit()
    return bool(held)


def lost_message(attempts: int, worker: str | None) -> str:
    """The error of a job whose worker was lost on every attempt it was given."""
    return (f"the worker running it was lost on each of {attempts} attempts (last {worker}: killed, "
            "out of memory or cut off); not retried again")


def abandon(*, session: Session, job_id: str, attempt: int, message: str) -> bool:
    """Running at `attempt` -> failed with `message` (its worker was lost too often); False if lost."""
    held = cast("CursorResult[Any]", session.execute(
        update(Job).where(*_held(job_id, attempt))
        .values(status=JobStatus.FAILED.value, finished_at=now(),
                error={"type": "worker_lost", "message": message})
    )).rowcount
    if held:
        deliveries.on_end(session, [job_id])
    session.commit()
    return bool(held)


def queued(*, session: Session) -> list[Job]:
    """Every queued job, oldest first."""
    return list(session.scalars(select(Job).where(Job.status == JobStatus.QUEUED.value)
                                .order_by(Job.id)))


def claim(*, session: Session, job_id: str, worker: str, pid: int | None = None,
          takeover: int | None = None) -> Job | None:
    """Compare-and-set queued -> running in one statement; the claimed job (attempts counted), or
    None if it is not queued any more (a duplicate delivery, a cancelled or finished job). With
    `takeover` (an attempt number) it instead takes a job still running at that attempt, whose
    process died."""
    where: tuple[ColumnElement[bool], ...]
    if takeover is None:
        where = (Job.id == job_id, Job.status == JobStatus.QUEUED.value)
    else:
        where = _held(job_id, takeover)
    claimed = _claim_where(session, where, worker, pid)
    return claimed[0] if claimed else None


def claim_siblings(*, session: Session, first: Job, same: Callable[[Job], bool], limit: int, worker: str,
                   pid: int | None = None) -> list[Job]:
    """Claim up to `limit` more queued jobs of first's variant that same(job) accepts, oldest first:
    a batch to run in one pass. Each is a compare-and-set, so no job lands in two batches."""
    if limit <= 0:
        return []
    candidates = session.scalars(
        select(Job).where(Job.status == JobStatus.QUEUED.value, Job.variant == first.variant,
                          Job.id != first.id)
        .order_by(Job.id).limit(4 * limit)).all()
    chosen = [job.id for job in candidates if same(job)][:limit]
    session.expunge_all()  # the claim below returns fresh rows
    if not chosen:
        return []
    return _claim_where(session, (Job.id.in_(chosen), Job.status == JobStatus.QUEUED.value), worker, pid)


def claim_named(*, session: Session, ids: Collection[str], worker: str, pid: int | None = None) -> list[Job]:
    """Claim those of the jobs `ids` that are still queued, in one compare-and-set; in id order."""
    if not ids:
        return []
    return sorted(_claim_where(session, (Job.id.in_(list(ids)), Job.status == JobStatus.QUEUED.value),
                               worker, pid), key=lambda job: job.id)


def _claim_where(session: Session, where: Iterable[ColumnElement[bool]], worker: str, pid: int | None) -> list[Job]:
    stamp = now()
    claimed = list(session.scalars(
        update(Job).where(*where)
        .values(status=JobStatus.RUNNING.value, attempts=Job.attempts + 1, started_at=stamp,
                heartbeat_at=stamp, worker=worker, worker_pid=pid, progress_step=0)
        .returning(Job), execution_options={"populate_existing": True}))
    session.commit()
    return claimed


def _held(job_id: str, attempt: int) -> tuple[ColumnElement[bool], ColumnElement[bool], ColumnElement[bool]]:
    # The claim: still running, and by the attempt that claimed it.
    return (Job.id == job_id, Job.status == JobStatus.RUNNING.value, Job.attempts == attempt)


def beat(*, session: Session, claims: Mapping[str, int], step: int | None = None,
         device: str | None = None) -> set[str]:
    """Record a heartbeat (and progress, given a step) for running jobs {id: attempt}; returns the
    ids whose claim still holds (a cancelled or taken-over job is missing from it)."""
    values: dict[str, Any] = {"heartbeat_at": now()}
    if step is not None:
        values["progress_step"] = step
    if device is not None:
        values["device"] = device
    held = session.scalars(
        update(Job).where(Job.status == JobStatus.RUNNING.value,
                          tuple_(Job.id, Job.attempts).in_(list(claims.items())))
        .values(**values).returning(Job.id)).all()
    session.commit()
    return set(held)


def finish(*, session: Session, job_id: str, attempt: int, status: str, result: dict | None = None,
           error: dict | None = None, device: str | None = None, step: int | None = None) -> bool:
    """Write the outcome if this attempt still holds the claim; returns whether it did."""
    outcome = Outcome(job_id, attempt, status, result, error, device, step)
    return bool(finish_many(session=session, outcomes=[outcome]))


def finish_many(*, session: Session, outcomes: Iterable[Outcome], per_job: bool = False) -> set[str]:
    """Write each outcome whose attempt still holds its claim, in one transaction; returns their ids.
    On PostgreSQL that is one statement for the whole batch (unless `per_job`, kept to compare the
    two); SQLite writes them one by one."""
    stamp = now()
    if session.get_bind().dialect.name == "postgresql" and not per_job:
        written = outcomes_table.write_all(session, list(outcomes), stamp)
        deliveries.on_end(session, written)
        session.commit()
        return written
    written = set()
    for o in outcomes:
        status = JobStatus(o.status)
        values: dict[str, Any] = {"status": status.value, "finished_at": stamp, "result": o.result, "error": o.error}
        if status is JobStatus.SUCCEEDED:
            values["progress_step"] = Job.progress_steps
        elif o.step is not None:
            values["progress_step"] = o.step
        if o.device is not None:
            values["device"] = o.device
        if o.result is not None:
            for name in COPIED:
                values[name] = o.result.get(name)
        if cast("CursorResult[Any]", session.execute(update(Job).where(*_held(o.job_id, o.attempt))
                                                     .values(**values))).rowcount:
            written.add(o.job_id)
    deliveries.on_end(session, written)
    session.commit()
    return written
