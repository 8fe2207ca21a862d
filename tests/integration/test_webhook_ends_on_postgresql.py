"""A sweep's webhook on PostgreSQL when its last two jobs end in two transactions at once: it is written
exactly once (the sweep's row lock makes the second writer see the first's end), never zero times."""
import threading
import time

import pytest
from sqlalchemy import text, update

from service.store import deliveries, jobs, sweeps
from service.store.db import make_engine, make_sessionmaker
from service.store.migrate import upgrade
from service.store.models import Job

URL = "https://hooks.example.com/fitq"


@pytest.fixture
def sessions(pg_databases):
    url = pg_databases()
    upgrade(url)
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    engine.dispose()


def _waiting_on_a_lock(sessions, timeout=30):
    deadline = time.monotonic() + timeout
    with sessions() as watcher:
        while not watcher.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                      "AND datname = current_database()")):
            assert time.monotonic() < deadline, "the second transaction never waited for the sweep's lock"
            # pg_stat_activity is read once per transaction (stats_fetch_consistency): a new one each look,
            # or a first look before the second transaction waits is all this loop would ever see.
            watcher.rollback()
            time.sleep(0.02)


def test_the_last_two_jobs_of_a_sweep_ending_at_once_announce_it_once(sessions):
    with sessions() as session:
        sweep, made = sweeps.create(session=session, variant="lstsq", params={}, grid={"samples": [10, 20]},
                                    points=[{"samples": 10}, {"samples": 20}], timeout_s=None, callback_url=URL)
        a, b = jobs.claim_named(session=session, ids=[job.id for job in made], worker="w")
    first = sessions()
    # The first end is written and has taken the sweep's lock, but is not committed yet.
    first.execute(update(Job).where(Job.id == a.id).values(status="succeeded"))
    deliveries.on_end(first, [a.id])
    second = threading.Thread(target=lambda: _finish(sessions, b))
    second.start()
    _waiting_on_a_lock(sessions)  # the second end waits for it
    first.commit()
    first.close()
    second.join(30)
    assert not second.is_alive()
    with sessions() as session:
        assert [d.url for d, _ in deliveries.of(session=session, sweep_id=sweep.id)] == [URL]
        assert {j.status for j in (jobs.get(session=session, job_id=a.id), jobs.get(session=session, job_id=b.id))} \
            == {"succeeded"}


def _finish(sessions, job):
    with sessions() as session:
        assert jobs.finish(session=session, job_id=job.id, attempt=job.attempts, status="succeeded")


def test_deliverers_claiming_at_once_never_take_the_same_delivery(sessions):
    with sessions() as session:
        made = [jobs.create(session=session, variant="lstsq", params={"samples": 10}, callback_url=URL)[0]
                for _ in range(60)]
        for job in made:
            jobs.cancel(session=session, job_id=job.id)  # each end writes its delivery
    taken, start = [], threading.Barrier(4)

    def deliverer():
        start.wait()
        while True:
            with sessions() as session:
                claimed = deliveries.claim_due(session=session, lease_s=600, limit=5)
            if not claimed:
                return
            taken.extend(d.job_id for d in claimed)

    threads = [threading.Thread(target=deliverer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(taken) == sorted(job.id for job in made)  # every one claimed, none twice
