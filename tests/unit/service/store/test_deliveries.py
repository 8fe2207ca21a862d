"""A webhook delivery is written by the very write that ends a job or a sweep: finish, cancel, abandon."""
import pytest

from service.store import deliveries, jobs, searches, sweeps
from service.store.db import make_engine, make_sessionmaker
from service.store.models import JobStatus

URL = "https://hooks.example.com/fitq"


@pytest.fixture
def sessions(settings):
    engine = make_engine(settings.database)
    yield make_sessionmaker(engine)
    engine.dispose()


def _claimed(sessions, callback_url=URL):
    with sessions() as session:
        job, _ = jobs.create(session=session, variant="lstsq", params={"samples": 10}, callback_url=callback_url)
        return jobs.claim(session=session, job_id=job.id, worker="w").attempts, job.id


def _listed(sessions, **subject):
    with sessions() as session:
        return [(d.url, d.state, len(attempts)) for d, attempts in deliveries.of(session=session, **subject)]


@pytest.mark.parametrize("end", ["finish", "cancel", "abandon"])
def test_each_way_a_job_ends_writes_one_delivery(sessions, end):
    attempt, job_id = _claimed(sessions)
    with sessions() as session:
        if end == "finish":
            assert jobs.finish(session=session, job_id=job_id, attempt=attempt, status="succeeded", result={})
        elif end == "cancel":
            assert jobs.cancel(session=session, job_id=job_id)[1]
        else:
            assert jobs.abandon(session=session, job_id=job_id, attempt=attempt, message="lost")
    assert _listed(sessions, job_id=job_id) == [(URL, "pending", 0)]


def test_a_write_that_loses_its_claim_writes_no_delivery(sessions):
    attempt, job_id = _claimed(sessions)
    with sessions() as session:
        jobs.cancel(session=session, job_id=job_id)
        assert not jobs.finish(session=session, job_id=job_id, attempt=attempt, status="succeeded")
        assert not jobs.cancel(session=session, job_id=job_id)[1]
    assert _listed(sessions, job_id=job_id) == [(URL, "pending", 0)]


def test_a_job_without_a_callback_gets_no_delivery(sessions):
    attempt, job_id = _claimed(sessions, callback_url=None)
    with sessions() as session:
        jobs.finish(session=session, job_id=job_id, attempt=attempt, status="failed", error={})
    assert _listed(sessions, job_id=job_id) == []


def test_a_sweep_gets_one_delivery_when_its_last_job_ends(sessions):
    with sessions() as session:
        sweep, made = sweeps.create(session=session, variant="lstsq", params={}, grid={"samples": [10, 20, 30]},
                                    points=[{"samples": n} for n in (10, 20, 30)], timeout_s=None, callback_url=URL)
        ids = [job.id for job in made]
    with sessions() as session:
        first = jobs.claim_named(session=session, ids=ids[:2], worker="w")
        jobs.finish_many(session=session, outcomes=[jobs.Outcome(j.id, j.attempts, "succeeded") for j in first])
    assert _listed(sessions, sweep_id=sweep.id) == []
    assert all(_listed(sessions, job_id=i) == [] for i in ids)  # the sweep's jobs announce nothing alone
    with sessions() as session:
        jobs.cancel(session=session, job_id=ids[2])
        assert jobs.get(session=session, job_id=ids[2]).status == JobStatus.CANCELLED.value
    assert _listed(sessions, sweep_id=sweep.id) == [(URL, "pending", 0)]


def _search(sessions, trials):
    """A tpe sweep with a callback that has asked `trials` trials, each claimed (running): their ids."""
    with sessions() as session:
        sweep = sweeps.create_search(session=session, variant="lstsq", params={}, strategy="tpe",
                                     search={"trials": 10, "parallelism": trials}, timeout_s=None, callback_url=URL)
        searches.lease(session=session, sweep_id=sweep.id, holder="sweeper", seconds=60)
        made = [jobs.new_job("lstsq", {"samples": 10 + n}, None, jobs.now(), sweep_id=sweep.id) for n in range(trials)]
        for row in made:
            row.id = jobs.new_id()
        assert searches.add_trials(session=session, sweep=sweep, holder="sweeper", made=made)
        jobs.claim_named(session=session, ids=[row.id for row in made], worker="w")
        return sweep.id, [row.id for row in made]


def _finish(sessions, job_id):
    with sessions() as session:
        job = jobs.get(session=session, job_id=job_id)
        assert jobs.finish(session=session, job_id=job_id, attempt=job.attempts, status="succeeded", result={})


def test_a_search_is_not_announced_between_batches_only_when_it_has_ended(sessions):
    # Its batch all finished, but the search goes on asking: not its end.
    sweep_id, [only] = _search(sessions, 1)
    _finish(sessions, only)
    assert _listed(sessions, sweep_id=sweep_id) == []
    # The sweeper ends it (all trials asked, or its target reached) with none left running: announced then.
    with sessions() as session:
        searches.end(session=session, sweep_id=sweep_id, reason="target")
    assert _listed(sessions, sweep_id=sweep_id) == [(URL, "pending", 0)]


def test_a_search_ended_while_a_trial_runs_is_announced_when_that_trial_ends(sessions):
    sweep_id, [first, second] = _search(sessions, 2)
    _finish(sessions, first)
    with sessions() as session:
        searches.end(session=session, sweep_id=sweep_id, reason="target")
    assert _listed(sessions, sweep_id=sweep_id) == []  # the second trial still runs
    _finish(sessions, second)
    assert _listed(sessions, sweep_id=sweep_id) == [(URL, "pending", 0)]
    with sessions() as session:  # ending it again (a second driver) announces nothing more
        searches.end(session=session, sweep_id=sweep_id, reason="target")
    assert _listed(sessions, sweep_id=sweep_id) == [(URL, "pending", 0)]


def test_claimed_deliveries_are_not_due_again_until_their_lease_ends(sessions):
    attempt, job_id = _claimed(sessions)
    with sessions() as session:
        jobs.finish(session=session, job_id=job_id, attempt=attempt, status="succeeded", result={})
    with sessions() as session:
        [claimed] = deliveries.claim_due(session=session, lease_s=60)
        assert claimed.job_id == job_id
    with sessions() as session:
        assert deliveries.claim_due(session=session, lease_s=60) == []
        deliveries.record(session=session, delivery_id=claimed.id, status_code=500, error=None, excerpt="x" * 500,
                          retry_at=jobs.now())
    with sessions() as session:
        [again] = deliveries.claim_due(session=session, lease_s=60)
        deliveries.record(session=session, delivery_id=again.id, status_code=204, error=None, excerpt="",
                          retry_at=None)
    with sessions() as session:
        [(delivery, attempts)] = deliveries.of(session=session, job_id=job_id)
        assert delivery.state == "delivered" and delivery.attempts == 2
        assert [a.status_code for a in attempts] == [500, 204] and len(attempts[0].excerpt) == 200
        assert deliveries.claim_due(session=session, lease_s=60) == []
