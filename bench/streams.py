"""Open event streams against submission latency: POST /jobs p50 while one long job runs, first with no
stream open, then with N streams open on that job; and whether every stream got every event. A stack of
its own (bench/stack.py); it prints a table and asserts nothing.

    .venv/bin/python -m bench.streams --streams 200
    .venv/bin/python -m bench.streams --streams 1000 --steps 900000
"""
import argparse
import selectors
import socket
import time

import requests

from bench.report import goal, heading, ms, pct
from bench.stack import PG_ADMIN, fresh_stack, say, stop_on_signals, wait_for

ENV = {"RATE_LIMIT_PER_MINUTE": 0, "AUTH": "off", "LOG_LEVEL": "warning", "API_WORKER_CONNECTIONS": 4000}
POST_BODY = {"variant": "lstsq", "params": {"samples": 200}}


def arguments(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.streams", description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=200, help="open streams (default 200)")
    parser.add_argument("--posts", type=int, default=100, help="POST /jobs in each phase, one at a time (default 100)")
    parser.add_argument("--steps", type=int, default=600_000,
                        help="steps of the streamed job (default 600000 on 100 samples: some 15 s on an idle core)")
    parser.add_argument("--variant", default="tensor", help="its variant (default tensor; autograd is slower)")
    parser.add_argument("--log-every", type=int, default=2000, help="its history interval (default 2000)")
    parser.add_argument("--pg-admin", default=PG_ADMIN, help=f"PostgreSQL admin URL (default {PG_ADMIN})")
    return parser.parse_args(argv)


def posts(base, n):
    """Seconds each of `n` POST /jobs took, one after another."""
    took = []
    with requests.Session() as http:
        for _ in range(n):
            start = time.perf_counter()
            r = http.post(f"{base}/api/v1/jobs", json=POST_BODY, timeout=60)
            took.append(time.perf_counter() - start)
            if r.status_code != 202:
                raise RuntimeError(f"POST /jobs answered {r.status_code}: {r.text[:300]}")
    return took


class Streams:
    """`n` raw connections reading one job's event stream, all driven by one selector in this thread."""

    def __init__(self, port, path, n):
        self.selector, self.bodies, self.closed = selectors.DefaultSelector(), {}, set()
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()
        for i in range(n):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(request)
            sock.setblocking(False)
            self.bodies[i] = bytearray()
            self.selector.register(sock, selectors.EVENT_READ, i)

    def pump(self, seconds):
        """Read whatever arrives for `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and len(self.closed) < len(self.bodies):
            for key, _ in self.selector.select(timeout=0.1):
                try:
                    data = key.fileobj.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if data:
                    self.bodies[key.data] += data
                else:
                    self.selector.unregister(key.fileobj)
                    key.fileobj.close()
                    self.closed.add(key.data)

    def events(self, i):
        """The event names stream `i` received, in order (its chunked body decoded)."""
        raw = bytes(self.bodies[i])
        head, _, body = raw.partition(b"\r\n\r\n")
        text = dechunk(body) if b"chunked" in head.lower() else body
        return [line[7:] for line in text.decode(errors="replace").splitlines() if line.startswith("event: ")]

    def close(self):
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()
        self.selector.close()


def dechunk(body):
    """A chunked transfer-encoded body's content (as far as it arrived)."""
    out, at = bytearray(), 0
    while True:
        end = body.find(b"\r\n", at)
        if end < 0:
            return bytes(out)
        size = int(body[at:end].split(b";")[0] or b"0", 16)
        if size == 0:
            return bytes(out)
        out += body[end + 2:end + 2 + size]
        at = end + 2 + size + 2


def main(argv=None):
    args = arguments(argv)
    stop_on_signals()
    with fresh_stack("streams", workers=1, env=ENV, pg_admin=args.pg_admin) as stack:
        http = requests.Session()
        http.post(f"{stack.base}/api/v1/jobs", json=POST_BODY).raise_for_status()  # warm up
        job = http.post(f"{stack.base}/api/v1/jobs", json={"variant": args.variant, "params": {
            "steps": args.steps, "samples": 100, "log_every": args.log_every, "device": "cpu"}})
        if job.status_code != 202:
            raise SystemExit(f"POST /jobs answered {job.status_code}: {job.text[:300]}")
        job = job.json()
        url = f"{stack.base}/api/v1/jobs/{job['id']}"
        wait_for(lambda: http.get(url).json()["status"] == "running", 60, "the streamed job running")
        say(f"job {job['id']} running; {args.posts} POSTs without streams")
        quiet = posts(stack.base, args.posts)
        started = time.monotonic()
        streams = Streams(stack.port, f"/api/v1/jobs/{job['id']}/events", args.streams)
        streams.pump(2.0)
        say(f"{args.streams} streams opened in {time.monotonic() - started:.1f} s; {args.posts} POSTs with them")
        busy = []
        for _ in range(args.posts // 10):  # keep reading the streams between POSTs, as a client would
            busy += posts(stack.base, 10)
            streams.pump(0.05)
        running_after = http.get(url).json()["status"] == "running"
        streams.pump(float(args.steps) / 10_000 + 120)  # until every stream has ended, or a long while
        done = http.get(url).json()
        streams.close()
    expected = len(done["result"]["loss_history"]) if done.get("result") else None
    names = [streams.events(i) for i in range(args.streams)]
    progress = [n.count("progress") for n in names]
    ended = sum(1 for n in names if n and n[-1] == "end")
    heading(f"event streams: {args.streams} open on one running {args.variant} job ({args.steps} steps, a point "
            f"every {args.log_every}), POST /jobs ({POST_BODY['variant']}) one at a time, {args.posts} each")
    say(f"{'':44}{'p50':>11}{'p95':>11}")
    for label, values in (("POST /jobs, no stream open", quiet), (f"POST /jobs, {args.streams} streams open", busy)):
        say(f"{label:44}{ms(pct(values, 50))}{ms(pct(values, 95))}")
    say(f"job ended {done['status']}; still running when the POSTs ended: {running_after}")
    say(f"progress events: {sum(progress)} received, {expected * args.streams if expected else '?'} expected "
        f"({expected} points x {args.streams} streams); fewest on one stream {min(progress)}, most {max(progress)}")
    say(f"streams that ended with `end`: {ended} of {args.streams}")
    gap = pct(busy, 50) - pct(quiet, 50)
    goal("POST p50 within 5 ms of the run without streams", gap <= 0.005, f"{gap * 1000:+.1f} ms")
    goal("every stream received every event", expected is not None and min(progress) == max(progress) == expected
         and ended == args.streams, f"{ended} ended")


if __name__ == "__main__":
    main()
