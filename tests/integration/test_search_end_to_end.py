"""Random and tpe sweeps on the real stack (API, sweeper, worker, PostgreSQL, Redis): the sweeper asks
Optuna for batches of trials that run as vectorised passes, stops at a target, and survives its own
death, a worker's and an API restart mid-search."""
import os
import re
import signal
import time

import pytest

from service.store.migrate import upgrade
from tests.integration.faults import Faults
from tests.integration.test_cli import fitq, record

LR = {"low": 1e-7, "high": 3e-6, "log": True}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, pg_databases, redis_url):
    """API + sweeper + one solo worker; messages of at most 2 trials, so a batch of 8 is 4 passes."""
    url = pg_databases()
    upgrade(url)
    s = Faults(tmp_path_factory.mktemp("search"), url, redis_url, BATCH_SIZE=2)
    s.env["BATCH_SIZE"] = "2"  # the sweeper's and a restarted API's
    yield s
    s.close()


def _post(stack, **body):
    r = stack.client.http.post(f"{stack.client.base}/api/v1/sweeps", json={"variant": "tensor", **body})
    assert r.status_code == 202, r.text
    return stack.client.base + r.headers["Location"]


def _until(stack, url, done, timeout=120):
    deadline = time.monotonic() + timeout
    while not done(sweep := stack.client.http.get(url).json()):
        assert time.monotonic() < deadline, sweep
        time.sleep(0.2)
    return sweep


def _trials(stack, sweep):
    return stack.client.http.get(f"{stack.client.base}{sweep['jobs']}&limit=200&order_by=created_at").json()["items"]


def test_a_random_sweep_runs_its_trials_in_batches_and_ends(stack):
    url = _post(stack, params={"steps": 300, "samples": 200}, strategy="random", trials=6, parallelism=3, seed=1,
                space={"learning_rate": LR, "seed": {"low": 0, "high": 999}})

    sweep = _until(stack, url, lambda s: s["finished"])

    assert sweep["search"]["ended"] == "trials" and sweep["trials"] == {"asked": 6, "finished": 6, "pruned": 0}
    assert sweep["counts"]["succeeded"] == 6 and sweep["size"] == 6
    trials = _trials(stack, sweep)
    assert len({(t["params"]["learning_rate"], t["params"]["seed"]) for t in trials}) == 6
    assert all(1e-7 <= t["params"]["learning_rate"] <= 3e-6 and t["params"]["steps"] == 300 for t in trials)
    best = min(trials, key=lambda t: t["result"]["relative_excess_loss"])
    assert sweep["best"]["job_id"] == best["id"]
    assert sweep["best"]["relative_excess_loss"] == best["result"]["relative_excess_loss"]
    log = "".join(w.output() for w in stack.workers)
    assert all(re.search(rf"job {t['id']} started: tensor attempt 1 on \S+ in a batch of 2", log) for t in trials[:2])


def test_a_tpe_sweep_stops_once_a_trial_is_within_its_target(stack):
    url = _post(stack, strategy="tpe", trials=40, parallelism=8, seed=3, stop_at_excess=0.01,
                space={"learning_rate": LR, "seed": {"low": 0, "high": 999}})

    sweep = _until(stack, url, lambda s: s["finished"])

    assert sweep["search"]["ended"] == "target" and sweep["trials"]["asked"] < 40
    assert sweep["best"]["relative_excess_loss"] <= 0.01
    assert sweep["size"] == sweep["trials"]["asked"] == len(_trials(stack, sweep))


def test_fitq_sweep_waits_for_a_search_stopped_at_its_target_and_prints_its_best_trial(stack):
    # Any finished trial is within 1e9 of the optimum: the search stops after its first batch, short of its
    # trials, and the CLI's wait (the sweep's stream) ends there.
    done = fitq("sweep", "tensor", "-p", "steps=300", "-p", "samples=200", "--strategy", "random", "--space",
                "learning_rate=1e-7:3e-6:log", "--trials", "4", "--parallelism", "2", "--search-seed", "2",
                "--stop-at-excess", "1e9", "--wait", "--url", stack.client.base)

    assert done.returncode == 0, done.stderr
    sweep_id = done.stdout.split()[1].rstrip(":")
    sweep = stack.client.http.get(f"{stack.client.base}/api/v1/sweeps/{sweep_id}").json()
    assert sweep["finished"] and sweep["search"]["ended"] == "target"
    assert done.stdout.splitlines()[0].startswith(
        f"sweep {sweep_id}: random search, {sweep['trials']['asked']} of 4 trials (stopped at its target), ")
    table = record(done.stdout.split("best:\n", 1)[1])
    assert table["job"] == sweep["best"]["job_id"] and table["status"] == "succeeded"
    assert float(table["relative excess"]) == pytest.approx(sweep["best"]["relative_excess_loss"], rel=1e-7)


