"""GET /metrics: Prometheus text counted from the database and Redis, so every API process agrees."""
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from service import roster as workers
from service.queue import enqueue, make_celery
from service.store import jobs
from service.store.db import make_engine, make_sessionmaker
from service.store.models import Job

SAMPLE = re.compile(r'^([a-z_:][a-z0-9_:]*)(\{([a-z_]+="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|\+Inf|NaN)$')


@pytest.fixture
def sessions(settings):
    """Sessions on this test's database."""
    engine = make_engine(settings.database)
    yield make_sessionmaker(engine)
    engine.dispose()


def _job(sessions, variant, status=None, duration_s=None, wait_s=None, device="cpu"):
    """A job that is queued, or finished with `status` after `wait_s` in the queue and `duration_s` of fit."""
    with sessions() as session:
        job, _ = jobs.create(session=session, variant=variant, params={"device": device, "steps": 10})
        if status is None:
            return job.id
        job = jobs.claim(session=session, job_id=job.id, worker="fitq-1@host", pid=1)
        result = {"final_loss": 1.0, "duration_s": duration_s} if duration_s is not None else None
        jobs.finish(session=session, job_id=job.id, attempt=1, status=status, result=result, device=device)
        if wait_s is not None:
            session.execute(update(Job).where(Job.id == job.id)
                            .values(started_at=job.created_at + timedelta(seconds=wait_s)))
            session.commit()
        return job.id


