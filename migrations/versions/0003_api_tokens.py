"""API tokens: a public id, a name and the sha256 of the secret; the secret itself is never stored.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create api_tokens with its index of names among active tokens."""
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
    )
    active = sa.text("revoked_at IS NULL")
    op.create_index("ix_api_tokens_name_active", "api_tokens", ["name"], unique=True,
                    sqlite_where=active, postgresql_where=active)


def downgrade() -> None:
    """Drop api_tokens."""
    op.drop_index("ix_api_tokens_name_active", table_name="api_tokens")
    op.drop_table("api_tokens")
