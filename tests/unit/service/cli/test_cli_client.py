"""The command line's HTTP client against a real API served in this process (no worker), its tables,
its progress bar, and what `fitq jobs` imports."""
import argparse
import http.server
import io
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from service.cli import tables
from service.cli.client import ApiError, Client
from service.cli.jobs import _until
from service.cli.options import axis, pair, url, value
from service.cli.progress import Progress

REPO = Path(__file__).resolve().parents[4]


def _serving(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def serve(make_app, redis_db):
    """serve(**overrides): the API with these settings on a free port; its base URL."""
    servers = []

    def start(**overrides):
        server, base = _serving(make_app(**overrides))
        servers.append(server)
        return base

    yield start
    for server in servers:
        server.shutdown()


def test_values_are_json_when_they_parse_else_text():
    assert [value(v) for v in ("500", "1e-6", "true", "null", "cpu", "NaN", "[1")] == \
        [500, 1e-6, True, None, "cpu", "NaN", "[1"]
    assert pair("device=cpu") == ("device", "cpu") and pair("formula=a=b") == ("formula", "a=b")
    assert axis("learning_rate=1e-6,2e-6") == ("learning_rate", [1e-6, 2e-6])
    assert axis("dtype=[\"float32\", \"float64\"]") == ("dtype", ["float32", "float64"])
    for bad in ("steps", "=1"):
        with pytest.raises(argparse.ArgumentTypeError):
            pair(bad)
    for bad in ("localhost:8000", "ftp://host", "nonsense"):
        with pytest.raises(argparse.ArgumentTypeError):
            url(bad)


def test_submit_show_cancel_and_the_problems_as_one_line(serve):
    client = Client(serve())
    job = client.post("/api/v1/jobs", {"variant": "tensor", "params": {"steps": 200, "samples": 200}})
    assert job["status"] == "queued" and job["params"]["steps"] == 200
    assert client.get(f"/api/v1/jobs/{job['id']}")["id"] == job["id"]
    assert client.post(f"/api/v1/jobs/{job['id']}/cancel")["status"] == "cancelled"

    with pytest.raises(ApiError) as again:
        client.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert again.value.status == 409 and str(again.value) == \
        f"id: job {job['id']} already cancelled; nothing to cancel"
    with pytest.raises(ApiError) as unknown:
        client.post("/api/v1/jobs", {"variant": "nosuch"})
    assert unknown.value.status == 422 and str(unknown.value).startswith("variant: unknown variant 'nosuch'")
    assert "\n" not in str(unknown.value)


def test_listing_and_compare_queries_reach_the_api(serve):
    client = Client(serve())
    ids = [client.post("/api/v1/jobs", {"variant": v, "params": {"samples": 200}})["id"]
           for v in ("tensor", "nn")]
    page = client.get("/api/v1/jobs", variant="nn", status="queued,running", order_by="-created_at",
                      sweep=None)  # None: left out of the query
    assert [j["id"] for j in page["items"]] == [ids[1]]
    compared = client.get("/api/v1/compare", ids=",".join(ids))["items"]
    assert [c["id"] for c in compared] == ids and compared[0]["optimum"]["samples"] == 200
    lines = tables.compare_lines(compared)
    assert lines[0].split() == ids and lines[1].split() == ["variant", "tensor", "nn"]
    assert any(line.split()[:1] == ["optimum"] for line in lines)


def test_a_missing_token_says_how_to_pass_one_and_a_wrong_one_is_refused(serve):
    base = serve(auth="on")
    with pytest.raises(ApiError) as missing:
        Client(base).get("/api/v1/jobs")
    assert missing.value.status == 401
    assert "--token" in str(missing.value) and "FITQ_TOKEN" in str(missing.value)
    with pytest.raises(ApiError) as wrong:
        Client(base, token="fitq_00000000_" + "x" * 43).get("/api/v1/jobs")
    assert str(wrong.value).startswith("the token was refused: ")


def test_unreachable_and_foreign_servers_give_one_line():
    with pytest.raises(ApiError) as refused:
        Client("http://127.0.0.1:1").get("/api/v1/jobs")
    assert str(refused.value) == "cannot reach fitq at http://127.0.0.1:1: Connection refused"

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>bad gateway</html>")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        with pytest.raises(ApiError) as foreign:
            Client(base).get("/api/v1/jobs")
        assert str(foreign.value) == f"502 Bad Gateway from {base}"
    finally:
        server.shutdown()


def _answers(*answers):
    sequence = iter(answers)

    def fetch():
        answer = next(sequence)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return fetch


def test_a_wait_rides_out_an_api_that_stops_answering_but_not_a_refusal():
    out = io.StringIO()
    fetch = _answers({"n": 0}, ApiError("cannot reach fitq at X: refused"), ApiError("Bad Gateway", status=502),
                     {"n": 1}, ApiError("Service Unavailable", status=503), {"n": 2})
    assert _until(Progress(out, tty=False), fetch, lambda a: a["n"] == 2, lambda a: None) == {"n": 2}
    assert out.getvalue().splitlines() == [  # once per outage
        "fitq: cannot reach fitq at X: refused; trying again for up to 60 s",
        "fitq: Service Unavailable; trying again for up to 60 s"]
    with pytest.raises(ApiError, match="no job"):
        _until(Progress(out, tty=False), _answers({"n": 0}, ApiError("no job", status=404)),
               lambda a: False, lambda a: None)


def test_the_bar_redraws_in_place_on_a_terminal():
    out, now = io.StringIO(), [0.0]
    progress = Progress(out, tty=True, clock=lambda: now[0], columns=100)
    now[0] = 1.5
    progress.show(500, 2000, "job x", "running")
    progress.show(1000, 2000, "job x", "running")
    progress.close()
    text = out.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n") and text.count("\n") == 1
    assert "\rjob x  [" + "#" * 15 + "-" * 15 + "]  50%  1000/2000  1.5s  running\x1b[K\n" in text


def test_the_bar_keeps_to_one_row_of_a_narrow_terminal():
    def drawn(columns):
        out = io.StringIO()
        Progress(out, tty=True, clock=lambda: 0.0, columns=columns).show(1000, 2000, "job " + "a" * 32, "running")
        return out.getvalue().removeprefix("\r").removesuffix("\x1b[K")

    tail = "]  50%  1000/2000  0.0s  running"
    assert drawn(120) == "job " + "a" * 32 + "  [" + "#" * 15 + "-" * 15 + tail
    assert drawn(90) == "job " + "a" * 32 + "  [" + "#" * 5 + "-" * 5 + tail  # a narrower bar
    assert drawn(80) == "[" + "#" * 15 + "-" * 15 + tail  # without the label
    assert drawn(40) == ("[" + "#" * 5 + "-" * 5 + tail)[:39]  # the narrowest bar, and cut


def test_plain_lines_come_on_each_change_of_state_and_now_and_then():
    out, now = io.StringIO(), [0.0]
    progress = Progress(out, tty=False, every_s=10, clock=lambda: now[0])
    for t, step, state in ((0, 0, "queued"), (1, 0, "queued"), (2, 100, "running"), (5, 200, "running"),
                           (12.5, 900, "running"), (13, 1000, "succeeded")):
        now[0] = t
        progress.show(step, 1000, "job x", state, state)
    assert out.getvalue().splitlines() == [
        "job x queued: 0/1000 (0%) after 0.0s", "job x running: 100/1000 (10%) after 2.0s",
        "job x running: 900/1000 (90%) after 12.5s", "job x succeeded: 1000/1000 (100%) after 13.0s"]


def test_tables_line_up_and_show_the_error_of_a_failed_job():
    job = {"id": "a" * 32, "variant": "tensor", "status": "diverged", "device": "cpu",
           "progress": {"step": 300, "steps": 2000}, "created_at": "2026-11-27T05:39:11.270803Z",
           "result": None, "error": {"type": "diverged", "message": "the loss became inf at step 299"}}
    assert tables.result_lines(job) == [
        f"job      {'a' * 32}", "variant  tensor", "status   diverged",
        "error    diverged: the loss became inf at step 299"]
    header, row = tables.listing_lines([job])
    assert header.index("STATUS") == row.index("diverged") and "300/2000" in row
    assert row.endswith("2026-11-27 05:39:11 UTC")


def test_the_client_commands_load_no_server_package():
    # `fitq jobs` runs on a laptop that talks to a remote fitq: no SQLAlchemy, Flask, Celery or torch.
    script = ("import sys\nfrom service.cli import main as cli\n"
              "code = cli.main(['jobs', '--url', 'http://127.0.0.1:1'])\n"
              "print(code, sorted(m for m in ('sqlalchemy', 'flask', 'celery', 'redis', 'torch', 'numpy', "
              "'requests') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "3 []", done.stderr
    assert done.stderr == "fitq: cannot reach fitq at http://127.0.0.1:1: Connection refused\n"


def test_submit_and_sweep_print_the_apis_warning(serve):
    base = serve()

    def fitq(*args):
        return subprocess.run([sys.executable, "-m", "service.cli.main", *args, "--url", base], cwd=REPO,
                              capture_output=True, text=True, timeout=60)

    warned = fitq("submit", "tensor", "-p", "learning_rate=1e-5")
    assert warned.returncode == 0 and len(warned.stdout.split()) == 1  # the job id alone on stdout
    assert "fitq: warning: learning_rate 1e-05 is above 3.5579" in warned.stderr
    plain = fitq("submit", "tensor")
    assert plain.returncode == 0 and "warning" not in plain.stderr
    swept = fitq("sweep", "nn", "-g", "learning_rate=1e-6,1e-5")
    assert swept.returncode == 0 and "fitq: warning: 1 of the sweep's 2 points" in swept.stderr
