"""Migrations build the schema from empty on PostgreSQL and SQLite, and agree with the models."""
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from service.store.db import make_engine
from service.store.migrate import alembic_config, include_object, upgrade
from service.store.models import Base


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_url(request, tmp_path):
    """An empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/empty.db"
    return request.getfixturevalue("pg_databases")()


def test_upgrade_from_empty_creates_the_models_schema(empty_url):
    upgrade(empty_url)
    engine = make_engine(empty_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        assert compare_metadata(context, Base.metadata) == []
        inspector = inspect(conn)
        assert {"jobs", "alembic_version"} <= set(inspector.get_table_names())
        indexes = {ix["name"] for ix in inspector.get_indexes("jobs")}
        assert indexes >= {"ix_jobs_status_id", "ix_jobs_variant_id"}
        # The parameters' GIN index, PostgreSQL only (param.NAME filters); SQLite scans.
        assert ("ix_jobs_params_jsonb" in indexes) == (conn.dialect.name == "postgresql")
    engine.dispose()


def test_downgrade_to_empty_and_back(empty_url):
    upgrade(empty_url)
    command.downgrade(alembic_config(empty_url), "base")
    engine = make_engine(empty_url)
    assert "jobs" not in inspect(engine).get_table_names()
    engine.dispose()
    upgrade(empty_url)
    engine = make_engine(empty_url)
    assert "jobs" in inspect(engine).get_table_names()
    engine.dispose()


def test_tenancy_keeps_every_job_and_token_under_the_legacy_owner(empty_url):
    # A database at 0006 with jobs (one with an Idempotency-Key), a sweep and tokens, as fitq left it.
    command.upgrade(alembic_config(empty_url), "0006")
    engine = make_engine(empty_url)
    stamp = "2026-11-27 10:00:00+00:00"
    with engine.begin() as conn:
        for i, key in enumerate(["k1", None, None]):
            conn.execute(text("INSERT INTO jobs (id, variant, status, params, idempotency_key, progress_step, "
                              "progress_steps, attempts, created_at) VALUES (:id, 'tensor', 'queued', '{}', :key, "
                              "0, 2000, 0, :at)"), {"id": f"{i:032x}", "key": key, "at": stamp})
        conn.execute(text("INSERT INTO sweeps (id, variant, params, grid, size, created_at) "
                          "VALUES (:id, 'tensor', '{}', '{}', 0, :at)"), {"id": "f" * 32, "at": stamp})
        conn.execute(text("INSERT INTO api_tokens (id, name, secret_sha256, created_at) "
                          "VALUES ('0123abcd', 'ci', :sha, :at)"), {"sha": "0" * 64, "at": stamp})
    engine.dispose()
    upgrade(empty_url)
    engine = make_engine(empty_url)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*), min(owner), max(owner) FROM jobs")).one() == (3, "legacy", "legacy")
        keyed = conn.execute(text("SELECT idempotency_key FROM jobs WHERE id = :id"), {"id": f"{0:032x}"})
        assert keyed.scalar() == "k1"
        assert conn.execute(text("SELECT owner FROM sweeps")).scalar() == "legacy"
        assert conn.execute(text("SELECT name, owner, scopes FROM api_tokens")).one() == ("ci", "legacy", "admin")
        # The key is unique per owner now: another owner may use "k1", the same owner may not.
        conn.execute(text("INSERT INTO jobs (id, variant, status, params, idempotency_key, progress_step, "
                          "progress_steps, attempts, created_at, owner) VALUES (:id, 'tensor', 'queued', '{}', "
                          "'k1', 0, 2000, 0, :at, 'alice')"), {"id": "a" * 32, "at": stamp})
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("INSERT INTO jobs (id, variant, status, params, idempotency_key, progress_step, "
                          "progress_steps, attempts, created_at, owner) VALUES (:id, 'tensor', 'queued', '{}', "
                          "'k1', 0, 2000, 0, :at, 'alice')"), {"id": "b" * 32, "at": stamp})
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()
