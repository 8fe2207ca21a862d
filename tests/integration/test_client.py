"""fitq_client as a script uses it, against the real API, worker, PostgreSQL and Redis: submit, wait
(polling), history, cancel, lazy listing, sweeps and errors carrying the problem's field."""
import itertools

import pytest

from fitq_client import Client, FitqError, Point, Progress

SMALL = {"steps": 200, "samples": 200, "device": "cpu"}


@pytest.fixture(scope="module")
def client(stack):
    return Client(stack.client.base)


def test_submit_wait_by_polling_reports_progress_and_reads_the_result(client, stack):
    job = client.submit("tensor", seed=3, learning_rate=2e-6, log_every=20, **SMALL)
    assert job.status == "queued" and job.params["steps"] == 200
    seen: list[Progress] = []
    assert job.wait(progress=seen.append, timeout=120, poll_s=0.2, stream=False) is job
    assert job.status == "succeeded" and job.error is None
    assert seen[-1] == Progress(200, 200, None, "succeeded")
    assert [p.step for p in seen] == sorted(p.step for p in seen)  # never backwards
    result = job.result
    assert result.final_loss == stack.client.job(job.id)["result"]["final_loss"]
    assert len(result.polynomial) == 4 and set(result.coefficients) == {"b_0", "b_1", "b_2", "b_3"}
    history = job.history()
    assert history == result.loss_history and len(history) == 10 and history[0] == Point(19, history[0].loss)
    assert job.history(max_points=2) == [history[0], history[-1]] and job.history(max_points=2).downsampled


def test_wait_follows_the_stream_or_says_why_it_polled(client):
    job = client.submit("tensor", seed=4, **SMALL).wait(timeout=120)
    assert job.status == "succeeded"
    # Without GET /jobs/<id>/events (an API before streams, a buffering proxy) the wait polls instead.
    assert job.stream_notice is None or "polling instead" in job.stream_notice


def test_cancel_a_queued_job_then_again_is_a_conflict(client):
    job = client.submit("dynamic", steps=30000, samples=2000, seed=1)
    assert job.cancel().status == "cancelled" and job.refresh().status == "cancelled"
    with pytest.raises(FitqError) as again:
        job.cancel()
    assert again.value.status == 409 and again.value.field == "id" and "already cancelled" in again.value.detail


def test_jobs_are_read_a_page_at_a_time_as_the_iteration_goes(client):
    ids = [client.submit("nn", seed=s, **SMALL).id for s in (10, 11, 12)]
    listed = client.jobs(variant="nn", order_by="-created_at", page_size=1)
    assert [j.id for j in itertools.islice(listed, 3)] == ids[::-1]
    assert {j.id for j in client.jobs(params={"seed": 11}, variant="nn")} == {ids[1]}


def test_a_sweep_waits_for_every_job_and_names_its_best(client):
    sweep = client.sweep("tensor", {"learning_rate": [1e-6, 2e-6]}, seed=5, **SMALL)
    assert sweep.size == 2
    counts = []
    sweep.wait(progress=lambda s: counts.append(s.done), timeout=180, poll_s=0.2)
    assert sweep.finished and counts[-1] == 2 and sweep.counts["succeeded"] == 2
    members = list(sweep.jobs())
    best = sweep.best()
    assert best.id in {j.id for j in members} and len(members) == 2
    assert best.result.final_loss == min(j.result.final_loss for j in members)


def test_errors_carry_the_problems_status_detail_and_field(client):
    with pytest.raises(FitqError) as bad:
        client.submit("tensor", steps=-5)
    assert bad.value.status == 422 and bad.value.field and "steps" in bad.value.field
    assert "steps" in bad.value.detail and not bad.value.transient
    with pytest.raises(FitqError) as unknown:
        client.job("0" * 32)
    assert unknown.value.status == 404