def scrape(client) -> dict:
    """{sample name with labels: value}, after checking every line is valid exposition text."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == "text/plain; version=0.0.4; charset=utf-8"
    samples, typed = {}, set()
    for line in response.get_data(as_text=True).splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
        elif not line.startswith("# HELP "):
            match = SAMPLE.match(line)
            assert match, line
            assert re.sub(r"_(bucket|sum|count)$", "", match[1]) in typed, f"no TYPE before {line}"
            samples[line.rpartition(" ")[0]] = float(line.rpartition(" ")[2])
    return samples


def test_jobs_submitted_and_finished_are_counted_by_variant_and_status(client, sessions):
    for _ in range(3):
        _job(sessions, "tensor", "succeeded", duration_s=0.2)
    _job(sessions, "tensor", "diverged", duration_s=0.2)
    _job(sessions, "numpy", "failed")
    _job(sessions, "numpy")

    m = scrape(client)

    assert m['fitq_jobs_finished_total{variant="tensor",status="succeeded"}'] == 3
    assert m['fitq_jobs_finished_total{variant="tensor",status="diverged"}'] == 1
    assert m['fitq_jobs_finished_total{variant="numpy",status="failed"}'] == 1
    assert m['fitq_jobs_finished_total{variant="autograd",status="succeeded"}'] == 0  # listed before any
    assert m['fitq_jobs_submitted_total{variant="tensor"}'] == 4
    assert m['fitq_jobs_submitted_total{variant="numpy"}'] == 2
    assert m['fitq_jobs{variant="numpy",status="queued"}'] == 1
    assert m['fitq_jobs{variant="tensor",status="running"}'] == 0


def test_duration_and_queue_wait_histograms_count_finished_jobs(client, sessions):
    _job(sessions, "tensor", "succeeded", duration_s=0.3, wait_s=0.02)
    _job(sessions, "tensor", "succeeded", duration_s=2.0, wait_s=3)
    _job(sessions, "tensor", "succeeded", duration_s=40.0, wait_s=100, device="cuda")
    _job(sessions, "tensor")  # still queued: in neither histogram

    m = scrape(client)

    d = 'fitq_job_duration_seconds_bucket{variant="tensor",le="%s"}'
    assert [m[d % le] for le in ("0.1", "0.5", "2.5", "30", "60", "+Inf")] == [0, 1, 2, 2, 3, 3]
    assert m['fitq_job_duration_seconds_sum{variant="tensor"}'] == pytest.approx(42.3)
    assert m['fitq_job_duration_seconds_count{variant="tensor"}'] == 3
    w = 'fitq_job_queue_wait_seconds_bucket{device="%s",le="%s"}'
    assert [m[w % ("cpu", le)] for le in ("0.01", "0.05", "1", "5", "+Inf")] == [0, 1, 1, 2, 2]
    assert m[w % ("cuda", "60")] == 0 and m[w % ("cuda", "300")] == 1
    assert m['fitq_job_queue_wait_seconds_sum{device="cpu"}'] == pytest.approx(3.02, abs=1e-3)


def test_queue_depth_and_live_workers_come_from_redis(client, settings, sessions, redis_db):
    celery = make_celery(settings)
    with sessions() as session:
        for device in ("cuda", "cuda", "cpu"):
            job, _ = jobs.create(session=session, variant="tensor", params={"device": device, "steps": 10})
            enqueue(celery, job)
    celery.close()
    for pid, device, queues in ((1, "cuda", ["fitq", "gpu"]), (2, "cpu", ["fitq", "cpu"])):
        redis_db.set(workers.key("fitq-1@host", pid),
                     json.dumps({"name": "fitq-1@host", "pid": pid, "device": device, "queues": queues}))

    m = scrape(client)

    assert (m['fitq_queue_depth{queue="gpu"}'], m['fitq_queue_depth{queue="cpu"}'],
            m['fitq_queue_depth{queue="fitq"}']) == (2, 1, 0)
    assert m['fitq_workers{device="cuda"}'] == 1 and m['fitq_workers{device="cpu"}'] == 1
    assert m['fitq_queue_consumers{queue="fitq"}'] == 2 and m['fitq_queue_consumers{queue="gpu"}'] == 1
    assert m["fitq_redis_up"] == 1


def test_with_redis_down_the_database_counts_are_still_served(make_app, sessions):
    _job(sessions, "lstsq", "succeeded", duration_s=0.01)
    client = make_app(redis_url="redis://127.0.0.1:1/0").test_client()

    m = scrape(client)

    assert m["fitq_redis_up"] == 0
    assert m['fitq_jobs_finished_total{variant="lstsq",status="succeeded"}'] == 1
    assert not any(name.startswith(("fitq_queue_depth", "fitq_workers")) for name in m)


def test_with_tokens_on_metrics_need_one_and_the_probes_do_not(make_app, settings):
    from service.store import tokens

    with make_sessionmaker(make_engine(settings.database))() as session:
        _, token = tokens.create(session=session, name="prometheus", scopes=("metrics",))
        _, user = tokens.create(session=session, name="alice")  # read and submit
    client = make_app(auth="on").test_client()

    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/healthz").status_code == 200
    # A user's token does not scrape; the scraper's token neither submits nor reads jobs.
    assert client.get("/metrics", headers={"Authorization": f"Bearer {user}"}).status_code == 403
    scraper = {"Authorization": f"Bearer {token}"}
    submitted = client.post("/api/v1/jobs", json={"variant": "numpy"}, headers=scraper)
    assert submitted.status_code == 403 and "'submit'" in submitted.get_json()["detail"]
    assert client.get("/api/v1/jobs", headers=scraper).status_code == 403
    assert client.get("/api/v1/whoami", headers=scraper).get_json()["scopes"] == ["metrics"]


def test_the_database_down_is_a_503_problem(make_app, problem, tmp_path):
    client = make_app(database_url=f"sqlite:///{tmp_path}/missing/none.db").test_client()
    problem(client.get("/metrics"), 503)


def test_webhook_deliveries_are_counted_by_state(make_app, sessions):
    client = make_app(webhook_secret="s", webhook_allow_hosts="127.0.0.1").test_client()
    assert [scrape(client)[f'fitq_webhooks{{state="{s}"}}'] for s in ("pending", "delivered", "failed")] == [0, 0, 0]
    with sessions() as session:
        for _ in range(2):
            job, _ = jobs.create(session=session, variant="lstsq", params={"samples": 10},
                                 callback_url="http://127.0.0.1:9/h")
            jobs.cancel(session=session, job_id=job.id)
    assert scrape(client)['fitq_webhooks{state="pending"}'] == 2
