"""Celery tasks: they only orchestrate — claim the job (and waiting jobs of the same shape), run the
pure fit, record each outcome. worker.main hands them their Celery app and settings (bind), so this
module imports neither and runs in a test process as it does in a worker."""
from __future__ import annotations

import logging
import os
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from celery import Celery, shared_task

from fits import batched, optimum, registry
from fits import device as fit_device
from fits.batched import chunking
from fits.errors import FitTimeout
from service.queue import DEFAULT_QUEUE, RUN_FIT, named, send
from service.settings import Settings
from service.store import jobs, searches
from service.store.models import JobStatus
from worker import claims, pruning, shutdown
from worker.events import Publisher
from worker.heartbeat import Heartbeat
from worker.store import DatabaseUnavailable, Store

if TYPE_CHECKING:
    from celery import Task

    from fits.result import FitResult
    from service.store.models import Job

log = logging.getLogger(__name__)
REMEMBER = 100_000
# The most job ids one message may name (the API sends at most BATCH_SIZE).
MAX_IDS = 10_000


class ClaimLost(Exception):
    """Every job of the run was cancelled (or taken over) while it ran."""


@dataclass
class Context:
    """What the tasks of one worker process work with."""

    settings: Settings
    app: Celery  # sends the messages a task passes on
    store: Store
    # Jobs this process ran as a batch's siblings: their own message comes later and is acked without
    # a database round trip, once. (Were one re-queued meanwhile, the sweeper sends it again.)
    ran_in_batch: OrderedDict[str, bool] = field(default_factory=OrderedDict)
    publisher: Publisher = field(init=False)  # wakes streams after each write

    def __post_init__(self) -> None:
        self.publisher = Publisher(self.settings.redis_url)


context: Context | None = None  # this process's, set by bind()


def bind(app: Celery, settings: Settings) -> Context:
    """Give this process's tasks their app and settings; called once by worker.main."""
    global context
    context = Context(settings, app, Store(settings.database, retry_s=settings.db_retry_s))
    return context


@shared_task(name=RUN_FIT, bind=True)
def run_fit(self: Task, job_id: str, also: object = ()) -> str:
    """Run job `job_id` if it is still queued, with the jobs `also` named in its message (a sweep's
    batch) and more waiting jobs of its shape, up to BATCH_SIZE in all."""
    worker = self.request.hostname or f"fitq-{os.getpid()}@{socket.gethostname()}"
    queue = (self.request.delivery_info or {}).get("routing_key") or DEFAULT_QUEUE
    if context is None:
        raise RuntimeError("worker.tasks.bind() was not called in this process")
    return run_message(context, job_id, also, worker=worker, queue=queue)


def warm(ctx: Context) -> None:
    """Open a database connection and run the claim once, on no job, before the first message: a
    fresh process's first claim otherwise pays 250-350 ms (connecting, configuring the ORM mappers,
    compiling the statement) inside the first sweep's first pass."""
    try:
        with ctx.store.session() as session:
            jobs.claim_named(session=session, ids=["0" * 32], worker="warm-up")
    except Exception as err:  # a database not up yet is the first message's business, not the start's
        log.warning("database warm-up skipped: %s", err)


def run_message(ctx: Context, job_id: str, also: object = (), *, worker: str, queue: str = DEFAULT_QUEUE) -> str:
    """One delivery of a message naming `job_id` (and `also`): claim, fit, record; what became of it."""
    ids = named(job_id, also, MAX_IDS)
    if not ids and ctx.ran_in_batch.pop(job_id, False):
        log.info("job %s ran in an earlier batch here; its own message skipped", job_id)
        return "skipped: ran in a batch"
    ids = _bounded(ctx, job_id, [i for i in ids if jobs.is_id(i)], queue)
    claimed_at = time.perf_counter()
    try:
        run, skipped = ctx.store.retrying(lambda s: claims.claim(s, ctx, job_id, worker, ids),
                                          f"claim of job {job_id}")
    except DatabaseUnavailable as err:
        # The rows stay queued; the sweeper sends the jobs again once the database is back.
        log.error("job %s not started: %s", job_id, err)
        return "database unavailable"
    if not run:
        assert skipped is not None  # claim() says why whenever it runs nothing
        log.info("job %s %s", job_id, skipped)
        return skipped
    ctx.publisher.wake([job.id for job in run], [job.sweep_id for job in run], "status")
    for job in run:
        log.info("job %s started: %s attempt %d on %s%s", job.id, job.variant, job.attempts, worker,
                 f" in a batch of {len(run)} with {run[0].id}" if len(run) > 1 else "",
                 extra={"job_id": job.id})
    message = {job_id, *ids}
    for job in run[1:]:
        if job.id not in message:  # claimed from the queue: its own message is still to come
            ctx.ran_in_batch[job.id] = True
    while len(ctx.ran_in_batch) > REMEMBER:
        ctx.ran_in_batch.popitem(last=False)
    timings = {"claim": time.perf_counter() - claimed_at}
    outcomes = _run(ctx, run, timings)
    if len(run) > 1:
        # One line a pass, where its time went (bench.service reads it).
        log.info("pass of %d %s jobs: claim %.1f ms, fit %.3f s, outcomes %.1f ms, write %.1f ms", len(run),
                 run[0].variant, timings["claim"] * 1e3, timings.get("fit", 0.0), timings.get("outcomes", 0.0) * 1e3,
                 timings.get("write", 0.0) * 1e3)
    for job in run:
        log.info("job %s %s", job.id, outcomes[job.id], extra={"job_id": job.id})
    return outcomes[run[0].id]


