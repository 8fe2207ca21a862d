"""/healthz says the process is up; /readyz says whether the database and Redis answer."""
import pytest

PREFIXES = ["", "/api/v1"]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_healthz(client, prefix):
    response = client.get(f"{prefix}/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


@pytest.mark.parametrize("prefix", PREFIXES)
def test_readyz_when_everything_answers(client, prefix):
    response = client.get(f"{prefix}/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["database"] == "ok" and body["redis"] == "ok"


@pytest.mark.parametrize("prefix", PREFIXES)
def test_readyz_when_redis_is_down(make_app, problem, prefix):
    client = make_app(redis_url="redis://127.0.0.1:1/0").test_client()
    body = problem(client.get(f"{prefix}/readyz"), 503)
    assert "redis" in body["detail"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] != "ok"


def test_healthz_when_redis_is_down(make_app):
    """The process is up even when its dependencies are not: liveness must not flap with Redis."""
    client = make_app(redis_url="redis://127.0.0.1:1/0").test_client()
    assert client.get("/healthz").status_code == 200
