"""Bring a database's schema to the newest migration."""
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config for `url`, independent of the working directory."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    """alembic upgrade head on `url`."""
    command.upgrade(alembic_config(url), "head")


# Made by a migration for PostgreSQL only, and not in the models: an expression index SQLAlchemy cannot
# declare for one dialect alone. Comparisons of the models with a database leave it out.
UNMODELLED_INDEXES = frozenset({"ix_jobs_params_jsonb"})


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's include_object: every object but the indexes the models do not declare."""
    return not (type_ == "index" and name in UNMODELLED_INDEXES)
