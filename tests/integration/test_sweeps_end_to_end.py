"""A sweep over HTTP on the real stack: its jobs run in vectorised batches, each as it would alone."""
import re
import time

import pytest

from fits import registry

pytestmark = pytest.mark.usefixtures("stack")


def test_a_sweep_runs_in_batches_and_each_job_matches_its_solo_run(stack):
    grid = {"seed": list(range(24)), "learning_rate": [1e-6, 2e-6]}
    sweep = _finished(stack, {"variant": "tensor", "params": {"steps": 300, "samples": 300, "log_every": 50},
                              "grid": grid})

    assert sweep["counts"]["succeeded"] == 48 and sweep["size"] == 48
    listed, cursor = [], None
    while True:
        page = stack.client.http.get(f"{stack.client.base}{sweep['jobs']}&limit=200"
                                     + (f"&cursor={cursor}" if cursor else "")).json()
        listed += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    assert len(listed) == 48
    best = min(listed, key=lambda j: j["result"]["final_loss"])
    assert sweep["best"]["job_id"] == best["id"]
    assert "in a batch of" in stack.worker.output()  # they did not all run alone
    for job in listed[::7]:
        alone = registry.run("tensor", job["params"])
        got = [p["loss"] for p in job["result"]["loss_history"]]
        want = [loss for _, loss in alone.loss_history]
        assert got == pytest.approx(want, rel=1e-5), job["id"]



def test_cancelling_one_job_of_a_running_batch_stops_that_job_alone(stack):
    base, http = f"{stack.client.base}/api/v1", stack.client.http
    steps = 50_000  # about 4 s for the pass on 2 idle cores: time to cancel one job while it runs
    r = http.post(f"{base}/sweeps", json={"variant": "autograd", "params": {
        "steps": steps, "samples": 100, "log_every": 500}, "grid": {"seed": [0, 1, 2, 3]}})
    assert r.status_code == 202, r.text
    ids = [job["id"] for job in http.get(f"{base}/jobs", params={"sweep": r.json()["id"]}).json()["items"]]
    deadline = time.monotonic() + 60
    while not all(j["status"] == "running" and j["progress"]["step"] > 0 for j in map(stack.client.job, ids)):
        assert time.monotonic() < deadline, [stack.client.job(i) for i in ids]
        time.sleep(0.05)

    victim, others = ids[1], ids[:1] + ids[2:]
    cancelled = http.post(f"{base}/jobs/{victim}/cancel").json()
    assert cancelled["status"] == "cancelled" and 0 < cancelled["progress"]["step"] < steps, cancelled

    for job in map(stack.client.wait, others):
        assert job["status"] == "succeeded" and job["progress"]["step"] == steps, job
        assert len(job["result"]["loss_history"]) == steps // 500
    stopped = stack.client.job(victim)
    assert stopped["status"] == "cancelled" and stopped["result"] is None and stopped["error"] is None
    assert stopped["progress"] == cancelled["progress"]  # it stopped where the cancel found it
    log = stack.worker.output()
    assert all(re.search(rf"job {i} started: autograd attempt 1 on \S+ in a batch of 4 with", log) for i in ids)


def test_a_sweep_of_jobs_too_long_to_share_a_pass_within_their_budget_runs_each_alone_and_succeeds(stack):
    # 100 steps of 1,000,000 samples (the most work a job may ask): about a tenth of a second each alone
    # here, over a second for a pass of all sixteen, which would share their 1 s budget. At 2.5e7
    # sample-steps a second half of 1 s holds none of them whole, so each is a message and a pass of
    # its own, and none times out.
    sweep = _finished(stack, {"variant": "tensor", "grid": {"seed": list(range(16))}, "timeout_s": 1, "params": {
        "steps": 100, "samples": 1_000_000, "log_every": 50, "device": "cpu", "learning_rate": 1e-9}})

    assert sweep["counts"].get("succeeded") == 16 and sweep["size"] == 16, sweep["counts"]
    listed = stack.client.http.get(f"{stack.client.base}{sweep['jobs']}&limit=200").json()["items"]
    started = [line for line in stack.worker.output().splitlines()
               if any(f"job {job['id']} started" in line for job in listed)]
    assert len(started) == 16 and not any("in a batch of" in line for line in started), started


def _finished(stack, body):
    """POST the sweep, then its document once every job has finished."""
    r = stack.client.http.post(f"{stack.client.base}/api/v1/sweeps", json=body)
    assert r.status_code == 202, r.text
    sweep_url = stack.client.base + r.headers["Location"]
    deadline = time.monotonic() + 120
    while not (sweep := stack.client.http.get(sweep_url).json())["finished"]:
        assert time.monotonic() < deadline, sweep
        time.sleep(0.2)
    return sweep
