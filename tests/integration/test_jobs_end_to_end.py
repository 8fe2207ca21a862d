"""Every variant as a real job: HTTP API -> PostgreSQL -> Redis -> Celery worker -> PostgreSQL -> HTTP."""
import base64
import json
import time
from datetime import datetime

import pytest
import torch

from tests.integration.expectations import ALL, SEED, check_succeeded


def test_every_variant_runs_to_success_and_survives_an_api_restart(stack):
    submitted = {v: stack.client.submit(v, seed=SEED) for v in ALL}
    chosen = stack.client.submit("tensor", steps=100)  # no seed given: one is chosen and stored
    for job in submitted.values():
        assert job["status"] == "queued" and job["params"]["seed"] == SEED
    finished = {v: stack.client.wait(job["id"], timeout=180) for v, job in submitted.items()}
    for job in finished.values():
        check_succeeded(job)
    assert isinstance(chosen["params"]["seed"], int)
    assert stack.client.wait(chosen["id"])["params"]["seed"] == chosen["params"]["seed"]

    stack.stop_api()
    stack.start_api()
    for job in finished.values():
        assert stack.client.job(job["id"]) == job
    listed = stack.client.http.get(f"{stack.client.base}/api/v1/jobs?limit=200").json()["items"]
    assert {j["id"] for j in finished.values()} <= {j["id"] for j in listed}


def test_same_seed_same_history_through_the_service(stack):
    first = stack.client.submit("module", steps=300, seed=1234)
    second = stack.client.submit("module", steps=300, seed=1234)
    a, b = (stack.client.wait(j["id"]) for j in (first, second))
    assert a["result"]["loss_history"] == b["result"]["loss_history"]
    assert a["result"]["coefficients"] == b["result"]["coefficients"]


def test_cancel_a_running_job_stops_it_and_frees_the_worker(stack):
    long = stack.client.submit("dynamic", steps=50_000, log_every=100)
    running = stack.client.wait(long["id"], until={"running"}, timeout=60)
    deadline = time.monotonic() + 30
    while running["progress"]["step"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
        running = stack.client.job(long["id"])
    assert 0 < running["progress"]["step"] < 50_000, running

    r = stack.client.http.post(f"{stack.client.base}/api/v1/jobs/{long['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"

    # The worker stops at its next history point: a small job behind it finishes promptly.
    quick = stack.client.submit("lstsq")
    assert stack.client.wait(quick["id"], timeout=30)["status"] == "succeeded"
    stopped = stack.client.job(long["id"])
    assert stopped["status"] == "cancelled" and stopped["result"] is None
    assert stopped["progress"]["step"] < 50_000
    time.sleep(0.5)
    assert stack.client.job(long["id"]) == stopped
    again = stack.client.http.post(f"{stack.client.base}/api/v1/jobs/{long['id']}/cancel")
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]


def test_a_replayed_submission_runs_once(stack):
    body = {"variant": "tensor", "params": {"steps": 500}}
    headers = {"Idempotency-Key": "replayed-once"}
    url = f"{stack.client.base}/api/v1/jobs"
    blocker = stack.client.submit("dynamic", steps=6000, log_every=1000)  # keeps the job below queued
    first, again = (stack.client.http.post(url, json=body, headers=headers) for _ in range(2))
    assert first.json()["id"] == again.json()["id"]
    assert again.json()["status"] == "queued", "the blocker should still be running"
    assert stack.client.wait(blocker["id"])["status"] == "succeeded"
    job = stack.client.wait(first.json()["id"])
    assert job["status"] == "succeeded" and job["attempts"] == 1
    deadline = time.monotonic() + 10
    while "skipped" not in stack.worker.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert f"job {job['id']} is succeeded, not queued; duplicate delivery skipped" in stack.worker.output()
    assert stack.client.job(job["id"]) == job


@pytest.mark.skipif(torch.cuda.is_available(), reason="this host has CUDA, so cuda jobs run")
def test_a_job_that_cannot_run_fails_with_the_reason_and_the_worker_goes_on(stack):
    # This machine has no GPU: a cuda job reaches a worker that serves the gpu queue and fails there.
    job = stack.client.wait(stack.client.submit("tensor", device="cuda", steps=100)["id"])
    assert job["status"] == "failed" and job["result"] is None
    assert "CUDA" in job["error"]["message"] and job["error"]["type"] == "ValueError"
    assert stack.client.wait(stack.client.submit("lstsq")["id"])["status"] == "succeeded"


def test_a_diverging_job_ends_diverged_with_valid_json(stack):
    job = stack.client.wait(stack.client.submit("numpy", learning_rate=1.0, steps=300)["id"])
    assert job["status"] == "diverged", job
    assert job["result"]["final_loss"] is None
    history = job["result"]["loss_history"]
    assert history[-1]["loss"] is None and history[-1]["step"] < 299  # stopped at the first NaN
    assert job["error"]["message"].startswith(f"the loss became NaN or infinite by step {history[-1]['step']}")
    assert "lower the learning_rate" in job["error"]["message"] and job["attempts"] == 1


def test_ids_and_cursors_postgresql_cannot_store_are_client_errors(stack):
    base, http = f"{stack.client.base}/api/v1", stack.client.http
    for job_id in ("%00", "a%00b", "0" * 31 + "%00", "x" * 300):
        assert http.get(f"{base}/jobs/{job_id}").status_code == 404
        assert http.post(f"{base}/jobs/{job_id}/cancel").status_code == 404
    nul = base64.urlsafe_b64encode(json.dumps(["\u0000" * 32, "-created_at"]).encode()).decode()
    r = http.get(f"{base}/jobs", params={"cursor": nul})
    assert r.status_code == 400 and r.json()["field"] == "cursor"


def test_a_job_past_its_time_budget_fails_with_timeout_and_the_worker_goes_on(stack):
    r = stack.client.http.post(f"{stack.client.base}/api/v1/jobs", json={
        "variant": "tensor", "params": {"steps": 1_000_000, "samples": 100}, "timeout_s": 1})
    assert r.status_code == 202 and r.json()["timeout_s"] == 1
    job = stack.client.wait(r.json()["id"])
    assert job["status"] == "failed" and job["result"] is None and job["attempts"] == 1
    assert job["error"]["type"] == "timeout" and "time budget is 1s" in job["error"]["message"]
    ran = datetime.fromisoformat(job["finished_at"][:-1]) - datetime.fromisoformat(job["started_at"][:-1])
    assert ran.total_seconds() < 5  # stopped by the loop, not run to the end
    assert stack.client.wait(stack.client.submit("lstsq")["id"])["status"] == "succeeded"
