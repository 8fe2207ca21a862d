"""GET /api/v1/compare: jobs side by side with their gap to the least-squares optimum on the same data,
which the API computes in pure Python (service/api/results/optimum.py), checked here against the lstsq variant."""
import pytest

from fits import lstsq
from service.api.results.optimum import optimum
from tests.unit.service.stored import result, store


@pytest.mark.parametrize("samples", [4, 5, 17, 2000, 100_000])
def test_the_optimum_is_the_lstsq_variants_answer_in_float64(samples):
    exact = lstsq.fit(samples=samples, seed=0, dtype="float64", device="cpu")
    mine = optimum(samples)
    assert list(mine.polynomial) == pytest.approx(exact.polynomial, rel=1e-9, abs=1e-12)
    assert mine.loss == pytest.approx(exact.final_loss, rel=1e-9, abs=1e-20)


def test_the_float32_lstsq_job_sits_on_the_optimum():
    assert lstsq.fit(samples=2000, seed=0, dtype="float32", device="cpu").final_loss == \
        pytest.approx(optimum(2000).loss, rel=1e-5)
    assert optimum(2000).loss == pytest.approx(8.817165410007, rel=1e-12)


def test_below_four_points_a_cubic_fits_exactly():
    assert optimum(2).loss == optimum(3).loss == 0.0 and optimum(3).polynomial is None


def test_side_by_side_in_the_order_asked(app, client):
    best = optimum(2000)
    loop = store(app, "tensor", params={"learning_rate": 2e-6}, outcome=result(final_loss=9.5, duration_s=0.7))
    exact = store(app, "lstsq", outcome=result(polynomial=list(best.polynomial), final_loss=best.loss, history=[]))
    small = store(app, "dynamic", params={"samples": 500}, outcome=result(
        polynomial=[0.0, 0.8, 0.0, -0.09, 0.001, 0.0005], final_loss=3.0))
    waiting = store(app, "numpy", status="queued")
    body = client.get(f"/api/v1/compare?ids={waiting},{loop},{exact},{small}").get_json()
    rows = {row["id"]: row for row in body["items"]}
    assert [row["id"] for row in body["items"]] == [waiting, loop, exact, small]

    row = rows[loop]
    assert row["variant"] == "tensor" and row["status"] == "succeeded"
    assert row["params"]["learning_rate"] == 2e-6 and row["params"]["samples"] == 2000
    assert row["final_loss"] == 9.5 and row["duration_s"] == 0.7 and row["device"] == "cpu"
    assert row["optimum"] == {"samples": 2000, "loss": best.loss, "polynomial": list(best.polynomial)}
    assert row["gap"] == pytest.approx(9.5 - 8.817165410007) and row["ratio"] == pytest.approx(9.5 / best.loss)
    assert row["coefficients"] == {"b_0": 0.0, "b_1": 0.8567408430737841, "b_2": 0.0, "b_3": -0.09333038904059883}
    assert len(row["polynomial"]) == 4 and row["formula"]

    assert rows[exact]["gap"] == 0.0 and rows[exact]["ratio"] == 1.0
    assert rows[small]["optimum"]["samples"] == 500 and rows[small]["optimum"]["loss"] == optimum(500).loss
    assert len(rows[small]["polynomial"]) == 6
    assert rows[small]["gap"] == pytest.approx(3.0 - optimum(500).loss)
    assert {k: rows[waiting][k] for k in ("final_loss", "gap", "ratio", "coefficients", "polynomial")} == \
        dict.fromkeys(("final_loss", "gap", "ratio", "coefficients", "polynomial"))


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
