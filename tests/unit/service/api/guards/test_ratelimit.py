"""Rate limits: per client per minute, counted in Redis so every API process shares them; fail open."""
import logging
import time
from dataclasses import replace

import pytest

from service.api.guards.ratelimit import WINDOW_S
from service.store import tokens


@pytest.fixture(autouse=True)
def fresh_window(redis_db):
    """Start well inside a window, so no test's requests straddle two (Redis is flushed too)."""
    left = WINDOW_S - time.time() % WINDOW_S
    if left < 5:
        time.sleep(left + 0.1)


def client_at(app, address):
    """A test client whose requests come from `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_over_the_limit_is_a_429_with_retry_after(make_app, problem):
    client = client_at(make_app(rate_limit_per_minute=3), "10.0.0.1")
    for remaining in (2, 1, 0):
        response = client.get("/api/v1/variants")
        assert response.status_code == 200
        assert response.headers["RateLimit-Limit"] == "3"
        assert response.headers["RateLimit-Remaining"] == str(remaining)
    response = client.get("/api/v1/variants")
    body = problem(response, 429)
    assert 1 <= int(response.headers["Retry-After"]) <= WINDOW_S
    assert body["retry_after_s"] == int(response.headers["Retry-After"])
    assert response.headers["RateLimit-Remaining"] == "0"
    assert "more than 3 requests this minute" in body["detail"]


def test_the_count_is_shared_by_separate_api_processes(make_app, problem):
    first = client_at(make_app(rate_limit_per_minute=3), "10.0.0.2")
    second = client_at(make_app(rate_limit_per_minute=3), "10.0.0.2")
    assert first.get("/api/v1/variants").status_code == 200
    assert second.get("/api/v1/variants").status_code == 200
    assert first.get("/api/v1/variants").status_code == 200
    problem(second.get("/api/v1/variants"), 429)
    problem(first.get("/api/v1/variants"), 429)


def test_each_address_has_its_own_count_and_forwarded_for_is_not_believed(make_app, problem):
    app = make_app(rate_limit_per_minute=1)
    busy, other = client_at(app, "10.0.0.3"), client_at(app, "10.0.0.4")
    assert busy.get("/api/v1/variants").status_code == 200
    problem(busy.get("/api/v1/variants", headers={"X-Forwarded-For": "192.0.2.9"}), 429)
    assert other.get("/api/v1/variants").status_code == 200


def test_a_token_is_counted_not_its_address(make_app, problem):
    app = make_app(auth="on", rate_limit_per_minute=1)
    with app.extensions["fitq"].sessions() as session:
        one = tokens.create(session=session, name="one")[1]
        two = tokens.create(session=session, name="two")[1]
    client = client_at(app, "10.0.0.5")
    assert client.get("/api/v1/variants", headers={"Authorization": f"Bearer {one}"}).status_code == 200
    assert client.get("/api/v1/variants", headers={"Authorization": f"Bearer {two}"}).status_code == 200
    problem(client.get("/api/v1/variants", headers={"Authorization": f"Bearer {one}"}), 429)


def test_refused_tokens_count_against_the_address(make_app, problem):
    client = client_at(make_app(auth="on", rate_limit_per_minute=2), "10.0.0.6")
    bad = {"Authorization": "Bearer fitq_1234abcd_" + "A" * 43}
    problem(client.get("/api/v1/variants", headers=bad), 401)
    problem(client.get("/api/v1/variants", headers=bad), 401)
    problem(client.get("/api/v1/variants", headers=bad), 429)  # guessing is limited too


def test_root_probes_are_not_limited(make_app):
    client = client_at(make_app(rate_limit_per_minute=1), "10.0.0.7")
    for _ in range(3):
        for url in ("/healthz", "/readyz"):
            response = client.get(url)
            assert response.status_code == 200 and "RateLimit-Limit" not in response.headers


def test_windows_expire_on_their_own(make_app, redis_db):
    client_at(make_app(rate_limit_per_minute=5), "10.0.0.8").get("/api/v1/variants")
    [key] = redis_db.keys("fitq:rate:addr:10.0.0.8:*")
    assert 0 < redis_db.ttl(key) <= WINDOW_S


def test_zero_turns_it_off(make_app, redis_db):
    client = client_at(make_app(rate_limit_per_minute=0), "10.0.0.9")
    for _ in range(3):
        response = client.get("/api/v1/variants")
        assert response.status_code == 200 and "RateLimit-Limit" not in response.headers
    assert redis_db.keys("fitq:rate:*") == []


def test_redis_down_fails_open_and_warns_once(make_app, caplog):
    client = client_at(make_app(redis_url="redis://127.0.0.1:1/0", rate_limit_per_minute=1), "10.0.0.10")
    with caplog.at_level(logging.WARNING, logger="service.api.guards.ratelimit"):
        for _ in range(3):
            response = client.get("/api/v1/variants")
            assert response.status_code == 200 and "RateLimit-Limit" not in response.headers
    warnings = [r for r in caplog.records if r.name == "service.api.guards.ratelimit"]
    assert len(warnings) == 1 and "not enforced" in warnings[0].getMessage()


def test_a_negative_limit_is_refused_at_start(settings):
    assert any("RATE_LIMIT_PER_MINUTE" in c
               for c in replace(settings, rate_limit_per_minute=-1).contradictions())
