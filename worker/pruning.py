"""A search's pruner at work inside a batched pass: at each rung the worker reports every trial's loss to
Optuna's pruner (ASHA or median) in a study rebuilt from the sweep's finished trials, and the trials it
prunes leave the pass. Optuna is imported only when a run holds a pruned search's trials."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.store.models import Job


class Rungs:
    """One sweep's pruner over the trials of a run (their indices in the pass)."""

    def __init__(self, pruner: dict[str, Any], past: Sequence[Job], indices: list[int]):
        import optuna  # the `search` extra; only a pruned search's trials need it

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.rungs, self.indices = list(pruner["rungs"]), indices
        if pruner["kind"] == "asha":
            # Rung k reported at step eta**k: Optuna's ASHA (min_resource 1) then decides rung k there, so
            # any increasing rung steps map onto its geometric ones.
            eta = pruner["reduction_factor"]
            self.at = lambda k: eta ** k
            decider: optuna.pruners.BasePruner = optuna.pruners.SuccessiveHalvingPruner(
                min_resource=1, reduction_factor=eta, min_early_stopping_rate=0)
        else:
            self.at = lambda k: k
            decider = optuna.pruners.MedianPruner(n_startup_trials=pruner["startup_trials"], n_warmup_steps=0)
        self.asha = pruner["kind"] == "asha"
        self.study = optuna.create_study(direction="minimize", pruner=decider)
        for job in past:
            self.study.add_trial(self._past(optuna, job))
        self.trials = {j: self.study.ask() for j in indices}
        self.pruned: set[int] = set()

    def _past(self, optuna: Any, job: Job) -> Any:
        from optuna.trial import TrialState

        losses = {point["step"] + 1: point["loss"] for point in (job.result or {}).get("loss_history", [])}
        reached = {k: losses[r] for k, r in enumerate(self.rungs)
                   if losses.get(r) is not None and math.isfinite(losses[r])}
        values = {self.at(k): v for k, v in reached.items()}
        attrs = {f"completed_rung_{k}": v for k, v in reached.items()} if self.asha else {}
        if job.status == "succeeded":
            value = job.final_loss if job.final_loss is not None and math.isfinite(job.final_loss) else math.inf
            return optuna.trial.create_trial(value=value, intermediate_values=values, system_attrs=attrs,
                                             state=TrialState.COMPLETE)
        state = TrialState.PRUNED if job.status == "pruned" else TrialState.FAIL
        return optuna.trial.create_trial(intermediate_values=values, system_attrs=attrs, state=state)

    def __call__(self, step: int, losses: list[float]) -> set[int]:
        """The trials pruned at this point (none unless `step` is a rung), in the order they were asked."""
        if step not in self.rungs:
            return set()
        k, now = self.rungs.index(step), set()
        for j in self.indices:
            if j in self.pruned or not math.isfinite(losses[j]):
                continue  # a diverged trial has stopped already
            trial = self.trials[j]
            trial.report(losses[j], self.at(k))
            if trial.should_prune():
                now.add(j)
        self.pruned |= now
        return now


class Pruning:
    """Every pruned search's Rungs in one run (a pass may hold trials of several sweeps, and other jobs)."""

    def __init__(self, run: Sequence[Job], found: dict[str, tuple[dict, list]]):
        self.each = [Rungs(pruner, past, [j for j, job in enumerate(run) if job.sweep_id == sweep_id])
                     for sweep_id, (pruner, past) in found.items()]

    def __call__(self, step: int, losses: list[float]) -> set[int]:
        """The jobs (indices in the run) pruned at this history point."""
        return set().union(*(rungs(step, losses) for rungs in self.each))

    @property
    def pruned(self) -> set[int]:
        """Every job pruned so far."""
        return set().union(*(rungs.pruned for rungs in self.each))
