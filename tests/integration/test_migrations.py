"""Migrations build the schema from empty on PostgreSQL and SQLite, and agree with the models."""
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

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
