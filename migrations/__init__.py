"""Alembic migrations: the only way fitq's schema is created or changed."""
