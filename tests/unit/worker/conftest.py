"""Worker unit-test fixtures: a private Redis and a migrated SQLite file, as the service tests have, and a
worker's Context on them, so a message's delivery runs in the test process."""
import os
from dataclasses import replace

import pytest

from fits.params import resolve
from service.queue import job_ids, make_celery
from service.settings import KNOWN_QUEUES, Settings
from service.store import jobs
from service.store.db import make_engine, make_sessionmaker
from service.store.migrate import upgrade
from worker.store import Store
from worker.tasks import Context

# Jobs that run in a few milliseconds: the tests are about what happens around the fit.
SMALL = {"steps": 200, "samples": 200, "device": "cpu"}


@pytest.fixture
def bare_env(tmp_path):
    """bare_env(**extra): the environment of a worker started in a fresh interpreter, nothing it reaches
    up. The host's OPENBLAS_* pass through: some hosts set them because older OpenBLAS builds fail on
    their CPU."""
    host = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")}

    def make(**extra: str) -> dict[str, str]:
        return {"REDIS_URL": "redis://127.0.0.1:1/0", "DATABASE_URL": f"sqlite:///{tmp_path}/w.db",
                "PATH": "/usr/bin:/bin", **host, **extra}
    return make


@pytest.fixture
def settings(tmp_path, redis_url):
    """Settings on a freshly migrated SQLite file and the private Redis."""
    url = f"sqlite:///{tmp_path}/w.db"
    upgrade(url)
    return Settings.from_env({}, database_url=url, redis_url=redis_url, data_dir=str(tmp_path))


@pytest.fixture
def sessions(settings):
    """Sessions on the test's database."""
    engine = make_engine(settings.database)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def context(settings, redis_db):
    """context(**overrides): a worker process's Context, as bind() makes it, on the test's database and the
    private Redis (flushed), so the messages it sends can be read back."""
    celeries = []

    def make(**overrides):
        fields = {"db_retry_s": 0.3, **overrides}  # a database outage is given up on within a second
        made = replace(settings, **fields)
        celeries.append(make_celery(made))
        return Context(made, celeries[-1], Store(made.database, retry_s=made.db_retry_s))

    yield make
    for celery in celeries:
        celery.close()


@pytest.fixture
def add_jobs(settings):
    """add_jobs(n, **params): ids of `n` queued tensor jobs (seeds 0..n-1), written through an engine that
    is closed again, so the test may take the database file away."""

    def add(n=1, variant="tensor", **params):
        engine = make_engine(settings.database)
        try:
            with make_sessionmaker(engine)() as session:
                return [jobs.create(session=session, variant=variant, params=resolve(
                    variant, {**SMALL, "seed": seed, **params}))[0].id for seed in range(n)]
        finally:
            engine.dispose()

    return add


@pytest.fixture
def row(settings):
    """row(job_id): the job as the database holds it now."""
    engine = make_engine(settings.database)
    sessions = make_sessionmaker(engine)

    def read(job_id):
        with sessions() as session:
            return jobs.get(session=session, job_id=job_id)

    yield read
    engine.dispose()


@pytest.fixture
def messages(redis_db):
    """messages(): the job ids each message waiting in Redis names, queue by queue."""

    def read():
        waiting = {q: [job_ids(m) for m in reversed(redis_db.lrange(q, 0, -1))] for q in KNOWN_QUEUES}
        return {q: found for q, found in waiting.items() if found}

    return read
