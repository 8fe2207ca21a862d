"""A search's batch is written only by the driver that holds its lease and read its asked count last:
two drivers racing never both add a batch, and an ended search takes none."""
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from service.store import jobs, searches, sweeps
from service.store.db import make_engine, make_sessionmaker
from service.store.models import Job, Sweep


@pytest.fixture
def sessions(settings):
    engine = make_engine(settings.database)
    yield make_sessionmaker(engine)
    engine.dispose()


def _trials(count, sweep_id):
    made = [jobs.new_job("lstsq", {"samples": 10 + n}, None, jobs.now(), sweep_id=sweep_id) for n in range(count)]
    for row in made:
        row.id = jobs.new_id()
    return made


def _state(sessions, sweep_id):
    with sessions() as session:
        asked = session.get(Sweep, sweep_id).asked
        return asked, session.scalar(select(func.count()).where(Job.sweep_id == sweep_id))


def test_only_the_lease_holder_that_read_the_last_count_adds_a_batch(sessions):
    with sessions() as session:
        sweep = sweeps.create_search(session=session, variant="lstsq", params={}, strategy="random",
                                     search={"trials": 10, "parallelism": 2}, timeout_s=None)
        sweep_id = sweep.id
        assert searches.lease(session=session, sweep_id=sweep_id, holder="a", seconds=60) is not None
        read_before = SimpleNamespace(id=sweep_id, asked=0)  # what a slow second reader saw

        assert not searches.add_trials(session=session, sweep=read_before, holder="b", made=_trials(2, sweep_id))
        assert _state(sessions, sweep_id) == (0, 0)  # not the holder: nothing written
        assert searches.add_trials(session=session, sweep=read_before, holder="a", made=_trials(2, sweep_id))
        assert _state(sessions, sweep_id) == (2, 2)
        assert not searches.add_trials(session=session, sweep=read_before, holder="a", made=_trials(2, sweep_id))
        assert _state(sessions, sweep_id) == (2, 2)  # asked moved since it read: nothing written

        searches.end(session=session, sweep_id=sweep_id, reason="target")
        ended = SimpleNamespace(id=sweep_id, asked=2)
        assert not searches.add_trials(session=session, sweep=ended, holder="a", made=_trials(2, sweep_id))
    assert _state(sessions, sweep_id) == (2, 2)
