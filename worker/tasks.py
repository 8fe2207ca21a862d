"""Celery tasks: they only orchestrate — claim the job (and waiting jobs of the same shape), run the
pure fit, record each outcome."""
import logging
import os
from collections import OrderedDict
import socket
import time

from fits import batched
from fits import device as fit_device
from fits import registry
from fits.errors import FitTimeout
from service import jobs
from service.models import JobStatus
from service.queue import RUN_FIT
from worker.heartbeat import Heartbeat
from worker.main import app, settings
from worker.store import DatabaseUnavailable, Store

log = logging.getLogger(__name__)
store = Store(settings.database, retry_s=settings.db_retry_s)
# Jobs this process ran as a batch's siblings: their own message comes later and is acked without a
# database round trip, once. (Were one re-queued meanwhile, the sweeper sends it again.)
ran_in_batch = OrderedDict()
REMEMBER = 100_000


class ClaimLost(Exception):
    """Every job of the run was cancelled (or taken over) while it ran."""


@app.task(name=RUN_FIT, bind=True)
def run_fit(self, job_id: str) -> str:
    """Run job `job_id` if it is still queued, with up to BATCH_SIZE - 1 waiting jobs of its shape."""
    worker = self.request.hostname or f"fitq-{os.getpid()}@{socket.gethostname()}"
    if ran_in_batch.pop(job_id, None):
        log.info("job %s ran in an earlier batch here; its own message skipped", job_id)
        return "skipped: ran in a batch"
    try:
        run, skipped = store.retrying(lambda s: _claim(s, job_id, worker), f"claim of job {job_id}")
    except DatabaseUnavailable as err:
        # The row stays queued; the sweeper sends the job again once the database is back.
        log.error("job %s not started: %s", job_id, err)
        return "database unavailable"
    if not run:
        log.info("job %s %s", job_id, skipped)
        return skipped
    for job in run:
        log.info("job %s started: %s attempt %d on %s%s", job.id, job.variant, job.attempts, worker,
                 f" in a batch of {len(run)} with {run[0].id}" if len(run) > 1 else "")
    for job in run[1:]:
        ran_in_batch[job.id] = True
    while len(ran_in_batch) > REMEMBER:
        ran_in_batch.popitem(last=False)
    outcomes = _run(run)
    for job in run:
        log.info("job %s %s", job.id, outcomes[job.id])
    return outcomes[run[0].id]  # the message's own job comes first


def _claim(session, job_id, worker):
    # (jobs this delivery runs, None), or ([], what happened to the message).
    job = jobs.claim(session=session, job_id=job_id, worker=worker, pid=os.getpid())
    if job is not None:
        try:
            return [job, *_siblings(session, job, worker)], None
        except Exception:  # the job is claimed already: run it alone rather than strand it
            session.rollback()
            log.exception("job %s: no batch (claiming its siblings failed); it runs alone", job.id)
            return [job], None
    job = jobs.get(session=session, job_id=job_id)
    if job is None:
        return [], "does not exist; message dropped"
    if job.status == JobStatus.RUNNING.value and _died_here(job, worker):
        # Redelivered because the pool process running it died (task_reject_on_worker_lost).
        if job.attempts >= settings.max_attempts:
            jobs.abandon(session=session, job_id=job.id, attempt=job.attempts,
                         message=jobs.lost_message(job.attempts, job.worker))
            return [], f"failed: its worker process died on all {job.attempts} attempts"
        taken = jobs.claim(session=session, job_id=job_id, worker=worker, pid=os.getpid(),
                           takeover=job.attempts)
        return ([taken], None) if taken else ([], "was recovered by another delivery; skipped")
    return [], f"is {job.status}, not queued; duplicate delivery skipped"


def _siblings(session, job, worker):
    # Waiting jobs that can share this job's vectorised pass: same batch key, same time budget.
    if settings.batch_size <= 1:
        return []
    key = batched.batch_key(job.variant, job.params)
    if key is None:
        return []
    return jobs.claim_siblings(
        session=session, first=job, limit=settings.batch_size - 1, worker=worker, pid=os.getpid(),
        same=lambda other: other.timeout_s == job.timeout_s
        and batched.batch_key(other.variant, other.params) == key)


