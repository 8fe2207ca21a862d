"""Listing jobs: filters, and keyset pages in each whitelisted order, every order backed by an index."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import cast, literal, select, tuple_
from sqlalchemy.dialects.postgresql import JSONB

from service.store.models import Job

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Select, SQLColumnExpression, UnaryExpression
    from sqlalchemy.orm import Session

# Sort key -> column; each has an index on (column, id) that serves its pages in either direction.
COLUMNS = {"created_at": Job.created_at, "final_loss": Job.final_loss, "duration_s": Job.duration_s,
           "excess_loss": Job.excess_loss, "relative_excess_loss": Job.relative_excess_loss}
# Unset until a job has a result (and the excesses on results written before migration 0008).
NULLABLE = frozenset({"final_loss", "duration_s", "excess_loss", "relative_excess_loss"})


@dataclass(frozen=True)
class Filters:
    """What a listing keeps: each field that is set must match."""

    variant: str | None = None
    statuses: tuple = ()
    sweep: str | None = None
    created_after: datetime | None = None  # at or after
    created_before: datetime | None = None  # strictly before
    params: dict = field(default_factory=dict)  # name -> value, exact match on the resolved params
    owner: str | None = None  # only this owner's jobs (a token without admin); None: every owner's
    max_excess_loss: float | None = None  # at most; a job without one never matches
    max_relative_excess_loss: float | None = None  # at most; a job without one never matches


def page(*, session: Session, filters: Filters, order: str, limit: int, after: tuple[Any, str] | None = None
         ) -> tuple[list[Job], tuple[Any, str] | None]:
    """Up to `limit` jobs in `order` ('final_loss', '-final_loss', ...) past the position `after`,
    and the position to continue from (None at the end). A position is (value, id) of the last job
    shown. Jobs without a value come after every job with one, in either direction, by id."""
    key, descending = order.lstrip("-"), order.startswith("-")
    if key in NULLABLE and len(filters.statuses) > 1:
        return _merged(session, filters, order, limit, after)
    base = _filtered(select(Job), filters, session.get_bind().dialect.name)
    column, want = COLUMNS[key], limit + 1
    in_nulls = after is not None and after[0] is None and key in NULLABLE
    rows: list[Job] = []
    # Two index range scans rather than one sort with NULLS LAST, which no index serves both ways:
    # first the jobs with a value, then (once those run out) the jobs without one.
    if not in_nulls:
        query = base.where(column.is_not(None)) if key in NULLABLE else base
        if after is not None:
            right: Any = after  # (value, id), or a row of a subquery and a literal
            if after[0] is None:  # a created_at cursor from before 0005 holds the id alone
                right = tuple_(select(Job.created_at).where(Job.id == after[1]).scalar_subquery(),
                               literal(after[1], Job.id.type))
            query = query.where(_past(tuple_(column, Job.id), right, descending))
        rows = list(session.scalars(query.order_by(*_ordered((column, Job.id), descending)).limit(want)))
    if key in NULLABLE and len(rows) < want:
        query = base.where(column.is_(None))
        if in_nulls and after is not None:  # in_nulls implies a cursor: said again for mypy
            query = query.where(_past(Job.id, after[1], descending))
        # Ordered by (column, id) though the column is null throughout: the planner then reads the
        # same (x, column, id) index in order instead of walking the primary key and filtering.
        rows += session.scalars(query.order_by(*_ordered((column, Job.id), descending))
                                .limit(want - len(rows)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ((getattr(rows[-1], key), rows[-1].id) if more else None)


def _merged(session: Session, filters: Filters, order: str, limit: int, after: tuple[Any, str] | None
            ) -> tuple[list[Job], tuple[Any, str] | None]:
    # One status at a time, each read in order from its (status, value, id) index, then merged. As
    # one query, statuses whose jobs have no value (failed,cancelled by loss) would make PostgreSQL
    # walk the whole value index looking for them, the planner taking status and value as unrelated.
    key, descending = order.lstrip("-"), order.startswith("-")
    rows: list[Job]
    rows, more = [], False
    for status in filters.statuses:
        part, after_part = page(session=session, filters=replace(filters, statuses=(status,)), order=order,
                                limit=limit, after=after)
        rows, more = rows + part, more or after_part is not None
    valued = sorted((j for j in rows if getattr(j, key) is not None),
                    key=lambda j: (getattr(j, key), j.id), reverse=descending)
    rows = valued + sorted((j for j in rows if getattr(j, key) is None),
                           key=lambda j: j.id, reverse=descending)
    more = more or len(rows) > limit
    rows = rows[:limit]
    return rows, ((getattr(rows[-1], key), rows[-1].id) if more else None)


def _ordered(keys: Iterable[SQLColumnExpression[Any]], descending: bool) -> list[UnaryExpression[Any]]:
    return [k.desc() if descending else k.asc() for k in keys]


def _past(left: SQLColumnExpression[Any], right: Any, descending: bool) -> ColumnElement[bool]:
    return left < right if descending else left > right


def _filtered(query: Select[Job], f: Filters, dialect: str) -> Select[Job]:
    if f.owner is not None:
        query = query.where(Job.owner == f.owner)
    if f.variant is not None:
        query = query.where(Job.variant == f.variant)
    if f.statuses:
        query = query.where(Job.status.in_(f.statuses))
    if f.sweep is not None:
        query = query.where(Job.sweep_id == f.sweep)
    if f.created_after is not None:
        query = query.where(Job.created_at >= f.created_after)
    if f.created_before is not None:
        query = query.where(Job.created_at < f.created_before)
    if f.max_excess_loss is not None:
        query = query.where(Job.excess_loss <= f.max_excess_loss)
    if f.max_relative_excess_loss is not None:
        query = query.where(Job.relative_excess_loss <= f.max_relative_excess_loss)
    if f.params and dialect == "postgresql":
        # One containment test, which the GIN index of migration 0006 answers: an index scan at any
        # table size. jsonb compares numbers by value, so 1e-6 matches 0.000001.
        return query.where(cast(Job.params, JSONB).op("@>")(literal(f.params, JSONB)))
    for name, value in f.params.items():
        query = query.where(_param(name, value))
    return query


def _param(name: str, value: str | float) -> ColumnElement[bool]:
    # SQLite: json_extract per parameter. Every integer parameter is below 2**53, so comparing as a
    # double is exact (and seed fits no INTEGER).
    element = Job.params[name]
    if isinstance(value, str):
        return element.as_string() == value
    return element.as_float() == float(value)


def by_ids(*, session: Session, ids: Iterable[str]) -> dict[str, Job]:
    """{id: job} for those of `ids` that exist."""
    return {job.id: job for job in session.scalars(select(Job).where(Job.id.in_(list(ids))))}
