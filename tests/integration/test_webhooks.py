"""Webhooks on the real stack: the API, a worker and `fitq deliver` on PostgreSQL and Redis, calling a real
HTTP receiver on 127.0.0.1 (allow-listed): signed, retried, surviving a deliverer killed between attempts,
a sweep's fired once; a forbidden callback is a 422 and nothing is sent."""
import json
import re
import signal
import time
from pathlib import Path

import pytest

from fitq_client import Client as FitqClient
from service.webhooks.signature import HEADER, verify
from tests.integration.conftest import Stack
from tests.integration.processes import Client, Process, clean_env, free_port
from tests.integration.receiver import Receiver

SECRET = "integration-secret"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def hooked(tmp_path_factory, pg_url, redis_url):
    """API + worker whose settings sign webhooks and allow the receiver's host (and only it)."""
    s = Stack(tmp_path_factory.mktemp("webhooks"), pg_url, redis_url, extra_env={
        "WEBHOOK_SECRET": SECRET, "WEBHOOK_ALLOW_HOSTS": "127.0.0.1", "WEBHOOK_BACKOFF_S": "0.5",
        "WEBHOOK_POLL_S": "0.2", "WEBHOOK_TIMEOUT_S": "5"})
    yield s
    s.close()


def _deliverer(stack, name, **env):
    proc = Process("deliver", {**stack.env, **env}, stack.tmp / f"{name}.log")
    proc.wait_for_output("deliverer: ready")
    return proc


@pytest.fixture
def deliverer(hooked):
    proc = _deliverer(hooked, "deliverer")
    yield proc
    proc.stop()


def _submit(stack, url, path="jobs", **body):
    r = stack.client.http.post(f"{stack.client.base}/api/v1/{path}",
                               json={"variant": "lstsq", "params": {"samples": 200}, **body, "callback_url": url})
    assert r.status_code == 202, r.text
    return r.json()


def _deliveries(stack, path, count=1, attempts=1, timeout=60):
    # Read as a user would: GET .../deliveries until `count` deliveries show `attempts` attempts in all.
    deadline = time.monotonic() + timeout
    while True:
        r = stack.client.http.get(f"{stack.client.base}/api/v1/{path}/deliveries")
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        if len(items) == count and sum(len(d["attempts"]) for d in items) >= attempts:
            return items
        assert time.monotonic() < deadline, items
        time.sleep(0.1)


def _snippet():
    # The receiver-side check docs/webhooks.md shows, run as a reader would paste it.
    code = re.search(r"```python\n(.*?)```", DOCS.read_text(), re.S).group(1)
    assert len(code.strip().splitlines()) <= 10, code
    scope = {}
    exec(code, scope)  # noqa: S102 (the documented snippet, from this repository)
    return scope["verified"]


@pytest.mark.usefixtures("deliverer")
def test_a_jobs_end_reaches_the_receiver_signed_and_the_docs_snippet_verifies_it(hooked, receiver):
    job = _submit(hooked, receiver.url("/signed?source=fitq"))
    [got] = receiver.wait("/signed", 1)
    document = json.loads(got.body)
    assert document["id"] == job["id"] and document["status"] == "succeeded"
    assert document["result"]["final_loss"] == hooked.client.job(job["id"])["result"]["final_loss"]
    assert got.path == "/signed?source=fitq"
    assert got.headers["Content-Type"] == "application/json" and got.headers["Fitq-Event"] == "job.ended"
    header = got.headers[HEADER]
    assert verify(SECRET, header, got.body, now=time.time())
    verified = _snippet()
    assert verified(got.body, header, SECRET)
    assert not verified(got.body.replace(b"succeeded", b"failed"), header, SECRET)
    assert not verified(got.body, header, "another secret")
    [delivery] = _deliveries(hooked, f"jobs/{job['id']}")
    assert delivery["state"] == "delivered" and delivery["next_attempt_at"] is None
    assert [(a["status_code"], a["excerpt"]) for a in delivery["attempts"]] == [(200, "thanks")]


