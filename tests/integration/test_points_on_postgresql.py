"""A heartbeat's progress points on PostgreSQL (one JSON statement) and on SQLite (one cached statement
per row) store the same: each point once, non-finite losses as null, read back in step order."""
import math

import pytest

from service.store import jobs, points
from service.store.db import make_engine, make_sessionmaker
from service.store.migrate import upgrade


@pytest.fixture(params=["postgresql", "sqlite"])
def sessions(request, pg_url, tmp_path):
    url = pg_url if request.param == "postgresql" else f"sqlite:///{tmp_path / 'points.db'}"
    if request.param == "sqlite":
        upgrade(url)
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    engine.dispose()


def test_points_are_stored_once_with_non_finite_losses_as_null(sessions):
    with sessions() as session:
        a, b = (jobs.create(session=session, variant="tensor", params={})[0].id for _ in range(2))
        given = [(a, 199, 2.5), (b, 199, math.inf), (a, 99, 3.0), (b, 99, math.nan), (a, 299, None)]
        assert points.add(session=session, rows=given) == 5
        # A retried attempt reaches the same steps: the point already stored is kept, the new one added.
        assert points.add(session=session, rows=[(a, 99, 9.9), (a, 399, 1.25)]) == 2
        assert points.add(session=session, rows=[]) == 0
    with sessions() as session:
        assert points.after(session=session, job_id=a, step=-1) == [(99, 3.0), (199, 2.5), (299, None), (399, 1.25)]
        assert points.after(session=session, job_id=b, step=99) == [(199, None)]
        assert points.newest(session=session, job_ids=[a, b]) == {a: (399, 1.25), b: (199, None)}
