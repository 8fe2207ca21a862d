"""Redis down at submission: the job (or sweep) is recorded, the client is told, and a retry (or the
sweeper) delivers it."""
from dataclasses import replace

from service.ops.sweeper import LOCK, Sweeper
from service.queue import job_ids, make_celery
from service.settings import KNOWN_QUEUES
from service.store.db import make_engine, make_sessionmaker


def test_queue_down_is_a_503_that_keeps_the_job_and_a_retry_delivers_it(make_app, problem, rows,
                                                                        redis_db):
    down = make_app(redis_url="redis://127.0.0.1:1/0").test_client()
    key = {"Idempotency-Key": "while-redis-was-down"}
    body = problem(down.post("/api/v1/jobs", json={"variant": "lstsq"}, headers=key), 503)
    assert body["job_id"] in body["detail"] and rows() == 1

    up = make_app().test_client()
    retry = up.post("/api/v1/jobs", json={"variant": "lstsq"}, headers=key)
    assert retry.status_code == 202 and retry.get_json()["id"] == body["job_id"]
    assert retry.get_json()["status"] == "queued" and rows() == 1
    assert redis_db.llen("fitq") == 1  # delivered this time


def test_a_sweep_while_the_queue_is_down_is_a_503_naming_it_and_the_sweeper_sends_its_jobs_once(
        make_app, problem, settings, redis_db):
    down = make_app(redis_url="redis://127.0.0.1:1/0").test_client()
    sweep = {"variant": "tensor", "params": {"steps": 100}, "grid": {"seed": [0, 1, 2]}}
    body = problem(down.post("/api/v1/sweeps", json=sweep), 503)
    assert body["sweep_id"] in body["detail"] and "sent once it is back" in body["detail"]

    up = make_app().test_client()
    recorded = up.get(f"/api/v1/sweeps/{body['sweep_id']}").get_json()
    assert (recorded["size"], recorded["counts"]["queued"]) == (3, 3)
    ids = {job["id"] for job in up.get(recorded["jobs"]).get_json()["items"]}
    assert _waiting(redis_db) == []

    # Redis is back: the sweeper's passes send each job whose message is missing, once.
    engine = make_engine(settings.database)
    celery = make_celery(settings)
    sweeper = Sweeper(replace(settings, redeliver_after_s=0.001), make_sessionmaker(engine), celery, redis_db)
    try:
        for _ in range(2):
            redis_db.delete(LOCK)
            sweeper.sweep()
    finally:
        celery.close()
        engine.dispose()
    assert sorted(_waiting(redis_db)) == sorted(ids)


def _waiting(redis_db):
    """The job ids of every message waiting in Redis, one entry per message that names it."""
    return [i for q in KNOWN_QUEUES for m in redis_db.lrange(q, 0, -1) for i in job_ids(m)]
