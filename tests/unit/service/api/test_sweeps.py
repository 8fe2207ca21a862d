"""Sweeps over HTTP: one job per grid point, a shared seed, counts and the best job; bad grids refused."""
import base64
import json

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from service.store import jobs

GRID = {"learning_rate": [1e-6, 2e-6, 4e-6], "steps": [100, 200]}


@pytest.fixture
def sweep(client, redis_db):
    """POST a 6-point tensor sweep; returns the response."""
    return client.post("/api/v1/sweeps", json={"variant": "tensor", "params": {"samples": 50}, "grid": GRID})


def test_a_sweep_makes_one_queued_job_per_point_and_sends_each(client, sweep, redis_db):
    assert sweep.status_code == 202
    body = sweep.get_json()
    assert sweep.headers["Location"] == f"/api/v1/sweeps/{body['id']}"
    assert body["size"] == 6 and body["counts"]["queued"] == 6 and not body["finished"]
    assert body["best"] is None and body["grid"] == GRID and body["params"] == {"samples": 50}
    listed = client.get(f"/api/v1/jobs?sweep={body['id']}&order_by=created_at").get_json()["items"]
    points = [(j["params"]["learning_rate"], j["params"]["steps"]) for j in listed]
    assert sorted(points) == sorted((lr, s) for lr in GRID["learning_rate"] for s in GRID["steps"])
    assert {j["params"]["seed"] for j in listed} == {listed[0]["params"]["seed"]}  # one seed for all
    assert all(j["params"]["samples"] == 50 and j["sweep_id"] == body["id"] for j in listed)
    # One message per batch: tensor jobs that differ only in learning rate share a pass, steps split them.
    named = _messages(redis_db)
    assert sorted(i for ids in named for i in ids) == sorted(j["id"] for j in listed)
    by_id = {j["id"]: j["params"]["steps"] for j in listed}
    assert sorted([by_id[i] for i in ids] for ids in named) == [[100] * 3, [200] * 3]


def test_a_sweep_sends_messages_of_at_most_batch_size_jobs(make_app, redis_db):
    r = make_app(batch_size=4).test_client().post("/api/v1/sweeps",
                                                  json={"variant": "tensor", "grid": {"seed": list(range(10))}})

    assert r.status_code == 202
    assert sorted(len(ids) for ids in _messages(redis_db)) == [2, 4, 4]


def test_a_sweep_of_long_jobs_sends_smaller_messages_so_that_a_pass_fits_their_time_budget(make_app, redis_db):
    # 4e6 sample-steps a job (the defaults): at 2.5e7 a second, half of a 20 s budget holds 62 of them,
    # half of a 3 s budget 9. A pass of all 60 would take more than the whole 3 s at that rate.
    grid = {"seed": list(range(60))}  # a small sweep: its messages go to the list read below
    app = make_app(batch_size=1000).test_client()
    assert app.post("/api/v1/sweeps", json={"variant": "tensor", "grid": grid, "timeout_s": 20}).status_code == 202
    assert [len(ids) for ids in _messages(redis_db)] == [60]
    redis_db.delete("fitq")

    assert app.post("/api/v1/sweeps", json={"variant": "tensor", "grid": grid, "timeout_s": 3}).status_code == 202
    assert sorted(len(ids) for ids in _messages(redis_db)) == [6, 9, 9, 9, 9, 9, 9]


def _messages(redis_db):
    # The job ids each queued message names: Celery's JSON body is [args, kwargs, embed], with args
    # [id] or [id, [more ids]].
    named = []
    for raw in redis_db.lrange("fitq", 0, -1):
        args = json.loads(base64.b64decode(json.loads(raw)["body"]))[0]
        named.append([args[0], *(args[1] if len(args) > 1 else [])])
    return named


def test_a_sweep_reports_counts_and_its_best_job(client, sweep, settings):
    sweep_id = sweep.get_json()["id"]
    listed = client.get(f"/api/v1/jobs?sweep={sweep_id}").get_json()["items"]
    engine = create_engine(settings.database_url)
    with sessionmaker(engine)() as session:
        for job, loss in zip(listed[:3], (9.5, 8.9, None)):
            claimed = jobs.claim(session=session, job_id=job["id"], worker="w@h")
            status = "succeeded" if loss is not None else "diverged"
            jobs.finish(session=session, job_id=job["id"], attempt=claimed.attempts, status=status,
                        result={"final_loss": loss, "duration_s": 0.1})
    engine.dispose()

    body = client.get(f"/api/v1/sweeps/{sweep_id}").get_json()

    assert body["counts"] == {"queued": 3, "running": 0, "succeeded": 2, "failed": 0, "diverged": 1,
                              "cancelled": 0, "pruned": 0}
    assert body["best"]["job_id"] == listed[1]["id"] and body["best"]["final_loss"] == 8.9
    assert body["best"]["params"] == listed[1]["params"] and not body["finished"]


def test_an_unknown_sweep_is_a_404(client, problem):
    problem(client.get("/api/v1/sweeps/" + "0" * 32), 404, "id")
    problem(client.get("/api/v1/sweeps/nope"), 404, "id")


@pytest.mark.parametrize("body, field, words", [
    ({"variant": "tensor"}, "grid", "is required"),
    ({"variant": "tensor", "grid": {}}, "grid", "lists of values"),
    ({"variant": "tensor", "grid": [1, 2]}, "grid", "lists of values"),
    ({"variant": "tensor", "grid": {"momentum": [0.9]}}, "grid.momentum", "unknown parameter"),
    ({"variant": "tensor", "grid": {"steps": []}}, "grid.steps", "non-empty list"),
    ({"variant": "tensor", "grid": {"steps": 5}}, "grid.steps", "non-empty list"),
    ({"variant": "tensor", "params": {"steps": 5}, "grid": {"steps": [5]}}, "grid.steps", "both"),
    ({"variant": "tensor", "grid": {"learning_rate": [1e-6, -1]}}, "grid.learning_rate", "greater than 0"),
    ({"variant": "tensor", "grid": {"seed": list(range(101)), "steps": list(range(1, 101))}}, "grid",
     "more than 10,000 points"),
    ({"variant": "cubic", "grid": {"steps": [1]}}, "variant", "unknown variant"),
    ({"variant": "tensor", "params": {"steps": "x"}, "grid": {"seed": [1]}}, "params.steps", "integer"),
    ({"variant": "tensor", "grid": {"seed": [1]}, "extra": 1}, "extra", "unknown field"),
    ({"variant": "lstsq", "grid": {"learning_rate": [1e-6]}}, "grid.learning_rate", "unknown parameter"),
])
def test_a_bad_sweep_is_a_422_naming_the_field_and_writes_nothing(client, problem, rows, body, field, words):
    answer = problem(client.post("/api/v1/sweeps", json=body), 422, field)
    assert words in answer["detail"] and rows() == 0


def test_a_seed_grid_gives_each_point_its_seed(client, redis_db):
    body = client.post("/api/v1/sweeps", json={"variant": "numpy", "grid": {"seed": [3, 1, 2]}}).get_json()
    listed = client.get(f"/api/v1/jobs?sweep={body['id']}&order_by=created_at").get_json()["items"]
    assert sorted(j["params"]["seed"] for j in listed) == [1, 2, 3]


def test_the_listing_refuses_a_malformed_sweep_filter(client, problem):
    problem(client.get("/api/v1/jobs?sweep=abc"), 400, "sweep")
