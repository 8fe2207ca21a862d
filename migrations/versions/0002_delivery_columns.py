"""Delivery bookkeeping on jobs: when the message was sent, which process runs it, its time budget.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add enqueued_at, worker_pid and timeout_s (nullable: older rows have none)."""
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("worker_pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("timeout_s", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Drop the three columns."""
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("timeout_s")
        batch.drop_column("worker_pid")
        batch.drop_column("enqueued_at")
