"""Progress points: each history point of a running job as the worker reaches it, so a stream can send
every point once and in order, and resume from any of them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create progress_points, keyed by (job_id, step)."""
    op.create_table(
        "progress_points",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("loss", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("job_id", "step", name="pk_progress_points"),
    )


def downgrade() -> None:
    """Drop progress_points."""
    op.drop_table("progress_points")
