"""A real HTTP receiver for webhooks on 127.0.0.1: it records each request and answers as a test plans."""
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    """One request as it arrived."""

    path: str
    headers: dict
    body: bytes
    at: float


class Receiver:
    """Answers each path with its planned status codes in turn (then 200), recording every request."""

    def __init__(self):
        self.got, self.plans, self.lock = [], {}, threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.got.append(Received(self.path, dict(self.headers), body, time.time()))
                    plan = receiver.plans.get(self.path.split("?")[0], [])
                    status, delay_s = plan.pop(0) if plan else (200, 0)
                time.sleep(delay_s)
                answer = b"oops " * 100 if status >= 500 else b"thanks"
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/redirected")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True  # a request still sleeping does not hold up close()
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path) -> str:
        """The URL of `path` on this receiver."""
        return f"http://127.0.0.1:{self.port}{path}"

    def plan(self, path, *statuses, delay_s=0.0):
        """Answer the next requests to `path` with these status codes (each after `delay_s`), then 200 at once;
        a 3xx redirects to /redirected."""
        with self.lock:
            self.plans[path] = [(status, delay_s) for status in statuses]

    def at(self, path) -> list[Received]:
        """The requests to `path` so far."""
        with self.lock:
            return [r for r in self.got if r.path.split("?")[0] == path]

    def wait(self, path, count, timeout=90) -> list[Received]:
        """Block until `path` got `count` requests; returns them."""
        deadline = time.monotonic() + timeout
        while len(self.at(path)) < count:
            assert time.monotonic() < deadline, f"{path} got {len(self.at(path))} of {count} requests"
            time.sleep(0.05)
        return self.at(path)

    def close(self):
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
