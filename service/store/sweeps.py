"""Data-access functions for sweeps: a grid of jobs made in one transaction, and its summary."""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, text

from service.store import jobs
from service.store.models import LEGACY_OWNER, Job, JobStatus, Sweep

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


# A sweep's jobs on PostgreSQL: one statement, the rows as one JSON parameter (as outcomes are written).
# The ORM's bulk insert sends one INSERT per row (pipelined): 77 ms for 1,000 rows against 48 ms this
# way, 835 against 613 ms for 10,000, and the sweep's first message waits for it (docs/benchmarks.md).
# Each column new_row sets that differs row by row, with its type in the JSON rows; params travel as JSON
# text and are cast, so the stored text is what the ORM writes (json.dumps). The time stamps are the
# sweep's own, one parameter.
ROW_TYPES = {"id": "text", "variant": "text", "status": "text", "params": "text", "progress_step": "integer",
             "progress_steps": "integer", "attempts": "integer", "timeout_s": "integer", "sweep_id": "text",
             "owner": "text"}
STAMPED = ("created_at", "enqueued_at")
INSERT_ALL = text(f"""
INSERT INTO jobs ({", ".join([*ROW_TYPES, *STAMPED])})
SELECT {", ".join("CAST(v.params AS json)" if name == "params" else f"v.{name}" for name in ROW_TYPES)},
       {", ".join(":stamp" for _ in STAMPED)}
FROM json_to_recordset(CAST(:rows AS json)) AS v({", ".join(f"{name} {kind}" for name, kind in ROW_TYPES.items())})
""")


def create(*, session: Session, variant: str, params: dict[str, Any], grid: dict[str, list[Any]],
           points: Sequence[dict[str, Any]], timeout_s: int | None,
           owner: str = LEGACY_OWNER, callback_url: str | None = None, orm: bool = False) -> tuple[Sweep, list[Point]]:
    """Commit a sweep of `owner` and one queued job per point (resolved params, in grid order); returns
    (sweep, jobs). On PostgreSQL the jobs go in one statement (unless `orm`, kept to compare the two)."""
    stamp = jobs.now()
    sweep = Sweep(id=jobs.new_id(), variant=variant, params=params, grid=grid, size=len(points),
                  created_at=stamp, owner=owner, callback_url=callback_url, strategy="grid", asked=0)
    rows = [jobs.new_row(variant, point, timeout_s, stamp, sweep_id=sweep.id, owner=owner) for point in points]
    session.add(sweep)
    if rows and session.get_bind().dialect.name == "postgresql" and not orm:
        # A column new_row sets that the statement does not name would be dropped without a word.
        assert set(rows[0]) == {*ROW_TYPES, *STAMPED}, sorted(rows[0])
        session.flush()  # the sweep's row first, as the ORM orders them
        session.execute(INSERT_ALL, {"stamp": stamp, "rows": json.dumps(
            [{name: json.dumps(row[name]) if name == "params" else row[name] for name in ROW_TYPES}
             for row in rows])})
    elif rows:
        # SQLite: a bulk insert of plain rows (on PostgreSQL, half the time of as many ORM objects).
        session.execute(insert(Job), rows)
    session.commit()
    return sweep, [Point(row["id"], variant, row["params"], timeout_s) for row in rows]


@dataclass(frozen=True)
class Point:
    """A sweep's job as inserted: what its messages are made of (service.queue.enqueue_batches)."""

    id: str
    variant: str
    params: dict[str, Any]
    timeout_s: int | None


def create_search(*, session: Session, variant: str, params: dict[str, Any], strategy: str,
                  search: dict[str, Any], timeout_s: int | None, owner: str = LEGACY_OWNER,
                  callback_url: str | None = None) -> Sweep:
    """Commit a random or tpe sweep of `owner` with no trial yet: the sweeper asks for them."""
    search = {**search, "timeout_s": timeout_s}
    sweep = Sweep(id=jobs.new_id(), variant=variant, params=params, grid={}, size=search["trials"],
                  created_at=jobs.now(), owner=owner, strategy=strategy, search=search, asked=0,
                  callback_url=callback_url)
    session.add(sweep)
    session.commit()
    return sweep


def get(*, session: Session, sweep_id: str) -> Sweep | None:
    """The sweep with this id, or None."""
    return session.get(Sweep, sweep_id)


def counts(*, session: Session, sweep_id: str) -> dict[str, int]:
    """How many of the sweep's jobs are in each status (every status listed)."""
    rows = session.execute(select(Job.status, func.count()).where(Job.sweep_id == sweep_id)
                           .group_by(Job.status)).all()
    return {**{s.value: 0 for s in JobStatus}, **dict(rows)}


def best(*, session: Session, sweep_id: str, by_excess: bool = False) -> Job | None:
    """The succeeded job with the lowest final loss (`by_excess`: relative excess loss, as a search ranks
    its trials, whose points differ), or None."""
    column = Job.relative_excess_loss if by_excess else Job.final_loss
    return session.scalars(select(Job).where(Job.sweep_id == sweep_id,
                                             Job.status == JobStatus.SUCCEEDED.value,
                                             column.is_not(None))
                           .order_by(column, Job.id).limit(1)).first()


def best_of(*, session: Session, sweep: Sweep) -> Job | None:
    """The sweep's best job as every view of it shows it: a search's by relative excess loss, a grid's by
    final loss."""
    return best(session=session, sweep_id=sweep.id, by_excess=sweep.strategy != "grid")


def outcomes(*, session: Session, sweep_id: str) -> list[tuple[str, float | None]]:
    """(status, relative excess loss) of each of the sweep's finished jobs, in the order they finished: what
    its best-so-far plot draws, without reading any job's result."""
    done = [s.value for s in JobStatus if s.finished]
    return [(status, excess) for status, excess in session.execute(
        select(Job.status, Job.relative_excess_loss).where(Job.sweep_id == sweep_id, Job.status.in_(done))
        .order_by(Job.finished_at, Job.id))]


FINISHED_PAGE = 500


def finished(*, session: Session, sweep_id: str, offset: int = 0, limit: int = FINISHED_PAGE) -> list[Job]:
    """The sweep's finished jobs in the order they finished, skipping the first `offset`."""
    done = [s.value for s in JobStatus if s.finished]
    return list(session.scalars(select(Job).where(Job.sweep_id == sweep_id, Job.status.in_(done))
                                .order_by(Job.finished_at, Job.id).offset(offset).limit(limit)))
