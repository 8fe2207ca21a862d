"""`fitq sweep` submitting a random or tpe search against a real API served in this process (no worker, no
sweeper: the test writes the trials): its options as POST /sweeps's body, bad input in one line, and --wait's
best trial with its relative excess loss."""
import argparse
import threading
import time

import pytest
from sqlalchemy import update

from service.cli import main as cli
from service.cli.options import dimension, steps
from service.store import searches
from service.store.models import Sweep
from tests.unit.service import stored
from tests.unit.service.cli.test_cli_client import _serving

SMALL = ["tensor", "-p", "steps=100", "-p", "samples=50", "-p", "log_every=10"]


@pytest.fixture
def api(make_app, redis_db):
    """(app, base URL): the API on a free port, its streams polling the database often."""
    app = make_app(stream_poll_s=0.05)
    server, base = _serving(app)
    yield app, base
    server.shutdown()


def _fitq(capsys, *args):
    """`fitq ARGS` in this process: (exit code, stdout, stderr)."""
    try:
        code = cli.main(list(args))
    except SystemExit as stop:  # argparse's usage errors
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, _ours(err)


def _ours(err):
    # What the CLI wrote to stderr, without the request log of the server in this process.
    return "".join(line for line in err.splitlines(True) if " werkzeug " not in line)


def test_a_space_is_ranges_and_choices():
    assert dimension("learning_rate=1e-7:3e-6:log") == ("learning_rate", {"low": 1e-7, "high": 3e-6, "log": True})
    assert dimension("seed=0:999") == ("seed", {"low": 0, "high": 999})
    assert dimension("seed=1,2,3") == ("seed", {"choices": [1, 2, 3]})
    assert dimension("dtype=float32") == ("dtype", {"choices": ["float32"]})
    assert steps("100,300") == [100, 300]
    for bad in ("lr=1:2:lin", "lr=1:", "lr=:2", "lr=1:2:3:log", "lr"):
        with pytest.raises(argparse.ArgumentTypeError):
            dimension(bad)
    for bad in ("100,", "1e2", "-5"):
        with pytest.raises(argparse.ArgumentTypeError):
            steps(bad)


def test_each_search_option_is_its_field_of_the_body(api, capsys):
    app, base = api
    code, out, err = _fitq(capsys, "sweep", *SMALL, "--strategy", "tpe", "--space", "learning_rate=1e-7:3e-6:log",
                           "--space", "seed=0,1,2", "--trials", "20", "--search-seed", "7", "--parallelism", "4",
                           "--stop-at-excess", "0.01", "--pruner", "asha", "--rungs", "10,30",
                           "--reduction-factor", "2", "--timeout", "60", "--url", base)

    assert code == 0, err
    sweep_id = out.strip()
    assert err == f"fitq: sweep {sweep_id}: a tpe search of up to 20 trials, 4 a batch; `fitq jobs --sweep " \
                  f"{sweep_id}` lists them\n"
    with app.extensions["fitq"].sessions() as session:
        sweep = session.get(Sweep, sweep_id)
        assert sweep.strategy == "tpe" and sweep.params == {"steps": 100, "samples": 50, "log_every": 10}
        assert {k: v for k, v in sweep.search.items() if k != "base"} == {
            "space": {"learning_rate": {"low": 1e-7, "high": 3e-6, "log": True, "type": "float"},
                      "seed": {"choices": [0, 1, 2]}},
            "trials": 20, "seed": 7, "parallelism": 4, "stop_at_excess": 0.01, "timeout_s": 60,
            "pruner": {"kind": "asha", "rungs": [10, 30], "reduction_factor": 2}}


