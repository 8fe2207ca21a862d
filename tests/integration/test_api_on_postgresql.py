"""The API's PostgreSQL-only paths, in process on a database of its own: `param.` filters as one jsonb
containment test, and concurrent submissions that share an Idempotency-Key."""
import threading
import time

import psycopg
import pytest

from service.app import create_app
from service.settings import Settings
from service.store.migrate import upgrade
from tests.integration.conftest import flush
from tests.unit.service.stored import store


@pytest.fixture
def app(pg_databases, redis_url, tmp_path):
    """The API on a fresh, migrated PostgreSQL database and the tests' Redis (flushed afterwards)."""
    url = pg_databases()
    upgrade(url)
    made = create_app(Settings.from_env({}, database_url=url, redis_url=redis_url, data_dir=str(tmp_path)))
    yield made
    state = made.extensions["fitq"]
    state.engine.dispose()
    state.celery.close()
    state.redis.close()
    flush(redis_url)  # the messages it sent name jobs no other test has


def _psql(app) -> str:
    """The app's database URL as psycopg spells it."""
    return app.extensions["fitq"].settings.database.replace("+psycopg", "")


def _listed(client, **query) -> list[str]:
    response = client.get("/api/v1/jobs", query_string={**query, "limit": 200})
    assert response.status_code == 200, response.get_json()
    return [job["id"] for job in response.get_json()["items"]]


def test_parameter_filters_match_by_value_on_postgresql(app):
    small = store(app, "tensor", params={"learning_rate": 1e-6, "seed": 3, "dtype": "float64"})
    big = store(app, "tensor", params={"learning_rate": 2e-6, "seed": 2**31})
    seeded = store(app, "lstsq", params={"seed": 4_294_967_295, "samples": 10})
    client = app.test_client()

    for spelling in ("1e-6", "0.000001", "1e-06", "1E-6"):
        assert _listed(client, **{"param.learning_rate": spelling}) == [small], spelling
    assert _listed(client, **{"param.dtype": "float64"}) == [small]
    assert _listed(client, **{"param.dtype": "float32"}) == [seeded, big]
    assert _listed(client, **{"param.seed": str(2**31)}) == [big]  # past a 32-bit integer
    assert _listed(client, **{"param.seed": "4294967295"}) == [seeded]
    assert _listed(client, **{"param.seed": "4294967294"}) == []
    assert _listed(client, **{"param.seed": "3", "param.dtype": "float64", "param.learning_rate": "1e-06"}) \
        == [small]
    assert _listed(client, **{"param.seed": "3", "param.dtype": "float32"}) == []


def test_concurrent_submissions_with_one_idempotency_key_make_one_job(app):
    callers = 4
    answers = []
    with psycopg.connect(_psql(app)) as blocker, psycopg.connect(_psql(app), autocommit=True) as watcher:
        # Reads go on but inserts wait: every caller finds no job for the key, then all insert at
        # once when the lock goes, so all but one meet the unique index (the race, made certain).
        blocker.execute("LOCK TABLE jobs IN SHARE MODE")
        threads = [threading.Thread(target=lambda: answers.append(app.test_client().post(
            "/api/v1/jobs", json={"variant": "tensor", "params": {"steps": 100}},
            headers={"Idempotency-Key": "one-key-many-callers"}))) for _ in range(callers)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                              "AND datname = current_database()").fetchone()[0] < callers:
            assert time.monotonic() < deadline, "the callers did not all reach their insert"
            time.sleep(0.02)
        blocker.commit()
        for thread in threads:
            thread.join(30)
        rows = watcher.execute("SELECT id FROM jobs").fetchall()

    assert [a.status_code for a in answers] == [202] * callers, [a.get_data(as_text=True) for a in answers]
    assert len({a.get_json()["id"] for a in answers}) == 1 and rows == [(answers[0].get_json()["id"],)]
    replayed = [a.headers.get("Idempotent-Replayed") for a in answers]
    assert replayed.count("true") == callers - 1 and replayed.count(None) == 1
