"""Faults across containers: a worker killed, Redis and PostgreSQL restarted, a worker cut off the network."""
import time
from collections import Counter

from tests.compose.engine import sh


def long_job(stack, share=1.0) -> dict:
    """A custom_function job of `share` x stack.long_steps steps (about 20 s on a CPU worker here)."""
    steps = int(stack.long_steps * share)
    return stack.client.submit("custom_function", steps=steps, samples=min(1000, 100_000_000 // steps),
                               log_every=max(1, steps // 50))


def _running_on(stack, job_id, timeout=60):
    """Wait until the job runs; (job, the worker container running it)."""
    job = stack.client.wait(job_id, until={"running"}, timeout=timeout)
    host = job["worker"].split("@")[-1]
    return job, stack.hostnames()[host]


def worker_killed(stack):
    """5. `docker kill` a worker mid-job: the job succeeds elsewhere with attempts 2; restart policy seen."""
    job = long_job(stack, 0.4)
    _, victim = _running_on(stack, job["id"])
    sh("docker", "kill", victim)
    done = stack.client.wait(job["id"], timeout=120)
    assert done["status"] == "succeeded" and done["attempts"] == 2, (done["status"], done["attempts"])
    assert stack.hostnames().get(done["worker"].split("@")[-1]) != victim
    # `docker kill` counts as a manual stop, which `unless-stopped` does not undo; SIGKILL to the worker
    # process inside (as the kernel's OOM killer sends) is a crash, which it restarts.
    state = stack.inspect(victim)[0]["State"]
    manual = f"after docker kill: {state['Status']}"
    stack.up()  # compose starts the stopped replica again
    stack.wait_ready(3)
    before = stack.inspect(victim)[0]["RestartCount"]
    sh("docker", "exec", "-u", "0", victim, "sh", "-c", "kill -KILL -1")
    deadline = time.monotonic() + 60
    while (stack.inspect(victim)[0]["RestartCount"] == before
           or stack.inspect(victim)[0]["State"]["Status"] != "running"):
        assert time.monotonic() < deadline, "the restart policy did not restart a crashed worker within 60 s"
        time.sleep(1)
    stack.wait_ready(3)
    return (f"succeeded on another worker, attempts 2, {_seconds(done)}; {manual} (not restarted: manual stop), "
            f"up -d started it; worker process SIGKILLed inside: restarted by policy")


def _seconds(job) -> str:
    return f"created to finished {_span(job['created_at'], job['finished_at']):.0f} s"


def _span(a, b) -> float:
    from datetime import datetime
    start, end = (datetime.fromisoformat(s.replace("Z", "+00:00")) for s in (a, b))
    return (end - start).total_seconds()


def redis_restarted(stack):
    """6. `restart redis` with jobs queued and running: every job ends succeeded."""
    client = stack.client
    ids = [client.submit("custom_function", steps=3000 + i, seed=i)["id"] for i in range(15)]
    client.wait(ids[0], until={"running", "succeeded"}, timeout=60)
    stack.compose("restart", "redis")
    _, attempts = client.all_succeeded(ids, timeout=240)
    return f"15/15 succeeded after the restart, attempts {dict(sorted(attempts.items()))}"


def postgres_restarted(stack):
    """7. PostgreSQL down mid-load: the API answers 503 problem+json (never 500); every job ends correctly."""
    client = stack.client
    ids = [client.submit("custom_function", steps=3000 + i, seed=i)["id"] for i in range(12)]
    client.wait(ids[0], until={"running", "succeeded"}, timeout=60)
    stack.compose("stop", "postgres")
    seen = Counter()
    for i in range(8):
        for answer in (client.http.post(client.url("/jobs"), json={"variant": "tensor"}, timeout=30),
                       client.http.get(client.url(f"/jobs/{ids[i]}"), timeout=30),
                       client.http.get(f"{client.base}/readyz", timeout=30)):
            seen[answer.status_code] += 1
            assert answer.status_code == 503, (answer.status_code, answer.text[:300])
            assert answer.headers["Content-Type"].startswith("application/problem+json"), answer.headers
        time.sleep(0.5)
    stack.compose("start", "postgres")
    stack.wait_healthy(timeout=120)
    client.all_succeeded(ids, timeout=300)
    return f"while down: {sum(seen.values())} requests all 503 problem+json, no 500; 12/12 succeeded after"


def partition(stack):
    """8. A worker cut off from Redis and PostgreSQL mid-job: another finishes it; the late outcome is refused."""
    client = stack.client
    job = long_job(stack)  # beyond STALE_AFTER_S
    _, cut = _running_on(stack, job["id"])
    began = time.monotonic()
    sh("docker", "network", "disconnect", stack.network(), cut)
    try:
        done = client.wait(job["id"], timeout=180)
        moved = time.monotonic() - began
    finally:
        sh("docker", "network", "connect", stack.network(), cut)
    assert done["status"] == "succeeded" and done["attempts"] == 2, (done["status"], done["attempts"])
    winner = stack.hostnames().get(done["worker"].split("@")[-1])
    assert winner != cut, "the partitioned worker holds the result"
    # The cut-off worker comes back: its heartbeat or its outcome finds the claim gone.
    deadline, refused = time.monotonic() + 90, None
    while refused is None:
        log = stack.logs(cut)
        for line in log.splitlines():
            if job["id"] in line and ("outcome discarded" in line or "taken over" in line):
                refused = line.split(job["id"], 1)[1].strip()
        assert refused or time.monotonic() < deadline, "the partitioned worker logged no refusal in 90 s"
        time.sleep(2)
    after = client.job(job["id"])
    assert after == done, "the job changed after the partitioned worker came back"
    return (f"other worker finished it {moved:.0f} s after the cut, attempts 2; "
            f"rejoined worker: '{refused[:60]}'; result unchanged")
