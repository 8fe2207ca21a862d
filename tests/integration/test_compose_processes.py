"""The very commands of docker-compose.yml's services, run as local processes: `migrate` on a fresh
PostgreSQL database, `api`, three replicas of `worker` and `sweeper`, on the local Redis. 300 jobs
submitted over HTTP all succeed, each exactly once, and all three workers run some.

What only compose does is translated, nothing else: the service hosts `postgres` and `redis` become the
local servers, the API's container port a free one, and the environment is the file's own, with a
throwaway .env interpolated into it. The worker's entrypoint (fitq-gpu-slot, which needs a GPU) is
left out and the workers see no GPU, so `auto` jobs run on the CPU; tests/unit/test_gpu_slot.py covers
the entrypoint.
"""
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import yaml

from service.ops.supervisor import die_with_parent
from tests.integration.processes import REPO, TERMINAL, clean_env, free_port

SERVICES = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
# What an operator's .env would hold. BATCH_SIZE 8 rather than 64: a worker claims up to BATCH_SIZE
# waiting jobs of one shape at once, and 300 small jobs in batches of 64 could leave a worker idle.
DOT_ENV = {"POSTGRES_PASSWORD": "throwaway", "REDIS_PASSWORD": "throwaway", "FLOWER_BASIC_AUTH": "a:b",
           "BATCH_SIZE": "8"}
VARIABLE = re.compile(r"\$\$|\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}")
WORKERS = 3
# Cheap fits of several variants and shapes, all on the default queue (device auto).
JOBS = [{"variant": "tensor", "params": {"steps": 200, "samples": 200}},
        {"variant": "autograd", "params": {"steps": 150, "samples": 300}},
        {"variant": "custom_function", "params": {"steps": 200, "samples": 200, "log_every": 50}},
        {"variant": "nn", "params": {"steps": 100, "samples": 200}},
        {"variant": "lstsq", "params": {"samples": 500}}]


def interpolate(text: str, env: dict) -> str:
    """Compose's ${NAME}, ${NAME:-default}, ${NAME:?message} and $$, from `env` alone."""
    def one(match):
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.groups()
        value = env.get(name)
        unset = value is None or (value == "" and op and op.startswith(":"))
        if unset and op and op.endswith("?"):
            raise KeyError(f"{name}: {arg}")
        return (arg if op else "") if unset else value
    return VARIABLE.sub(one, text)


def service_env(name, **local) -> dict:
    """The service's environment as compose would give it, then `local` for what compose alone has."""
    env = {k: interpolate(str(v), DOT_ENV) for k, v in SERVICES[name]["environment"].items()}
    # The compose network's host names, which here are the local servers the caller passes in.
    assert "@postgres:5432/" in env["DATABASE_URL"] and "@redis:6379/" in env["REDIS_URL"]
    bin_dir = local.pop("bin_dir")
    path = f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}"  # fitq, fitq-healthcheck
    return clean_env(**{**env, **local, "PATH": path})


