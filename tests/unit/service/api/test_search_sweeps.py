"""Random and tpe sweeps over HTTP: recorded with their search and no trial yet; every bad input a 422."""
import pytest

SPACE = {"learning_rate": {"low": 1e-7, "high": 3e-6, "log": True}, "seed": {"choices": [0, 1, 2]}}


def _post(client, **body):
    return client.post("/api/v1/sweeps", json={
        "variant": "tensor", "params": {"samples": 50, "steps": 100, "log_every": 10}, "strategy": "tpe",
        "space": SPACE, "trials": 20, **body})


def test_a_search_is_recorded_with_its_space_and_no_trial_yet(client, redis_db):
    r = _post(client, seed=7, parallelism=4, stop_at_excess=0.01)

    assert r.status_code == 202, r.get_json()
    body = r.get_json()
    assert body["strategy"] == "tpe" and body["size"] == 20 and body["counts"]["queued"] == 0
    assert body["search"] == {"space": {"learning_rate": {"low": 1e-7, "high": 3e-6, "log": True, "type": "float"},
                                        "seed": {"choices": [0, 1, 2]}},
                              "trials": 20, "seed": 7, "parallelism": 4, "stop_at_excess": 0.01,
                              "pruner": None, "asked": 0, "ended": None}
    assert body["trials"] == {"asked": 0, "finished": 0, "pruned": 0} and not body["finished"]
    assert redis_db.llen("fitq") == 0  # the sweeper asks for the trials, not the API
    shown = client.get(r.headers["Location"]).get_json()
    assert shown["search"] == body["search"]


def test_a_search_without_seed_or_parallelism_gets_a_chosen_seed_and_the_batch_size(make_app, redis_db):
    r = _post(make_app(batch_size=8).test_client())

    assert r.status_code == 202
    assert r.get_json()["search"]["parallelism"] == 8 and isinstance(r.get_json()["search"]["seed"], int)


def test_a_pruner_is_stored_with_its_defaults(client, redis_db):
    asha = _post(client, pruner={"kind": "asha", "rungs": [10, 30]}).get_json()["search"]["pruner"]
    median = _post(client, pruner={"kind": "median", "rungs": [50], "startup_trials": 2}).get_json()

    assert asha == {"kind": "asha", "rungs": [10, 30], "reduction_factor": 3}
    assert median["search"]["pruner"] == {"kind": "median", "rungs": [50], "startup_trials": 2}


def test_a_grid_sweep_shows_its_strategy_and_trials(client, redis_db):
    r = client.post("/api/v1/sweeps", json={"variant": "tensor", "grid": {"seed": [1, 2]}})

    assert r.get_json()["strategy"] == "grid" and r.get_json()["search"] is None
    assert r.get_json()["trials"] == {"asked": 2, "finished": 0, "pruned": 0}


@pytest.mark.parametrize(("body", "field"), [
    ({"strategy": "bayes"}, "strategy"),
    ({"space": None}, "space"),
    ({"space": {}}, "space"),
    ({"space": []}, "space"),
    ({"space": {"momentum": {"choices": [1]}}}, "space.momentum"),
    ({"space": {"learning_rate": [1e-6]}}, "space.learning_rate"),
    ({"space": {"learning_rate": {"low": 1e-6}}}, "space.learning_rate.high"),
    ({"space": {"learning_rate": {"low": -1, "high": 1e-6}}}, "space.learning_rate.low"),
    ({"space": {"learning_rate": {"low": "a", "high": 1e-6}}}, "space.learning_rate.low"),
    ({"space": {"learning_rate": {"low": 1e-6, "high": 1e-7}}}, "space.learning_rate.high"),
    ({"space": {"learning_rate": {"low": 1e-6, "high": 1e-5, "log": "yes"}}}, "space.learning_rate.log"),
    ({"space": {"learning_rate": {"low": 1e-6, "high": 1e-5, "step": 1}}}, "space.learning_rate.step"),
    ({"space": {"learning_rate": {"low": 1e-6, "high": 100}}}, "space.learning_rate.high"),
    ({"space": {"learning_rate": {"choices": []}}}, "space.learning_rate.choices"),
    ({"space": {"learning_rate": {"choices": [1e-6, "x"]}}}, "space.learning_rate.choices"),
    ({"space": {"learning_rate": {"choices": [1e-6], "low": 1}}}, "space.learning_rate.low"),
    ({"space": {"seed": {"low": 0.5, "high": 10}}}, "space.seed.low"),
    ({"space": {"steps": {"low": 1, "high": 10}}, "params": {"steps": 5}}, "space.steps"),
    ({"space": {"dtype": {"low": 1, "high": 2}}}, "space.dtype"),
    ({"trials": 0}, "trials"),
    ({"trials": None}, "trials"),
    ({"trials": 1.5}, "trials"),
    ({"trials": 10_001}, "trials"),
    ({"seed": -1}, "seed"),
    ({"seed": True}, "seed"),
    ({"parallelism": 0}, "parallelism"),
    ({"parallelism": "4"}, "parallelism"),
    ({"stop_at_excess": -0.1}, "stop_at_excess"),
    ({"stop_at_excess": "0.1"}, "stop_at_excess"),
    ({"grid": {"seed": [1]}}, "grid"),
    ({"pruner": "asha"}, "pruner"),
    ({"pruner": {"kind": "hyperband", "rungs": [10]}}, "pruner.kind"),
    ({"pruner": {"kind": "asha"}}, "pruner.rungs"),
    ({"pruner": {"kind": "asha", "rungs": []}}, "pruner.rungs"),
    ({"pruner": {"kind": "asha", "rungs": [10, 5]}}, "pruner.rungs.1"),
    ({"pruner": {"kind": "asha", "rungs": [15]}, "params": {"steps": 100, "log_every": 10}}, "pruner.rungs.0"),
    ({"pruner": {"kind": "asha", "rungs": [100]}}, "pruner.rungs.0"),
    ({"pruner": {"kind": "asha", "rungs": [True]}}, "pruner.rungs.0"),
    ({"pruner": {"kind": "asha", "rungs": [10], "reduction_factor": 1}}, "pruner.reduction_factor"),
    ({"pruner": {"kind": "asha", "rungs": [10], "startup_trials": 1}}, "pruner.startup_trials"),
    ({"pruner": {"kind": "median", "rungs": [10], "startup_trials": -1}}, "pruner.startup_trials"),
    ({"pruner": {"kind": "median", "rungs": [10]}, "space": {"steps": {"low": 10, "high": 20}}}, "space.steps"),
    ({"pruner": {"kind": "median", "rungs": [10]}, "variant": "lstsq",
      "params": {"samples": 50}, "space": {"seed": {"choices": [1]}}}, "pruner"),
    ({"callback_url": "https://example.com/hook"}, "callback_url"),
])
def test_every_bad_search_input_is_a_422_naming_its_field(client, body, field):
    r = _post(client, **body)

    assert r.status_code == 422 and r.mimetype == "application/problem+json", r.get_json()
    assert r.get_json()["field"] == field, r.get_json()


def test_a_grid_sweep_takes_no_space(client):
    r = client.post("/api/v1/sweeps", json={"variant": "tensor", "grid": {"seed": [1]}, "space": SPACE})

    assert r.status_code == 422 and r.get_json()["field"] == "space"