@pytest.mark.usefixtures("deliverer")
def test_a_receiver_answering_500_twice_gets_the_same_body_three_times_with_backoff(hooked, receiver):
    receiver.plan("/flaky", 500, 500)
    job = _submit(hooked, receiver.url("/flaky"))
    got = receiver.wait("/flaky", 3)
    assert len({r.body for r in got}) == 1  # every retry sends the same document
    assert all(verify(SECRET, r.headers[HEADER], r.body, now=time.time()) for r in got)
    assert len({r.headers["Fitq-Delivery"] for r in got}) == 1  # a receiver can tell a retry
    [delivery] = _deliveries(hooked, f"jobs/{job['id']}", attempts=3)
    attempts = delivery["attempts"]
    assert [a["status_code"] for a in attempts] == [500, 500, 200] and delivery["state"] == "delivered"
    assert len(attempts[0]["excerpt"]) == 200 and attempts[0]["excerpt"].startswith("oops")
    # WEBHOOK_BACKOFF_S=0.5: the second attempt waited at least 0.5 s after the first, the third at least 1 s.
    assert got[1].at - got[0].at >= 0.5 and got[2].at - got[1].at >= 1.0


def test_a_deliverer_killed_between_attempts_loses_nothing(hooked, receiver):
    # Its own deliverers, with a backoff long enough to kill the first in between.
    receiver.plan("/restart", 500)
    first = _deliverer(hooked, "deliverer-first", WEBHOOK_BACKOFF_S="4")
    job = _submit(hooked, receiver.url("/restart"))
    _deliveries(hooked, f"jobs/{job['id']}", attempts=1)  # the 500 is recorded: a retry is due in 4 s
    first.stop(signal.SIGKILL)
    assert len(receiver.at("/restart")) == 1, "the retry came before the kill; nothing was tested"
    second = _deliverer(hooked, "deliverer-second", WEBHOOK_BACKOFF_S="4")
    try:
        receiver.wait("/restart", 2)
        [delivery] = _deliveries(hooked, f"jobs/{job['id']}", attempts=2)
        assert [a["status_code"] for a in delivery["attempts"]] == [500, 200]
        assert delivery["state"] == "delivered"
    finally:
        second.stop()


def test_forbidden_callbacks_are_a_422_and_nothing_is_sent(hooked, receiver):
    # A second API with no allow list, beside the stack: the receiver's own loopback address is refused too.
    port = free_port()
    strict = Process("api", {**hooked.env, "PORT": str(port), "WEBHOOK_ALLOW_HOSTS": ""}, hooked.tmp / "strict.log")
    client = Client(f"http://127.0.0.1:{port}")
    # A deliverer that would send anything written: it allows the receiver's host.
    proc = _deliverer(hooked, "deliverer-forbidden")
    try:
        client.wait_healthy()
        newest = client.http.get(f"{client.base}/api/v1/jobs?limit=1").json()["items"]
        for url in ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://localhost/",
                    f"http://localhost:{receiver.port}/forbidden", receiver.url("/forbidden"),
                    f"http://[::ffff:127.0.0.1]:{receiver.port}/forbidden", "file:///etc/passwd"):
            for path, extra in (("jobs", {}), ("sweeps", {"grid": {"samples": [10, 20]}})):
                r = client.http.post(f"{client.base}/api/v1/{path}",
                                     json={"variant": "lstsq", "callback_url": url, **extra})
                assert r.status_code == 422, r.text
                assert r.headers["Content-Type"] == "application/problem+json"
                assert r.json()["field"] == "callback_url", r.json()
        # No job was recorded for any of them: the newest is the one before.
        assert client.http.get(f"{client.base}/api/v1/jobs?limit=1").json()["items"] == newest
        # A webhook sent after all of them arrives, and it is the only thing that did.
        _submit(hooked, receiver.url("/after"))
        receiver.wait("/after", 1)
        assert receiver.at("/forbidden") == []
    finally:
        proc.stop()
        strict.stop()


def test_a_sweeps_webhook_fires_once_when_its_last_job_ends(hooked, receiver):
    proc = _deliverer(hooked, "deliverer-sweep")
    try:
        sweep = _submit(hooked, receiver.url("/sweep"), path="sweeps", grid={"samples": [50, 100, 150, 200]},
                        params={})
        [got] = receiver.wait("/sweep", 1)
        document = json.loads(got.body)
        assert document["id"] == sweep["id"] and document["finished"] is True
        assert document["counts"]["succeeded"] == 4 and document["best"] is not None
        assert got.headers["Fitq-Event"] == "sweep.ended"
        assert verify(SECRET, got.headers[HEADER], got.body, now=time.time())
        [delivery] = _deliveries(hooked, f"sweeps/{sweep['id']}")
        assert [a["status_code"] for a in delivery["attempts"]] == [200]
        listed = hooked.client.http.get(f"{hooked.client.base}/api/v1/jobs", params={"sweep": sweep["id"]}).json()
        for job in listed["items"]:  # its jobs announce nothing of their own
            assert hooked.client.http.get(f"{hooked.client.base}/api/v1/jobs/{job['id']}/deliveries"
                                          ).json() == {"items": []}
        time.sleep(1)  # a second, wrong, delivery would be due at once: give it a chance to show
        assert len(receiver.at("/sweep")) == 1
    finally:
        proc.stop()


