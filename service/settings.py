"""One frozen settings object, read from the environment where a process starts."""
import ipaddress
import math
import os
import re
from dataclasses import dataclass, fields
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
KNOWN_QUEUES = ("fitq", "cpu", "gpu")
# What a browser sends as Origin: scheme://host[:port], nothing after it.
ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://(\[[0-9a-f:.]+\]|[^/\s:\[\]]+)(:[0-9]{1,5})?")
# The names every loopback client may use for the API; ALLOWED_HOSTS replaces them.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
# An allowed host: *, a DNS name, an IPv4 or an IPv6 address (without brackets).
HOST_NAME = re.compile(r"\*|[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?|[0-9a-f:.]{2,45}")


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
    # Log level of the API, the worker and the sweeper.
    log_level: str = "info"
    # Log lines as text for people, or json (one object a line, with job_id) for a log collector.
    log_format: str = "text"
    # Seconds `fitq up` gives each child to stop on Ctrl-C before it kills it.
    stop_timeout_s: int = 10
    # A job's time budget when it asks for none, and the most it may ask for (seconds).
    default_timeout_s: int = 600
    max_timeout_s: int = 3600
    # Runs a job may start before a lost worker makes it `failed` instead of queued again.
    max_attempts: int = 3
    # Seconds between a running job's heartbeats, and the silence after which its worker counts as dead.
    heartbeat_s: float = 5.0
    stale_after_s: float = 60.0
    # After SIGTERM, a worker lets a running fit finish if it will within this many seconds, else hands
    # the job back to the queue at its next history point; keep it below the stop timeout (compose's
    # stop_grace_period, STOP_TIMEOUT_S) by the few seconds a worker needs to exit.
    shutdown_grace_s: float = 5.0
    # Seconds between the sweeper's passes.
    sweep_interval_s: float = 5.0
    # A queued job whose message is not in Redis this long after it was sent is sent again.
    redeliver_after_s: float = 30.0
    # How long a worker keeps retrying a database write (its claim, its outcome) before giving up.
    db_retry_s: float = 300.0
    # Most jobs of one variant and shape a worker claims together and runs as one vectorised pass.
    batch_size: int = 64
    # API tokens on /api/v1: on, off, or auto (on unless HOST is a loopback address).
    auth: str = "auto"
    # Requests a client (its token, else its address) may make to /api/v1 per minute; 0 turns it off.
    rate_limit_per_minute: int = 6000
    # Browser origins allowed to call the API: comma-separated exact origins, or *; empty allows none.
    cors_origins: str = ""
    # on: every token with `read` sees every owner's jobs and sweeps (cancelling stays the owner's or an
    # admin's); off: a token sees its own owner's only, unless it has `admin`.
    share_reads: str = "off"
    # Jobs an owner (with AUTH off: everyone together) may have queued or running at once; 0 is no limit.
    max_queued_jobs: int = 20_000
    # Their work, the sum of steps x samples over those jobs; 0 is no limit.
    max_queued_work: int = 100_000_000_000
    # Sweeps of at most this many jobs are sent at a single job's priority; larger ones wait behind them.
    small_sweep_jobs: int = 64
    # Host names the API answers to (DNS rebinding): comma-separated, or *; empty means loopback names and HOST.
    allowed_hosts: str = ""
    # The public URL that redirects are built from (e.g. https://fitq.example); empty means http://HOST:PORT.
    base_url: str = ""
    # gunicorn worker class: gevent serves many slow or idle connections per process; sync one at a time.
    api_worker_class: str = "gevent"
    # Connections one gevent API worker holds open at once (each open event stream is one).
    api_worker_connections: int = 1000
    # The key that signs each webhook (Fitq-Signature); empty turns webhooks off (callback_url is refused).
    webhook_secret: str = ""
    # Callback hosts allowed even on loopback or private addresses: comma-separated names or addresses, or *.
    webhook_allow_hosts: str = ""
    # How long the deliverer keeps retrying a webhook (seconds after the job or sweep ended).
    webhook_retry_for_s: float = 86400.0
    # The wait before the first retry; each later one waits twice as long (at most an hour).
    webhook_backoff_s: float = 2.0
    # Seconds one delivery attempt may take to connect and to read each part of the answer.
    webhook_timeout_s: float = 10.0
    # Seconds between the deliverer's looks for due deliveries.
    webhook_poll_s: float = 1.0
    # An event stream re-reads the database this often even without a wake-up from Redis (one missed).
    stream_poll_s: float = 1.0
    # Seconds of silence after which an event stream sends a keep-alive comment.
    stream_keepalive_s: float = 15.0

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

    @property
    def auth_required(self) -> bool:
        """Whether /api/v1 needs a token; any AUTH value but off and a loopback auto means yes."""
        if self.auth == "off":
            return False
        return self.auth != "auto" or not _loopback(self.host)

    @property
    def origins(self) -> list[str]:
        """The allowed CORS origins as a list."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def hosts(self) -> list[str]:
        """Host names (lower case, no port) the API answers to, or ["*"]."""
        named = [h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip()]
        if named:
            return named
        own = self.host.strip("[]").lower()
        wildcard = own in ("0.0.0.0", "::", "")
        return [*LOOPBACK_NAMES, *([] if wildcard or own in LOOPBACK_NAMES else [own])]

    @property
    def webhook_hosts(self) -> list[str]:
        """Callback hosts allowed on any address (lower case), or ["*"]."""
        return [h.strip().lower().strip("[]") for h in self.webhook_allow_hosts.split(",") if h.strip()]

    @property
    def public_url(self) -> str:
        """Where clients reach the API: BASE_URL, else http://HOST:PORT; no trailing slash."""
        if self.base_url:
            return self.base_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        return f"http://{host}:{self.port}"

    def contradictions(self) -> list[str]:
        """Settings that cannot all hold at once; a process refuses to start on any of them."""
        found = []
        if self.visibility_timeout_s <= self.max_timeout_s + self.stale_after_s:
            found.append(f"VISIBILITY_TIMEOUT_S ({self.visibility_timeout_s}) must exceed MAX_TIMEOUT_S "
                         f"({self.max_timeout_s}) + STALE_AFTER_S ({self.stale_after_s:g}): Redis would "
                         "hand a job still running to a second worker")
        if not 0 < self.default_timeout_s <= self.max_timeout_s:
            found.append(f"DEFAULT_TIMEOUT_S ({self.default_timeout_s}) must be between 1 and "
                         f"MAX_TIMEOUT_S ({self.max_timeout_s})")
        if not 0 < self.heartbeat_s * 2 <= self.stale_after_s:
            found.append(f"STALE_AFTER_S ({self.stale_after_s:g}) must be at least twice HEARTBEAT_S "
                         f"({self.heartbeat_s:g}), or live jobs would be taken for dead")
        if self.batch_size < 1:
            found.append(f"BATCH_SIZE ({self.batch_size}) must be at least 1 (1 runs every job alone)")
        if self.max_attempts < 1:
            found.append(f"MAX_ATTEMPTS ({self.max_attempts}) must be at least 1")
        if self.sweep_interval_s <= 0 or self.redeliver_after_s <= 0 or self.db_retry_s < 0:
            found.append("SWEEP_INTERVAL_S and REDELIVER_AFTER_S must be positive, DB_RETRY_S not negative")
        unknown = [q for q in self.queues if q not in KNOWN_QUEUES]
        if unknown or not self.queues:
            found.append(f"WORKER_QUEUES ({self.worker_queues!r}) must list some of {', '.join(KNOWN_QUEUES)}")
        if self.worker_pool not in ("solo", "prefork", "threads"):
            found.append(f"WORKER_POOL ({self.worker_pool!r}) must be solo, prefork or threads")
        elif self.worker_pool == "solo" and self.worker_concurrency != 1:
            found.append(f"WORKER_CONCURRENCY ({self.worker_concurrency}) must be 1 with the solo pool")
        elif self.worker_concurrency < 1:
            found.append(f"WORKER_CONCURRENCY ({self.worker_concurrency}) must be at least 1")
        if self.log_format not in ("text", "json"):
            found.append(f"LOG_FORMAT ({self.log_format!r}) must be text or json")
        if self.shutdown_grace_s < 0:
            found.append(f"SHUTDOWN_GRACE_S ({self.shutdown_grace_s:g}) must not be negative")
        if self.auth not in ("on", "off", "auto"):
            found.append(f"AUTH ({self.auth!r}) must be on, off or auto")
        if self.rate_limit_per_minute < 0:
            found.append(f"RATE_LIMIT_PER_MINUTE ({self.rate_limit_per_minute}) must be 0 (off) or more")
        if self.share_reads not in ("on", "off"):
            found.append(f"SHARE_READS ({self.share_reads!r}) must be on or off")
        if min(self.max_queued_jobs, self.max_queued_work, self.small_sweep_jobs) < 0:
            found.append("MAX_QUEUED_JOBS, MAX_QUEUED_WORK and SMALL_SWEEP_JOBS must not be negative")
        odd = [o for o in self.origins if o != "*" and not ORIGIN.fullmatch(o)]
        if odd or ("*" in self.origins and len(self.origins) > 1):
            found.append(f"CORS_ORIGINS ({self.cors_origins!r}) must be * or origins like "
                         "https://example.com[:port] (no path, no trailing slash)")
        if any(not HOST_NAME.fullmatch(h) for h in self.hosts) or ("*" in self.hosts and len(self.hosts) > 1):
            found.append(f"ALLOWED_HOSTS ({self.allowed_hosts!r}) must be * or host names like fitq.example "
                         "or 10.0.0.5 (no scheme, no port)")
        if self.base_url and not ORIGIN.fullmatch(self.base_url.rstrip("/").lower()):
            found.append(f"BASE_URL ({self.base_url!r}) must be a URL like https://fitq.example[:port] (no path)")
        if self.api_worker_class not in ("gevent", "sync", "gthread"):
            found.append(f"API_WORKER_CLASS ({self.api_worker_class!r}) must be gevent, gthread or sync")
        if self.api_worker_connections < 1:
            found.append(f"API_WORKER_CONNECTIONS ({self.api_worker_connections}) must be at least 1")
        if min(self.webhook_retry_for_s, self.webhook_backoff_s, self.webhook_timeout_s, self.webhook_poll_s) <= 0:
            found.append("WEBHOOK_RETRY_FOR_S, WEBHOOK_BACKOFF_S, WEBHOOK_TIMEOUT_S and WEBHOOK_POLL_S must be "
                         "positive")
        if not (0 < self.stream_poll_s <= 60 and 0 < self.stream_keepalive_s <= 3600):
            found.append(f"STREAM_POLL_S ({self.stream_poll_s}) must be in (0, 60] and STREAM_KEEPALIVE_S "
                         f"({self.stream_keepalive_s}) in (0, 3600]")
        return found


def _loopback(host):
    # "localhost" by name, else any address in 127.0.0.0/8 or ::1 (brackets allowed around IPv6).
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _parse(name, raw, kind):
    if kind not in (int, float):
        return raw
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be {'an integer' if kind is int else 'a number'}, got {raw!r}") from None
    if kind is float and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {raw!r}")
    return value
