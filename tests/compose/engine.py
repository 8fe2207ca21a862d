"""The Docker engine: install Debian's docker.io when absent, start dockerd when it is not running."""
import os
import shutil
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "compose-test"
# The legacy builder: Debian's engine has no buildx plugin, and --network host works with it.
ENV = {**os.environ, "DOCKER_BUILDKIT": "0", "COMPOSE_DOCKER_CLI_BUILD": "0"}


def sh(*args, check=True, capture=True, timeout=600, input=None, env=None, quiet=False):
    """Run a command; its stdout (text) when captured. A failure raises with the command's stderr."""
    if not quiet:
        print("+", " ".join(str(a) for a in args), flush=True)
    done = subprocess.run([str(a) for a in args], capture_output=capture, text=True, timeout=timeout,
                          input=input, env=env or ENV)
    if check and done.returncode != 0:
        raise RuntimeError(f"{args[0]} {args[1] if len(args) > 1 else ''} exited {done.returncode}: "
                           f"{(done.stderr or '')[-2000:]}")
    return done.stdout if capture else done.returncode


def apt_install(*packages):
    """Install Debian packages (CI runs as root on Debian bookworm)."""
    sh("apt-get", "update", "-qq", timeout=300)
    sh("apt-get", "install", "-y", "-qq", *packages, timeout=900,
       env={**ENV, "DEBIAN_FRONTEND": "noninteractive"})


def engine_up() -> bool:
    """Whether a Docker engine answers."""
    return subprocess.run(["docker", "info"], capture_output=True, env=ENV).returncode == 0


def ensure_engine():
    """docker, docker-compose and debootstrap installed; dockerd running (started here if it was not)."""
    missing = [pkg for tool, pkg in (("dockerd", "docker.io"), ("docker-compose", "docker-compose"),
                                     ("debootstrap", "debootstrap")) if not shutil.which(tool)]
    if missing:
        apt_install(*missing)
    if engine_up():
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    log = open(CACHE / "dockerd.log", "ab")
    # Left running afterwards, as a system service would be: the next run reuses its image cache.
    subprocess.Popen(["dockerd"], stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 60
    while not engine_up():
        if time.monotonic() > deadline:
            raise RuntimeError(f"dockerd did not answer within 60 s; see {CACHE / 'dockerd.log'}")
        time.sleep(1)
    print("dockerd started", flush=True)
