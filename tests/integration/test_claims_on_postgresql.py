"""Which waiting jobs join a batch, on PostgreSQL: the oldest first, whatever order the rows lie in on
disk, and from a bounded window of the queue. Written for mutation-testing survivors that SQLite cannot
show (its rows come back in insertion order, which is id order)."""
import psycopg
import pytest

from service.store import jobs
from service.store.db import make_engine, make_sessionmaker
from service.store.migrate import upgrade

WORKER = "fitq-1@here"


@pytest.fixture
def sessions(pg_databases):
    url = pg_databases()
    upgrade(url)
    engine = make_engine(url)
    yield make_sessionmaker(engine), url.replace("+psycopg", "")
    engine.dispose()


def _queue(sessions, count, **params):
    made = []
    with sessions() as session:
        for _ in range(count):
            job, _ = jobs.create(session=session, variant="tensor", params={"samples": 10, **params})
            made.append(job.id)
    return made


def _first(sessions):
    """A running job that leads the batch (its own row, claimed)."""
    (job_id,) = _queue(sessions, 1)
    with sessions() as session:
        return jobs.claim(session=session, job_id=job_id, worker=WORKER, pid=1)


def test_the_oldest_waiting_jobs_join_a_batch_even_when_newer_rows_lie_first_on_disk(sessions):
    make, psql = sessions
    first = _first(make)
    older, newer = _queue(make, 3), _queue(make, 3)
    # An UPDATE writes a new tuple after the others: the older jobs now lie after the newer ones, and a
    # table this small is read by a sequential scan (ANALYZE tells the planner so), which returns the
    # newer ones first unless the query orders by id.
    with psycopg.connect(psql, autocommit=True) as conn:
        conn.execute("UPDATE jobs SET progress_step = 0 WHERE id = ANY(%s)", (older,))
        conn.execute("ANALYZE jobs")
        on_disk = [row[0] for row in conn.execute(
            "SELECT id FROM jobs WHERE status = 'queued' AND variant = 'tensor' AND id <> %s", (first.id,))]
    assert on_disk == newer + older  # the premise: the rows come back out of id order
    with make() as session:
        batch = jobs.claim_siblings(session=session, first=first, same=lambda job: True, limit=3,
                                    worker=WORKER, pid=1)
    assert sorted(job.id for job in batch) == older


def test_a_batch_looks_no_further_than_four_times_its_room_into_the_queue(sessions):
    # A claim must stay cheap with a long queue of jobs of another shape ahead: it reads at most
    # 4 x limit waiting rows, and a matching job behind them waits for its own message.
    make, _ = sessions
    first = _first(make)
    ahead = _queue(make, 8, samples=20)
    (behind,) = _queue(make, 1)
    same = lambda job: job.params["samples"] == 10  # noqa: E731
    with make() as session:
        assert jobs.claim_siblings(session=session, first=first, same=same, limit=2, worker=WORKER, pid=1) == []
        assert jobs.get(session=session, job_id=behind).status == "queued"
    # With room for three it reads twelve rows and finds it; the others stay queued.
    with make() as session:
        batch = jobs.claim_siblings(session=session, first=first, same=same, limit=3, worker=WORKER, pid=1)
    assert [job.id for job in batch] == [behind]
    with make() as session:
        assert {jobs.get(session=session, job_id=job_id).status for job_id in ahead} == {"queued"}
