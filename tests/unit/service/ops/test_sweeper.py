"""The sweeper against a real (private) Redis and a migrated database: lost messages, dead workers."""
import time
from dataclasses import replace
from datetime import timedelta

import pytest

from service.ops.sweeper import LOCK, Sweeper
from service.queue import enqueue, enqueue_batches, make_celery
from service.store import jobs
from service.store.db import make_engine, make_sessionmaker

ALL = ("requeued", "failed", "resent")


@pytest.fixture
def world(settings, redis_db):
    """(make_sweeper, sessions, redis): sweepers with no grace periods, on this test's database."""
    engine = make_engine(settings.database)
    sessions = make_sessionmaker(engine)
    celeries = []

    def make(**overrides):
        s = replace(settings, **{"redeliver_after_s": 0.001, "stale_after_s": 30, **overrides})
        celeries.append(make_celery(s))
        sweeper = Sweeper(s, sessions, celeries[-1], redis_db)
        sweeper.database_back_at -= 3600  # no outage to wait out
        return sweeper

    yield make, sessions, redis_db
    for celery in celeries:
        celery.close()
    engine.dispose()


def _queued(sessions, variant="lstsq"):
    with sessions() as session:
        job, _ = jobs.create(session=session, variant=variant, params={"samples": 10, "device": "cpu"})
        return job.id


def _running(sessions, heartbeat_age_s, attempts=1):
    job_id = _queued(sessions)
    with sessions() as session:
        for _ in range(attempts):
            job = jobs.claim(session=session, job_id=job_id, worker="fitq-1@elsewhere",
                             pid=1, takeover=None if _ == 0 else _)
        job.heartbeat_at = jobs.now() - timedelta(seconds=heartbeat_age_s)
        session.commit()
    return job_id


def _job(sessions, job_id):
    with sessions() as session:
        return jobs.get(session=session, job_id=job_id)


def _pass(sweeper, broker):
    broker.delete(LOCK)
    return {k: v for k, v in sweeper.sweep().items() if k in ALL and v}


def test_a_queued_job_whose_message_never_reached_redis_is_sent_again(world):
    make, sessions, broker = world
    job_id = _queued(sessions)  # committed, never enqueued: the API died, or Redis was down

    assert _pass(make(), broker) == {"resent": 1}
    assert make().messages() == {job_id}
    assert _pass(make(), broker) == {}  # its message is there now: nothing more to do


def test_a_queued_job_whose_message_waits_in_redis_is_left_alone(world):
    make, sessions, broker = world
    sweeper = make()
    job_id = _queued(sessions)
    enqueue(sweeper.celery, _job(sessions, job_id))

    assert _pass(sweeper, broker) == {}
    assert broker.llen("cpu") == 1


def test_every_job_named_in_a_batch_message_counts_as_present(world):
    make, sessions, broker = world
    sweeper = make()
    shape = {"learning_rate": 1e-6, "steps": 10, "samples": 10, "dtype": "float32", "device": "cpu",
             "log_every": 10}
    with sessions() as session:
        made = [jobs.create(session=session, variant="tensor", params={**shape, "seed": seed})[0]
                for seed in range(5)]
        ids = [job.id for job in made]

    assert enqueue_batches(sweeper.celery, made, size=3, default_timeout_s=600) == 2
    assert broker.llen("cpu") == 2
    assert sweeper.messages() == set(ids)
    assert _pass(sweeper, broker) == {}


def _taken_by_a_worker(broker, job_id, sweeper, delivered_ago_s):
    # What kombu does when a worker takes a message: out of the list, into unacked and its index.
    enqueue(sweeper.celery, _Sent(job_id))
    message = broker.rpop("cpu")
    broker.hset("unacked", "tag-1", b'[' + message + b', "cpu", "cpu"]')
    broker.zadd("unacked_index", {"tag-1": time.time() - delivered_ago_s})


class _Sent:
    """What enqueue reads of a job."""

    def __init__(self, job_id):
        self.id, self.params = job_id, {"device": "cpu"}