def test_stop_at_excess_cancels_the_queued_trials(stack):
    # Each pass of 2 trials takes about a second; any finished trial is within 1e9 of the optimum.
    url = _post(stack, params={"steps": 100_000, "samples": 1000}, strategy="random", trials=40, parallelism=8,
                seed=5, stop_at_excess=1e9, space={"learning_rate": LR})

    sweep = _until(stack, url, lambda s: s["finished"])

    assert sweep["search"]["ended"] == "target" and sweep["trials"]["asked"] == 8
    assert sweep["counts"]["cancelled"] >= 2 and sweep["counts"]["succeeded"] >= 2
    assert all(t["status"] == "cancelled" and t["started_at"] is None
               for t in _trials(stack, sweep) if t["status"] != "succeeded")


def test_a_search_survives_a_worker_and_its_sweeper_killed_and_the_api_restarted(stack):
    # Passes of 2 trials of two to three seconds each (2.2-2.6 s on a Zen 5 machine), so that the kill
    # lands in the middle of one. At 100,000 steps of 500 samples a pass took 0.9-1.1 s there: the first
    # progress write, half a second in, already showed half the pass, and the test waited out its two
    # minutes. (300,000 steps of 500 samples would pass the limit on steps x samples.)
    url = _post(stack, params={"steps": 300_000, "samples": 300, "log_every": 1000}, strategy="tpe", trials=8,
                parallelism=4, seed=9, space={"learning_rate": LR, "seed": {"choices": list(range(20))}})
    hit: list[str] = []

    def mid_pass(sweep):  # the trials a worker is stepping now, in the first half of their pass
        # Not later: progress is up to half a second old, and a pass that ended before the kill would let
        # the sweeper ask the next batch, and run nothing again.
        hit[:] = [t["id"] for t in _trials(stack, sweep)
                  if t["status"] == "running" and 0 < t["progress"]["step"] <= t["progress"]["steps"] // 2]
        return hit

    _until(stack, url, mid_pass)
    stack.workers[0].stop(signal.SIGKILL)  # the whole worker, mid-pass
    os.kill(stack.sweeper.proc.pid, signal.SIGKILL)
    stack.sweeper.proc.wait()
    asked = stack.client.http.get(url).json()["trials"]["asked"]  # 4 unless the test stalled for a batch
    stack.api.stop()
    stack.api = stack._start("api")
    stack.client.wait_healthy()
    time.sleep(1)
    later = stack.client.http.get(url).json()["trials"]["asked"]
    # Back before asserting: the module's later tests share this stack.
    stack.sweeper = stack._start("sweeper")
    stack.workers = [stack.add_worker()]
    assert later == asked  # nobody drove it meanwhile

    sweep = _until(stack, url, lambda s: s["finished"])

    assert sweep["search"]["ended"] == "trials" and sweep["trials"] == {"asked": 8, "finished": 8, "pruned": 0}
    trials = {t["id"]: t for t in _trials(stack, sweep)}
    assert sweep["counts"]["succeeded"] == 8 and len(trials) == 8
    assert all(trials[j]["attempts"] == 2 for j in hit)  # run again, not lost


def test_a_tpe_sweep_with_asha_prunes_lagging_trials_and_reaches_its_target(stack):
    url = _post(stack, params={"steps": 2000, "samples": 2000, "log_every": 100}, strategy="tpe", trials=24,
                parallelism=8, seed=4, stop_at_excess=0.01,
                space={"learning_rate": LR, "seed": {"low": 0, "high": 999}},
                pruner={"kind": "asha", "rungs": [200, 600], "reduction_factor": 2})

    sweep = _until(stack, url, lambda s: s["finished"])

    assert sweep["search"]["ended"] == "target" and sweep["best"]["relative_excess_loss"] <= 0.01
    assert sweep["trials"]["pruned"] == sweep["counts"]["pruned"] > 0
    pruned = [t for t in _trials(stack, sweep) if t["status"] == "pruned"]
    for trial in pruned:  # its history up to its rung, where it stopped
        steps = [p["step"] + 1 for p in trial["result"]["loss_history"]]
        assert steps[-1] in (200, 600) and steps == list(range(100, steps[-1] + 1, 100)), trial
        assert trial["progress"]["step"] == steps[-1] and trial["finished_at"] is not None
    listed = stack.client.http.get(f"{stack.client.base}/api/v1/jobs",
                                   params={"sweep": sweep["id"], "status": "pruned", "limit": 200}).json()["items"]
    assert len(listed) == len(pruned)
