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
from service.queue import DEFAULT_QUEUE, RUN_FIT, enqueue
from worker import shutdown
from worker.heartbeat import Heartbeat
from worker.main import app, settings
from worker.store import DatabaseUnavailable, Store

log = logging.getLogger(__name__)
store = Store(settings.database, retry_s=settings.db_retry_s)
# Jobs this process ran as a batch's siblings: their own message comes later and is acked without a
# database round trip, once. (Were one re-queued meanwhile, the sweeper sends it again.)
ran_in_batch = OrderedDict()
REMEMBER = 100_000
# The most job ids one message may name (the API sends at most BATCH_SIZE).
MAX_IDS = 10_000


class ClaimLost(Exception):
    """Every job of the run was cancelled (or taken over) while it ran."""


@app.task(name=RUN_FIT, bind=True)
def run_fit(self, job_id: str, also=()) -> str:
    """Run job `job_id` if it is still queued, with the jobs `also` named in its message (a sweep's
    batch) and more waiting jobs of its shape, up to BATCH_SIZE in all."""
    worker = self.request.hostname or f"fitq-{os.getpid()}@{socket.gethostname()}"
    also = also if isinstance(also, (list, tuple)) else ()
    if not also and ran_in_batch.pop(job_id, None):
        log.info("job %s ran in an earlier batch here; its own message skipped", job_id)
        return "skipped: ran in a batch"
    also = _bounded(self, job_id, [i for i in also if jobs.is_id(i) and i != job_id][:MAX_IDS])
    try:
        run, skipped = store.retrying(lambda s: _claim(s, job_id, worker, also), f"claim of job {job_id}")
    except DatabaseUnavailable as err:
        # The rows stay queued; the sweeper sends the jobs again once the database is back.
        log.error("job %s not started: %s", job_id, err)
        return "database unavailable"
    if not run:
        log.info("job %s %s", job_id, skipped)
        return skipped
    for job in run:
        log.info("job %s started: %s attempt %d on %s%s", job.id, job.variant, job.attempts, worker,
                 f" in a batch of {len(run)} with {run[0].id}" if len(run) > 1 else "",
                 extra={"job_id": job.id})
    named = {job_id, *also}
    for job in run[1:]:
        if job.id not in named:  # claimed from the queue: its own message is still to come
            ran_in_batch[job.id] = True
    while len(ran_in_batch) > REMEMBER:
        ran_in_batch.popitem(last=False)
    outcomes = _run(run)
    for job in run:
        log.info("job %s %s", job.id, outcomes[job.id], extra={"job_id": job.id})
    return outcomes[run[0].id]


def _bounded(task, job_id, also):
    # A message may name more jobs than this worker's BATCH_SIZE: it sends the rest on, unclaimed.
    keep = max(0, settings.batch_size - 1)
    rest = also[keep:]
    if rest:
        queue = (task.request.delivery_info or {}).get("routing_key") or DEFAULT_QUEUE
        app.send_task(RUN_FIT, args=[rest[0], rest[1:]] if rest[1:] else [rest[0]], queue=queue)
        log.info("job %s: %d of its message's jobs sent on in a message of their own (BATCH_SIZE %d)",
                 job_id, len(rest), settings.batch_size)
    return also[:keep]


def _claim(session, job_id, worker, also=()):
    # (jobs this delivery runs, None), or ([], what happened to the message).
    job = jobs.claim(session=session, job_id=job_id, worker=worker, pid=os.getpid())
    named = jobs.claim_named(session=session, ids=also, worker=worker, pid=os.getpid()) if also else []
    if job is None and named:
        # This job went elsewhere (a duplicate, or another worker's batch); its batch-mates named in
        # the same message still need a runner: the first of them leads.
        job, named = named[0], named[1:]
    if job is not None:
        mates = _shaped_like(session, job, named)
        try:
            return [job, *mates, *_siblings(session, job, worker, settings.batch_size - 1 - len(mates))], None
        except Exception:  # the jobs are claimed already: run them rather than strand them
            session.rollback()
            log.exception("job %s: claiming more waiting jobs failed; the message's jobs run alone", job.id)
            return [job, *mates], None
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


def _shaped_like(session, job, named):
    # The API groups a message's jobs by batch key, so all should fit; one that does not is queued again.
    key = batched.batch_key(job.variant, job.params)
    mates = [other for other in named if _same(job, key, other)]
    for other in named:
        if other not in mates:
            log.warning("job %s, named in job %s's message, has another shape; sent again alone",
                        other.id, job.id)
            if jobs.give_back(session=session, job_id=other.id, attempt=other.attempts):
                enqueue(app, other)
    return mates


def _same(job, key, other):
    return other.timeout_s == job.timeout_s and key is not None \
        and batched.batch_key(other.variant, other.params) == key


def _siblings(session, job, worker, limit):
    # Waiting jobs that can share this job's vectorised pass: same batch key, same time budget.
    key = batched.batch_key(job.variant, job.params)
    if limit <= 0 or key is None:
        return []
    return jobs.claim_siblings(session=session, first=job, limit=limit, worker=worker, pid=os.getpid(),
                               same=lambda other: _same(job, key, other))


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
            grace.check(step, steps)  # after SIGTERM: finish within SHUTDOWN_GRACE_S, or hand back

        grace = shutdown.Grace(settings.shutdown_grace_s)
        try:
            results = _fit(run, on_progress, deadline=time.monotonic() + budget)
        except ClaimLost:
            return {job.id: "stopped: cancelled or taken over while running" for job in run}
        except shutdown.HandBack as err:
            return shutdown.hand_back(store.session, app, run, str(err))
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
