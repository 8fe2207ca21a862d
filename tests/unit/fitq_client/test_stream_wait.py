"""Job.wait over HTTP: it reads the event stream, reopens a broken one from Last-Event-ID, and polls an
API that has no stream (a local stdlib server answers with literal event-stream text)."""
import http.server
import json
import threading

import pytest

from fitq_client import Client, FitqError, Progress, StreamUnavailable
from service.cli import main as cli

DONE = {"id": "j1", "variant": "tensor", "params": {"steps": 300}, "status": "succeeded",
        "progress": {"step": 300, "steps": 300}, "result": None, "error": None}
RUNNING = {**DONE, "status": "running", "progress": {"step": 0, "steps": 300}}
EVENTS = [(str(n), "progress", {"step": 100 * n, "steps": 300, "loss": 10.0 / n}) for n in (1, 2, 3)] + \
    [("4", "status", DONE), ("5", "end", {})]


def _text(events):
    return "".join(f"id: {i}\nevent: {kind}\ndata: {json.dumps(data)}\n\n" for i, kind, data in events)


class Api(http.server.BaseHTTPRequestHandler):
    """GET /api/v1/jobs/j1 and its events: the first stream breaks after two events; with
    streams=False the events route is a 404 problem, as on an API without streams."""

    streams, polls, opened = True, [], []

    def do_GET(self):  # noqa: N802 (the stdlib's name)
        if self.path == "/api/v1/jobs/j1":
            self.polls.append(1)
            return self._json(200, DONE if len(self.polls) > 1 else RUNNING)
        if self.path == "/api/v1/jobs/j1/events" and self.streams == "buffered":
            return self._json(200, {"a proxy": "that answered in its own way"})
        if self.path == "/api/v1/jobs/j1/events" and self.streams:
            last = self.headers.get("Last-Event-ID")
            self.opened.append(last)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            if last is None:  # the first stream: two events and half of a third, then the connection drops
                self.wfile.write((": hello\n\n" + _text(EVENTS[:2]) + "id: 3\nevent: progress\n").encode())
                self.close_connection = True
                return None
            self.wfile.write(_text([e for e in EVENTS if int(e[0]) > int(last)]).encode())
            return None
        return self._json(404, {"type": "about:blank", "title": "Not Found", "status": 404,
                                "detail": "no such route"}, "application/problem+json")

    def do_POST(self):  # noqa: N802 (the stdlib's name): POST /api/v1/jobs, as `fitq submit` sends it
        self.rfile.read(int(self.headers["Content-Length"]))
        return self._json(202, RUNNING)

    def _json(self, status, body, media="application/json"):
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    Api.streams, Api.polls, Api.opened = True, [], []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _running(base):
    client = Client(base)
    return client.transport, client.job("j1")


def test_wait_reads_every_progress_event_once_across_a_broken_stream(api):
    _, job = _running(api)
    seen = []
    assert job.wait(progress=seen.append).status == "succeeded"
    assert Api.opened == [None, "2"]  # reopened from the last event it had whole
    steps = [p.step for p in seen if p.loss is not None]
    assert steps == [100, 200, 300] and seen[0] == Progress(100, 300, 10.0, "running")
    assert job.stream_notice is None


def test_wait_polls_an_api_without_streams_and_says_so(api):
    Api.streams = False
    _, job = _running(api)
    seen = []
    assert job.wait(progress=seen.append, poll_s=0.05).status == "succeeded"
    assert [p.status for p in seen] == ["running", "succeeded"]
    assert "polling instead" in job.stream_notice


def test_a_stream_that_cannot_be_read_is_told_before_the_wait_polls(api):
    Api.streams = "buffered"
    _, job = _running(api)
    notes = []
    assert job.wait(notify=notes.append, poll_s=0.05).status == "succeeded"
    assert notes == ["/api/v1/jobs/j1/events did not answer with an event stream; polling instead"]


def test_events_on_an_api_without_streams_is_stream_unavailable_a_fitq_error(api):
    Api.streams = False
    _, job = _running(api)
    with pytest.raises(StreamUnavailable) as missing:
        next(job.events())
    assert isinstance(missing.value, FitqError) and missing.value.status == 404


def test_an_unreachable_api_is_one_line_without_a_status():
    with pytest.raises(FitqError) as refused:
        Client("http://127.0.0.1:1").job("j1")
    assert str(refused.value) == "cannot reach fitq at http://127.0.0.1:1: Connection refused"
    assert refused.value.status is None and refused.value.transient


def test_the_cli_waits_on_the_stream_and_says_when_it_has_to_poll(api, capsys):
    assert cli.main(["submit", "tensor", "--wait", "--url", api]) == 0
    out, err = capsys.readouterr()
    assert "succeeded" in out and "polling" not in err
    assert err.splitlines()[-1].startswith("job j1 succeeded: 300/300 (100%)")
    assert Api.opened == [None, "2"]

    Api.streams, Api.polls = "buffered", []
    assert cli.main(["submit", "tensor", "--wait", "--url", api]) == 0
    err = capsys.readouterr().err
    assert "fitq: /api/v1/jobs/j1/events did not answer with an event stream; polling instead\n" in err
