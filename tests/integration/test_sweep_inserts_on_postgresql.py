"""A grid sweep's jobs on PostgreSQL: one statement inserts them all, the same rows the ORM would."""
import pytest
from sqlalchemy import text

from fits import params as fit_params
from service.store import sweeps
from service.store.db import make_engine, make_sessionmaker

# Columns whose values depend on when or under which ids a row was written, not on what was written.
STAMPS = ("id", "sweep_id", "created_at", "enqueued_at")


@pytest.fixture(scope="module")
def sessions(pg_url):
    engine = make_engine(pg_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def points():
    """Points of every shape a grid makes: defaults, other values, text JSON must escape, no steps."""
    made = [fit_params.resolve("tensor", {"seed": seed, "learning_rate": 10.0 ** -(6 + seed % 3)})
            for seed in range(20)]
    return [*made, {**made[0], "note": "‘q’ \"x\" \\ é"}, {k: v for k, v in made[1].items() if k != "steps"}]


def stored(sessions, sweep_id):
    """The sweep's job rows in grid order (ids are time-ordered), params as PostgreSQL stores their text."""
    with sessions() as session:
        return [dict(row) for row in session.execute(
            text("SELECT *, params::text AS params FROM jobs WHERE sweep_id = :id ORDER BY id"),
            {"id": sweep_id}).mappings()]


@pytest.mark.parametrize("timeout_s", [None, 90])
def test_one_statement_inserts_the_rows_the_orm_inserts(sessions, timeout_s):
    made = {}
    for orm in (True, False):
        with sessions() as session:
            sweep, jobs = sweeps.create(session=session, variant="tensor", params={}, grid={"seed": []},
                                        points=points(), timeout_s=timeout_s, owner="team-a", orm=orm)
        made[orm] = (sweep.id, [job.id for job in jobs])
    by_orm, by_statement = stored(sessions, made[True][0]), stored(sessions, made[False][0])

    assert [row["id"] for row in by_statement] == made[False][1]  # every point, in grid order
    assert len(by_statement) == len(points())
    assert [{k: v for k, v in row.items() if k not in STAMPS} for row in by_statement] == \
        [{k: v for k, v in row.items() if k not in STAMPS} for row in by_orm]
    first = by_statement[0]
    assert first["status"] == "queued" and first["owner"] == "team-a" and first["timeout_s"] == timeout_s
    assert first["created_at"] == first["enqueued_at"] and first["progress_steps"] == points()[0]["steps"]
    assert by_statement[-1]["progress_steps"] == 1  # no steps given: as new_row counts it


def test_the_sweep_and_its_jobs_commit_together(sessions):
    with sessions() as session:
        sweep, jobs = sweeps.create(session=session, variant="tensor", params={}, grid={"seed": [1, 2]},
                                    points=points()[:2], timeout_s=None)
    with sessions() as session:
        assert sweeps.get(session=session, sweep_id=sweep.id).size == 2
        assert sweeps.counts(session=session, sweep_id=sweep.id)["queued"] == 2
