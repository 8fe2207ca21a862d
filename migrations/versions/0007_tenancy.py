"""Tenancy: tokens get an owner and scopes, jobs and sweeps an owner, and Idempotency-Keys become unique
per owner. Everything that exists is owned by `legacy`, and every existing token keeps all it could do
(scope admin): nothing is lost and no client is locked out.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LEGACY = "legacy"


def _owner():
    # server_default fills the rows already there; new rows get their owner from the API.
    return sa.Column("owner", sa.String(length=64), nullable=False, server_default=LEGACY)


def upgrade() -> None:
    """Add the owner and scope columns; swap the global idempotency key for one per owner."""
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(_owner())
        batch.add_column(sa.Column("scopes", sa.String(length=64), nullable=False, server_default="admin"))
    with op.batch_alter_table("sweeps") as batch:
        batch.add_column(_owner())
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(_owner())
        batch.drop_constraint("uq_jobs_idempotency_key", type_="unique")
        batch.create_unique_constraint("uq_jobs_owner_idempotency_key", ["owner", "idempotency_key"])
        batch.create_index("ix_jobs_owner_id", ["owner", "id"])


def downgrade() -> None:
    """Back to one global key space (fails if two owners used the same key) and no owners."""
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_owner_id")
        batch.drop_constraint("uq_jobs_owner_idempotency_key", type_="unique")
        batch.create_unique_constraint("uq_jobs_idempotency_key", ["idempotency_key"])
        batch.drop_column("owner")
    with op.batch_alter_table("sweeps") as batch:
        batch.drop_column("owner")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("scopes")
        batch.drop_column("owner")