@pytest.mark.parametrize("args, line", [
    (["--strategy", "random", "--space", "learning_rate=-1:1e-6", "--trials", "4"],
     "fitq: space.learning_rate.low: "),
    (["--strategy", "random", "--space", "learning_rate=1e-7:1e-6"], "fitq: trials: is required"),
    (["--strategy", "tpe", "--trials", "4"], "fitq: space: is required"),
    (["--space", "learning_rate=1e-7:1e-6", "--trials", "4"], "fitq: space: unknown field for a grid sweep"),
    (["--strategy", "tpe", "--space", "seed=0:9", "--trials", "4", "--rungs", "10"],
     "fitq: pruner.kind: must be one of asha, median"),
    (["--strategy", "tpe", "--space", "seed=0:9", "--trials", "4", "--pruner", "median", "--rungs", "15"],
     "fitq: pruner.rungs.0: must be increasing step counts below steps (100)"),
    (["--strategy", "tpe", "--space", "seed=0:9", "--trials", "4", "--pruner", "median", "--rungs", "10",
      "--reduction-factor", "2"], "fitq: pruner.reduction_factor: unknown key for median"),
    (["--strategy", "tpe", "--space", "seed=0:9", "--trials", "4", "--grid", "learning_rate=1e-6"],
     "fitq: grid: unknown field for a tpe sweep"),
    ([], "fitq: grid: is required"),
])
def test_bad_search_input_is_the_apis_problem_in_one_line(api, capsys, args, line):
    code, out, err = _fitq(capsys, "sweep", *SMALL, *args, "--url", api[1])

    assert (code, out) == (3, "") and err.count("\n") == 1 and err.startswith(line), err


@pytest.mark.parametrize("args", [["--space", "lr=1:2:lin"], ["--trials", "0"], ["--stop-at-excess", "nan"],
                                  ["--strategy", "bayes"], ["--pruner", "hyperband"], ["--rungs", "10,x"]])
def test_malformed_options_are_usage_errors(capsys, args):
    code, out, err = _fitq(capsys, "sweep", *SMALL, *args, "--url", "http://127.0.0.1:1")

    assert code == 2 and out == "" and "fitq sweep: error: argument" in err


def test_wait_prints_the_best_trial_with_its_relative_excess_loss(api, capsys):
    # The test plays the sweeper and the worker: three trials asked, one pruned, then the search stops at
    # its target; the CLI's wait (the sweep's stream) ends there and prints the best by relative excess.
    app, base = api
    done = {}
    waiting = threading.Thread(target=lambda: done.update(code=cli.main(
        ["sweep", *SMALL, "--strategy", "random", "--space", "learning_rate=1e-7:3e-6:log", "--trials", "10",
         "--stop-at-excess", "0.05", "--wait", "--url", base])))
    waiting.start()
    sweep_id = _made(app)
    with app.extensions["fitq"].sessions() as session:
        session.execute(update(Sweep).where(Sweep.id == sweep_id).values(asked=3))
        session.commit()
    trials = [stored.store(app, status=status, sweep_id=sweep_id, params={"learning_rate": lr},
                           outcome={**stored.result(final_loss=loss), "relative_excess_loss": excess})
              for status, lr, loss, excess in [("succeeded", 1e-6, 9.9, 0.2), ("pruned", 2e-7, 8.0, 0.01),
                                               ("succeeded", 2e-6, 9.1, 0.04)]]
    with app.extensions["fitq"].sessions() as session:
        searches.end(session=session, sweep_id=sweep_id, reason="target")
    waiting.join(30)
    out, err = capsys.readouterr()
    err = _ours(err)

    assert done == {"code": 0}, err
    summary, head, *table = out.splitlines()
    assert summary == f"sweep {sweep_id}: random search, 3 of 10 trials (stopped at its target), " \
                      "2 succeeded, 1 pruned"
    assert head == "best:"
    record = dict(line.split(None, 1) if not line.startswith("relative") else ("relative", line[15:].strip())
                  for line in table)
    assert record["job"] == trials[2] and record["status"] == "succeeded"
    assert record["relative"] == "0.04" and "learning_rate=2e-06" in record["params"]


def _made(app, timeout=20):
    # The sweep the CLI submitted, once it is recorded.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.extensions["fitq"].sessions() as session:
            found = session.query(Sweep.id).first()
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("the CLI submitted no sweep")