def _died_here(job, worker) -> bool:
    # Only a process on this host can be checked; elsewhere the sweeper's stale heartbeat decides.
    same_host = job.worker and job.worker.rpartition("@")[2] == worker.rpartition("@")[2]
    return bool(same_host and job.worker_pid and job.worker_pid != os.getpid()
                and not _alive(job.worker_pid))


def _alive(pid) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: assume alive, the sweeper's heartbeat check still applies


def _device(job):
    # What the job will run on, shown while it runs; the fit itself reports the final word.
    requested = job.params.get("device", "auto")
    if job.variant == "numpy":
        return "cpu"
    try:
        return fit_device.resolve(requested).type
    except ValueError:
        return requested


def _run(run) -> dict:
    """Run the claimed jobs (one, or a batch of one shape); {job id: what became of it}."""
    first = run[0]
    budget = first.timeout_s or settings.default_timeout_s
    claims = {job.id: job.attempts for job in run}
    with Heartbeat(store, claims, settings.heartbeat_s, device=_device(first)) as heartbeat:

        def on_progress(step, steps, losses):
            heartbeat.step = step
            if heartbeat.all_lost.is_set():
                raise ClaimLost(first.id)

        try:
            results = _fit(run, on_progress, deadline=time.monotonic() + budget)
        except ClaimLost:
            return {job.id: "stopped: cancelled or taken over while running" for job in run}
        except FitTimeout as err:
            return _failed(run, heartbeat.step, "timeout", f"{err}: the job's time budget is {budget}s; "
                           f"raise timeout_s (at most {settings.max_timeout_s}) or lower steps")
        except Exception as err:
            log.exception("job %s failed", ", ".join(claims))
            return _failed(run, heartbeat.step, type(err).__name__, str(err))
    return _finish(run, [_outcome(job, result) for job, result in zip(run, results)])


def _failed(run, step, kind, message):
    error = {"type": kind, "message": message}
    return _finish(run, [jobs.Outcome(j.id, j.attempts, JobStatus.FAILED.value, error=error, step=step)
                         for j in run])


def _fit(run, on_progress, deadline):
    # One job runs its variant's own loop; a batch runs the vectorised pass.
    if len(run) == 1:
        job = run[0]
        return [registry.run(job.variant, job.params, deadline=deadline,
                             on_progress=lambda step, steps, loss: on_progress(step, steps, [loss]))]
    return batched.run_batch(run[0].variant, [job.params for job in run], on_progress=on_progress,
                             deadline=deadline)


def _outcome(job, result):
    outcome = result.to_dict()
    if outcome["final_loss"] is None:
        return jobs.Outcome(job.id, job.attempts, JobStatus.DIVERGED.value, result=outcome,
                            error=divergence(outcome["loss_history"]), device=result.device)
    return jobs.Outcome(job.id, job.attempts, JobStatus.SUCCEEDED.value, result=outcome, device=result.device)


def divergence(history) -> dict:
    """The error of a diverged fit: where the loss stopped being finite, and what to do about it."""
    finite = [p for p in history if p["loss"] is not None]
    where = f"by step {history[-1]['step']}" if history and history[-1]["loss"] is None \
        else "at the last step"
    last = f"the last finite logged loss was {finite[-1]['loss']:.6g} at step {finite[-1]['step']}" \
        if finite else "no logged loss was finite"
    return {"type": "diverged",
            "message": f"the loss became NaN or infinite {where}; {last}; lower the learning_rate"}


def _finish(run, outcomes) -> dict:
    try:
        written = store.retrying(lambda session: jobs.finish_many(session=session, outcomes=outcomes),
                                 f"outcome of job {', '.join(o.job_id for o in outcomes)}")
    except DatabaseUnavailable as err:
        # Still `running` with a stale heartbeat: the sweeper queues them again once the database is back.
        log.error("outcomes lost: %s", err)
        return {job.id: "outcome not written: database unavailable" for job in run}
    return {o.job_id: o.status if o.job_id in written else
            "finished, but its claim was lost before the outcome was written; outcome discarded"
            for o in outcomes}
