"""Data-access functions for webhooks: a delivery is written with the end it announces, then claimed,
attempted and settled by the deliverer."""
from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from service.clock import now
from service.store.models import DeliveryState, Job, JobStatus, Sweep, WebhookAttempt, WebhookDelivery

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
EXCERPT = 200  # characters of an answer's body kept, and of an error


def on_end(session: Session, job_ids: Collection[str]) -> None:
    """Add (not commit) a delivery for each of these just-ended jobs that has a callback_url, and for each
    of their sweeps that has one and now has no job left to run: the caller's commit makes the end and
    its webhook one write, so neither is ever without the other."""
    if not job_ids:
        return
    stamp = now()
    ended = session.execute(select(Job.id, Job.callback_url, Job.sweep_id).where(
        Job.id.in_(list(job_ids)), (Job.callback_url.is_not(None)) | (Job.sweep_id.is_not(None)))).all()
    for job_id, url, _ in ended:
        if url:
            session.add(_delivery(stamp, url, job_id=job_id))
    sweep_ids = sorted({sweep_id for _, _, sweep_id in ended if sweep_id})
    if sweep_ids:
        on_sweep_end(session, sweep_ids)


def on_sweep_end(session: Session, sweep_ids: Collection[str]) -> None:
    """Add (not commit) a delivery for each of these sweeps that has a callback_url and has ended: no job
    left to run and, for a search, no more trials to ask. Called by whatever may have ended it: a job's
    end, or a search's (service/store/searches.py)."""
    # Locked in id order: two transactions ending a sweep's last two jobs (or a search's end and its last
    # trial's) take turns here, and the second, reading after the first committed, is the one that sees
    # the sweep ended, so the end is announced once. The lock comes before any condition on the row:
    # a row filtered by its search_ended in the WHERE would not wait for the search's end to commit.
    stamp = now()
    hooked = session.execute(select(Sweep.id, Sweep.callback_url, Sweep.strategy, Sweep.search_ended).where(
        Sweep.id.in_(sorted(sweep_ids)), Sweep.callback_url.is_not(None)).order_by(Sweep.id)
        .with_for_update()).all()
    for sweep_id, url, strategy, search_ended in hooked:
        assert url is not None  # selected for having one
        if strategy != "grid" and search_ended is None:
            continue  # a search still asking: its next batch is to come
        left = session.scalar(select(func.count()).where(Job.sweep_id == sweep_id, Job.status.in_(ACTIVE)))
        done = session.scalar(select(func.count()).where(WebhookDelivery.sweep_id == sweep_id))
        if not left and not done:
            session.add(_delivery(stamp, url, sweep_id=sweep_id))


def _delivery(stamp: datetime, url: str, **subject: str) -> WebhookDelivery:
    return WebhookDelivery(url=url, state=DeliveryState.PENDING.value, attempts=0, created_at=stamp,
                           next_attempt_at=stamp, **subject)


def claim_due(*, session: Session, lease_s: float, limit: int = 10) -> list[WebhookDelivery]:
    """Claim up to `limit` due pending deliveries for `lease_s` seconds: their next attempt moves past the
    lease with a compare-and-set, so two deliverers never send one at once; a deliverer that dies holding
    one leaves it due again when the lease ends."""
    stamp = now()
    due = session.scalars(
        select(WebhookDelivery.id).where(WebhookDelivery.state == DeliveryState.PENDING.value,
                                         WebhookDelivery.next_attempt_at <= stamp)
        .order_by(WebhookDelivery.next_attempt_at).limit(limit).with_for_update(skip_locked=True)).all()
    if not due:
        session.rollback()
        return []
    claimed = list(session.scalars(
        update(WebhookDelivery).where(WebhookDelivery.id.in_(due),
                                      WebhookDelivery.state == DeliveryState.PENDING.value,
                                      WebhookDelivery.next_attempt_at <= stamp)
        .values(next_attempt_at=stamp + timedelta(seconds=lease_s)).returning(WebhookDelivery),
        execution_options={"populate_existing": True}))
    session.commit()
    return claimed


def keep_payload(*, session: Session, delivery_id: int, payload: dict[str, Any]) -> None:
    """Store the document the first attempt sends, so that every retry sends the same."""
    session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(payload=payload))
    session.commit()


def record(*, session: Session, delivery_id: int, status_code: int | None, error: str | None, excerpt: str | None,
           retry_at: datetime | None) -> None:
    """Record one attempt: delivered on a 2xx, else due again at `retry_at`, or failed for good without one."""
    stamp = now()
    session.add(WebhookAttempt(delivery_id=delivery_id, at=stamp, status_code=status_code,
                               error=_cut(error), excerpt=_cut(excerpt)))
    ok = status_code is not None and 200 <= status_code < 300
    state = DeliveryState.DELIVERED if ok else DeliveryState.PENDING if retry_at else DeliveryState.FAILED
    session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(
        state=state.value, attempts=WebhookDelivery.attempts + 1, next_attempt_at=retry_at or stamp))
    session.commit()


def _cut(text: str | None) -> str | None:
    return None if text is None else text[:EXCERPT]


def of(*, session: Session, job_id: str | None = None, sweep_id: str | None = None
       ) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """The deliveries of a job or a sweep, each with its attempts in order."""
    where = WebhookDelivery.job_id == job_id if job_id is not None else WebhookDelivery.sweep_id == sweep_id
    # One statement, so one snapshot: read in two, a delivery could show as pending beside the attempt
    # that delivered it (committed between the two reads, as PostgreSQL's READ COMMITTED allows).
    rows = session.execute(select(WebhookDelivery, WebhookAttempt).where(where)
                           .outerjoin(WebhookAttempt, WebhookAttempt.delivery_id == WebhookDelivery.id)
                           .order_by(WebhookDelivery.id, WebhookAttempt.id)).all()
    found: list[WebhookDelivery] = []
    attempts: dict[int, list[WebhookAttempt]] = {}
    for delivery, attempt in rows:
        if delivery.id not in attempts:
            found.append(delivery)
            attempts[delivery.id] = []
        if attempt is not None:
            attempts[delivery.id].append(attempt)
    return [(d, attempts[d.id]) for d in found]


def by_state(*, session: Session) -> dict[str, int]:
    """How many deliveries are in each state (every state listed)."""
    rows = session.execute(select(WebhookDelivery.state, func.count()).group_by(WebhookDelivery.state)).all()
    return {**{s.value: 0 for s in DeliveryState}, **{state: int(n) for state, n in rows}}

