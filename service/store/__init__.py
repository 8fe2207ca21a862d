"""Persistence: the SQLAlchemy models and every read and write of fitq's tables. Runs in every process
that touches the database (API, worker, sweeper, CLI); imports SQLAlchemy, Alembic and service.clock only,
never Flask, Celery or Redis."""
