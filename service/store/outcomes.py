"""A batch's outcomes written to PostgreSQL in one statement, each under its own claim."""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import text

from service.store.models import JobStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Outcome:
    """What one attempt of a job came to, ready to be written."""

    job_id: str
    attempt: int
    status: str
    result: dict | None = None
    error: dict | None = None
    device: str | None = None
    step: int | None = None  # how far it got, when it did not succeed


# Result fields copied into columns of their own, so listing sorts and filters by them from an index.
COPIED = ("final_loss", "duration_s", "excess_loss", "relative_excess_loss")

# One row of `rows` per outcome; the WHERE is finish's compare-and-set, per job: a job cancelled or
# taken over meanwhile (not running, or at another attempt) matches no row and is left alone. Each
# column is set as the per-job UPDATE sets it: progress to the end on success, else to the step reached
# if known; device, and the COPIED columns, only when the outcome has them. result and error travel
# as JSON text and are cast here, so None is stored as JSON null, as the ORM's JSON type stores it.
UPDATE_ALL = text(f"""
UPDATE jobs AS j SET
    status = v.status,
    finished_at = :stamp,
    result = CAST(v.result AS json),
    error = CAST(v.error AS json),
    progress_step = CASE WHEN v.status = :succeeded THEN j.progress_steps
                         ELSE COALESCE(v.step, j.progress_step) END,
    device = COALESCE(v.device, j.device),
    {", ".join(f"{name} = CASE WHEN v.has_result THEN v.{name} ELSE j.{name} END" for name in COPIED)}
FROM json_to_recordset(CAST(:rows AS json)) AS v(
    id text, attempt integer, status text, result text, error text, step integer, device text,
    has_result boolean, {", ".join(f"{name} double precision" for name in COPIED)})
WHERE j.id = v.id AND j.status = :running AND j.attempts = v.attempt
RETURNING j.id
""")


def write_all(session: Session, outcomes: Sequence[Outcome], stamp: datetime) -> set[str]:
    """Write every outcome whose attempt still holds its claim in one UPDATE (not committed); their ids."""
    rows, seen = [], set()
    for o in outcomes:
        if o.job_id in seen:
            continue  # the per-job path writes a job's first outcome; its second finds it finished
        seen.add(o.job_id)
        result = o.result or {}
        # json.dumps is what SQLAlchemy's JSON type serialises with (no json_serializer is set).
        rows.append({"id": o.job_id, "attempt": o.attempt, "status": JobStatus(o.status).value,
                     "result": json.dumps(o.result), "error": json.dumps(o.error), "step": o.step,
                     "device": o.device, "has_result": o.result is not None,
                     **{name: result.get(name) for name in COPIED}})
    if not rows:
        return set()
    return set(session.scalars(UPDATE_ALL, {"rows": json.dumps(rows), "stamp": stamp,
                                            "succeeded": JobStatus.SUCCEEDED.value,
                                            "running": JobStatus.RUNNING.value}))
