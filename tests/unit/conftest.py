"""What the unit tests share: a private Redis that no running server is needed for, and the seed notebook."""
import os
import subprocess

import pytest
import redis

from bench import seed_programs
from service.ops import embedded_redis


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A private Redis for these tests (the embedded one fitq up uses): no server needs to be running."""
    port = embedded_redis.free_port()
    proc = subprocess.Popen(embedded_redis.command(port, str(tmp_path_factory.mktemp("redis"))))
    embedded_redis.wait_ready(port, proc)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def redis_db(redis_url):
    """The private Redis, flushed before and after: for tests whose submissions are enqueued."""
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()


@pytest.fixture(scope="session")
def seed_notebook():
    """The seed notebook's path: a test that reads it is skipped without it, except in CI, where it fails."""
    path = seed_programs.notebook_path()
    if not path.is_file():
        message = f"no seed notebook at {path}; set FITQ_SEED_NOTEBOOK to its path"
        if os.environ.get("FITQ_REQUIRE_SERVICES"):  # CI: .ci/run points at it, so missing is a failure
            pytest.fail(message)
        pytest.skip(message)
    return path
