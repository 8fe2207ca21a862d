"""The worker's pruning at a rung: Optuna's ASHA and median pruners, given the sweep's finished trials."""
import pytest

from service.store.models import Job
from worker.pruning import Pruning


def _past(loss_at_100, status="succeeded"):
    history = [{"step": 49, "loss": 9.0}, {"step": 99, "loss": loss_at_100}]
    if status == "succeeded":
        history.append({"step": 199, "loss": loss_at_100 / 2})
    return Job(id=f"p{loss_at_100}", status=status, final_loss=history[-1]["loss"],
               result={"loss_history": history})


def _run(*sweeps):
    return [Job(id=f"j{i}", sweep_id=s) for i, s in enumerate(sweeps)]


PAST = [_past(1.0), _past(1.1), _past(1.2, status="pruned")]


@pytest.mark.parametrize("pruner", [{"kind": "asha", "rungs": [100, 150], "reduction_factor": 2},
                                    {"kind": "median", "rungs": [100, 150], "startup_trials": 2}])
def test_a_trial_behind_the_finished_ones_is_pruned_at_a_rung_and_one_ahead_goes_on(pruner):
    prune = Pruning(_run("s", "s", "other"), {"s": (pruner, PAST)})

    assert prune(50, [9.0, 9.0, 9.0]) == set()  # not a rung
    assert prune(100, [5.0, 0.5, 50.0]) == {0}  # the job of another sweep is never this pruner's
    assert prune(150, [0.4, 0.4, 50.0]) == set() and prune.pruned == {0}


def test_a_median_pruner_waits_for_its_startup_trials():
    pruner = {"kind": "median", "rungs": [100], "startup_trials": 5}

    assert Pruning(_run("s"), {"s": (pruner, PAST)})(100, [50.0]) == set()


def test_a_diverged_trial_is_left_to_divergence():
    pruner = {"kind": "asha", "rungs": [100], "reduction_factor": 2}

    assert Pruning(_run("s", "s"), {"s": (pruner, PAST)})(100, [float("nan"), 0.5]) == set()