def _bounded(ctx: Context, job_id: str, also: list[str], queue: str) -> list[str]:
    # A message may name more jobs than this worker's BATCH_SIZE: it sends the rest on, unclaimed.
    keep = max(0, ctx.settings.batch_size - 1)
    rest = also[keep:]
    if rest:
        send(ctx.app, rest, queue)
        log.info("job %s: %d of its message's jobs sent on in a message of their own (BATCH_SIZE %d)",
                 job_id, len(rest), ctx.settings.batch_size)
    return also[:keep]


def _device(job: Job) -> str:
    # What the job will run on, shown while it runs; the fit itself reports the final word.
    requested = job.params.get("device", "auto")
    if job.variant == "numpy":
        return "cpu"
    try:
        return fit_device.resolve(requested).type
    except ValueError:
        return requested


def _run(ctx: Context, run: list[Job], timings: dict[str, float]) -> dict[str, str]:
    """Run the claimed jobs (one, or a batch of one shape); {job id: what became of it}. `timings`
    gets the seconds of the fit, of building the outcomes and of writing them."""
    first = run[0]
    settings, store = ctx.settings, ctx.store
    budget = first.timeout_s or settings.default_timeout_s
    attempts = {job.id: job.attempts for job in run}
    with Heartbeat(store, attempts, settings.heartbeat_s, device=_device(first), publisher=ctx.publisher,
                   sweeps={job.id: job.sweep_id for job in run}) as heartbeat:

        def on_progress(step: int, steps: int, losses: list[float]) -> None:
            heartbeat.record(step, losses)
            if heartbeat.all_lost.is_set():
                raise ClaimLost(first.id)
            grace.check(step, steps)  # after SIGTERM: finish within SHUTDOWN_GRACE_S, or hand back

        grace = shutdown.Grace(settings.shutdown_grace_s)
        try:
            prune = _pruning(ctx, run)
            started = time.perf_counter()
            results = _fit(run, on_progress, deadline=time.monotonic() + budget, prune=prune)
            timings["fit"] = time.perf_counter() - started
        except ClaimLost:
            return {job.id: "stopped: cancelled or taken over while running" for job in run}
        except shutdown.HandBack as err:
            return shutdown.hand_back(store.session, ctx.app, run, str(err))
        except FitTimeout as err:
            return _failed(ctx, run, heartbeat.step, "timeout", f"{err}: the job's time budget is {budget}s; "
                           f"raise timeout_s (at most {settings.max_timeout_s}) or lower steps")
        except Exception as err:
            log.exception("job %s failed", ", ".join(attempts))
            return _failed(ctx, run, heartbeat.step, type(err).__name__, str(err))
    started = time.perf_counter()
    pruned = prune.pruned if prune is not None else set()
    outcomes = [_outcome(job, result, j in pruned) for j, (job, result) in enumerate(zip(run, results))]
    timings["outcomes"] = time.perf_counter() - started
    written = _finish(ctx, run, outcomes)
    timings["write"] = time.perf_counter() - started - timings["outcomes"]
    return written


