"""Integration fixtures: a fresh PostgreSQL database, a Redis db, and real API and worker processes."""
import os
import secrets

import psycopg
import pytest
import redis

from service.store.migrate import upgrade
from tests.integration.processes import Client, Process, clean_env, free_port

PG_ADMIN = os.environ.get("TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("TEST_REDIS", "redis://127.0.0.1:6379")
# The first database of the shared Redis a run tries to claim; TEST_REDIS_DB pins it.
REDIS_DB = int(os.environ.get("TEST_REDIS_DB", "14"))


def _unavailable(what, err):
    message = f"{what} is not reachable ({err}); start it or see README 'Tests'"
    if os.environ.get("FITQ_REQUIRE_SERVICES"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_databases():
    """A maker of new, empty PostgreSQL databases (dropped at the end); each call returns a URL."""
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as err:
        _unavailable("PostgreSQL", err)
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    made = []

    def make():
        name = f"fitq_test_{secrets.token_hex(4)}"
        admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"{base}/{name}"

    yield make
    for name in made:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(scope="session")
def pg_database(pg_databases):
    """The session's own empty PostgreSQL database."""
    return pg_databases()


@pytest.fixture(scope="session")
def pg_url(pg_database):
    """The session's PostgreSQL database, migrated to head."""
    upgrade(pg_database)
    return pg_database


@pytest.fixture(scope="session")
def redis_url():
    """An emptied Redis database for the broker, held by this test run alone."""
    db, claims = _claim_redis_db()
    url = f"{REDIS}/{db}"
    flush(url)
    yield url
    flush(url)
    claims.delete(f"{CLAIM}{db}")
    claims.close()


# A run claims its Redis db with a key in db 0 (which no test flushes), so that two runs at once (CI
# beside a developer's run, or the suite run twice on a loaded machine) never take each other's messages.
CLAIM = "fitq-tests:claimed-db:"
CLAIM_TTL_S = 3 * 3600


def flush(url):
    """Empty this run's Redis db (its claim lives in db 0 and stays)."""
    with redis.Redis.from_url(url, socket_connect_timeout=3) as client:
        client.flushdb()


def _claim_redis_db():
    candidates = [REDIS_DB] if os.environ.get("TEST_REDIS_DB") else [REDIS_DB, *range(13, 0, -1)]
    claims = redis.Redis.from_url(f"{REDIS}/0", socket_connect_timeout=3)
    for db in candidates:
        try:
            if claims.set(f"{CLAIM}{db}", os.getpid(), nx=True, ex=CLAIM_TTL_S):
                return db, claims
        except redis.ConnectionError as err:
            _unavailable("Redis", err)
    claims.close()
    pytest.fail(f"every Redis db of {candidates} is claimed by another test run ({CLAIM}N in db 0); "
                "set TEST_REDIS_DB to one that is free")


class Stack:
    """The API and one worker against PostgreSQL and Redis; the API can be restarted."""

    def __init__(self, tmp, pg_url, redis_url, extra_env=None):
        self.tmp, self.port = tmp, free_port()
        self.env = clean_env(DATABASE_URL=pg_url, REDIS_URL=redis_url, PORT=self.port,
                             DATA_DIR=tmp, API_WORKERS=2, **(extra_env or {}))
        self.client = Client(f"http://127.0.0.1:{self.port}")
        self.worker = Process("worker", self.env, tmp / "worker.log")
        self.api = None
        try:
            self.start_api()
            self.worker.wait_for_output("ready.")
        except BaseException:
            self.close()
            raise

    def start_api(self):
        """Start a new API process and wait until it answers."""
        self.api = Process("api", self.env, self.tmp / "api.log")
        self.client.wait_healthy()
        assert self.api.proc.poll() is None, "another server answers on the API's port"

    def stop_api(self):
        """Stop the API process (its data stays in the database)."""
        assert self.api.stop() == 0, self.api.output()[-2000:]

    def close(self):
        """Stop everything."""
        if self.api is not None:
            self.api.stop()
        self.worker.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, pg_url, redis_url):
    """A running API + worker on PostgreSQL and Redis."""
    s = Stack(tmp_path_factory.mktemp("stack"), pg_url, redis_url)
    yield s
    s.close()
