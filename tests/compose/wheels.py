"""CPU torch for the worker image: `pip download` once into .cache/, served as a PEP 503 index on loopback."""
import html
import re
import socket
import subprocess
import sys
import time

from tests.compose.engine import CACHE, sh

WHEELS = CACHE / "wheels"
INDEX = CACHE / "index"
TORCH = "torch==2.13.0"  # pyproject.toml's pin
PORT = 47513


def normalise(name) -> str:
    """PEP 503's project name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def download():
    """torch and its dependencies as wheels, fetched once (a later run finds them on disk)."""
    if not list(WHEELS.glob("torch-2.13.0*.whl")):
        sh(sys.executable, "-m", "pip", "download", "-q", TORCH, "-d", WHEELS, timeout=1200)


def build_index():
    """simple/<project>/index.html for every wheel, linking the files by relative path."""
    projects = {}
    for wheel in sorted(WHEELS.glob("*.whl")):
        projects.setdefault(normalise(wheel.name.split("-")[0]), []).append(wheel.name)
    root = INDEX / "simple"
    root.mkdir(parents=True, exist_ok=True)
    links = "".join(f'<a href="{p}/">{p}</a>\n' for p in projects)
    (root / "index.html").write_text(f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n")
    for project, files in projects.items():
        (root / project).mkdir(exist_ok=True)
        rows = "".join(f'<a href="../../wheels/{html.escape(f)}">{html.escape(f)}</a>\n' for f in files)
        (root / project / "index.html").write_text(f"<!DOCTYPE html>\n<html><body>\n{rows}</body></html>\n")
    wheels_link = INDEX / "wheels"
    if not wheels_link.exists():
        wheels_link.symlink_to(WHEELS)


def serve():
    """Start the index on a free loopback port; returns (server process, index URL)."""
    download()
    build_index()
    # The same port each run when it is free: TORCH_INDEX is part of the worker image's layer cache key.
    port = PORT
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", PORT))
        except OSError:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port),
                               "--directory", INDEX], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/simple"
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, url
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the wheel index did not start")
