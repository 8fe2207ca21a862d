"""GET /api/v1/jobs/<id>/predict: the stored power-basis polynomial evaluated at the given x."""
import math

import pytest

from fits import dynamic, legendre
from tests.unit.service.stored import result, store

LEGENDRE = [0.01, -2.2, 0.02, 0.25]  # b0 + b1 * P3(b2 + b3 x)
DYNAMIC = [0.1, 0.8, -0.02, -0.09, 0.003]  # a..e


def _p3(u):
    return (5 * u ** 3 - 3 * u) / 2


@pytest.mark.parametrize("variant,coefficients,model", [
    ("tensor", [0.1, 0.85, -0.01, -0.093], lambda x: 0.1 + 0.85 * x - 0.01 * x ** 2 - 0.093 * x ** 3),
    ("custom_function", legendre.power_basis(LEGENDRE),
     lambda x: LEGENDRE[0] + LEGENDRE[1] * _p3(LEGENDRE[2] + LEGENDRE[3] * x)),
    # The expected prediction over the random order: x^4 two times in three, x^5 one in three.
    ("dynamic", dynamic.expected_polynomial(DYNAMIC),
     lambda x: sum(c * x ** k for k, c in enumerate(DYNAMIC[:4])) + DYNAMIC[4] * (2 * x ** 4 + x ** 5) / 3),
])
def test_every_variant_evaluates_its_own_model(app, client, variant, coefficients, model):
    job = store(app, variant, outcome=result(polynomial=coefficients))
    xs = [-math.pi, -1.0, 0.0, 0.5, 2.0, math.pi]
    body = client.get(f"/api/v1/jobs/{job}/predict", query_string={"x": ",".join(map(repr, xs))}).get_json()
    assert body["id"] == job and body["variant"] == variant and body["polynomial"] == coefficients
    assert body["x"] == xs
    assert body["y"] == pytest.approx([model(x) for x in xs], rel=1e-12, abs=1e-12)


def test_x_may_be_repeated(app, client):
    job = store(app)
    repeated = client.get(f"/api/v1/jobs/{job}/predict?x=0.5&x=1&x=-2e-1").get_json()
    joined = client.get(f"/api/v1/jobs/{job}/predict?x=0.5,1,-2e-1").get_json()
    assert repeated == joined and repeated["x"] == [0.5, 1.0, -0.2]


def test_not_finite_is_null(app, client):
    wild = store(app, outcome=result(polynomial=[1.0, 1e300, 0.0, 1e300]))
    body = client.get(f"/api/v1/jobs/{wild}/predict?x=0,1e99").get_json()
    assert body["y"] == [1.0, None]
    diverged = store(app, status="diverged", outcome=result(polynomial=[None, 1.0, None, 2.0], final_loss=None))
    assert client.get(f"/api/v1/jobs/{diverged}/predict?x=1").get_json()["y"] == [None]


def test_the_most_points_and_one_more(app, client, problem):
    job = store(app)
    assert len(client.get(f"/api/v1/jobs/{job}/predict?x=" + ",".join(["1"] * 1000)).get_json()["y"]) == 1000
    problem(client.get(f"/api/v1/jobs/{job}/predict?x=" + ",".join(["1"] * 1001)), 400, "x")


@pytest.mark.parametrize("query", ["", "x=", "x=nan", "x=inf", "x=1e999", "x=abc", "x=1,,2", "x=1_0",
                                   "x=0x10", "x=1e100", "x=" + "9" * 31, "x=1&y=2"])
def test_bad_points(app, client, problem, query):
    job = store(app)
    problem(client.get(f"/api/v1/jobs/{job}/predict?{query}"), 400, "y" if "y=" in query else "x")


@pytest.mark.parametrize("status", ["queued", "running", "failed", "cancelled"])
def test_no_result_yet_is_a_conflict(app, client, problem, status):
    job = store(app, status=status)
    assert status in problem(client.get(f"/api/v1/jobs/{job}/predict?x=1"), 409, "id")["detail"]


def test_unknown_job(client, problem):
    problem(client.get(f"/api/v1/jobs/{'a' * 32}/predict?x=1"), 404, "id")
