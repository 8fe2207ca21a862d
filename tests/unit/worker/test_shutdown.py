"""Graceful shutdown: after a stop request a fit finishes if it will within the grace period, else it is
handed back to the queue (its attempt kept) and sent again."""
import time
from dataclasses import replace

import pytest

from service.ops.sweeper import Sweeper
from service.queue import make_celery
from service.store import jobs
from worker import shutdown


@pytest.fixture(autouse=True)
def no_stop_requested():
    """Each test starts, and leaves, with no stop requested in this process."""
    shutdown.clear()
    yield
    shutdown.clear()


def _grace(grace_s, ran_s, requested_s_ago=None):
    grace = shutdown.Grace(grace_s)
    grace.started = time.monotonic() - ran_s
    if requested_s_ago is not None:
        shutdown.request()
        shutdown._requested.value = time.monotonic() - requested_s_ago
    return grace


def test_without_a_stop_request_a_fit_runs_on():
    _grace(0, ran_s=100).check(1, 1_000_000)


def test_a_fit_that_ends_within_the_grace_period_finishes():
    _grace(5, ran_s=1, requested_s_ago=0).check(900, 1000)  # about 0.1 s to go


def test_a_fit_that_would_outlast_the_grace_period_is_handed_back_at_once():
    with pytest.raises(shutdown.HandBack, match="step 10 of 1000"):
        _grace(5, ran_s=1, requested_s_ago=0).check(10, 1000)  # about 99 s to go


def test_once_the_grace_period_is_over_every_fit_is_handed_back():
    with pytest.raises(shutdown.HandBack):
        _grace(5, ran_s=60, requested_s_ago=6).check(999, 1000)


def test_request_keeps_the_first_time_it_was_asked():
    assert shutdown.requested_at() is None
    shutdown.request()
    first = shutdown.requested_at()
    shutdown.request()
    assert shutdown.requested_at() == first


def _claimed(sessions, device="cpu"):
    with sessions() as session:
        job, _ = jobs.create(session=session, variant="tensor", params={"device": device, "steps": 10})
        return jobs.claim(session=session, job_id=job.id, worker="fitq-1@box", pid=1)


def test_handed_back_jobs_are_queued_again_with_their_attempt_and_sent_again(settings, sessions, redis_db):
    run = [_claimed(sessions), _claimed(sessions, device="cuda")]
    celery = make_celery(settings)

    outcomes = shutdown.hand_back(sessions, celery, run, "stopping")

    celery.close()
    assert all(o.startswith("handed back to the queue") for o in outcomes.values())
    with sessions() as session:
        for job in run:
            row = jobs.get(session=session, job_id=job.id)
            assert (row.status, row.attempts, row.worker, row.progress_step) == ("queued", 1, None, 0)
    sweeper = Sweeper(settings, sessions, None, redis_db)
    assert sweeper.messages() == {job.id for job in run}
    assert redis_db.llen("cpu") == 1 and redis_db.llen("gpu") == 1


def test_a_job_cancelled_meanwhile_is_not_handed_back(settings, sessions, redis_db):
    job = _claimed(sessions)
    with sessions() as session:
        jobs.cancel(session=session, job_id=job.id)

    outcomes = shutdown.hand_back(sessions, make_celery(settings), [job], "stopping")

    assert outcomes[job.id].startswith("stopped")
    assert redis_db.llen("cpu") == 0
    with sessions() as session:
        assert jobs.get(session=session, job_id=job.id).status == "cancelled"


def test_with_redis_down_a_handed_back_job_stays_queued_for_the_sweeper(settings, sessions):
    job = _claimed(sessions)
    dead = make_celery(replace(settings, redis_url="redis://127.0.0.1:1/0"))
    dead.conf.broker_connection_retry = False
    dead.conf.broker_transport_options = {"max_retries": 0}

    outcomes = shutdown.hand_back(sessions, dead, [job], "stopping")

    assert outcomes[job.id].startswith("handed back")
    with sessions() as session:
        # Queued with no message: the sweeper sends it again after REDELIVER_AFTER_S.
        assert jobs.get(session=session, job_id=job.id).status == "queued"
