"""GET /api/v1/workers, `fitq workers`, and the notice on a job that no live worker would take."""
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema_rs
import pytest

from service import roster as workers

REPO = Path(__file__).resolve().parents[3]
GPU_NOTICE = "no live worker consumes queue gpu: start a GPU worker"


def _report(redis_db, pid, device, queues, jobs=(), stopping=False):
    """Write a worker process's report as a worker does (worker/presence.py)."""
    redis_db.set(workers.key("fitq-7@box", pid), json.dumps({
        "name": "fitq-7@box", "host": "box", "pid": pid, "device": device,
        "gpu": "NVIDIA H100 80GB HBM3" if device == "cuda" else None, "queues": list(queues), "pool": "solo",
        "started_at": "2026-11-27T05:00:00Z", "jobs": list(jobs), "stopping": stopping,
        "heartbeat_at": "2026-11-27T05:00:05Z"}), ex=60)


def test_the_live_workers_are_listed_with_their_device_queues_and_jobs(client, redis_db):
    assert client.get("/api/v1/workers").get_json() == []
    _report(redis_db, 12, "cuda", ["fitq", "gpu"], jobs=["a" * 32])
    _report(redis_db, 11, "cpu", ["fitq", "cpu"])

    listed = client.get("/api/v1/workers").get_json()

    assert [(w["pid"], w["device"], w["queues"], w["jobs"]) for w in listed] == \
        [(11, "cpu", ["fitq", "cpu"], []), (12, "cuda", ["fitq", "gpu"], ["a" * 32])]
    assert listed[1]["gpu"] == "NVIDIA H100 80GB HBM3"


def test_with_redis_down_the_listing_is_a_503_problem(make_app, problem):
    client = make_app(redis_url="redis://127.0.0.1:1/0").test_client()
    problem(client.get("/api/v1/workers"), 503)


def test_a_cuda_job_with_no_gpu_worker_up_says_so(client, redis_db):
    _report(redis_db, 11, "cpu", ["fitq", "cpu"])

    cuda = {"variant": "tensor", "params": {"device": "cuda"}}
    submitted = client.post("/api/v1/jobs", json=cuda).get_json()
    shown = client.get(f"/api/v1/jobs/{submitted['id']}").get_json()
    listed = client.get("/api/v1/jobs").get_json()["items"]

    for doc in (submitted, shown, listed[0]):
        assert doc["status"] == "queued" and doc["notice"].startswith(GPU_NOTICE), doc["notice"]
    cpu = client.post("/api/v1/jobs", json={"variant": "tensor", "params": {"device": "cpu"}}).get_json()
    assert cpu["notice"] is None


def test_the_notice_goes_once_a_gpu_worker_is_up_and_comes_back_when_it_stops(client, redis_db):
    job = client.post("/api/v1/jobs", json={"variant": "tensor", "params": {"device": "cuda"}}).get_json()
    assert job["notice"].startswith(GPU_NOTICE)
    _report(redis_db, 12, "cuda", ["fitq", "gpu"])
    assert client.get(f"/api/v1/jobs/{job['id']}").get_json()["notice"] is None
    _report(redis_db, 12, "cuda", ["fitq", "gpu"], stopping=True)  # SIGTERM: it takes nothing new
    assert client.get(f"/api/v1/jobs/{job['id']}").get_json()["notice"].startswith(GPU_NOTICE)


def test_a_job_that_is_not_queued_has_no_notice(client, redis_db):
    job = client.post("/api/v1/jobs", json={"variant": "tensor", "params": {"device": "cuda"}}).get_json()
    assert client.post(f"/api/v1/jobs/{job['id']}/cancel").get_json()["notice"] is None
    assert client.get(f"/api/v1/jobs/{job['id']}").get_json()["notice"] is None


@pytest.fixture
def fitq(redis_url):
    """fitq(*args): run `python -m service.cli.main ARGS` against the private Redis; the finished process."""

    def run(*args):
        env = {**os.environ, "REDIS_URL": redis_url, "PYTHONPATH": str(REPO)}
        return subprocess.run([sys.executable, "-m", "service.cli.main", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=60)

    return run


def test_fitq_workers_prints_a_table_of_the_live_workers(fitq, redis_db):
    none = fitq("workers")
    assert none.returncode == 0 and none.stdout == "" and "no live worker" in none.stderr
    _report(redis_db, 12, "cuda", ["fitq", "gpu"], jobs=["a" * 32])

    done = fitq("workers")

    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()
    assert header.split() == ["NAME", "PID", "DEVICE", "QUEUES", "JOBS", "HEARTBEAT", "UP", "SINCE"]
    assert row.split()[:7] == ["fitq-7@box", "12", "cuda", "(NVIDIA", "H100", "80GB", "HBM3)"]
    assert "fitq,gpu" in row and "a" * 32 in row and "s ago" in row


def test_with_redis_down_a_queued_job_is_still_shown_only_without_a_notice(make_app, client, redis_db):
    job = client.post("/api/v1/jobs", json={"variant": "tensor", "params": {"device": "cuda"}}).get_json()
    down = make_app(redis_url="redis://127.0.0.1:1/0").test_client()

    shown = down.get(f"/api/v1/jobs/{job['id']}")

    assert shown.status_code == 200 and shown.get_json()["notice"] is None  # nothing can be said


def test_what_a_worker_writes_is_what_the_openapi_document_promises(client, redis_db):
    from worker.presence import Presence  # the writer itself, not a hand-made report

    presence = Presence(redis_db, "fitq-7@box", ["fitq", "cpu"], "solo", 60, 30, "cpu").start()
    try:
        presence.running({"a" * 32: 1})
        presence.write()
        doc = client.get("/api/v1/openapi.json").get_json()
        schema = jsonschema_rs.Draft202012Validator({"$ref": "#/components/schemas/Worker",
                                                     "components": doc["components"]})
        (listed,) = client.get("/api/v1/workers").get_json()
    finally:
        presence.stop()
    assert listed["jobs"] == ["a" * 32]
    assert schema.is_valid(listed), list(schema.iter_errors(listed))
