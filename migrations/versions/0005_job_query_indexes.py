"""Indexes for listing jobs in order of created_at, final_loss or duration_s: keyset pages on (value, id).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_jobs_created_at_id": ["created_at", "id"],  # also serves the created_after/created_before range
    "ix_jobs_final_loss_id": ["final_loss", "id"],
    "ix_jobs_duration_s_id": ["duration_s", "id"],
    # Without these, PostgreSQL walks ix_jobs_final_loss_id for a sweep's few jobs, or for a status
    # whose jobs have no loss at all (failed), filtering as it goes: 28 and 108 ms at 100,000 jobs.
    "ix_jobs_sweep_id_final_loss_id": ["sweep_id", "final_loss", "id"],
    "ix_jobs_status_final_loss_id": ["status", "final_loss", "id"],
    "ix_jobs_status_duration_s_id": ["status", "duration_s", "id"],
}


def upgrade() -> None:
    """Create the indexes."""
    for name, columns in INDEXES.items():
        op.create_index(name, "jobs", columns)


def downgrade() -> None:
    """Drop them again."""
    for name in INDEXES:
        op.drop_index(name, table_name="jobs")
