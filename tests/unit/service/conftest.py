"""Apps built from Settings on a migrated SQLite file, a test client, and the checks every test shares."""
import shutil

import pytest
from sqlalchemy import create_engine, text

from service.app import create_app
from service.settings import Settings
from service.store.migrate import upgrade

PROBLEM_KEYS = {"type", "title", "status", "detail"}
ANY = object()


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory):
    """A SQLite file whose schema Alembic built (migrations only); each test gets a copy of it."""
    path = tmp_path_factory.mktemp("schema") / "t.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def settings(tmp_path, migrated_db, redis_url):
    """Settings for one test: its own migrated SQLite file, the private Redis, data under tmp_path."""
    for suffix in ("", "-wal", "-shm"):
        source = migrated_db.with_name(migrated_db.name + suffix)
        if source.exists():
            shutil.copyfile(source, tmp_path / f"t.db{suffix}")
    return Settings.from_env({}, database_url=f"sqlite:///{tmp_path}/t.db", redis_url=redis_url,
                             data_dir=str(tmp_path))


@pytest.fixture
def make_app(settings):
    """make_app(**overrides): an app on this test's database, with some settings replaced."""
    apps = []

    def make(**overrides):
        fields = {**settings.__dict__, **overrides}
        app = create_app(Settings(**fields))
        apps.append(app)
        return app

    yield make
    for app in apps:
        state = app.extensions["fitq"]
        state.engine.dispose()
        state.celery.close()
        state.redis.close()


@pytest.fixture
def app(make_app):
    """The API with the test's settings."""
    return make_app()


@pytest.fixture
def client(app):
    """A test client for the API."""
    return app.test_client()


@pytest.fixture
def rows(settings):
    """rows(): how many rows the jobs table holds now."""
    engine = create_engine(settings.database_url)

    def count():
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM jobs")).scalar_one()

    yield count
    engine.dispose()


def _check_problem(response, status, field=ANY):
    """Assert `response` is an RFC 9457 problem with `status` (and `field`); return its body."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert isinstance(body, dict)
    assert PROBLEM_KEYS <= body.keys(), body
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    if field is not ANY:
        assert body.get("field") == field, body
    return body


@pytest.fixture
def problem():
    """problem(response, status, field=...): check a problem+json answer and return its body."""
    return _check_problem


@pytest.fixture
def submit(client):
    """submit(body, headers=None): POST /api/v1/jobs with a JSON body (or raw bytes)."""

    def post(body, headers=None):
        if isinstance(body, bytes):
            return client.post("/api/v1/jobs", data=body, content_type="application/json",
                               headers=headers)
        return client.post("/api/v1/jobs", json=body, headers=headers)

    return post
