"""A whole fitq stack of its own, for benchmarks and soaks: a fresh PostgreSQL database migrated to
head, a private redis-server that keeps nothing on disk, and the API, the sweeper and solo workers as
subprocesses; `fresh_stack` stops them all and drops the database on the way out, whatever happens."""
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

import psycopg
import redis
import requests
from redis.backoff import NoBackoff
from redis.retry import Retry

from service.ops import embedded_redis
from service.ops.supervisor import die_with_parent
from service.settings import Settings
from service.store.db import make_engine, make_sessionmaker
from service.store.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def say(text=""):
    print(text, flush=True)


class Stop(Exception):
    """SIGTERM or SIGHUP: stop like Ctrl-C."""


def _stop(signum, _frame):
    raise Stop(signal.Signals(signum).name)


def stop_on_signals():
    """Make SIGTERM and SIGHUP raise Stop, so that the `finally` blocks stop every process."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)


class Child:
    """A process in its own session, its output in a log file; stopped with SIGTERM, then SIGKILL.
    It sets PR_SET_PDEATHSIG before it execs, so it does not outlive a parent that is SIGKILLed (the
    signal follows the thread that started it: start every child from the main thread)."""

    def __init__(self, name, argv, env, log_path):
        self.name, self.log_path = name, Path(log_path)
        self.started = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(list(map(str, argv)), cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=die_with_parent)
        self.pid = self.proc.pid  # exec keeps it: it is the API's, worker's or Redis's pid

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal_group(self, sig):
        # Only while the leader is not yet reaped: until then its pid (the group's id) cannot be reused.
        if self.proc.poll() is None:
            try:
                os.killpg(self.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass


def stop_all(children, label, timeout=15.0):
    """SIGTERM every process group, wait up to `timeout` in all, then SIGKILL what is left."""
    for child in children:
        child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{label}: {child.name} (pid {child.pid}) ignored SIGTERM; killing it")
            child.signal_group(signal.SIGKILL)
            child.proc.wait()


def wait_for(predicate, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise RuntimeError(f"{what} not within {timeout:g} s")


class Stack:
    """Redis, API, sweeper and workers on one database, with `env` over the default settings (the
    workers log at info whatever it says: a worker is ready when its log says "ready.", an info line).
    Workers and Redis can be hurt."""

    def __init__(self, logs, database_url, workers, label, env=()):
        self.logs, self.label, self.children, self.workers = logs, label, [], []
        self.redis_port, self.port = embedded_redis.free_port(), embedded_redis.free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.base = f"http://127.0.0.1:{self.port}"
        ours = {f.name.upper() for f in fields(Settings)}
        self.env = {k: v for k, v in os.environ.items() if k not in ours}
        self.env.update({k: str(v) for k, v in {
            "DATABASE_URL": database_url, "REDIS_URL": self.redis_url, "PORT": self.port,
            "HOST": "127.0.0.1", "DATA_DIR": logs, "API_WORKERS": 2, "AUTH": "off", "LOG_LEVEL": "info",
            "WORKER_POOL": "solo", "WORKER_CONCURRENCY": 1, "TORCH_THREADS": 1,
            "PYTHONUNBUFFERED": 1, **dict(env)}.items()})
        self.worker_env = {**self.env, "LOG_LEVEL": "info"}
        self.redis = None
        try:
            self.start_redis()
            self.api = self._start("api")
            wait_for(self._healthy, 60, "the API answering /healthz")
            self.sweeper = self._start("sweeper")
            for _ in range(workers):
                self.add_worker()
            for worker in self.workers:
                wait_for(lambda worker=worker: self.ready(worker), 120, f"{worker.name} ready", interval=0.02)
        except BaseException:
            self.stop()
            raise

    def _start(self, command, name=None, env=None):
        name = name or command
        child = Child(name, [sys.executable, "-m", "service.cli.main", command], env or self.env,
                      self.logs / f"{name}.log")
        self.children.append(child)
        return child

    def _healthy(self):
        if not self.api.alive():
            raise RuntimeError(f"the API exited with {self.api.proc.returncode}; see {self.api.log_path}")
        try:
            return requests.get(f"{self.base}/healthz", timeout=2).ok
        except requests.RequestException:
            return False

    def start_redis(self):
        """(Again) on the same port, empty: it saves nothing."""
        n = sum(1 for c in self.children if c.name.startswith("redis"))
        self.redis = Child(f"redis{n}", embedded_redis.command(self.redis_port, str(self.logs)), self.env,
                           self.logs / f"redis-stdout{n}.log")
        self.children.append(self.redis)
        embedded_redis.wait_ready(self.redis_port, self.redis.proc)

    def crash_redis(self):
        """SHUTDOWN NOSAVE: every queued message and every unacked delivery is gone."""
        # No retries: redis-py's default would spend seconds reconnecting to the server it just stopped.
        try:
            redis.Redis(port=self.redis_port, socket_timeout=5, retry=Retry(NoBackoff(), 0)).shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it goes
        self.redis.proc.wait(10)

    def add_worker(self):
        worker = self._start("worker", f"worker{len(self.workers)}", self.worker_env)
        worker.ready_after = None  # seconds from its start to "ready." in its log, once seen
        self.workers.append(worker)
        return worker

    @staticmethod
    def ready(worker):
        if not worker.alive():
            raise RuntimeError(f"{worker.name} exited with {worker.proc.returncode}; see {worker.log_path}")
        if worker.ready_after is None and " ready." in worker.output():
            worker.ready_after = time.monotonic() - worker.started
        return worker.ready_after is not None

    def stop(self):
        """Workers, sweeper and API first, then Redis: SIGTERM, then SIGKILL after 15 s."""
        stop_all([c for c in self.children if not c.name.startswith("redis")], self.label)
        stop_all([c for c in self.children if c.name.startswith("redis")], self.label)


class Database:
    """A database named fitq_<label>_<hex> on the PostgreSQL server of `pg_admin` (a libpq URL of a
    database to run CREATE/DROP DATABASE on, trust auth)."""

    def __init__(self, pg_admin, label):
        self.label = label
        try:
            self.admin = psycopg.connect(pg_admin, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as err:
            raise SystemExit(f"{label}: cannot reach PostgreSQL at {pg_admin}: {err}") from None
        self.name = f"fitq_{label}_{secrets.token_hex(4)}"
        base = pg_admin.rsplit("/", 1)[0]
        self.server = base.rpartition("@")[2]
        self.libpq_url = f"{base}/{self.name}"
        self.url = self.libpq_url.replace("postgresql://", "postgresql+psycopg://", 1)  # SQLAlchemy's

    def create(self):
        """CREATE DATABASE, then migrate it to head."""
        self.admin.execute(f'CREATE DATABASE "{self.name}"')
        say(f"{self.label}: database {self.name} on {self.server}")
        upgrade(self.url)

    def close(self, keep=False):
        """Drop it (even half made) unless `keep`, and close the admin connection."""
        if keep:
            say(f"{self.label}: kept database {self.name} ({self.url})")
        else:
            self.admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.admin.close()


@contextlib.contextmanager
def fresh_stack(label, workers, env=(), pg_admin=PG_ADMIN, keep=False):
    """A Stack on a fresh Database, its logs in a new temp folder; everything it started is stopped
    and the database dropped (unless `keep`) when the block ends. The Stack's `database` is that Database."""
    database = Database(pg_admin, label)
    logs = Path(tempfile.mkdtemp(prefix=f"fitq-{label}-"))
    say(f"{label}: logs in {logs}")
    stack = None
    try:
        database.create()
        stack = Stack(logs, database.url, workers, label, env)  # stops what it started if it fails
        stack.database = database
        yield stack
    finally:
        if stack is not None:
            say(f"{label}: stopping every process")
            stack.stop()
        database.close(keep)
        say(f"{label}: logs kept in {logs}")


@contextlib.contextmanager
def fresh_sessions(pg_admin, label):
    """A sessionmaker on a new database migrated to head (Database above), dropped afterwards."""
    database = Database(pg_admin, label)
    try:
        database.create()
        engine = make_engine(database.url)
        try:
            yield make_sessionmaker(engine)
        finally:
            engine.dispose()
    finally:
        database.close()
