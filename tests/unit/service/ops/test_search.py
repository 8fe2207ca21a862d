"""The sweeper driving random and tpe sweeps, against a real (private) Redis and a migrated database: batches
of `parallelism` trials asked once the last has finished, rebuilt from the database each time."""
from dataclasses import replace

import pytest

from service.ops import search
from service.ops.sweeper import LOCK, Sweeper
from service.queue import make_celery
from service.store import jobs, searches, sweeps
from service.store.db import make_engine, make_sessionmaker

SPACE = {"learning_rate": {"low": 1e-7, "high": 3e-6, "log": True, "type": "float"},
         "seed": {"choices": [0, 1, 2, 3]}}


@pytest.fixture
def world(settings, redis_db):
    """(make_sweeper, sessions, redis) on this test's database."""
    engine = make_engine(settings.database)
    sessions = make_sessionmaker(engine)
    celeries = []

    def make():
        s = replace(settings, redeliver_after_s=3600, batch_size=2)
        celeries.append(make_celery(s))
        return Sweeper(s, sessions, celeries[-1], redis_db)

    yield make, sessions, redis_db
    for celery in celeries:
        celery.close()
    engine.dispose()


def _search(sessions, strategy="tpe", trials=5, parallelism=2, seed=3, stop=None):
    with sessions() as session:
        sweep = sweeps.create_search(session=session, variant="tensor", params={}, strategy=strategy, search={
            "space": SPACE, "trials": trials, "seed": seed, "parallelism": parallelism, "stop_at_excess": stop,
            "base": {"samples": 50, "steps": 10, "seed": 0}}, timeout_s=None)
        return sweep.id


def _pass(sweeper, broker):
    broker.delete(LOCK)
    done = sweeper.sweep()
    return {k: done[k] for k in ("asked", "ended") if done.get(k)}


def _trials(sessions, sweep_id):
    with sessions() as session:
        return searches.trials(session=session, sweep_id=sweep_id)


def _finish(sessions, trial, excess, status="succeeded"):
    with sessions() as session:
        jobs.claim(session=session, job_id=trial.id, worker="w@here", pid=1)
        jobs.finish(session=session, job_id=trial.id, attempt=1, status=status,
                    result={"final_loss": 1 + excess, "relative_excess_loss": excess, "excess_loss": excess}
                    if status == "succeeded" else None)


def test_a_search_asks_a_batch_waits_for_it_and_ends_after_its_trials(world):
    make, sessions, broker = world
    sweep_id = _search(sessions)

    assert _pass(make(), broker) == {"asked": 2}
    first = _trials(sessions, sweep_id)
    assert [t.status for t in first] == ["queued", "queued"] and broker.llen("fitq") == 1  # one batch message
    assert all(t.params["samples"] == 50 and 1e-7 <= t.params["learning_rate"] <= 3e-6 for t in first)
    assert _pass(make(), broker) == {}  # the batch still runs
    _finish(sessions, first[0], 0.5)
    assert _pass(make(), broker) == {}
    _finish(sessions, first[1], 0.2, status="diverged")
    assert _pass(make(), broker) == {"asked": 2}
    for trial in _trials(sessions, sweep_id)[2:]:
        _finish(sessions, trial, 0.3)
    assert _pass(make(), broker) == {"asked": 1}  # the last of 5
    _finish(sessions, _trials(sessions, sweep_id)[4], 0.1)
    assert _pass(make(), broker) == {"ended": 1}
    with sessions() as session:
        sweep = sweeps.get(session=session, sweep_id=sweep_id)
        assert (sweep.asked, sweep.search_ended, sweep.size) == (5, "trials", 5)
        assert sweeps.best(session=session, sweep_id=sweep_id, by_excess=True).relative_excess_loss == 0.1
    assert _pass(make(), broker) == {}


@pytest.mark.parametrize("strategy", ["random", "tpe"])
def test_the_same_seed_and_results_ask_the_same_trials(world, strategy):
    make, sessions, broker = world
    asked = []
    for _ in range(2):
        sweep_id = _search(sessions, strategy=strategy, trials=4)
        _pass(make(), broker)
        for n, trial in enumerate(_trials(sessions, sweep_id)):
            _finish(sessions, trial, 0.1 * (n + 1))
        _pass(make(), broker)
        asked.append([t.params for t in _trials(sessions, sweep_id)])
    assert asked[0] == asked[1] and len(asked[0]) == 4 and asked[0][:2] != asked[0][2:]


def test_stop_at_excess_ends_the_search_and_cancels_its_queued_trials(world):
    make, sessions, broker = world
    sweep_id = _search(sessions, trials=10, parallelism=4, stop=0.05)
    _pass(make(), broker)
    first = _trials(sessions, sweep_id)
    _finish(sessions, first[0], 0.2)
    assert _pass(make(), broker) == {}
    _finish(sessions, first[1], 0.04)

    assert _pass(make(), broker) == {"ended": 1}
    assert [t.status for t in _trials(sessions, sweep_id)] == ["succeeded", "succeeded", "cancelled", "cancelled"]
    with sessions() as session:
        sweep = sweeps.get(session=session, sweep_id=sweep_id)
        assert (sweep.search_ended, sweep.size, sweep.asked) == ("target", 4, 4)


def test_one_process_drives_a_search_while_its_lease_lasts(world):
    make, sessions, broker = world
    sweep_id = _search(sessions)
    with sessions() as session:
        assert searches.lease(session=session, sweep_id=sweep_id, holder="other:1", seconds=60) is not None

    assert _pass(make(), broker) == {}  # another process holds it
    with sessions() as session:
        assert searches.lease(session=session, sweep_id=sweep_id, holder="other:1", seconds=-1) is not None
    assert _pass(make(), broker) == {"asked": 2}  # its lease ran out: this one takes over
    with sessions() as session:
        assert sweeps.get(session=session, sweep_id=sweep_id).lease_holder == search.HOLDER


def test_between_passes_the_sweeper_drives_searches_alone(world):
    make, sessions, broker = world
    sweep_id = _search(sessions)
    broker.set(LOCK, "another sweeper's pass")  # searches need no pass lock: their lease is enough

    assert make().searches_only() == {"asked": 2, "ended": 0}
    assert len(_trials(sessions, sweep_id)) == 2
