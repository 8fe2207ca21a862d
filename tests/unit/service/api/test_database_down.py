"""An unreachable database is a 503 problem, never a 500."""
import pytest

DOWN = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=1"


@pytest.mark.parametrize("method,path,body", [
    ("get", "/api/v1/jobs/" + "0" * 32, None),
    ("get", "/api/v1/jobs", None),
    ("post", "/api/v1/jobs", {"variant": "numpy"}),
    ("post", "/api/v1/jobs/" + "0" * 32 + "/cancel", None),
])
def test_database_down_is_a_503_problem(make_app, problem, method, path, body):
    client = make_app(database_url=DOWN).test_client()
    response = getattr(client, method)(path, json=body)
    assert "database" in problem(response, 503)["detail"]


def test_readyz_names_the_database(make_app, problem):
    body = problem(make_app(database_url=DOWN).test_client().get("/readyz"), 503)
    assert body["checks"]["database"].startswith("unreachable") and body["checks"]["redis"] == "ok"
