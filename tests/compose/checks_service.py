"""Checks of the stack as users run it: start-up, every variant, load, scaling, restarts, security."""
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from tests.compose.client import Client
from tests.compose.engine import sh
from tests.compose.stack import TAG
from tests.integration.expectations import ALL, SEED, check_succeeded

# Cheap fits of several variants and shapes, as tests/integration/test_compose_processes.py sends.
JOBS = [{"variant": "tensor", "params": {"steps": 200, "samples": 200}},
        {"variant": "autograd", "params": {"steps": 150, "samples": 300}},
        {"variant": "custom_function", "params": {"steps": 200, "samples": 200, "log_every": 50}},
        {"variant": "nn", "params": {"steps": 100, "samples": 200}},
        {"variant": "lstsq", "params": {"samples": 500}}]


def _stamp(text) -> float:
    """Docker's RFC 3339 timestamp (nanoseconds) as seconds since the epoch."""
    head, _, frac = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(head + "+00:00").timestamp() + float("0." + (frac or "0")[:6])


def startup(stack):
    """1. `up` to every service healthy (migrate exited 0), image sizes, API and worker start-up times."""
    began = time.monotonic()
    stack.up(3)
    stack.wait_healthy(timeout=180)
    took = time.monotonic() - began
    stack.connect()
    sizes = {name: int(sh("docker", "image", "inspect", "-f", "{{.Size}}", f"{name}:{TAG}", quiet=True)) / 1e6
             for name in ("fitq-api", stack.image_name())}
    starts = {}
    for service, line in (("api", "Listening at"), (stack.worker, " ready.")):
        name = stack.containers(service)[0]
        started = _stamp(stack.inspect(name)[0]["State"]["StartedAt"])
        logs = stack.logs(name, timestamps=True)
        ready = [_stamp(row.split()[0]) for row in logs.splitlines() if line in row]
        assert ready, f"{name}: no '{line.strip()}' line in its log"
        starts[service] = min(ready) - started
    return (f"healthy in {took:.0f} s (limit 180); images: " + ", ".join(f"{k} {v:.0f} MB" for k, v in sizes.items())
            + "; ready after start: " + ", ".join(f"{k} {v:.1f} s" for k, v in starts.items()))


def variants(stack):
    """2. All nine variants succeed; custom_function reproduces the seed's 20 losses (1e-5 relative)."""
    client = stack.client
    submitted = {v: client.submit(v, seed=SEED) for v in ALL}
    finished = {v: client.wait(j["id"], timeout=180) for v, j in submitted.items()}
    for job in finished.values():
        check_succeeded(job)  # custom_function's 20 losses against the seed's, 1e-5 relative, included
    workers = len({j["worker"] for j in finished.values()})
    return f"9/9 succeeded on {workers} workers; custom_function's 20 losses match the seed"


def load(stack):
    """3. Three workers: 300 jobs from 8 concurrent clients all succeed, each started once, on all three."""
    clients = [Client(stack.client.base, stack.token) for _ in range(8)]
    began = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        def submit(i):
            job = JOBS[i % len(JOBS)]
            return clients[i % 8].submit(job["variant"], **job["params"])["id"]

        ids = list(pool.map(submit, range(300)))
    jobs, attempts = stack.client.all_succeeded(ids, timeout=300)
    took = time.monotonic() - began
    hosts = stack.hostnames()
    per_worker = Counter(hosts.get(j["worker"].split("@")[-1], j["worker"]) for j in jobs.values())
    assert attempts == {1: 300}, attempts
    assert len(per_worker) == 3 and set(per_worker) <= set(hosts.values()), per_worker
    return (f"300/300 succeeded in {took:.0f} s, attempts 1 each; per worker "
            + "/".join(str(n) for n in sorted(per_worker.values())))


def scale(stack):
    """4. Scale 3 -> 5 -> 1 while jobs run: every job succeeds once, none lost."""
    client = stack.client
    # A shape of its own each (steps differ), so that each runs alone for about a second.
    ids = [client.submit("custom_function", steps=2000 + i, seed=i)["id"] for i in range(30)]
    stack.up(5)
    stack.wait_ready(5)
    stack.up(1)
    _, attempts = client.all_succeeded(ids, timeout=300)
    # A worker stopped by the scale-down hands its job back (attempt 2 runs it); never a 3rd attempt.
    assert set(attempts) <= {1, 2}, attempts
    assert len(stack.containers(stack.worker)) == 1
    stack.up(3)
    stack.wait_ready(3)
    return (f"30/30 succeeded, attempts {dict(sorted(attempts.items()))}; "
            f"{len(stack.containers(stack.worker))} workers after scaling back to 3")


