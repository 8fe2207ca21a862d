"""The embedded default: `fitq up` with no environment runs on SQLite and a Redis of its own."""
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from service.api.document import job_document
from service.store.db import make_engine, make_sessionmaker
from service.store.jobs import get
from tests.integration.expectations import ALL, SEED, check_succeeded
from tests.integration.processes import Client, Process, clean_env, free_port

FITQ = str(Path(sys.executable).with_name("fitq"))


def _listening(port) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _start(tmp_path, port, name):
    up = Process("up", clean_env(DATA_DIR=tmp_path, PORT=port), tmp_path / f"{name}.log")
    try:
        up.wait_for_output("fitq is up at", timeout=120)
    except BaseException:
        up.stop()
        raise
    redis_port = int(re.search(r"Redis redis://:\*\*\*@127\.0\.0\.1:(\d+)/", up.output()).group(1))
    return up, redis_port


def test_fitq_up_runs_every_variant_and_keeps_results_after_a_restart(tmp_path):
    port = free_port()
    up, redis_port = _start(tmp_path, port, "first")
    client = Client(f"http://127.0.0.1:{port}")
    try:
        assert client.http.get(f"{client.base}/readyz").json()["redis"] == "ok"
        # The private Redis wants this run's password: another local user can neither read nor forge jobs.
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=redis_port).ping()
        submitted = [client.submit(v, seed=SEED) for v in ALL]
        finished = [client.wait(job["id"], timeout=180) for job in submitted]
        for job in finished:
            check_succeeded(job)
        # `fitq workers` with no REDIS_URL asks the API (fitq up's Redis is its own).
        listed = subprocess.run([FITQ, "workers"], env=clean_env(FITQ_URL=client.base), capture_output=True,
                                text=True, timeout=30)
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.splitlines()[0].split()[:3] == ["NAME", "PID", "DEVICE"]
        assert len(listed.stdout.splitlines()) == 2 and "fitq" in listed.stdout.splitlines()[1]
    finally:
        code = up.stop(signal.SIGINT)  # what Ctrl-C sends
    assert code == 0, up.output()[-3000:]
    assert not _listening(port) and not _listening(redis_port), "a child outlived fitq up"
    assert (tmp_path / "fitq.db").exists()

    up, _ = _start(tmp_path, port, "second")
    try:
        for job in finished:
            assert client.job(job["id"]) == job
    finally:
        assert up.stop(signal.SIGINT) == 0


def test_fitq_up_resumes_jobs_a_stop_cut_off(tmp_path):
    port = free_port()
    # A grace period far past STOP_TIMEOUT_S: the worker keeps the job rather than hand it back, and
    # is killed mid-job (test_graceful_shutdown.py has the hand-back).
    env = clean_env(DATA_DIR=tmp_path, PORT=port, STOP_TIMEOUT_S=1, SHUTDOWN_GRACE_S=600)
    up = Process("up", env, tmp_path / "first.log")
    client = Client(f"http://127.0.0.1:{port}")
    try:
        up.wait_for_output("fitq is up at", timeout=120)
        long = client.submit("dynamic", steps=20_000, log_every=500, seed=7)
        client.wait(long["id"], until={"running"}, timeout=60)
        behind = client.submit("lstsq")
    finally:
        assert up.stop(signal.SIGINT) == 0  # the worker is killed mid-job; Redis kept nothing
    assert _stored_job(tmp_path, long["id"])["status"] == "running"

    up = Process("up", env, tmp_path / "second.log")
    try:
        up.wait_for_output("fitq is up at", timeout=120)
        assert "resumed 2 queued jobs (1 had been cut off while running)" in up.output()
        resumed = client.wait(long["id"], timeout=120)
        assert resumed["status"] == "succeeded" and resumed["attempts"] == 2
        assert client.wait(behind["id"])["status"] == "succeeded"
    finally:
        assert up.stop(signal.SIGINT) == 0


def test_fitq_up_restarts_a_killed_worker_and_redis_and_loses_no_job(tmp_path):
    port = free_port()
    env = clean_env(DATA_DIR=tmp_path, PORT=port, HEARTBEAT_S=0.5, STALE_AFTER_S=3,
                    SWEEP_INTERVAL_S=0.5, REDELIVER_AFTER_S=2)
    up = Process("up", env, tmp_path / "up.log")
    client = Client(f"http://127.0.0.1:{port}")
    try:
        up.wait_for_output("fitq is up at", timeout=120)
        redis_port = int(re.search(r"Redis redis://:\*\*\*@127\.0\.0\.1:(\d+)/", up.output()).group(1))
        long = client.submit("autograd", steps=20_000, samples=100, log_every=200)
        client.wait(long["id"], until={"running"}, timeout=60)
        os.kill(_stored_row(tmp_path, long["id"]).worker_pid, signal.SIGKILL)  # the solo worker
        up.wait_for_output("worker exited with -9; starting it again", timeout=30)
        resumed = client.wait(long["id"], timeout=120)  # the sweeper found its heartbeat stale
        assert resumed["status"] == "succeeded" and resumed["attempts"] == 2

        os.kill(_redis(tmp_path, redis_port).info()["process_id"], signal.SIGKILL)
        up.wait_for_output("redis exited with -9; starting it again", timeout=30)
        after = _submit_until_accepted(client, "lstsq")
        assert client.wait(after, timeout=60)["status"] == "succeeded"
    finally:
        assert up.stop(signal.SIGINT) == 0, up.output()[-3000:]


def _redis(data_dir, port):
    # The password of this run, from the file only its user can read (the test runs as that user).
    secret = (data_dir / "redis.conf").read_text().split()[1]
    return redis.Redis(port=port, password=secret)


def _submit_until_accepted(client, variant, timeout=30):
    # Right after Redis died the API answers 503 (the job recorded); a client retries with its key.
    deadline, key = time.monotonic() + timeout, {"Idempotency-Key": f"retry-{variant}"}
    while True:
        r = client.http.post(f"{client.base}/api/v1/jobs", json={"variant": variant}, headers=key)
        if r.status_code == 202 or time.monotonic() > deadline:
            assert r.status_code == 202, r.text
            return r.json()["id"]
        time.sleep(0.2)


def _stored_row(data_dir, job_id):
    """The job's row (with worker_pid, which the API does not show) from the SQLite file."""
    engine = make_engine(f"sqlite:///{data_dir}/fitq.db")
    with make_sessionmaker(engine)() as session:
        row = get(session=session, job_id=job_id)
    engine.dispose()
    return row


def _stored_job(data_dir, job_id):
    """Read a job straight from the embedded default's SQLite file while nothing serves it."""
    engine = make_engine(f"sqlite:///{data_dir}/fitq.db")
    with make_sessionmaker(engine)() as session:
        doc = job_document(get(session=session, job_id=job_id))
    engine.dispose()
    return doc
