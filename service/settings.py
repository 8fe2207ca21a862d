"""One frozen settings object, read from the environment where a process starts."""
import os
from dataclasses import dataclass, fields
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Every knob fitq has; each field is read from the upper-cased environment variable."""

    # Where the embedded default keeps its SQLite file and Redis logs.
    data_dir: str = str(REPO_ROOT / "data")
    # SQLAlchemy URL; empty means the SQLite file data_dir/fitq.db.
    database_url: str = ""
    # Broker URL; empty means `fitq up` starts a Redis of its own on a free loopback port.
    redis_url: str = ""
    # Address the API listens on; the embedded default stays on loopback.
    host: str = "127.0.0.1"
    # Port the API listens on.
    port: int = 8000
    # gunicorn worker processes for the API.
    api_workers: int = 2
    # Queues this worker consumes: the default queue plus cpu and/or gpu.
    worker_queues: str = "fitq,cpu,gpu"
    # Celery pool: solo is fastest for one job at a time; prefork for several per worker.
    worker_pool: str = "solo"
    # Processes per worker with the prefork pool.
    worker_concurrency: int = 1
    # torch threads per worker process: one is faster for these small fits on a shared CPU.
    torch_threads: int = 1
    # Seconds Redis waits for an ack before redelivering a message: above the longest job.
    visibility_timeout_s: int = 7200
    # Largest request body the API reads.
    max_body_bytes: int = 64 * 1024
    # Log level of the API and the worker.
    log_level: str = "info"
    # Seconds `fitq up` gives each child to stop on Ctrl-C before it kills it.
    stop_timeout_s: int = 10

    @classmethod
    def from_env(cls, env=None, **overrides):
        """Settings from `env` (default os.environ), then keyword overrides."""
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            raw = env.get(f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name.upper(), raw, f.type)
        values.update(overrides)
        return cls(**values)

    @property
    def database(self) -> str:
        """The SQLAlchemy URL actually used."""
        return self.database_url or f"sqlite:///{Path(self.data_dir) / 'fitq.db'}"

    @property
    def queues(self) -> list[str]:
        """The worker's queues as a list."""
        return [q.strip() for q in self.worker_queues.split(",") if q.strip()]


def _parse(name, raw, kind):
    if kind is not int:
        return raw
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
