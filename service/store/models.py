"""The database schema as SQLAlchemy 2.0 typed models; migrations/ creates it."""
import enum
from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

LEGACY_OWNER = "legacy"  # owns every token, job and sweep made before tenancy (migration 0007)

# Named constraints, so SQLite and PostgreSQL (and the migrations) agree on every name.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING)


class JobStatus(str, enum.Enum):
    """Where a job is in its life; stored as its plain string value."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DIVERGED = "diverged"
    CANCELLED = "cancelled"
    # A search trial its pruner stopped at a rung (its history kept up to there): finished, like the rest.
    PRUNED = "pruned"

    @property
    def finished(self) -> bool:
        """True for the states a job never leaves."""
        return self not in (JobStatus.QUEUED, JobStatus.RUNNING)


class Job(Base):
    """One fit job: what was asked, where it is, and what came of it."""

    __tablename__ = "jobs"

    # Time-ordered hex id (see jobs.new_id): newest-first listing is an index scan on the key.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    variant: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value)
    params: Mapped[dict] = mapped_column(JSON)
    # Unique per owner: one owner's key never answers with another owner's job.
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # The owner of the token that submitted it (fitq token create --owner); only it and admins see it.
    owner: Mapped[str] = mapped_column(String(64), server_default=LEGACY_OWNER)
    progress_step: Mapped[int] = mapped_column(Integer, default=0)
    progress_steps: Mapped[int] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When its message was last sent: the sweeper re-sends a queued job whose message went missing.
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The pool process running it, so a redelivery on the same host can tell that it died.
    worker_pid: Mapped[int | None] = mapped_column(Integer)
    # The job's time budget in seconds, enforced by the training loop.
    timeout_s: Mapped[int | None] = mapped_column(Integer)
    # The sweep that made it, if any.
    sweep_id: Mapped[str | None] = mapped_column(String(32))
    # Copied out of result, so a sweep's best job (and sorting) is an indexed query, not a JSON scan.
    final_loss: Mapped[float | None] = mapped_column(Float)
    duration_s: Mapped[float | None] = mapped_column(Float)
    # The result's excess over the least-squares optimum, absolute and relative (migration 0008).
    excess_loss: Mapped[float | None] = mapped_column(Float)
    relative_excess_loss: Mapped[float | None] = mapped_column(Float)
    device: Mapped[str | None] = mapped_column(String(16))
    worker: Mapped[str | None] = mapped_column(String(200))
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[dict | None] = mapped_column(JSON)
    # Where its end is POSTed (a webhook); None for no webhook, and for a sweep's jobs (the sweep has it).
    callback_url: Mapped[str | None] = mapped_column(String(2048))

    __table_args__ = (
        UniqueConstraint("owner", "idempotency_key", name="uq_jobs_owner_idempotency_key"),
        # An owner's listing, newest first; and its queued work, counted by the quota.
        Index("ix_jobs_owner_id", "owner", "id"),
        Index("ix_jobs_variant_id", "variant", "id"),
        Index("ix_jobs_status_id", "status", "id"),
        Index("ix_jobs_sweep_id_id", "sweep_id", "id"),
        # The listing's keyset orders on (value, id), and its created_at range filter (migration 0005).
        Index("ix_jobs_created_at_id", "created_at", "id"),
        Index("ix_jobs_final_loss_id", "final_loss", "id"),
        Index("ix_jobs_duration_s_id", "duration_s", "id"),
        Index("ix_jobs_excess_loss_id", "excess_loss", "id"),
        Index("ix_jobs_relative_excess_loss_id", "relative_excess_loss", "id"),
        # A sweep's jobs by loss, one status's by loss or duration: filter and order from one index.
        Index("ix_jobs_sweep_id_final_loss_id", "sweep_id", "final_loss", "id"),
        Index("ix_jobs_status_final_loss_id", "status", "final_loss", "id"),
        Index("ix_jobs_status_duration_s_id", "status", "duration_s", "id"),
        Index("ix_jobs_status_excess_loss_id", "status", "excess_loss", "id"),
        Index("ix_jobs_status_relative_excess_loss_id", "status", "relative_excess_loss", "id"),
    )


class ProgressPoint(Base):
    """One history point of a job, written by its worker's heartbeat while it runs: what streams read."""

    __tablename__ = "progress_points"

    # Kept after the job ends: a failed or cancelled job has no result history, and a few rows per job
    # cost less than a delete racing the streams that read them.
    job_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    loss: Mapped[float | None] = mapped_column(Float)  # None where the loss was not finite


class ApiToken(Base):
    """An API token: its public id, a name, and the sha256 of its secret (the secret is never stored)."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Written at most once a minute per token, so a busy client does not write on every request.
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The tenant it acts for, and what it may do: space-separated scopes (read, submit, admin, metrics).
    owner: Mapped[str] = mapped_column(String(64), server_default=LEGACY_OWNER)
    scopes: Mapped[str] = mapped_column(String(64), server_default="admin")

    __table_args__ = (
        # A name picks one active token (`fitq token revoke NAME`); revoked ones may share it.
        Index("ix_api_tokens_name_active", "name", unique=True,
              sqlite_where=text("revoked_at IS NULL"), postgresql_where=text("revoked_at IS NULL")),
    )


class Sweep(Base):
    """A grid of jobs: one variant, base parameters, and lists of values to try."""

    __tablename__ = "sweeps"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    variant: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict] = mapped_column(JSON)  # the base every point starts from
    grid: Mapped[dict] = mapped_column(JSON)  # parameter -> the values tried
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    owner: Mapped[str] = mapped_column(String(64), server_default=LEGACY_OWNER)  # its submitter's owner
    # Where the sweep's end (its last job's) is POSTed; None for no webhook.
    callback_url: Mapped[str | None] = mapped_column(String(2048))
    # grid (every point made at once), or random / tpe: trials asked by the sweeper in batches (0011).
    strategy: Mapped[str] = mapped_column(String(16), server_default="grid", default="grid")
    # An adaptive sweep's space, trials, seed, parallelism and stop_at_excess, as checked by the API.
    search: Mapped[dict | None] = mapped_column(JSON)
    asked: Mapped[int] = mapped_column(Integer, server_default="0", default=0)  # trials made so far
    # Null while the sweeper still asks for trials; then "trials" (all asked) or "target" (stop_at_excess).
    search_ended: Mapped[str | None] = mapped_column(String(16), index=True)
    # The sweeper process driving the search, and until when: one driver at a time (a compare-and-set).
    lease_holder: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeliveryState(str, enum.Enum):
    """Where a webhook is: waiting to be (re)sent, answered with a 2xx, or given up on."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(Base):
    """One webhook: a job's or a sweep's end, written in the transaction that ended it."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Exactly one of the two; unique, so an end is never announced twice.
    job_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    sweep_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    url: Mapped[str] = mapped_column(String(2048))
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING.value)
    # The document sent, rendered at the first attempt so every retry sends the same body.
    payload: Mapped[dict | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When it is due; a deliverer that claims it pushes this past its attempt, so no other sends it meanwhile.
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_webhook_deliveries_state_next_attempt_at", "state", "next_attempt_at"),)


class WebhookAttempt(Base):
    """One try at a webhook: when, and what came back (a status code, or the error)."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200))
    # The start of the answer's body, no more: receivers' pages are not fitq's to keep.
    excerpt: Mapped[str | None] = mapped_column(String(200))
