"""Finished jobs read back over HTTP on PostgreSQL: filtered and sorted listings paged by cursor, history
as CSV, compare against the least-squares optimum, predict, and the SVG plots."""
import csv
import io
import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tests.integration.expectations import optimum

SAMPLES = 1234  # no other test's jobs use it: the listing below filters on it
JOBS = {  # name -> (variant, params)
    "slow": ("tensor", {"learning_rate": 1e-6, "steps": 1500, "seed": 1}),
    "fast": ("tensor", {"learning_rate": 2e-6, "steps": 1500, "seed": 1}),
    "legendre": ("custom_function", {"steps": 1500, "seed": 0}),
    "dynamic": ("dynamic", {"steps": 4000, "log_every": 100, "seed": 2}),
    "exact": ("lstsq", {"seed": 0}),
    "diverged": ("tensor", {"learning_rate": 1e-3, "steps": 500, "log_every": 10, "seed": 1}),
}


@pytest.fixture(scope="module")
def finished(stack):
    """The jobs above, run by the stack's worker: name -> the finished job."""
    submitted = {name: stack.client.submit(variant, samples=SAMPLES, **params)
                 for name, (variant, params) in JOBS.items()}
    return {name: stack.client.wait(job["id"], timeout=180) for name, job in submitted.items()}


def _get(stack, path, **query):
    response = stack.client.http.get(f"{stack.client.base}/api/v1{path}", params=query)
    assert response.status_code == 200, response.text[:500]
    return response


