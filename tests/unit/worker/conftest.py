"""Worker unit-test fixtures: a private Redis and a migrated SQLite file, as the service tests have."""

import pytest

from service.settings import Settings
from service.store.db import make_engine, make_sessionmaker
from service.store.migrate import upgrade


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
