"""A sweep over HTTP on the real stack: its jobs run in vectorised batches, each as it would alone."""
import time

import pytest

from fits import registry

pytestmark = pytest.mark.usefixtures("stack")


def test_a_sweep_runs_in_batches_and_each_job_matches_its_solo_run(stack):
    grid = {"seed": list(range(24)), "learning_rate": [1e-6, 2e-6]}
    r = stack.client.http.post(f"{stack.client.base}/api/v1/sweeps", json={
        "variant": "tensor", "params": {"steps": 300, "samples": 300, "log_every": 50}, "grid": grid})
    assert r.status_code == 202, r.text
    sweep_url = stack.client.base + r.headers["Location"]
    deadline = time.monotonic() + 120
    while not (sweep := stack.client.http.get(sweep_url).json())["finished"]:
        assert time.monotonic() < deadline, sweep
        time.sleep(0.2)

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

