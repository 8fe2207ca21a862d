"""`fitq up`: run Redis (when embedded), the API, a worker, the sweeper and the webhook deliverer in the
foreground, restarting any that dies (like compose's `restart: unless-stopped`), until Ctrl-C stops them all."""
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace

from service.ops import embedded_redis
from service.queue import enqueue, make_celery
from service.store import jobs
from service.store.db import make_engine, make_sessionmaker, shown
from service.store.migrate import upgrade

RESTART_DELAY_S = 1.0
MAX_RESTART_DELAY_S = 30.0
# A child that ran this long before dying is restarted at once; a crash loop backs off.
HEALTHY_RUN_S = 30.0


def die_with_parent():
    """Ask the kernel to SIGTERM this process when its parent dies (call in the child)."""
    # Children get SIGTERM if the supervisor itself is killed, so nothing outlives `fitq up`.
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Child:
    """One supervised process and the command that starts it again."""

    def __init__(self, name, argv, env):
        self.name, self.argv, self.env, self.proc = name, argv, env, None
        self.started_at, self.delay, self.restart_at = 0.0, RESTART_DELAY_S, None

    def start(self):
        """Start (or restart) the process in its own session, so Ctrl-C reaches only us."""
        self.proc = subprocess.Popen(self.argv, env=self.env, start_new_session=True,
                                     stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        self.started_at, self.restart_at = time.monotonic(), None

    def due(self) -> bool:
        """True when it has died and its restart delay is over (the delay doubles in a crash loop)."""
        if self.proc.poll() is None:
            return False
        now = time.monotonic()
        if self.restart_at is None:
            healthy = now - self.started_at >= HEALTHY_RUN_S
            self.delay = RESTART_DELAY_S if healthy else min(self.delay * 2, MAX_RESTART_DELAY_S)
            self.restart_at = now + self.delay
            print(f"fitq: {self.name} exited with {self.proc.returncode}; starting it again in "
                  f"{self.restart_at - now:.0f}s", file=sys.stderr, flush=True)
        return now >= self.restart_at

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL if it has not gone within `timeout` seconds."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _port_free(host, port):
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _wait_healthy(url, child, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.proc.poll() is None:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def run(settings) -> int:
    """Supervise the local stack; returns the exit code."""
    if not _port_free(settings.host, settings.port):
        print(f"fitq: port {settings.port} on {settings.host} is in use; set PORT to another",
              file=sys.stderr)
        return 2
    env = dict(os.environ, DATABASE_URL=settings.database)
    upgrade(settings.database)
    children = []
    if not settings.redis_url:
        os.makedirs(settings.data_dir, exist_ok=True)
        # A password of this run's own: other local users could otherwise read or forge the queue
        # and the worker roster. Each child gets it in REDIS_URL, which only this user can read.
        redis_port, secret = embedded_redis.free_port(), embedded_redis.password()
        env["REDIS_URL"] = embedded_redis.url(redis_port, secret)
        children.append(Child("redis", embedded_redis.command(redis_port, settings.data_dir, secret=secret), env))
        children[0].start()
        embedded_redis.wait_ready(redis_port, children[0].proc, secret=secret)
        settings = replace(settings, redis_url=env["REDIS_URL"])
        _resume(settings, cut_off_too=True)
    cli = [sys.executable, "-m", "service.cli.main"]
    api = Child("api", cli + ["api"], env)
    services = [api, Child("worker", cli + ["worker"], env), Child("sweeper", cli + ["sweeper"], env),
                Child("deliverer", cli + ["deliver"], env)]
    children += services
    stopping = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.append(True))
    for child in services:
        child.start()
    url = f"http://{settings.host}:{settings.port}"
    if _wait_healthy(url, api):
        print(f"\nfitq is up at {url}  (Redis {shown(env['REDIS_URL'])}, database {shown(settings.database)})\n"
              f"open: {url}/ for the dashboard, {url}/docs for the API reference\n"
              f"try:  curl -s -X POST {url}/api/v1/jobs -H 'Content-Type: application/json' "
              f"-d '{{\"variant\": \"custom_function\"}}'\n"
              f"Ctrl-C stops everything.\n", flush=True)
    while not stopping:
        for child in children:
            if child.due() and not stopping:
                child.start()
                if child.name == "redis":  # it came back empty: the queued jobs' messages are gone
                    embedded_redis.wait_ready(redis_port, child.proc, secret=secret)
                    _resume(settings, cut_off_too=False)
        time.sleep(0.2)
    print("\nfitq: stopping", file=sys.stderr, flush=True)
    for child in reversed(children):
        child.stop(settings.stop_timeout_s)
    return 0


def _resume(settings, cut_off_too):
    """Send every queued job again into the private Redis, which starts empty. With `cut_off_too`
    (at start, when no worker is alive yet) a job still marked running was cut off: queue it too."""
    engine = make_engine(settings.database)
    with make_sessionmaker(engine)() as session:
        cut_off = jobs.requeue_running(session=session) if cut_off_too else 0
        waiting = jobs.queued(session=session)
    engine.dispose()
    if not waiting:
        return
    celery = make_celery(settings)
    for job in waiting:
        enqueue(celery, job)
    celery.close()
    print(f"fitq: resumed {len(waiting)} queued jobs ({cut_off} had been cut off while running)",
          flush=True)