class Service:
    """One compose service's command running here, in its own process group, its output in a log."""

    def __init__(self, name, env, log_path, cwd):
        self.name, self.env, self.log_path = name, env, Path(log_path)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(shlex.split(SERVICES[name]["command"]), cwd=cwd, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent)

    def output(self) -> str:
        """Everything it printed so far."""
        return self.log_path.read_text(errors="replace")

    def wait_for_output(self, text, timeout=90):
        """Block until `text` is in the output."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert self.proc.poll() is None, f"{self.name} exited:\n{self.output()[-3000:]}"
            assert time.monotonic() < deadline, f"{self.name}: no {text!r} in {timeout}s:\n{self.output()[-3000:]}"
            time.sleep(0.2)

    def healthcheck(self) -> subprocess.CompletedProcess:
        """The service's compose healthcheck, run with its environment."""
        test = SERVICES[self.name]["healthcheck"]["test"]
        argv = test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=30)

    def stop(self):
        """SIGTERM the group, then SIGKILL whatever is left after 30 s."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, pg_databases, redis_url):
    """migrate, then api, three workers and the sweeper, each as its compose service runs it."""
    tmp = tmp_path_factory.mktemp("compose")
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    # Where the images install docker/healthcheck.py.
    (bin_dir / "fitq-healthcheck").symlink_to(REPO / "docker" / "healthcheck.py")
    local = {"DATABASE_URL": pg_databases(), "REDIS_URL": redis_url, "DATA_DIR": tmp, "bin_dir": bin_dir}
    migrate = subprocess.run(shlex.split(SERVICES["migrate"]["command"]), cwd=tmp, env=service_env("migrate", **local),
                             capture_output=True, text=True, timeout=120)
    port = free_port()
    started = []
    try:
        api = Service("api", service_env("api", **local, PORT=port), tmp / "api.log", tmp)
        started.append(api)
        # No GPU here: in compose, fitq-gpu-slot would set this to the replica's GPU.
        worker_env = service_env("worker", **local, CUDA_VISIBLE_DEVICES="")
        workers = [Service("worker", worker_env, tmp / f"worker{i}.log", tmp) for i in range(WORKERS)]
        started += workers
        sweeper = Service("sweeper", service_env("sweeper", **local), tmp / "sweeper.log", tmp)
        started.append(sweeper)
        for w in workers:
            w.wait_for_output("ready.")
        sweeper.wait_for_output("sweeper: every")
        deadline = time.monotonic() + 60
        while api.healthcheck().returncode != 0:  # as compose waits for `healthy`
            assert api.proc.poll() is None and time.monotonic() < deadline, api.output()[-3000:]
            time.sleep(0.3)
        # HOST is 0.0.0.0 as in the container, so the API wants a token: made as docs/deploy.md says.
        token = subprocess.run(["fitq", "token", "create", "compose-test"], cwd=tmp, env=api.env, capture_output=True,
                               text=True, timeout=60, check=True).stdout.strip()
        yield {"migrate": migrate, "api": api, "workers": workers, "sweeper": sweeper,
               "base": f"http://127.0.0.1:{port}", "token": token}
    finally:
        for service in reversed(started):
            service.stop()


def test_the_migrate_command_brings_a_fresh_database_to_head(deployment):
    migrate = deployment["migrate"]
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert "database at head" in migrate.stdout


def test_the_workers_run_celery_with_the_compose_pool_and_queues(deployment):
    for worker in deployment["workers"]:
        banner = worker.output()
        assert "concurrency: 1 (solo)" in banner
        assert sorted(re.findall(r"^\s*\.> (\w+)\s", banner, re.M)) == ["fitq", "gpu"]


def test_the_compose_healthchecks_pass(deployment):
    for service in (deployment["api"], deployment["workers"][0], deployment["sweeper"]):
        done = service.healthcheck()
        assert done.returncode == 0, f"{service.name}: {done.stderr}"


def _submit_all(base, token, count):
    local = threading.local()

    def submit(i):
        if not hasattr(local, "http"):
            local.http = requests.Session()
            local.http.headers["Authorization"] = f"Bearer {token}"
        r = local.http.post(f"{base}/api/v1/jobs", json=JOBS[i % len(JOBS)], timeout=30)
        assert r.status_code == 202, r.text
        return r.json()["id"]

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(submit, range(count)))


def _all_jobs(http, base):
    jobs, cursor = {}, None
    while True:
        r = http.get(f"{base}/api/v1/jobs", params={"limit": 200, **({"cursor": cursor} if cursor else {})},
                     timeout=30)
        assert r.status_code == 200, r.text
        jobs.update((job["id"], job) for job in r.json()["items"])
        cursor = r.json()["next_cursor"]
        if not cursor:
            return jobs


def test_300_jobs_over_http_each_run_once_spread_over_all_three_workers(deployment):
    base, token = deployment["base"], deployment["token"]
    ids = _submit_all(base, token, 300)
    assert len(set(ids)) == 300
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    deadline = time.monotonic() + 120
    while True:
        jobs = _all_jobs(http, base)
        if set(jobs) >= set(ids) and all(jobs[i]["status"] in TERMINAL for i in ids):
            break
        assert time.monotonic() < deadline, {s: sum(j["status"] == s for j in jobs.values())
                                             for s in {j["status"] for j in jobs.values()}}
        time.sleep(0.5)
    failed = [jobs[i] for i in ids if jobs[i]["status"] != "succeeded"]
    assert not failed, failed[:3]
    assert {jobs[i]["attempts"] for i in ids} == {1}
    # Exactly once, by the workers' own account: one `started` line per job across the three logs.
    logs = [w.output() for w in deployment["workers"]]
    started = [re.findall(r"job (\w+) started", log) for log in logs]
    runs = [job_id for per_worker in started for job_id in per_worker]
    assert sorted(runs) == sorted(ids), "some job started twice, or never"
    assert all(started), [len(s) for s in started]
    assert len({jobs[i]["worker"] for i in ids}) == WORKERS
    # Nothing needed rescuing: the sweeper resent or requeued nothing.
    assert not re.search(r"queued again|sent again|worker .* lost", deployment["sweeper"].output())
