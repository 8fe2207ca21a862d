"""Celery tasks: they only orchestrate — claim the job, run the pure fit, record the outcome."""
import logging
import os
import socket
import time

from fits import device as fit_device
from fits import registry
from fits.errors import FitTimeout
from service import jobs
from service.models import JobStatus
from service.queue import RUN_FIT
from worker.heartbeat import Heartbeat
from worker.main import app, settings
from service.db import UNAVAILABLE
from worker.store import DatabaseUnavailable, Store

log = logging.getLogger(__name__)
store = Store(settings.database, retry_s=settings.db_retry_s)


class ClaimLost(Exception):
    """The job was cancelled (or taken over) while it ran."""


@app.task(name=RUN_FIT, bind=True)
def run_fit(self, job_id: str) -> str:
    """Run job `job_id` if it is still queued; returns what became of it."""
    worker = self.request.hostname or f"fitq-{os.getpid()}@{socket.gethostname()}"
    try:
        job, skipped = store.retrying(lambda s: _claim(s, job_id, worker), f"claim of job {job_id}")
    except DatabaseUnavailable as err:
        # The row stays queued; the sweeper sends the job again once the database is back.
        log.error("job %s not started: %s", job_id, err)
        return "database unavailable"
    if job is None:
        log.info("job %s %s", job_id, skipped)
        return skipped
    log.info("job %s started: %s attempt %d on %s", job.id, job.variant, job.attempts, worker)
    outcome = _run(job)
    log.info("job %s %s", job.id, outcome)
    return outcome


def _claim(session, job_id, worker):
    # (job, None) when this delivery runs it, else (None, what happened to the message).
    job = jobs.get(session=session, job_id=job_id)
    if job is None:
        return None, "does not exist; message dropped"
    device = _device(job)
    if job.status == JobStatus.QUEUED.value:
        claimed = jobs.claim(session=session, job_id=job_id, worker=worker, device=device, pid=os.getpid())
        return claimed, (None if claimed else "was claimed by another delivery; skipped")
    if job.status == JobStatus.RUNNING.value and _died_here(job, worker):
        # Redelivered because the pool process running it died (task_reject_on_worker_lost).
        if job.attempts >= settings.max_attempts:
            jobs.abandon(session=session, job_id=job.id, attempt=job.attempts,
                         message=jobs.lost_message(job.attempts, job.worker))
            return None, f"failed: its worker process died on all {job.attempts} attempts"
        taken = jobs.claim(session=session, job_id=job_id, worker=worker, device=device,
                           pid=os.getpid(), takeover=job.attempts)
        return taken, (None if taken else "was recovered by another delivery; skipped")
    return None, f"is {job.status}, not queued; duplicate delivery skipped"


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


def _run(job) -> str:
    attempt = job.attempts
    budget = job.timeout_s or settings.default_timeout_s
    failing = []  # progress writes failing since: logged once per outage, not once per point
    with Heartbeat(store, job.id, attempt, settings.heartbeat_s) as heartbeat:

        def on_progress(step, steps, loss):
            if heartbeat.lost.is_set():
                raise ClaimLost(job.id)
            try:
                with store.session() as session:
                    held = jobs.progress(session=session, job_id=job.id, attempt=attempt, step=step)
            except UNAVAILABLE as err:  # progress is best effort; the outcome is not
                if not failing:
                    log.warning("job %s: progress not written from step %d on: %s; the fit goes on",
                                job.id, step, type(err).__name__)
                failing.append(step)
                return
            if failing:
                log.info("job %s: progress written again at step %d", job.id, step)
                failing.clear()
            if not held:
                raise ClaimLost(job.id)

        try:
            result = registry.run(job.variant, job.params, on_progress=on_progress,
                                  deadline=time.monotonic() + budget)
        except ClaimLost:
            return "stopped: cancelled or taken over while running"
        except FitTimeout as err:
            return _finish(job, attempt, JobStatus.FAILED, error={
                "type": "timeout",
                "message": f"{err}: the job's time budget is {budget}s; raise timeout_s "
                           f"(at most {settings.max_timeout_s}) or lower steps"})
        except Exception as err:
            log.exception("job %s failed", job.id)
            return _finish(job, attempt, JobStatus.FAILED,
                           error={"type": type(err).__name__, "message": str(err)})
    outcome = result.to_dict()
    if outcome["final_loss"] is None:
        return _finish(job, attempt, JobStatus.DIVERGED, result=outcome, device=result.device,
                       error=divergence(outcome["loss_history"]))
    return _finish(job, attempt, JobStatus.SUCCEEDED, result=outcome, device=result.device)


def divergence(history) -> dict:
    """The error of a diverged fit: where the loss stopped being finite, and what to do about it."""
    finite = [p for p in history if p["loss"] is not None]
    where = f"by step {history[-1]['step']}" if history and history[-1]["loss"] is None \
        else "at the last step"
    last = f"the last finite logged loss was {finite[-1]['loss']:.6g} at step {finite[-1]['step']}" \
        if finite else "no logged loss was finite"
    return {"type": "diverged",
            "message": f"the loss became NaN or infinite {where}; {last}; lower the learning_rate"}


def _finish(job, attempt, status, **outcome) -> str:
    def write(session):
        return jobs.finish(session=session, job_id=job.id, attempt=attempt, status=status, **outcome)

    try:
        held = store.retrying(write, f"outcome of job {job.id}")
    except DatabaseUnavailable as err:
        # Still `running` with a stale heartbeat: the sweeper queues it again once the database is back.
        log.error("job %s: outcome lost: %s", job.id, err)
        return "outcome not written: database unavailable"
    if not held:
        return "finished, but its claim was lost before the outcome was written; outcome discarded"
    return status.value
