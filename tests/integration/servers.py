"""Private Redis and PostgreSQL servers that a fault test may stop and start without harming others."""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from service.ops import embedded_redis


class PrivateRedis:
    """A redis-server on a free port, with nothing saved to disk: a restart starts it empty."""

    def __init__(self, data_dir):
        self.dir, self.port, self.proc = Path(data_dir), embedded_redis.free_port(), None
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self):
        """Start (again) on the same port."""
        self.proc = subprocess.Popen(embedded_redis.command(self.port, str(self.dir)))
        embedded_redis.wait_ready(self.port, self.proc)

    def crash(self):
        """SHUTDOWN NOSAVE: every message and every unacked delivery is gone."""
        try:
            # No retries: redis-py would otherwise keep reconnecting to the server it just stopped.
            redis.Redis(port=self.port, retry=Retry(NoBackoff(), 0)).shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it goes
        self.proc.wait(10)

    def close(self):
        """Stop it for good."""
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class PrivatePostgres:
    """A PostgreSQL cluster of its own (initdb into a temp folder), on a free port."""

    def __init__(self):
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not binaries:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.bin = Path(binaries[-1]).parent
        # Not under pytest's tmp_path: its root-only parent folders would keep `postgres` out.
        self.dir = Path(tempfile.mkdtemp(prefix="fitq-pg-")) / "pgdata"
        self.port = embedded_redis.free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.dir.mkdir(parents=True)
        # PostgreSQL refuses to run as root; CI runs as root, so the cluster belongs to `postgres`.
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            owner = pwd.getpwnam(self.user)
            for path in (self.dir.parent, self.dir):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        self._as_owner([self.bin / "initdb", "-D", self.dir, "-U", "postgres", "-A", "trust", "--no-sync"])
        self.start()

    def _as_owner(self, argv):
        argv = [str(a) for a in argv]
        if self.user:
            argv = [shutil.which("runuser") or "/sbin/runuser", "-u", self.user, "--", *argv]
        subprocess.run(argv, check=True, capture_output=True, timeout=120)

    def start(self):
        """Start the server and wait until it takes connections."""
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_owner([self.bin / "pg_ctl", "-D", self.dir, "-o", options, "-l", self.dir / "log", "-w",
                        "start"])
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self.url.replace("+psycopg", ""), connect_timeout=1).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self):
        """Stop it the fast way: open connections are cut, as in a crash or a failover."""
        self._as_owner([self.bin / "pg_ctl", "-D", self.dir, "-m", "fast", "-w", "stop"])

    def close(self):
        """Stop it if it runs and delete its folder."""
        if (self.dir / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.dir.parent, ignore_errors=True)
