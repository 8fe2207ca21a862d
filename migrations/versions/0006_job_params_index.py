"""A GIN index on the jobs' parameters (PostgreSQL only), so that param.NAME=VALUE filters are index scans.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

NAME = "ix_jobs_params_jsonb"


def upgrade() -> None:
    """Create the index on PostgreSQL; SQLite (the embedded default) keeps scanning, as it is small."""
    if op.get_bind().dialect.name == "postgresql":
        # jsonb_path_ops: smaller and faster than the default operator class, and containment (@>)
        # is the one operator fitq asks of it. An expression index, so the column stays json and
        # every answer keeps its parameters in the order they were stored.
        op.execute(f"CREATE INDEX {NAME} ON jobs USING gin ((params::jsonb) jsonb_path_ops)")


def downgrade() -> None:
    """Drop it again."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX {NAME}")