def test_a_searchs_webhook_fires_once_when_it_has_stopped_asking_and_its_last_trial_ends(hooked, receiver):
    # Two batches of 4 trials: the first batch's end leaves nothing running but is not the search's end.
    sweeper = Process("sweeper", hooked.env, hooked.tmp / "sweeper-search.log")
    proc = _deliverer(hooked, "deliverer-search")
    try:
        r = hooked.client.http.post(f"{hooked.client.base}/api/v1/sweeps", json={
            "variant": "tensor", "params": {"steps": 300, "samples": 200}, "strategy": "random", "trials": 8,
            "parallelism": 4, "seed": 5, "space": {"learning_rate": {"low": 1e-7, "high": 3e-6, "log": True}},
            "callback_url": receiver.url("/search")})
        assert r.status_code == 202, r.text
        [got] = receiver.wait("/search", 1, timeout=120)
        document = json.loads(got.body)
        assert document["id"] == r.json()["id"] and document["finished"] is True
        assert document["search"]["ended"] == "trials" and document["trials"] == {"asked": 8, "finished": 8,
                                                                                   "pruned": 0}
        assert document["best"]["relative_excess_loss"] == min(
            j["result"]["relative_excess_loss"] for j in hooked.client.http.get(
                f"{hooked.client.base}/api/v1/jobs", params={"sweep": document["id"], "limit": 50}).json()["items"]
            if j["status"] == "succeeded")
        assert got.headers["Fitq-Event"] == "sweep.ended"
        assert verify(SECRET, got.headers[HEADER], got.body, now=time.time())
        time.sleep(1)  # a second delivery would be due at once: give it a chance to show
        assert len(receiver.at("/search")) == 1
    finally:
        proc.stop()
        sweeper.stop()


def test_fitq_up_runs_a_deliverer_that_sends_the_webhook(tmp_path, receiver):
    # The embedded default (SQLite, its own Redis) with a secret: `fitq up` alone delivers.
    port = free_port()
    up = Process("up", clean_env(DATA_DIR=tmp_path, PORT=port, WEBHOOK_SECRET=SECRET, WEBHOOK_ALLOW_HOSTS="127.0.0.1"),
                 tmp_path / "up.log")
    try:
        up.wait_for_output("fitq is up at", timeout=120)
        client = Client(f"http://127.0.0.1:{port}")
        r = client.http.post(f"{client.base}/api/v1/jobs",
                             json={"variant": "lstsq", "callback_url": receiver.url("/up")})
        assert r.status_code == 202, r.text
        [got] = receiver.wait("/up", 1)
        assert json.loads(got.body)["id"] == r.json()["id"]
        assert verify(SECRET, got.headers[HEADER], got.body, now=time.time())
    finally:
        assert up.stop(signal.SIGINT) == 0, up.output()[-3000:]


@pytest.mark.usefixtures("deliverer")
def test_fitq_client_submits_with_a_callback_and_reads_its_deliveries(hooked, receiver):
    client = FitqClient(hooked.client.base)
    job = client.submit("lstsq", samples=100, callback_url=receiver.url("/client"))
    job.wait(timeout=60)
    receiver.wait("/client", 1)
    deadline = time.monotonic() + 60
    while not (found := job.deliveries()) or not found[0]["attempts"]:
        assert time.monotonic() < deadline, found
        time.sleep(0.1)
    assert [a["status_code"] for a in found[0]["attempts"]] == [200] and found[0]["state"] == "delivered"
    sweep = client.sweep("lstsq", {"samples": [50, 60]}, callback_url=receiver.url("/client-sweep"))
    sweep.wait(timeout=60)
    receiver.wait("/client-sweep", 1)
    assert [d["url"] for d in sweep.deliveries()] == [receiver.url("/client-sweep")]
