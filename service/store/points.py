"""Data-access functions for progress points: written in batches by heartbeats, read by streams."""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from service.store.models import ProgressPoint

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def add(*, session: Session, rows: Iterable[tuple[str, int, float | None]]) -> int:
    """Insert (job id, step, loss) points in one statement and commit; a point already there is kept
    (a retried attempt reaches the same steps with the same seed). Returns how many were given."""
    values = [{"job_id": job_id, "step": step, "loss": finite(loss)} for job_id, step, loss in rows]
    if not values:
        return 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(ProgressPoint).values(values).on_conflict_do_nothing())
    session.commit()
    return len(values)


def after(*, session: Session, job_id: str, step: int) -> list[tuple[int, float | None]]:
    """The job's points after `step`, in step order, as (step, loss)."""
    return [(row.step, row.loss) for row in session.execute(
        select(ProgressPoint.step, ProgressPoint.loss)
        .where(ProgressPoint.job_id == job_id, ProgressPoint.step > step).order_by(ProgressPoint.step))]


def finite(loss: float | None) -> float | None:
    """The loss, or None where it is NaN or infinite (as a result's history shows it)."""
    return loss if loss is not None and math.isfinite(loss) else None