def _pruning(ctx: Context, run: Sequence[Job]) -> pruning.Pruning | None:
    # The pruners of the run's searches, with their finished trials: read once, when the pass starts.
    sweep_ids = sorted({job.sweep_id for job in run if job.sweep_id})
    if not sweep_ids or batched.batch_key(run[0].variant, run[0].params) is None:
        return None
    found = ctx.store.retrying(lambda s: searches.pruning(session=s, sweep_ids=sweep_ids),
                               f"pruners of sweeps {', '.join(sweep_ids)}")
    return pruning.Pruning(run, found) if found else None


def _failed(ctx: Context, run: Sequence[Job], step: int | None, kind: str, message: str) -> dict[str, str]:
    error = {"type": kind, "message": message}
    return _finish(ctx, run, [jobs.Outcome(j.id, j.attempts, JobStatus.FAILED.value, error=error, step=step)
                         for j in run])


def _fit(run: Sequence[Job], on_progress: Callable[[int, int, list[float]], None], deadline: float,
         prune: pruning.Pruning | None = None) -> list[FitResult]:
    # One job runs its variant's own loop; a batch (or a trial of a pruned search) the vectorised pass.
    if len(run) == 1 and prune is None:
        job = run[0]
        return [registry.run(job.variant, job.params, deadline=deadline,
                             on_progress=lambda step, steps, loss: on_progress(step, steps, [loss]))]
    results = batched.run_batch(run[0].variant, [job.params for job in run], on_progress=on_progress,
                                deadline=deadline, prune=prune)
    _announce_chunks(run[0].variant)
    return results


_announced: set[str] = set()


def _announce_chunks(variant: str) -> None:
    # Once per variant and process: the CPU chunk size its passes measured and chose, for operators.
    chosen = chunking.TUNER.chosen(variant)
    if chosen is not None and variant not in _announced:
        _announced.add(variant)
        log.info("%s passes: CPU chunk size measured: %s", variant,
                 chunking.describe(chunking.TUNER.rates(variant), chosen))


def _outcome(job: Job, result: FitResult, pruned: bool = False) -> jobs.Outcome:
    outcome = result.to_dict()
    outcome.update(measured(job.params, outcome["final_loss"]))
    if outcome["final_loss"] is None:
        return jobs.Outcome(job.id, job.attempts, JobStatus.DIVERGED.value, result=outcome,
                            error=divergence(outcome["loss_history"]), device=result.device)
    if pruned:  # its result is the fit as it stood at the rung; step says how far it got
        return jobs.Outcome(job.id, job.attempts, JobStatus.PRUNED.value, result=outcome, device=result.device,
                            step=outcome["loss_history"][-1]["step"] + 1)
    return jobs.Outcome(job.id, job.attempts, JobStatus.SUCCEEDED.value, result=outcome, device=result.device)


def measured(params: Mapping[str, Any], final_loss: float | None) -> dict[str, Any]:
    """The result's fields against the least-squares optimum on the job's points: computed here, once per
    shape and process, so that no reader (the API's compare) ever solves it."""
    best = optimum.optimum(params.get("samples", 2000), params.get("dtype", "float64"))
    polynomial = None if best.polynomial is None else list(best.polynomial)
    return {**optimum.excess(final_loss, best), "optimum_polynomial": polynomial}


def divergence(history: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The error of a diverged fit: where the loss stopped being finite, and what to do about it."""
    finite = [p for p in history if p["loss"] is not None]
    where = f"by step {history[-1]['step']}" if history and history[-1]["loss"] is None \
        else "at the last step"
    last = f"the last finite logged loss was {finite[-1]['loss']:.6g} at step {finite[-1]['step']}" \
        if finite else "no logged loss was finite"
    return {"type": "diverged",
            "message": f"the loss became NaN or infinite {where}; {last}; lower the learning_rate"}


def _finish(ctx: Context, run: Sequence[Job], outcomes: Sequence[jobs.Outcome]) -> dict[str, str]:
    try:
        written = ctx.store.retrying(lambda session: jobs.finish_many(session=session, outcomes=outcomes),
                                 f"outcome of job {', '.join(o.job_id for o in outcomes)}")
    except DatabaseUnavailable as err:
        # Still `running` with a stale heartbeat: the sweeper queues them again once the database is back.
        log.error("outcomes lost: %s", err)
        return {job.id: "outcome not written: database unavailable" for job in run}
    ctx.publisher.wake(written, [job.sweep_id for job in run if job.id in written], "status")
    return {o.job_id: o.status if o.job_id in written else
            "finished, but its claim was lost before the outcome was written; outcome discarded"
            for o in outcomes}