def _listed(stack, **query):
    ids, cursor = [], None
    while True:
        body = _get(stack, "/jobs", **{**query, **({"cursor": cursor} if cursor else {})}).json()
        ids += [job["id"] for job in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


def test_every_job_finished_as_expected(finished):
    assert {name: job["status"] for name, job in finished.items()} == {
        **dict.fromkeys(JOBS, "succeeded"), "diverged": "diverged"}


def test_filters_and_sorts_page_by_cursor(stack, finished):
    mine = {job["id"]: job for job in finished.values()}
    by_loss = sorted((j for j in mine.values() if j["result"]["final_loss"] is not None),
                     key=lambda j: (j["result"]["final_loss"], j["id"]))
    # A page at a time; the diverged job (no final_loss) comes last both ways.
    assert _listed(stack, **{"param.samples": SAMPLES}, order_by="final_loss", limit=1) == \
        [j["id"] for j in by_loss] + [finished["diverged"]["id"]]
    assert _listed(stack, **{"param.samples": SAMPLES}, order_by="-final_loss", limit=2) == \
        [j["id"] for j in by_loss[::-1]] + [finished["diverged"]["id"]]
    by_time = sorted(mine.values(), key=lambda j: (j["result"]["duration_s"], j["id"]))
    assert _listed(stack, **{"param.samples": SAMPLES}, order_by="duration_s", limit=4) == [j["id"] for j in by_time]
    assert _listed(stack, **{"param.samples": SAMPLES, "param.learning_rate": "2e-6"}) == [finished["fast"]["id"]]
    assert set(_listed(stack, **{"param.samples": SAMPLES}, variant="tensor", status="succeeded,diverged")) == \
        {finished[n]["id"] for n in ("slow", "fast", "diverged")}
    first = min(j["created_at"] for j in mine.values())
    assert set(_listed(stack, **{"param.samples": SAMPLES}, created_after=first)) == set(mine)
    assert _listed(stack, **{"param.samples": SAMPLES}, created_before=first) == []


def test_listing_orders_and_bounds_by_excess_over_the_optimum(stack, finished):
    # The worker copies excess_loss and relative_excess_loss into their columns (migration 0008).
    mine = {job["id"]: job for job in finished.values()}
    by_excess = sorted((j for j in mine.values() if j["result"]["excess_loss"] is not None),
                       key=lambda j: (j["result"]["excess_loss"], j["id"]))
    diverged = finished["diverged"]["id"]
    for key in ("excess_loss", "relative_excess_loss"):
        assert _listed(stack, **{"param.samples": SAMPLES}, order_by=key, limit=2) == \
            [j["id"] for j in by_excess] + [diverged]
        assert _listed(stack, **{"param.samples": SAMPLES}, order_by=f"-{key}", limit=3) == \
            [j["id"] for j in by_excess[::-1]] + [diverged]
    close = {j["id"] for j in by_excess if j["result"]["relative_excess_loss"] <= 0.01}
    assert finished["exact"]["id"] in close and finished["diverged"]["id"] not in close
    assert set(_listed(stack, **{"param.samples": SAMPLES}, max_relative_excess_loss="0.01")) == close
    bad = stack.client.http.get(f"{stack.client.base}/api/v1/jobs", params={"max_excess_loss": "lots"})
    assert bad.status_code == 400 and bad.json()["field"] == "max_excess_loss"


def test_the_loss_plot_draws_the_stored_optimum(stack, finished):
    job = finished["slow"]
    root = ET.fromstring(_get(stack, f"/jobs/{job['id']}/plots/loss.svg").content)
    (line,) = [e for e in root.iter("{http://www.w3.org/2000/svg}line") if e.get("class") == "reference"]
    assert float(line.get("data-reference")) == job["result"]["optimum_loss"]


def test_history_as_csv_and_downsampled(stack, finished):
    job = finished["dynamic"]
    response = _get(stack, f"/jobs/{job['id']}/history", format="csv")
    assert response.headers["Content-Type"].startswith("text/csv")
    assert f'filename="fitq-{job["id"]}-history.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["step", "loss"]
    assert [(int(s), float(v)) for s, v in rows[1:]] == [(p["step"], p["loss"]) for p in job["result"]["loss_history"]]
    few = _get(stack, f"/jobs/{job['id']}/history", max_points=10).json()
    assert few["points"] == 40 and len(few["loss_history"]) <= 10 and few["downsampled"]
    assert few["loss_history"][-1] == job["result"]["loss_history"][-1]


def test_compare_measures_each_job_against_the_optimum(stack, finished):
    ids = ",".join(finished[n]["id"] for n in ("slow", "fast", "legendre", "exact", "diverged"))
    rows = {row["id"]: row for row in _get(stack, "/compare", ids=ids).json()["items"]}
    best = optimum(SAMPLES)
    for name in ("slow", "fast", "legendre", "exact"):
        row, job = rows[finished[name]["id"]], finished[name]
        # Stored by the worker, on the job's own float32 points: the float64 floor to float32's precision.
        assert row["optimum"]["loss"] == job["result"]["optimum_loss"] == pytest.approx(best, rel=1e-6)
        assert row["gap"] == row["excess_loss"] == job["result"]["excess_loss"]
        assert row["gap"] == pytest.approx(job["result"]["final_loss"] - row["optimum"]["loss"], abs=1e-9)
        assert row["coefficients"] == job["result"]["coefficients"] and row["device"] == job["device"]
    assert abs(rows[finished["exact"]["id"]]["ratio"] - 1) < 1e-5  # float32 lstsq: on the optimum
    assert rows[finished["fast"]["id"]]["gap"] < rows[finished["slow"]["id"]]["gap"]
    assert rows[finished["diverged"]["id"]]["gap"] is None
    assert rows[finished["diverged"]["id"]]["optimum"]["loss"] == pytest.approx(best, rel=1e-6)


@pytest.mark.parametrize("name", ["legendre", "dynamic", "exact"])
def test_predict_evaluates_the_fit(stack, finished, name):
    job = finished[name]
    xs = [-3.0, -0.5, 0.0, 1.25, math.pi]
    body = _get(stack, f"/jobs/{job['id']}/predict", x=",".join(map(str, xs))).json()
    expected = np.polyval(job["result"]["polynomial"][::-1], xs)
    if name == "legendre":  # the Legendre model itself, from its own coefficients
        b = [job["result"]["coefficients"][f"b_{i}"] for i in range(4)]
        u = b[2] + b[3] * np.array(xs)
        expected = b[0] + b[1] * (5 * u ** 3 - 3 * u) / 2
    assert body["y"] == pytest.approx(list(expected), rel=1e-5, abs=1e-6)


def test_plots_are_svg_of_every_kind_of_job(stack, finished):
    for job in finished.values():
        for plot in ("loss", "fit"):
            response = _get(stack, f"/jobs/{job['id']}/plots/{plot}.svg")
            assert response.headers["Content-Type"].startswith("image/svg+xml")
            ET.fromstring(response.content)
    overlay = _get(stack, "/plots/losses.svg", ids=",".join(j["id"] for j in finished.values()))
    root = ET.fromstring(overlay.content)
    legend = root.findall(".//{http://www.w3.org/2000/svg}g[@class='legend']")
    assert len(legend) == len(finished)
