"""One compose project of fitq from the repository's own docker-compose.yml, and what the checks do to it."""
import json
import secrets
import socket
import subprocess
import time

from tests.compose.client import Client
from tests.compose.engine import CACHE, REPO, sh

# What an operator's .env would hold, with short fault timings so that the run stays short: a worker
# silent for STALE_AFTER_S counts as dead; the sweeper looks every SWEEP_INTERVAL_S. BATCH_SIZE 8: a
# worker claims up to that many waiting jobs of one shape, and 64 could leave a worker idle.
SETTINGS = {"BATCH_SIZE": "8", "HEARTBEAT_S": "2", "STALE_AFTER_S": "12", "SWEEP_INTERVAL_S": "2",
            "REDELIVER_AFTER_S": "10", "DB_RETRY_S": "180", "SHUTDOWN_GRACE_S": "5", "LOG_LEVEL": "info"}
TAG = "compose-test"
# Every service but the workers (and Flower, which needs an image from Docker Hub).
SERVICES = ("redis", "postgres", "migrate", "api", "sweeper", "deliverer")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """A compose project: its .env, its scale, its containers, and a client with a real token."""

    def __init__(self, project, worker_service="cpu-worker", profiles=("cpu",), overrides=(), env=None):
        self.project, self.worker, self.profiles = project, worker_service, profiles
        self.overrides = list(overrides)
        self.secrets = env or {"POSTGRES_PASSWORD": secrets.token_hex(16), "REDIS_PASSWORD": secrets.token_hex(16),
                               "FLOWER_BASIC_AUTH": "admin:" + secrets.token_hex(8)}
        self.port = free_port()
        self.env = {**self.secrets, "COMPOSE_PROJECT_NAME": project, "API_BIND": "127.0.0.1",
                    "API_PORT": str(self.port), "FITQ_TAG": TAG, **SETTINGS}
        self.env_file = CACHE / f"{project}.env"
        CACHE.mkdir(parents=True, exist_ok=True)
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in self.env.items()))
        self.env_file.chmod(0o600)
        self.scale = {worker_service: 0}
        self.client = None
        # Steps of the checks' long job: about 20 s on a CPU worker here; a GPU run asks for more.
        self.long_steps = 50_000
        self.token = None

    def compose_args(self, *args) -> list:
        """docker-compose with this project's name, .env, profiles and files."""
        files = [a for f in [REPO / "docker-compose.yml", *self.overrides] for a in ("-f", f)]
        profiles = [a for p in self.profiles for a in ("--profile", p)]
        return ["docker-compose", "-p", self.project, "--env-file", self.env_file, *files, *profiles, *args]

    def compose(self, *args, **kw):
        """Run docker-compose on this project; its stdout."""
        return sh(*self.compose_args(*args), **kw)

    def up(self, workers=None, *services, timeout=300):
        """`up -d` at the given worker count (compose 1.29 resets an unnamed scale to 1, so name it always)."""
        if workers is not None:
            self.scale[self.worker] = workers
        scale = ["--scale", f"{self.worker}={self.scale[self.worker]}"]
        # Named services: the other kind of worker (GPU or CPU) is never created, nor its image wanted.
        self.compose("up", "-d", "--no-build", *scale, *(services or SERVICES + (self.worker,)), timeout=timeout)

    def down(self, volumes=True):
        """Containers and networks gone; volumes too unless kept."""
        self.compose("down", "--remove-orphans", *(["-v"] if volumes else []), "-t", "10", check=False, timeout=300)

    def containers(self, service=None, all_=False) -> list[str]:
        """Container names of this project (of one service), running ones unless all_."""
        filters = ["--filter", f"label=com.docker.compose.project={self.project}"]
        if service:
            filters += ["--filter", f"label=com.docker.compose.service={service}"]
        out = sh("docker", "ps", *(["-a"] if all_ else []), *filters, "--format", "{{.Names}}", quiet=True)
        return sorted(out.split())

    def inspect(self, *names) -> list[dict]:
        return json.loads(sh("docker", "inspect", *names, quiet=True)) if names else []

    def states(self) -> dict:
        """{container: (status, health or '', exit code)} for every container of the project."""
        return {c["Name"].lstrip("/"): (c["State"]["Status"], (c["State"].get("Health") or {}).get("Status", ""),
                                        c["State"]["ExitCode"])
                for c in self.inspect(*self.containers(all_=True))}

    def wait_healthy(self, timeout=180) -> dict:
        """Every container running and healthy (migrate exited 0); the states seen, or raise."""
        deadline = time.monotonic() + timeout
        while True:
            states = self.states()
            bad = {n: s for n, s in states.items()
                   if not (s[0] == "running" and s[1] in ("healthy", "")) and not ("migrate" in n and s[0] == "exited"
                                                                                    and s[2] == 0)}
            if states and not bad:
                return states
            assert time.monotonic() < deadline, f"not healthy after {timeout} s: {bad}"
            time.sleep(1)

    def wait_ready(self, count, timeout=120):
        """`count` workers running, each with Celery's ready line logged since it last started (no need
        to wait for the healthcheck's first 30 s interval)."""
        deadline = time.monotonic() + timeout
        while True:
            names = self.containers(self.worker)
            ready = [n for n in names if " ready." in subprocess.run(
                ["docker", "logs", "--since", self.inspect(n)[0]["State"]["StartedAt"], n], text=True,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout]
            if len(names) == count and len(ready) == count:
                return
            assert time.monotonic() < deadline, f"{len(ready)} of {count} workers ready after {timeout} s"
            time.sleep(1)

    def hostnames(self) -> dict:
        """{container hostname: container name} for the workers, as jobs' `worker` field names them."""
        return {c["Config"]["Hostname"]: c["Name"].lstrip("/") for c in self.inspect(*self.containers(self.worker))}

    def connect(self):
        """A token made with `fitq token create` inside the API container, and a client holding it."""
        # One operator's token for every check: admin, so it reads the jobs of any token made before it.
        name = f"compose-test-{secrets.token_hex(3)}"
        made = self.compose("exec", "-T", "api", "fitq", "token", "create", name, "--owner", "compose-test",
                            "--scopes", "read,submit,admin")
        self.token = made.strip().splitlines()[-1]
        self.client = Client(f"http://127.0.0.1:{self.port}", self.token)
        return self.client

    def logs(self, name, timestamps=False) -> str:
        """A container's log, stdout and stderr together (gunicorn and Celery write to stderr)."""
        return subprocess.run(["docker", "logs", *(["-t"] if timestamps else []), name], text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60).stdout

    def image_name(self) -> str:
        """The worker service's image name, without the tag."""
        return "fitq-worker-cpu" if self.worker == "cpu-worker" else "fitq-worker"

    def network(self) -> str:
        return f"{self.project}_default"
