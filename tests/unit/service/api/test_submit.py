"""A valid POST /api/v1/jobs: 202, a Location to follow, params resolved, the job queued once."""
import base64
import json
import re

import pytest

from fits.params import MAX_HISTORY_POINTS, MAX_LEARNING_RATE, MAX_STEPS, MAX_STEPS_X_SAMPLES, SEED_LIMIT

pytestmark = pytest.mark.usefixtures("redis_db")

NUMPY_DEFAULTS = {"learning_rate": 1e-6, "steps": 2000, "samples": 2000, "dtype": "float64",
                  "device": "cpu", "log_every": 100}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def test_accepted_with_a_location_that_shows_the_job(client, submit, rows):
    response = submit({"variant": "numpy"})
    assert response.status_code == 202
    job = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/jobs/{job['id']}")
    shown = client.get(response.headers["Location"])
    assert shown.status_code == 200
    assert shown.get_json() == job
    assert job["variant"] == "numpy"
    assert job["status"] == "queued"
    assert job["progress"] == {"step": 0, "steps": 2000}
    assert ISO_UTC.match(job["created_at"])
    assert job["started_at"] is None and job["finished_at"] is None
    assert job["result"] is None and job["error"] is None
    assert job["attempts"] == 0
    assert "Idempotent-Replayed" not in response.headers
    assert rows() == 1


def test_defaults_filled_in_and_a_seed_chosen(submit):
    params = submit({"variant": "numpy"}).get_json()["params"]
    seed = params.pop("seed")
    assert params == NUMPY_DEFAULTS
    assert isinstance(seed, int) and not isinstance(seed, bool)
    assert 0 <= seed < SEED_LIMIT


def test_null_params_mean_the_defaults(submit):
    params = submit({"variant": "numpy", "params": None}).get_json()["params"]
    params.pop("seed")
    assert params == NUMPY_DEFAULTS


def test_a_seed_is_chosen_per_job(submit):
    seeds = {submit({"variant": "tensor"}).get_json()["params"]["seed"] for _ in range(5)}
    assert len(seeds) > 1


@pytest.mark.parametrize("seed", [0, 12345, SEED_LIMIT - 1])
def test_explicit_seed_is_kept(client, submit, seed):
    job = submit({"variant": "tensor", "params": {"seed": seed}}).get_json()
    assert job["params"]["seed"] == seed
    assert client.get(f"/api/v1/jobs/{job['id']}").get_json()["params"]["seed"] == seed


def test_given_params_override_defaults(submit):
    job = submit({"variant": "dynamic", "params": {"steps": 4000, "log_every": 500,
                                                   "learning_rate": 2e-8, "device": "cpu"}}).get_json()
    assert job["params"] == {"learning_rate": 2e-8, "steps": 4000, "samples": 2000,
                             "seed": job["params"]["seed"], "dtype": "float32", "device": "cpu",
                             "log_every": 500}
    assert job["progress"] == {"step": 0, "steps": 4000}


def test_lstsq_takes_only_its_own_parameters(submit):
    response = submit({"variant": "lstsq", "params": {"samples": 500, "seed": 7}})
    assert response.status_code == 202
    assert response.get_json()["params"] == {"samples": 500, "seed": 7, "dtype": "float32",
                                             "device": "auto"}


@pytest.mark.parametrize("variant,params", [
    ("tensor", {"steps": MAX_STEPS, "samples": MAX_STEPS_X_SAMPLES // MAX_STEPS,
                "log_every": MAX_STEPS // MAX_HISTORY_POINTS}),
    ("tensor", {"steps": 1, "log_every": 1}),
    ("tensor", {"samples": 2}),
    ("optim", {"learning_rate": MAX_LEARNING_RATE}),
    ("optim", {"learning_rate": 1}),
    ("numpy", {"learning_rate": 5e-324}),
    ("tensor", {"dtype": "float64", "device": "cuda"}),
    ("numpy", {"device": "auto", "dtype": "float32"}),
], ids=lambda v: repr(v)[:40])
def test_edges_of_the_bounds_are_accepted(submit, rows, variant, params):
    response = submit({"variant": variant, "params": params})
    assert response.status_code == 202, response.get_json()
    resolved = response.get_json()["params"]
    assert {k: resolved[k] for k in params} == params
    assert rows() == 1


def _queued_ids(redis_db, queue):
    """The job ids waiting in a Celery queue on Redis (the message body is [args, kwargs, embed])."""
    ids = []
    for raw in redis_db.lrange(queue, 0, -1):
        message = json.loads(raw)
        assert message["headers"]["task"] == "fitq.run_fit"
        assert message["content-type"] == "application/json"
        args = json.loads(base64.b64decode(message["body"]))[0]
        ids.append(args[0])
    return ids


@pytest.mark.parametrize("variant,params,queue", [
    ("numpy", {}, "cpu"),
    ("tensor", {"device": "cuda"}, "gpu"),
    ("tensor", {"device": "cpu"}, "cpu"),
    ("lstsq", {}, "fitq"),
])
def test_the_job_is_enqueued_once_on_its_devices_queue(submit, redis_db, variant, params, queue):
    job = submit({"variant": variant, "params": params}).get_json()
    assert _queued_ids(redis_db, queue) == [job["id"]]


@pytest.mark.parametrize("variant,steps", [("numpy", 50), ("dynamic", 300), ("tensor", 1)])
def test_a_short_job_logs_at_its_last_step_instead_of_being_refused(submit, rows, redis_db, variant, steps):
    r = submit({"variant": variant, "params": {"steps": steps}})
    assert r.status_code == 202, r.get_json()
    assert r.get_json()["params"]["log_every"] == steps
    assert rows() == 1
