"""The driver of adaptive sweeps: for each open random or tpe search it holds the lease on, it rebuilds an
Optuna study from fitq's database (every finished trial's params and loss), asks it for the next batch
of `parallelism` trials and sends them as fitq jobs; it ends a search once all its trials are asked and
run, or once one reaches `stop_at_excess`. Nothing lives only in memory: a restart loses no trial."""
from __future__ import annotations

import logging
import math
import os
import socket
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from fits import params as fit_params
from service.queue import HIGH_PRIORITY, LOW_PRIORITY, enqueue_batches
from service.store import jobs, searches
from service.store.db import UNAVAILABLE
from service.store.models import Job, JobStatus, Sweep

log = logging.getLogger("fitq.search")
optuna.logging.set_verbosity(optuna.logging.WARNING)  # its per-trial INFO lines would flood the log
HOLDER = f"{socket.gethostname()}:{os.getpid()}"
ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


def drive(session, celery, settings) -> dict:
    """One step of every open search this process can lease; returns how many trials it asked and how many
    searches it ended."""
    done = {"asked": 0, "ended": 0}
    # Renewed every pass; a driver silent for STALE_AFTER_S is dead, as a worker is, and another takes over.
    lease_s = max(settings.stale_after_s, 3 * settings.sweep_interval_s)
    for sweep_id in searches.open_ids(session=session):
        sweep = searches.lease(session=session, sweep_id=sweep_id, holder=HOLDER, seconds=lease_s)
        if sweep is None:
            continue
        try:
            step(session, celery, settings, sweep, done)
        except UNAVAILABLE:
            raise  # the sweeper says so, once
        except Exception:  # one search's bug must not stop the others: it is tried again next pass
            session.rollback()
            log.exception("sweep %s: asking failed", sweep_id, extra={"sweep_id": sweep_id})
    return done


def step(session, celery, settings, sweep: Sweep, done: dict) -> None:
    """Stop the search if it reached its target or ran every trial; otherwise, when no trial of it is
    queued or running, ask the next batch."""
    search = sweep.search or {}
    made = searches.trials(session=session, sweep_id=sweep.id)
    target = search.get("stop_at_excess")
    if target is not None and any(j.relative_excess_loss is not None and j.relative_excess_loss <= target
                                  for j in made if j.status == JobStatus.SUCCEEDED.value):
        cancelled = searches.end(session=session, sweep_id=sweep.id, reason="target")
        log.info("sweep %s: a trial reached relative excess loss %g after %d trials; search ended, %d queued "
                 "trials cancelled", sweep.id, target, sweep.asked, cancelled)
        done["ended"] += 1
        return
    if any(j.status in ACTIVE for j in made):
        return  # the batch still runs: TPE learns from finished batches
    if sweep.asked >= search["trials"]:
        searches.end(session=session, sweep_id=sweep.id, reason="trials")
        log.info("sweep %s: all %d trials ran; search ended", sweep.id, sweep.asked)
        done["ended"] += 1
        return
    batch = ask(sweep, made, min(search["parallelism"], search["trials"] - sweep.asked))
    stamp = jobs.now()
    ids = sorted(jobs.new_id() for _ in batch)  # ids sort in asking order: the study is rebuilt in it
    rows = [jobs.new_job(sweep.variant, point, search.get("timeout_s"), stamp, sweep_id=sweep.id, owner=sweep.owner)
            for point in batch]
    for row, job_id in zip(rows, ids, strict=True):
        row.id = job_id
    if not searches.add_trials(session=session, sweep=sweep, holder=HOLDER, made=rows):
        return  # another driver took the lease meanwhile: it asks
    priority = HIGH_PRIORITY if len(rows) <= settings.small_sweep_jobs else LOW_PRIORITY
    try:
        enqueue_batches(celery, rows, settings.batch_size, priority=priority,
                        default_timeout_s=settings.default_timeout_s)
    except Exception as err:  # committed and queued in the database: the sweeper's resend covers it
        log.warning("sweep %s: sending %d trials failed (%s); they are sent again later", sweep.id, len(rows), err)
    log.info("sweep %s: asked trials %d-%d of %d (%s)", sweep.id, sweep.asked + 1, sweep.asked + len(rows),
             search["trials"], sweep.strategy, extra={"sweep_id": sweep.id})
    done["asked"] += len(rows)


def ask(sweep: Sweep, made: list[Job], count: int) -> list[dict[str, Any]]:
    """The resolved params of the next `count` trials, from a study rebuilt from the trials `made`."""
    search = sweep.search or {}
    space = distributions(search["space"])
    # Seeded by the search's seed and how far it is: the same finished trials give the same next batch.
    seed = (search["seed"] + 7919 * sweep.asked) % 2**32
    sampler = optuna.samplers.RandomSampler(seed=seed) if sweep.strategy == "random" else \
        optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    for job in made:
        params = {name: job.params[name] for name in space}
        if job.status == JobStatus.PRUNED.value:
            there = objective(job, pruned=True)
            # TPE ranks a pruned trial by how far it got and its value there (Optuna's own rule).
            study.add_trial(optuna.trial.create_trial(
                params=params, distributions=space, state=TrialState.PRUNED,
                intermediate_values={job.progress_step: math.inf if there is None else there}))
            continue
        value = objective(job)
        if value is not None:
            study.add_trial(optuna.trial.create_trial(params=params, distributions=space, value=value,
                                                      state=TrialState.COMPLETE))
    points = []
    for _ in range(count):
        trial = study.ask(space)
        points.append(fit_params.resolve(sweep.variant, {**search["base"], **trial.params}))
    return points


def objective(job: Job, pruned: bool = False) -> float | None:
    """What the search minimises for a finished trial: its relative excess loss over the least-squares
    optimum (its final loss where there is none; a pruned one's: at its rung); +inf for one that diverged
    or failed; None for one that was cancelled or has not finished (it tells the search nothing)."""
    if job.status == JobStatus.SUCCEEDED.value or pruned:
        value = job.relative_excess_loss if job.relative_excess_loss is not None else job.final_loss
        return value if value is not None and math.isfinite(value) else math.inf
    if job.status in (JobStatus.DIVERGED.value, JobStatus.FAILED.value):
        return math.inf
    return None


def distributions(space: dict[str, dict]) -> dict[str, BaseDistribution]:
    """Optuna's distribution for each parameter of a stored space."""
    found: dict[str, BaseDistribution] = {}
    for name, spec in space.items():
        if "choices" in spec:
            found[name] = CategoricalDistribution(spec["choices"])
        elif spec.get("type") == "int":
            found[name] = IntDistribution(spec["low"], spec["high"], log=spec["log"])
        else:
            found[name] = FloatDistribution(spec["low"], spec["high"], log=spec["log"])
    return found
