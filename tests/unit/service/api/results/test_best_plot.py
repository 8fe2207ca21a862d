"""A sweep's best-so-far plot: one point per finished trial, in the order they finished, never going up, with
the search's target drawn when it has one; another owner's sweep, or none, is a 404."""
import math

import pytest

from service.store import tokens
from tests.unit.service.api.results.test_plots import NS, _series, _svg, _texts
from tests.unit.service.stored import result, store

SEARCH = {"variant": "tensor", "params": {"samples": 50, "steps": 100, "log_every": 10}, "strategy": "random",
          "space": {"learning_rate": {"low": 1e-7, "high": 3e-6, "log": True}}, "trials": 8}
# Each trial's (status, relative excess loss), in the order they finish.
TRIALS = [("diverged", None), ("succeeded", 0.5), ("pruned", 0.01), ("succeeded", 0.8), ("failed", None),
          ("succeeded", 0.02), ("cancelled", None), ("succeeded", 0.03)]


def _finish(app, sweep_id, trials=TRIALS):
    for status, excess in trials:
        outcome = None if excess is None else {**result(), "relative_excess_loss": excess}
        store(app, status=status, outcome=outcome, sweep_id=sweep_id)


def _plot(client, sweep_id, **headers):
    return client.get(f"/api/v1/sweeps/{sweep_id}/plots/best.svg", headers=headers)


def test_each_finished_trial_is_a_point_of_a_best_line_that_never_goes_up(app, client):
    sweep = client.post("/api/v1/sweeps", json={**SEARCH, "stop_at_excess": 0.015}).get_json()["id"]
    _finish(app, sweep)
    store(app, status="running", sweep_id=sweep)  # not finished: not a point

    response = _plot(client, sweep)
    root = _svg(response)
    (run,), _, per_pixel = _series(root, "best so far")

    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    # From the first success on (before it there is no best): trials 2 to 8, the pruned trial's 0.01 not a best.
    assert [round(x) for x, _ in run] == list(range(2, 9))
    expected = [0.5, 0.5, 0.5, 0.5, 0.02, 0.02, 0.02]
    for (_, y), want in zip(run, expected):
        assert math.log10(y) == pytest.approx(math.log10(want), abs=per_pixel)
    assert all(b[1] <= a[1] * (1 + 1e-9) for a, b in zip(run, run[1:]))
    (line,) = root.findall(".//svg:line[@class='reference']", NS)
    assert float(line.get("data-reference")) == 0.015
    assert "target (stop_at_excess) 0.015" in _texts(root) and "trials finished" in _texts(root)
    assert root.find(".//svg:g[@class='plot']", NS).get("data-y-scale") == "log"


def test_a_grid_sweep_is_drawn_the_same_without_a_target(app, client, redis_db):
    sweep = client.post("/api/v1/sweeps", json={"variant": "tensor", "grid": {"seed": [0, 1, 2]}}).get_json()["id"]
    _finish(app, sweep, [("succeeded", 0.2), ("succeeded", 0.4), ("succeeded", 0.1)])

    root = _svg(_plot(client, sweep))
    (run,), _, per_pixel = _series(root, "best so far")

    assert [round(x) for x, _ in run] == [1, 2, 3]
    assert [round(math.log10(y) / per_pixel) for _, y in run] == \
        [round(math.log10(v) / per_pixel) for v in (0.2, 0.2, 0.1)]
    assert root.findall(".//svg:line[@class='reference']", NS) == []


def test_before_any_success_the_plot_says_so(app, client):
    sweep = client.post("/api/v1/sweeps", json=SEARCH).get_json()["id"]
    assert "no trial has finished yet" in _texts(_svg(_plot(client, sweep)))
    _finish(app, sweep, [("diverged", None), ("pruned", 0.3)])
    assert any("no trial has succeeded yet (2 finished)" in t for t in _texts(_svg(_plot(client, sweep))))


def test_an_unknown_or_another_owners_sweep_is_a_404(make_app, problem):
    app = make_app(auth="on")
    with app.extensions["fitq"].sessions() as session:
        made = [tokens.create(session=session, name=n, scopes=("read", "submit"))[1] for n in ("alice", "bob")]
    alice, bob = ({"Authorization": f"Bearer {text}"} for text in made)
    client = app.test_client()
    sweep = client.post("/api/v1/sweeps", json=SEARCH, headers=alice).get_json()["id"]

    assert _plot(client, sweep, **alice).status_code == 200
    problem(_plot(client, sweep, **bob), 404, "id")
    problem(_plot(client, "0" * 32, **alice), 404, "id")
    problem(_plot(client, "nope", **alice), 404, "id")
    problem(client.get(f"/api/v1/sweeps/{sweep}/plots/best.svg?x=1", headers=alice), 400, "x")
