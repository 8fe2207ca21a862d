"""Progress streams on the real stack (gunicorn's gevent workers, a Celery worker, PostgreSQL, Redis):
every history point once and in order, across an API restart with Last-Event-ID; finished work replayed."""
import http.server
import json
import threading

import pytest
import requests

from tests.integration.test_cli import fitq, record

pytestmark = pytest.mark.usefixtures("stack")


def events(response):
    """The events of an open text/event-stream response as (name, id, data), until the server closes it."""
    fields = {}
    try:
        for line in response.iter_lines(decode_unicode=True):
            if line:
                if not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    fields[name] = value
            elif fields:
                yield fields["event"], fields["id"], json.loads(fields["data"])
                fields = {}
    except requests.exceptions.ChunkedEncodingError:
        return  # the server went away mid-stream: what came before counts


def stream(stack, path, last_id=None):
    headers = {"Last-Event-ID": last_id} if last_id else {}
    response = stack.client.http.get(f"{stack.client.base}/api/v1/{path}/events", headers=headers,
                                     stream=True, timeout=60)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/event-stream")
    return response


def test_a_running_jobs_stream_delivers_every_point_once_in_order_across_an_api_restart(stack):
    # About 200 history points over several seconds: time to restart the API while it runs.
    job = stack.client.submit("autograd", steps=100_000, samples=100, log_every=500, device="cpu")
    first = stream(stack, f"jobs/{job['id']}")
    seen = []
    for event in events(first):
        seen.append(event)
        if sum(name == "progress" for name, _, _ in seen) == 5:
            break
    assert stack.client.job(job["id"])["status"] == "running"  # other requests answered meanwhile
    stack.stop_api()  # with the stream still open: the server closes it and stops at once
    seen += list(events(first))  # what was sent before it closed
    stack.start_api()
    rest = list(events(stream(stack, f"jobs/{job['id']}", last_id=seen[-1][1])))

    done = stack.client.job(job["id"])
    assert done["status"] == "succeeded", done
    got = seen + rest
    progress = [(data["step"], data["loss"]) for name, _, data in got if name == "progress"]
    assert progress == [(p["step"], p["loss"]) for p in done["result"]["loss_history"]]
    assert [data["status"] for name, _, data in got if name == "status"][-1] == "succeeded"
    assert got[-1][0] == "end" and [name for name, _, _ in got].count("end") == 1
    ids = [eid for _, eid, _ in got]
    assert len(set(ids)) == len(ids)  # nothing twice


def test_a_finished_job_replays_its_history_then_its_status_and_end(stack):
    job = stack.client.wait(stack.client.submit("numpy", steps=500, samples=100, log_every=50)["id"])
    got = list(events(stream(stack, f"jobs/{job['id']}")))
    assert [name for name, _, _ in got] == ["progress"] * 10 + ["status", "end"]
    assert [data for name, _, data in got[:10]] == [
        {"step": p["step"], "steps": 500, "loss": p["loss"]} for p in job["result"]["loss_history"]]
    assert got[10][2] == job and got[11][2] == {"status": "succeeded"}


@pytest.mark.parametrize("path", ["jobs", "sweeps"])
def test_an_unknown_id_is_a_404_problem_not_a_stream(stack, path):
    r = stack.client.http.get(f"{stack.client.base}/api/v1/{path}/{'0' * 32}/events", timeout=10)
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/problem+json", r.text
    assert r.json()["field"] == "id"


def test_a_sweep_stream_sends_each_finished_job_and_ends(stack):
    r = stack.client.http.post(f"{stack.client.base}/api/v1/sweeps", json={
        "variant": "tensor", "params": {"steps": 2000, "samples": 200, "log_every": 100},
        "grid": {"seed": [0, 1, 2, 3]}})
    assert r.status_code == 202, r.text
    sweep = r.json()
    got = list(events(stream(stack, f"sweeps/{sweep['id']}")))
    finished = [data for name, _, data in got if name == "job"]
    assert sorted(j["id"] for j in finished) == sorted(
        j["id"] for j in stack.client.http.get(f"{stack.client.base}{sweep['jobs']}").json()["items"])
    assert all(j["status"] == "succeeded" for j in finished)
    assert got[-1][0] == "end" and got[-1][2]["counts"]["succeeded"] == 4
    best = [data for name, _, data in got if name == "best"][-1]
    assert best["final_loss"] == min(j["final_loss"] for j in finished)


class StreamBlockingProxy(http.server.BaseHTTPRequestHandler):
    """A proxy in front of the API that passes every request on but refuses event streams (502)."""

    upstream = ""

    def _forward(self):
        if self.path.split("?")[0].endswith("/events"):
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>no streaming here</html>")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
        r = requests.request(self.command, self.upstream + self.path, data=body, timeout=30,
                             headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
        self.send_response(r.status_code)
        for name in ("Content-Type", "Location"):
            if name in r.headers:
                self.send_header(name, r.headers[name])
        self.send_header("Content-Length", str(len(r.content)))
        self.end_headers()
        self.wfile.write(r.content)

    do_GET = do_POST = _forward

    def log_message(self, *args):
        pass


@pytest.fixture
def proxy(stack):
    handler = type("Proxy", (StreamBlockingProxy,), {"upstream": stack.client.base})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.parametrize("command", [("submit", "tensor"), ("sweep", "tensor", "--grid", "seed=0,1")])
def test_wait_reads_the_stream_and_falls_back_to_polling_with_one_notice_behind_a_proxy(stack, proxy, command):
    args = (*command, "-p", "steps=2000", "-p", "samples=200", "-p", "log_every=100", "--wait")
    direct = fitq(*args, "--url", stack.client.base)
    assert direct.returncode == 0, direct.stderr
    assert "polling" not in direct.stderr  # the stream was read
    proxied = fitq(*args, "--url", proxy)
    assert proxied.returncode == 0, proxied.stderr
    notices = [line for line in proxied.stderr.splitlines() if "polling instead" in line]
    assert len(notices) == 1 and notices[0].startswith("fitq: the event stream kept breaking (502"), \
        proxied.stderr
    for done in (direct, proxied):  # the same end either way
        assert ("2 jobs, 2 succeeded" in done.stdout) if command[0] == "sweep" else \
            record(done.stdout)["status"] == "succeeded", done.stdout
