"""REDIS_URL with a password: the API enqueues through it, and the password shows up nowhere."""
import logging
import subprocess
import time

import pytest
import redis

from service.ops import embedded_redis
from service.store.db import shown

PASSWORD = "s3cret-Redis-pw"
WRONG = "wr0ng-Redis-pw"


@pytest.fixture(scope="module")
def locked_port(tmp_path_factory):
    """The port of a private redis-server that wants PASSWORD."""
    port = embedded_redis.free_port()
    argv = embedded_redis.command(port, str(tmp_path_factory.mktemp("locked-redis")))
    proc = subprocess.Popen([*argv, "--requirepass", PASSWORD])
    conn = redis.Redis(port=port, password=PASSWORD, socket_connect_timeout=0.2)
    deadline = time.monotonic() + 10
    while True:  # embedded_redis.wait_ready pings without the password
        try:
            conn.ping()
            break
        except redis.ConnectionError:
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    conn.close()
    yield port
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def locked(locked_port):
    """A client of that server with the right password, flushed before and after."""
    conn = redis.Redis(port=locked_port, password=PASSWORD)
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()


def url(port, password):
    return f"redis://:{password}@127.0.0.1:{port}/0"


def test_the_right_password_enqueues_and_is_ready(make_app, locked, locked_port):
    client = make_app(redis_url=url(locked_port, PASSWORD)).test_client()
    assert client.get("/readyz").status_code == 200
    response = client.post("/api/v1/jobs", json={"variant": "lstsq"})
    assert response.status_code == 202
    assert locked.llen("fitq") == 1
    assert response.headers["RateLimit-Limit"] == "6000"  # the limiter counts through it too


@pytest.mark.parametrize("password", [WRONG, ""])
def test_a_wrong_password_is_a_503_that_never_shows_it(make_app, problem, locked, locked_port, caplog,
                                                       password):
    redis_url = url(locked_port, password) if password else f"redis://127.0.0.1:{locked_port}/0"
    client = make_app(redis_url=redis_url).test_client()
    with caplog.at_level(logging.DEBUG):
        ready = client.get("/readyz")
        submitted = client.post("/api/v1/jobs", json={"variant": "lstsq"})
    body = problem(ready, 503)
    assert body["checks"]["redis"] != "ok" and body["checks"]["database"] == "ok"
    problem(submitted, 503)
    assert locked.llen("fitq") == 0
    assert "enqueue of job" in caplog.text and "not enforced" in caplog.text  # the log was captured
    seen = ready.get_data(as_text=True) + submitted.get_data(as_text=True) + caplog.text
    assert PASSWORD not in seen
    assert not password or password not in seen


@pytest.mark.parametrize("raw,expected", [
    ("redis://:s3cret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
    ("redis://user:s3cret@redis.internal:6380/2", "redis://user:***@redis.internal:6380/2"),
    ("rediss://:s3cret@[::1]:6379/0", "rediss://:***@[::1]:6379/0"),
    ("redis://:s3@cret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),  # redis-py splits at the last @
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
])
def test_shown_masks_a_redis_password(raw, expected):
    assert shown(raw) == expected
