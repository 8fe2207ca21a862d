"""Stand-ins for the public base images, built from Debian packages only where a pull fails."""
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.compose.engine import CACHE, sh

HERE = Path(__file__).resolve().parent / "standins"
BASE = "fitq-standin/bookworm:minbase"
# Public name -> stand-in folder. Each stand-in is tagged with the public name, so the repository's
# Dockerfiles and compose file use it as they are.
IMAGES = {"python:3.11-slim-bookworm": "python", "redis:7.2-alpine": "redis", "postgres:16-alpine": "postgres"}
# This host's CA bundle: pip inside the python stand-in needs it to reach PyPI from here.
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")


def present(image) -> bool:
    """Whether the engine has the image already (pulled, or a stand-in built by an earlier run)."""
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0


def base():
    """Debian bookworm minbase as an image: debootstrap (about 25 s), then docker import."""
    if present(BASE):
        return
    root = Path(tempfile.mkdtemp(dir=CACHE))
    try:
        sh("debootstrap", "--variant=minbase", "bookworm", root, "http://deb.debian.org/debian", timeout=900)
        sh("sh", "-c", f"tar -C '{root}' -c . | docker import - {BASE}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def ensure() -> dict:
    """Each public base image present; returns {image: 'pulled' | 'cached' | 'stand-in'}."""
    CACHE.mkdir(parents=True, exist_ok=True)
    how = {}
    for image, folder in IMAGES.items():
        if present(image):
            how[image] = "cached"
            continue
        if sh("docker", "pull", image, check=False, capture=True, timeout=300) is not None and present(image):
            how[image] = "pulled"
            continue
        base()
        with tempfile.TemporaryDirectory(dir=CACHE) as context:
            shutil.copytree(HERE / folder, context, dirs_exist_ok=True)
            shutil.copy(HOST_CA, Path(context) / "ca-certificates.crt")
            sh("docker", "build", "-q", "--network", "host", "-t", image, context, timeout=900)
        how[image] = "stand-in"
    return how
