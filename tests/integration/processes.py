"""Real fitq processes for integration tests: the API, a Celery worker, `fitq up`, and an HTTP client."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from service.ops.supervisor import die_with_parent

REPO = Path(__file__).resolve().parents[2]
TERMINAL = {"succeeded", "failed", "diverged", "cancelled", "pruned"}


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra) -> dict:
    """This environment without fitq's own variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "PORT", "DATA_DIR", "HOST")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Process:
    """A `fitq` subcommand running in its own process group, its output in a log file."""

    def __init__(self, command, env, log_path):
        self.log_path = Path(log_path)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "service.cli.main", command], cwd=REPO, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=die_with_parent)

    def output(self) -> str:
        """Everything the process has printed so far."""
        return self.log_path.read_text(errors="replace")

    def wait_for_output(self, text, timeout=60):
        """Block until `text` appears in the output."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            assert self.proc.poll() is None, f"process exited early:\n{self.output()[-3000:]}"
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not printed within {timeout}s:\n{self.output()[-3000:]}")

    def stop(self, sig=signal.SIGTERM, timeout=30) -> int:
        """Signal the process group and wait for it to exit; returns the exit code."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class Client:
    """The HTTP API as a user calls it."""

    def __init__(self, base_url):
        self.base = base_url.rstrip("/")
        self.http = requests.Session()

    def wait_healthy(self, timeout=60):
        """Block until /healthz answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.http.get(f"{self.base}/healthz", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.base} not healthy within {timeout}s")

    def submit(self, variant, **params) -> dict:
        """POST a job; asserts 202 and returns the job."""
        r = self.http.post(f"{self.base}/api/v1/jobs", json={"variant": variant, "params": params})
        assert r.status_code == 202, r.text
        return r.json()

    def job(self, job_id) -> dict:
        """GET one job."""
        r = self.http.get(f"{self.base}/api/v1/jobs/{job_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def wait(self, job_id, until=TERMINAL, timeout=120) -> dict:
        """Poll a job until its status is in `until`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if job["status"] in until:
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} still {job['status']} after {timeout}s: {job}")