def down_up(stack):
    """9. `down` then `up` with volumes kept: every job, sweep and token reads back the same."""
    client = stack.client
    answer = client.http.post(client.url("/sweeps"), json={"variant": "tensor", "params": {"steps": 100},
                                                            "grid": {"seed": [0, 1, 2]}}, timeout=30)
    assert answer.status_code == 202, answer.text
    sweep = answer.json()["id"]
    client.settle([], timeout=120)
    before_jobs, before_sweep = client.all_jobs(), client.http.get(client.url(f"/sweeps/{sweep}")).json()
    before_tokens = stack.compose("exec", "-T", "api", "fitq", "token", "list", quiet=True)
    stack.down(volumes=False)
    stack.up()
    stack.wait_healthy(timeout=180)
    after_jobs, after_sweep = client.all_jobs(), client.http.get(client.url(f"/sweeps/{sweep}")).json()
    after_tokens = stack.compose("exec", "-T", "api", "fitq", "token", "list", quiet=True)
    assert after_jobs == before_jobs, "jobs differ after down/up"
    assert after_sweep == before_sweep, (before_sweep, after_sweep)
    # LAST USED moves whenever the token is used (it is, to read the jobs back); every other column stays.
    assert _kept(after_tokens) == _kept(before_tokens), (before_tokens, after_tokens)
    return f"{len(after_jobs)} jobs, sweep of {after_sweep['size']}, token list identical; old token still works"


def _kept(token_list):
    lines = token_list.strip().splitlines()
    cut = lines[0].index("LAST USED")
    return [line[:cut].rstrip() for line in lines]


def security(stack):
    """12. Non-root API and workers; 401 without a token; Redis wants its password; secrets only from .env."""
    seen = []
    for service in ("api", stack.worker, "sweeper", "deliverer"):
        for name in stack.containers(service):
            uid = sh("docker", "exec", name, "id", "-u", quiet=True).strip()
            assert uid == "10001", f"{name} runs as uid {uid}"
    seen.append("api/workers/sweeper/deliverer uid 10001")
    bare = __import__("requests").get(stack.client.url("/jobs"), timeout=10)
    assert bare.status_code == 401, bare.status_code
    seen.append("no token: 401")
    probe = ("import redis,sys\ntry:\n redis.Redis(host='redis', socket_timeout=5).ping()\n"
             "except redis.AuthenticationError as e:\n print('refused:', e); sys.exit(0)\n"
             "print('answered without a password'); sys.exit(1)")
    out = stack.compose("exec", "-T", "api", "python", "-c", probe, quiet=True)
    seen.append("redis without password: " + out.strip().split(":")[0])
    seen.append(_secrets_only_from_env(stack))
    return "; ".join(seen)


def _secrets_only_from_env(stack) -> str:
    """No secret in images; in containers only in env vars and command lines compose took from .env; none in logs."""
    secrets = {k: v.split(":")[-1] for k, v in stack.secrets.items()}
    secrets["token"] = stack.token
    for image in ("fitq-api", stack.image_name()):
        text = sh("docker", "image", "inspect", f"{image}:{TAG}", quiet=True)
        leaked = [k for k, v in secrets.items() if v in text]
        assert not leaked, f"{image} image holds {leaked}"
    places = 0
    for container in stack.inspect(*stack.containers(all_=True)):
        for path, text in _strings(container):
            for key, value in secrets.items():
                if value in text:
                    # From .env: the compose file's ${...} in environment and in redis's command line.
                    allowed = key != "token" and (path.startswith("Config.Env") or path.startswith("Args")
                                                  or path.startswith("Config.Cmd"))
                    assert allowed, f"{container['Name']}: {key} at {path}"
                    places += 1
    logs = stack.compose("logs", "--no-color", quiet=True)
    leaked = [k for k, v in secrets.items() if v in logs]
    assert not leaked, f"logs show {leaked}"
    lines = len(logs.splitlines())
    return f"secrets in inspect only from .env ({places} env/command entries), none in images or {lines} log lines"


def _strings(value, path=""):
    """Every string in a JSON value with its dotted path."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, value
    else:
        yield path, json.dumps(value)
