"""Two owners, one worker: a large sweep queued first does not starve another owner's single job."""
import subprocess
import sys
import time

import pytest

from tests.integration.conftest import Stack
from tests.integration.processes import REPO, Client

SWEEP_JOBS = 160  # above SMALL_SWEEP_JOBS (64): sent at the low priority
BATCH_SIZE = 4  # 40 batches of the sweep, each a pass of a few tenths of a second


@pytest.fixture(scope="module")
def owners(tmp_path_factory, pg_url, redis_url):
    """(stack, alice's client, bob's client): an API with AUTH on and one worker with BATCH_SIZE 4."""
    stack = Stack(tmp_path_factory.mktemp("fair"), pg_url, redis_url,
                  {"AUTH": "on", "BATCH_SIZE": BATCH_SIZE})
    try:
        yield stack, _client(stack, "alice"), _client(stack, "bob")
    finally:
        stack.close()


def _client(stack, owner):
    made = subprocess.run([sys.executable, "-m", "service.cli.main", "token", "create", f"{owner}-token",
                           "--owner", owner], cwd=REPO, env=stack.env, capture_output=True, text=True,
                          timeout=60)
    assert made.returncode == 0, made.stderr
    client = Client(stack.client.base)
    client.http.headers["Authorization"] = f"Bearer {made.stdout.strip()}"
    return client


def test_a_single_job_is_not_starved_by_another_owners_large_sweep(owners):
    stack, alice, bob = owners
    params = {"steps": 4000, "samples": 2000, "learning_rate": 1e-6}
    sweep = alice.http.post(f"{alice.base}/api/v1/sweeps",
                            json={"variant": "autograd", "params": params,
                                  "grid": {"seed": list(range(SWEEP_JOBS))}})
    assert sweep.status_code == 202, sweep.text
    sweep_id = sweep.json()["id"]
    _until_running(alice, sweep_id)  # the worker has begun on the sweep before bob asks
    single = bob.submit("tensor", steps=200, samples=200, seed=1)
    done = bob.wait(single["id"], timeout=120)
    assert done["status"] == "succeeded", done
    waiting = alice.http.get(f"{alice.base}/api/v1/sweeps/{sweep_id}").json()
    queued = waiting["counts"].get("queued", 0)
    # Without priorities bob's message sits behind all 40 of the sweep's; with them it runs after the
    # batch in hand (and the one message a worker reserves): most of the sweep is still waiting.
    assert queued >= SWEEP_JOBS // 2, f"bob's job waited for {SWEEP_JOBS - queued} of the sweep's jobs"
    # Each owner sees only its own work.
    assert bob.http.get(f"{bob.base}/api/v1/sweeps/{sweep_id}").status_code == 404
    _cancel_queued(alice, sweep_id)  # the rest would only keep later tests' workers busy


def _until_running(client, sweep_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = client.http.get(f"{client.base}/api/v1/sweeps/{sweep_id}").json()["counts"]
        if counts.get("running") or counts.get("succeeded"):
            return
        time.sleep(0.05)
    raise AssertionError(f"no job of sweep {sweep_id} started within {timeout}s")


def _cancel_queued(client, sweep_id):
    listed = client.http.get(f"{client.base}/api/v1/jobs",
                             params={"sweep": sweep_id, "status": "queued", "limit": 200}).json()["items"]
    for job in listed:
        client.http.post(f"{client.base}/api/v1/jobs/{job['id']}/cancel")
