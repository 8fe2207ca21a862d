"""jobs.excess_loss and jobs.relative_excess_loss, copied out of result like final_loss, with keyset indexes
so that GET /jobs sorts and filters by them. Rows finished before stay null (listed after every value).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = ("excess_loss", "relative_excess_loss")
INDEXES = {
    "ix_jobs_excess_loss_id": ["excess_loss", "id"],
    "ix_jobs_relative_excess_loss_id": ["relative_excess_loss", "id"],
    # One status's jobs by excess, as 0005 does for final_loss: without them PostgreSQL walks the whole
    # excess index for a status whose jobs have none (failed), filtering as it goes.
    "ix_jobs_status_excess_loss_id": ["status", "excess_loss", "id"],
    "ix_jobs_status_relative_excess_loss_id": ["status", "relative_excess_loss", "id"],
}


def upgrade() -> None:
    """Add the columns and their (value, id) indexes."""
    with op.batch_alter_table("jobs") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))
    for name, columns in INDEXES.items():
        op.create_index(name, "jobs", columns)


def downgrade() -> None:
    """Drop them again."""
    for name in INDEXES:
        op.drop_index(name, table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
