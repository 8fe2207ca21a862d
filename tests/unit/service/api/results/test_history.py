"""GET /api/v1/jobs/<id>/history: the stored loss history as JSON or CSV, downsampled on request."""
import csv
import io
import math
import random

import pytest

from service.api.results.history import downsample
from tests.unit.service.stored import result, store


def _history(count, loss=lambda i: 1000.0 / (i + 1)):
    return [{"step": 100 * i + 99, "loss": loss(i)} for i in range(count)]


@pytest.mark.parametrize("count,most", [(10, 10), (10, 2), (10, 3), (11, 4), (2000, 200), (10_000, 101)])
def test_downsampling_keeps_the_ends_the_extremes_and_the_order(count, most):
    rng = random.Random(count)
    points = _history(count, lambda i: 1000.0 / (i + 1) * (1 + 0.2 * rng.random()))
    points[count // 3]["loss"] = 5000.0  # a spike
    points[count // 2]["loss"] = 0.5  # a dip
    kept = downsample(points, most)
    assert len(kept) <= most
    assert kept[0] == points[0] and kept[-1] == points[-1]
    assert [p["step"] for p in kept] == sorted({p["step"] for p in kept})
    assert all(p in points for p in kept)
    if most >= 4:
        assert {"step": points[count // 3]["step"], "loss": 5000.0} in kept
        assert {"step": points[count // 2]["step"], "loss": 0.5} in kept
    if count <= most:
        assert kept == points


def test_a_monotone_curve_keeps_its_shape_and_a_divergence_is_kept():
    points = _history(1000)
    kept = downsample(points, 50)
    assert all(a["loss"] > b["loss"] for a, b in zip(kept, kept[1:]))
    assert kept[-1] == points[-1] and 45 <= len(kept) <= 50
    points[700]["loss"] = None
    assert {"step": points[700]["step"], "loss": None} in downsample(points, 50)


@pytest.fixture
def job(app):
    """A succeeded job with 2,000 history points, one of them not finite."""
    points = _history(2000)
    points[-1] = {"step": points[-1]["step"], "loss": None}
    return store(app, outcome=result(history=points, final_loss=None))


def test_json_is_every_point_unless_asked_for_fewer(client, job):
    whole = client.get(f"/api/v1/jobs/{job}/history").get_json()
    assert whole["points"] == 2000 and whole["downsampled"] is False
    assert whole["loss_history"] == client.get(f"/api/v1/jobs/{job}").get_json()["result"]["loss_history"]
    few = client.get(f"/api/v1/jobs/{job}/history?max_points=100").get_json()
    assert few["points"] == 2000 and few["downsampled"] is True and len(few["loss_history"]) <= 100
    assert few["loss_history"][0] == whole["loss_history"][0] and few["loss_history"][-1]["loss"] is None


def test_csv_has_a_header_a_file_name_and_empty_fields_for_null(client, job):
    response = client.get(f"/api/v1/jobs/{job}/history?format=csv&max_points=10")
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and response.mimetype_params["charset"] == "utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="fitq-{job}-history.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["step", "loss"] and 2 < len(rows) <= 11
    assert rows[1] == ["99", "1000.0"] and rows[-1] == ["199999", ""]
    assert all(math.isfinite(float(loss)) for _, loss in rows[1:-1])


@pytest.mark.parametrize("status", ["queued", "running", "failed", "cancelled"])
def test_a_job_without_a_result_is_a_conflict(app, client, problem, status):
    job = store(app, status=status)
    body = problem(client.get(f"/api/v1/jobs/{job}/history"), 409, "id")
    assert status in body["detail"] and "no loss history" in body["detail"]


@pytest.mark.parametrize("query,field", [
    ("max_points=1", "max_points"), ("max_points=10001", "max_points"), ("max_points=abc", "max_points"),
    ("max_points=", "max_points"), ("format=xml", "format"), ("format=", "format"), ("points=3", "points"),
])
def test_bad_queries(client, problem, job, query, field):
    problem(client.get(f"/api/v1/jobs/{job}/history?{query}"), 400, field)


def test_unknown_job(client, problem):
    problem(client.get(f"/api/v1/jobs/{'0' * 32}/history"), 404, "id")
    problem(client.get("/api/v1/jobs/nope/history?format=csv"), 404, "id")
