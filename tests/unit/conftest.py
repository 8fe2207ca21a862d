"""What the service and worker unit tests share: a private Redis that no running server is needed for."""
import subprocess

import pytest
import redis

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
