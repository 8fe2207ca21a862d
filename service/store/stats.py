"""Data-access functions for /metrics: aggregates of the jobs table, two passes over it per scrape."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from itertools import accumulate
from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy import case, func, select

from service.store.models import Job, JobStatus

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Row, SQLColumnExpression
    from sqlalchemy.orm import Session

FINISHED = tuple(s.value for s in JobStatus if s.finished)
# (jobs at or below each bound, cumulative, or per bucket before _cumulative; count; sum of seconds)
Histogram: TypeAlias = tuple[list[int], int, float]


def jobs_and_durations(*, session: Session, bounds: Sequence[float]
                       ) -> tuple[dict[tuple[str, str], int], dict[str, Histogram]]:
    """One pass: ({(variant, status): jobs}, {variant: histogram of its finished jobs' duration_s}).
    A histogram is (jobs at or below each bound, cumulative; count; sum)."""
    counts: dict[tuple[str, str], int]
    durations: dict[str, Histogram]
    counts, durations = {}, {}
    rows = _bucketed(session, Job.duration_s, bounds, Job.variant, Job.status)
    for variant, status, index, n, total in rows:
        counts[variant, status] = counts.get((variant, status), 0) + n
        if index is not None and status in FINISHED:  # finished jobs never change: buckets only grow
            _add(durations, variant, len(bounds), index, n, total)
    return counts, _cumulative(durations)


def queue_waits(*, session: Session, bounds: Sequence[float]) -> dict[str, Histogram]:
    """{device: histogram of the seconds from submission to the start of the run that finished the
    job}, by the device it ran on: plain columns (the queue, read out of params JSON, cost more than
    the whole pass)."""
    wait: ColumnElement[Any]
    cuts: Sequence[float | timedelta] = bounds  # the bounds as the database compares them
    if session.get_bind().dialect.name == "sqlite":
        wait = (func.julianday(Job.started_at) - func.julianday(Job.created_at)) * 86400.0
    else:  # interval arithmetic: several times cheaper than EXTRACT(EPOCH ...) on every row
        wait, cuts = Job.started_at - Job.created_at, [timedelta(seconds=b) for b in bounds]
    waits: dict[str, Histogram] = {}
    for device, index, n, total in _bucketed(session, wait, cuts, Job.device,
                                             where=(Job.status.in_(FINISHED), Job.started_at.is_not(None))):
        _add(waits, device or "unknown", len(cuts), index, n, total)
    return _cumulative(waits)


def _bucketed(session: Session, value: SQLColumnExpression[Any], bounds: Sequence[float | timedelta],
              *labels: SQLColumnExpression[Any], where: Iterable[SQLColumnExpression[bool]] = ()
              ) -> Sequence[Row[*tuple[Any, ...]]]:
    # Rows (labels..., index of the first bound at or above value or None, jobs, sum of value): each
    # row's value is compared until its bucket is found, not once per bound.
    bucket = case((value.is_(None), None), *((value <= bound, i) for i, bound in enumerate(bounds)),
                  else_=len(bounds))
    return session.execute(select(*labels, bucket, func.count(), func.sum(value)).where(*where)
                           .group_by(*labels, bucket)).all()


def _add(found: dict[str, Histogram], label: str, size: int, index: int, n: int,
         total: float | timedelta | None) -> None:
    per_bucket, count, seconds = found.get(label, ([0] * (size + 1), 0, 0.0))
    per_bucket[index] += n
    seconds += total.total_seconds() if isinstance(total, timedelta) else float(total or 0.0)
    found[label] = (per_bucket, count + n, seconds)


def _cumulative(found: dict[str, Histogram]) -> dict[str, Histogram]:
    # The last bucket holds what lies above every bound: it is only in the count (le="+Inf").
    return {label: (list(accumulate(per_bucket))[:-1], count, seconds)
            for label, (per_bucket, count, seconds) in found.items()}
