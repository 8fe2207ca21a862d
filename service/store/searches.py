"""Data-access functions for adaptive (random, tpe) sweeps: which searches are open, the lease of the one
process driving each, its trials, and the compare-and-sets that record a batch asked or a search ended."""
from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import or_, select, update

from service.store import deliveries, jobs
from service.store.models import Job, JobStatus, Sweep

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult
    from sqlalchemy.orm import Session


def open_ids(*, session: Session, limit: int = 100) -> list[str]:
    """Ids of the random and tpe sweeps still asking for trials, oldest first."""
    return list(session.scalars(select(Sweep.id).where(Sweep.strategy != "grid", Sweep.search_ended.is_(None))
                                .order_by(Sweep.id).limit(limit)))


def lease(*, session: Session, sweep_id: str, holder: str, seconds: float) -> Sweep | None:
    """Take (or renew) the lease on driving this search for `seconds`; the sweep, or None when another
    process holds an unexpired lease. A compare-and-set: two processes never both get it."""
    stamp = jobs.now()
    taken = cast("CursorResult[Any]", session.execute(
        update(Sweep).where(Sweep.id == sweep_id, Sweep.search_ended.is_(None),
                            or_(Sweep.lease_holder.is_(None), Sweep.lease_holder == holder,
                                Sweep.lease_until < stamp))
        .values(lease_holder=holder, lease_until=stamp + timedelta(seconds=seconds)))).rowcount
    session.commit()
    return session.get(Sweep, sweep_id, populate_existing=True) if taken else None


def trials(*, session: Session, sweep_id: str) -> list[Job]:
    """The sweep's jobs in the order they were asked."""
    return list(session.scalars(select(Job).where(Job.sweep_id == sweep_id).order_by(Job.id)))


def add_trials(*, session: Session, sweep: Sweep, holder: str, made: list[Job]) -> bool:
    """Commit a batch of trials and the sweep's new asked count, if this process still holds the lease and
    nobody asked meanwhile (compare-and-set on asked); False, and nothing written, otherwise."""
    changed = cast("CursorResult[Any]", session.execute(
        update(Sweep).where(Sweep.id == sweep.id, Sweep.asked == sweep.asked, Sweep.lease_holder == holder,
                            Sweep.search_ended.is_(None))
        .values(asked=sweep.asked + len(made)))).rowcount
    if not changed:
        session.rollback()
        return False
    session.add_all(made)
    session.commit()
    return True


def end(*, session: Session, sweep_id: str, reason: str) -> int:
    """End the search ("trials": all asked; "target": stop_at_excess reached): cancel its still-queued
    trials, and its size becomes what was asked. Returns the number cancelled."""
    cancelled = cast("CursorResult[Any]", session.execute(
        update(Job).where(Job.sweep_id == sweep_id, Job.status == JobStatus.QUEUED.value)
        .values(status=JobStatus.CANCELLED.value, finished_at=jobs.now()))).rowcount
    session.execute(update(Sweep).where(Sweep.id == sweep_id, Sweep.search_ended.is_(None))
                    .values(search_ended=reason, size=Sweep.asked, lease_holder=None, lease_until=None))
    # With no trial left running the search ends here, not at a trial's end: announce it in this commit.
    deliveries.on_sweep_end(session, [sweep_id])
    session.commit()
    return cancelled


def pruning(*, session: Session, sweep_ids: list[str]) -> dict[str, tuple[dict, list[Job]]]:
    """For each of these sweeps that has a pruner: (its pruner, its finished trials that reported at rungs:
    succeeded, pruned or diverged), for the worker that runs its trials to decide at each rung."""
    found = {}
    for sweep in session.scalars(select(Sweep).where(Sweep.id.in_(sweep_ids))):
        pruner = (sweep.search or {}).get("pruner")
        if pruner:
            done = list(session.scalars(select(Job).where(
                Job.sweep_id == sweep.id, Job.status.in_((JobStatus.SUCCEEDED.value, JobStatus.PRUNED.value,
                                                          JobStatus.DIVERGED.value))).order_by(Job.id)))
            found[sweep.id] = (pruner, done)
    return found
