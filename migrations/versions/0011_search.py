"""Adaptive sweeps: a sweep's strategy, its search (space, trials, seed, parallelism, stop_at_excess), how
many trials it has asked, why its search ended, and the lease of the sweeper process driving it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"  # after main's 0010 (progress points), merged in
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the columns; every sweep made before is a grid whose search is over."""
    with op.batch_alter_table("sweeps") as batch:
        batch.add_column(sa.Column("strategy", sa.String(length=16), nullable=False, server_default="grid"))
        batch.add_column(sa.Column("search", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("asked", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("search_ended", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("lease_holder", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_sweeps_search_ended", "sweeps", ["search_ended"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_sweeps_search_ended", table_name="sweeps")
    with op.batch_alter_table("sweeps") as batch:
        for name in ("lease_until", "lease_holder", "search_ended", "asked", "search", "strategy"):
            batch.drop_column(name)