def test_a_message_just_taken_by_a_worker_but_not_acked_counts_as_present(world):
    make, sessions, broker = world
    sweeper = make(redeliver_after_s=30)
    job_id = _queued(sessions)
    _taken_by_a_worker(broker, job_id, sweeper, delivered_ago_s=1)

    assert sweeper.messages() == {job_id}


def test_a_message_held_long_by_a_dead_consumer_does_not_count(world):
    # The worker died between taking the message and claiming the job: Redis would keep the message
    # for VISIBILITY_TIMEOUT_S (2 hours); the sweeper sends the job again.
    make, sessions, broker = world
    job_id = _queued(sessions)
    _taken_by_a_worker(broker, job_id, make(), delivered_ago_s=60)

    assert make(redeliver_after_s=30).messages() == set()
    assert _pass(make(), broker) == {"resent": 1}
    assert broker.llen("cpu") == 1


def test_a_running_job_with_a_stale_heartbeat_goes_back_to_the_queue(world):
    make, sessions, broker = world
    job_id = _running(sessions, heartbeat_age_s=120)

    assert _pass(make(), broker) == {"requeued": 1}
    job = _job(sessions, job_id)
    assert job.status == "queued" and job.worker is None and job.attempts == 1
    assert make().messages() == {job_id}


def test_a_running_job_with_a_fresh_heartbeat_is_left_alone(world):
    make, sessions, broker = world
    job_id = _running(sessions, heartbeat_age_s=5)

    assert _pass(make(), broker) == {}
    assert _job(sessions, job_id).status == "running"


def test_after_the_last_attempt_a_lost_job_fails_with_the_reason(world):
    make, sessions, broker = world
    job_id = _running(sessions, heartbeat_age_s=120, attempts=3)

    assert _pass(make(max_attempts=3), broker) == {"failed": 1}
    job = _job(sessions, job_id)
    assert job.status == "failed" and job.finished_at is not None and job.result is None
    assert job.error["type"] == "worker_lost" and "3 attempts" in job.error["message"]
    assert broker.llen("cpu") == 0  # not sent again


def test_after_a_database_outage_silence_is_not_taken_for_death(world):
    make, sessions, broker = world
    job_id = _running(sessions, heartbeat_age_s=120)
    sweeper = make()
    sweeper.database_back_at += 3600  # the database just came back: heartbeats were lost meanwhile

    assert _pass(sweeper, broker) == {}
    assert _job(sessions, job_id).status == "running"


def test_a_sweeper_skips_its_pass_while_another_holds_the_lock(world):
    make, sessions, broker = world
    _queued(sessions)
    held = broker.lock(LOCK, timeout=10)
    assert held.acquire(blocking=False)

    assert make().sweep() == {"skipped": 1}
    held.release()
    assert make().sweep()["resent"] == 1


def test_two_sweepers_one_after_the_other_send_a_lost_job_once(world):
    make, sessions, broker = world
    _queued(sessions)

    results = [make().sweep(), make().sweep()]

    assert [r["resent"] for r in results] == [1, 0] and broker.llen("cpu") == 1


def test_finished_and_cancelled_jobs_are_never_touched(world):
    make, sessions, broker = world
    done_id, cancelled_id = _running(sessions, heartbeat_age_s=120), _queued(sessions)
    with sessions() as session:
        jobs.finish(session=session, job_id=done_id, attempt=1, status="succeeded", result={"x": 1})
        jobs.cancel(session=session, job_id=cancelled_id)

    assert _pass(make(), broker) == {}
    assert _job(sessions, done_id).result == {"x": 1} and _job(sessions, cancelled_id).status == "cancelled"


def test_messages_that_are_not_ours_are_ignored(world):
    make, sessions, broker = world
    broker.lpush("fitq", b"not json", b'{"body": "!!"}', b'{"headers": {}}')

    assert make().messages() == set()


def test_the_first_pass_after_an_outage_waits_for_heartbeats_to_resume(world):
    make, sessions, broker = world
    job_id = _running(sessions, heartbeat_age_s=120)  # silent only because the database was down
    sweeper = make()
    sweeper.database_down = True  # the previous pass could not reach the database

    assert _pass(sweeper, broker) == {}
    assert _job(sessions, job_id).status == "running" and not sweeper.database_down
