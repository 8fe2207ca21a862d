"""The learning-rate limit before a job runs: GET /variants shows it at the default shape, and a submission
(or sweep) above it is accepted with an unstable_learning_rate warning naming the limit."""
import pytest

from fits import stability

LIMIT = stability.learning_rate_limit("tensor", 2000, "float32")


def test_variants_show_the_limit_at_their_default_shape(client):
    limits = {v["name"]: v["learning_rate_limit"] for v in client.get("/api/v1/variants").get_json()}
    for name in ("autograd", "module", "nn", "tensor"):
        assert limits[name] == pytest.approx(3.5579e-6, rel=1e-4)
    assert limits["numpy"] == stability.learning_rate_limit("numpy", 2000, "float64")
    assert limits["dynamic"] == pytest.approx(9.758e-8, rel=1e-3)
    assert limits["optim"] is limits["custom_function"] is limits["lstsq"] is None


def test_a_job_above_the_limit_is_accepted_with_a_warning(submit, redis_db):
    response = submit({"variant": "tensor", "params": {"learning_rate": 1.1 * LIMIT}})
    assert response.status_code == 202
    (warning,) = response.get_json()["warnings"]
    assert warning["code"] == "unstable_learning_rate" and warning["limit"] == LIMIT
    assert "diverged" in warning["detail"] and "tensor" in warning["detail"]


def test_a_job_below_the_limit_and_an_uncovered_variant_get_none(submit, redis_db):
    for body in ({"variant": "tensor", "params": {"learning_rate": 0.9 * LIMIT}}, {"variant": "tensor"},
                 {"variant": "optim", "params": {"learning_rate": 5.0}}, {"variant": "lstsq"}):
        response = submit(body)
        assert response.status_code == 202 and "warnings" not in response.get_json()


def test_the_limit_follows_the_jobs_own_points(submit, redis_db):
    # Fewer points, smaller sums of powers: 1e-5 is above the limit at 2000 points, below it at 200.
    assert "warnings" not in submit({"variant": "nn", "params": {"learning_rate": 1e-5, "samples": 200}}).get_json()
    (warning,) = submit({"variant": "nn", "params": {"learning_rate": 1e-5}}).get_json()["warnings"]
    assert warning["limit"] == LIMIT


def test_dynamics_warning_says_its_limit_is_not_enough(submit, redis_db):
    (warning,) = submit({"variant": "dynamic", "params": {"learning_rate": 1e-6, "steps": 10}}).get_json()["warnings"]
    assert "quarter" in warning["detail"]


def test_a_sweep_warns_once_for_its_unstable_points(client, redis_db):
    response = client.post("/api/v1/sweeps", json={
        "variant": "tensor", "grid": {"learning_rate": [1e-6, 1.1 * LIMIT, 2 * LIMIT], "samples": [2000, 20]}})
    assert response.status_code == 202
    (warning,) = response.get_json()["warnings"]
    assert warning["points"] == 2 and warning["limit"] == LIMIT and "2 of the sweep's 6 points" in warning["detail"]
    stable = client.post("/api/v1/sweeps", json={"variant": "tensor", "grid": {"learning_rate": [1e-6]}})
    assert stable.status_code == 202 and "warnings" not in stable.get_json()
