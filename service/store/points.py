"""Data-access functions for progress points: written in batches by heartbeats, read by streams."""
from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import func, select, text
from sqlalchemy.dialects import sqlite

from service.store.models import ProgressPoint

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


# A heartbeat of a batch of 64 brings about a thousand points. Rendered as a multi-row VALUES, SQLAlchemy
# compiled a statement of 3,000 parameters at every beat: 60 ms of the worker's CPU, holding the GIL the
# training loop needs (bench.service's sweeps: module's passes ran 1.4x slower in the worker than alone).
# As one JSON parameter the statement is compiled once and the client's part is json.dumps: about 2 ms.
INSERT_ALL = text("""
INSERT INTO progress_points (job_id, step, loss)
SELECT v.job_id, v.step, v.loss
FROM json_to_recordset(CAST(:rows AS json)) AS v(job_id text, step integer, loss double precision)
ON CONFLICT DO NOTHING
""")


def add(*, session: Session, rows: Iterable[tuple[str, int, float | None]]) -> int:
    """Insert (job id, step, loss) points in one statement and commit; a point already there is kept
    (a retried attempt reaches the same steps with the same seed). Returns how many were given."""
    values = [{"job_id": job_id, "step": step, "loss": finite(loss)} for job_id, step, loss in rows]
    if not values:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        session.execute(INSERT_ALL, {"rows": json.dumps(values)})
    else:  # SQLite: one cached statement, executed for each row
        session.execute(sqlite.insert(ProgressPoint).on_conflict_do_nothing(), values)
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


def newest(*, session: Session, job_ids: Iterable[str]) -> dict[str, tuple[int, float | None]]:
    """{job id: (step, loss)} of each job's last point, for those of `job_ids` that have one."""
    ids = list(job_ids)
    if not ids:
        return {}
    last = (select(ProgressPoint.job_id, func.max(ProgressPoint.step).label("step"))
            .where(ProgressPoint.job_id.in_(ids)).group_by(ProgressPoint.job_id).subquery())
    rows = session.execute(select(ProgressPoint.job_id, ProgressPoint.step, ProgressPoint.loss).join(
        last, (ProgressPoint.job_id == last.c.job_id) & (ProgressPoint.step == last.c.step)))
    return {row.job_id: (row.step, row.loss) for row in rows}
