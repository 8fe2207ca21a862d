"""GET /api/v1/compare: jobs side by side with their excess over the least-squares optimum on the same data,
which the worker stored with each result (fits/optimum.py); the API only reads it, never solves it."""
import time

import pytest

from tests.unit.service.stored import CUBIC, result, store

BEST = 8.817165410007027  # the optimum's loss on 2000 float32 points, as the worker stores it
BEST_500 = 7.5  # any stored value: the API shows what the worker wrote


def measured(final_loss, best=BEST, polynomial=(0.0, 0.8567, 0.0, -0.0933), fit=CUBIC, **more):
    """A result as a worker writes it now: with the optimum fields."""
    rel = None if final_loss is None else (final_loss - best) / best
    return {**result(final_loss=final_loss, polynomial=fit, **more),
            "optimum_loss": best, "optimum_polynomial": list(polynomial),
            "excess_loss": None if final_loss is None else final_loss - best, "relative_excess_loss": rel}


def test_side_by_side_in_the_order_asked(app, client):
    loop = store(app, "tensor", params={"learning_rate": 2e-6}, outcome=measured(9.5, duration_s=0.7))
    exact = store(app, "lstsq", outcome=measured(BEST, history=[]))
    small = store(app, "dynamic", params={"samples": 500}, outcome=measured(
        3.0, best=BEST_500, fit=[0.0, 0.8, 0.0, -0.09, 0.001, 0.0005]))
    waiting = store(app, "numpy", status="queued")
    body = client.get(f"/api/v1/compare?ids={waiting},{loop},{exact},{small}").get_json()
    rows = {row["id"]: row for row in body["items"]}
    assert [row["id"] for row in body["items"]] == [waiting, loop, exact, small]

    row = rows[loop]
    assert row["variant"] == "tensor" and row["status"] == "succeeded"
    assert row["params"]["learning_rate"] == 2e-6 and row["params"]["samples"] == 2000
    assert row["final_loss"] == 9.5 and row["duration_s"] == 0.7 and row["device"] == "cpu"
    assert row["optimum"] == {"samples": 2000, "dtype": "float32", "loss": BEST,
                              "polynomial": [0.0, 0.8567, 0.0, -0.0933]}
    assert row["gap"] == row["excess_loss"] == pytest.approx(9.5 - BEST)
    assert row["relative_excess_loss"] == pytest.approx((9.5 - BEST) / BEST)
    assert row["ratio"] == pytest.approx(9.5 / BEST)
    assert row["coefficients"] == {"b_0": 0.0, "b_1": 0.8567408430737841, "b_2": 0.0, "b_3": -0.09333038904059883}
    assert len(row["polynomial"]) == 4 and row["formula"]

    assert rows[exact]["gap"] == 0.0 and rows[exact]["ratio"] == 1.0
    assert rows[small]["optimum"]["samples"] == 500 and rows[small]["optimum"]["loss"] == BEST_500
    assert len(rows[small]["polynomial"]) == 6
    assert rows[small]["gap"] == pytest.approx(3.0 - BEST_500)
    empty = ("final_loss", "gap", "excess_loss", "relative_excess_loss", "ratio", "coefficients", "polynomial")
    assert {k: rows[waiting][k] for k in empty} == dict.fromkeys(empty)
    assert rows[waiting]["optimum"] == {"samples": 2000, "dtype": "float64", "loss": None, "polynomial": None}


def test_a_result_stored_before_optima_were_shows_null(app, client):
    old = store(app, "tensor", outcome=result(final_loss=9.5))  # no optimum fields: written by an older worker
    row = client.get(f"/api/v1/compare?ids={old}").get_json()["items"][0]
    assert row["final_loss"] == 9.5 and row["optimum"]["loss"] is None
    assert row["gap"] is row["excess_loss"] is row["ratio"] is None


def test_jobs_never_run_with_large_distinct_samples_answer_at_once(app, client):
    # The probe's attack: 20 jobs whose optimum was never computed, each on a million-odd points. The
    # API solved each one (2.4 s apiece) until gunicorn killed it; now it reads what is stored.
    ids = [store(app, "lstsq", status="queued", params={"samples": 1_000_000 - i}) for i in range(20)]
    start = time.perf_counter()
    response = client.get("/api/v1/compare?ids=" + ",".join(ids))
    assert time.perf_counter() - start < 0.5
    assert response.status_code == 200
    assert all(row["optimum"]["loss"] is None for row in response.get_json()["items"])


def test_unknown_ids_are_named(app, client, problem):
    known, unknown = store(app), "0" * 32
    body = problem(client.get(f"/api/v1/compare?ids={known},{unknown}"), 404, "ids")
    assert body["unknown"] == [unknown] and unknown in body["detail"]


OTHERS = [f"{i:032x}" for i in range(51)]


@pytest.mark.parametrize("query,field", [
    (lambda job: "", "ids"),
    (lambda job: "ids=", "ids"),
    (lambda job: "ids=,", "ids"),
    (lambda job: "ids=abc", "ids"),
    (lambda job: f"ids={job.upper()}", "ids"),
    (lambda job: "ids=" + ",".join(OTHERS), "ids"),  # 51
    (lambda job: f"ids={job}&x=1", "x"),
], ids=["none", "empty", "commas", "not-an-id", "upper-case", "51", "unknown-parameter"])
def test_bad_id_lists(app, client, problem, query, field):
    problem(client.get(f"/api/v1/compare?{query(store(app))}"), 400, field)


def test_a_job_asked_for_twice_is_shown_twice(app, client):
    job = store(app)
    assert [row["id"] for row in client.get(f"/api/v1/compare?ids={job},{job}").get_json()["items"]] == [job, job]


def test_fifty_jobs(app, client):
    ids = [store(app) for _ in range(50)]
    assert len(client.get("/api/v1/compare?ids=" + ",".join(ids)).get_json()["items"]) == 50
