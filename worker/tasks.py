"""Celery tasks: they only orchestrate — claim the job, run the pure fit, record the outcome."""
import logging

from fits import registry
from fits import device as fit_device
from service import jobs
from service.models import JobStatus
from worker.main import app, settings
from worker.store import Store

log = logging.getLogger(__name__)
store = Store(settings.database)


class ClaimLost(Exception):
    """The job was cancelled (or taken over) while it ran."""


@app.task(name="fitq.run_fit", bind=True)
def run_fit(self, job_id: str) -> str:
    """Run job `job_id` if it is still queued; returns what became of it."""
    worker = self.request.hostname or "worker"
    with store.session() as session:
        job = jobs.get(session=session, job_id=job_id)
        if job is None:
            log.warning("job %s does not exist; message dropped", job_id)
            return "missing"
        job = jobs.claim(session=session, job_id=job_id, worker=worker,
                         device=_device(job))
    if job is None:
        log.info("job %s is not queued any more; duplicate or cancelled delivery skipped", job_id)
        return "skipped"
    return _run(job)


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

    def on_progress(step, steps, loss):
        with store.session() as session:
            if not jobs.progress(session=session, job_id=job.id, attempt=attempt, step=step):
                raise ClaimLost(job.id)

    try:
        result = registry.run(job.variant, job.params, on_progress=on_progress)
    except ClaimLost:
        log.info("job %s stopped: cancelled while running", job.id)
        return JobStatus.CANCELLED.value
    except Exception as err:
        log.exception("job %s failed", job.id)
        return _finish(job, attempt, JobStatus.FAILED,
                       error={"type": type(err).__name__, "message": str(err)})
    outcome = result.to_dict()
    if outcome["final_loss"] is None:
        return _finish(job, attempt, JobStatus.DIVERGED, result=outcome, device=result.device,
                       error=_divergence(outcome["loss_history"]))
    return _finish(job, attempt, JobStatus.SUCCEEDED, result=outcome, device=result.device)


def _divergence(history) -> dict:
    finite = [p for p in history if p["loss"] is not None]
    last = f"the last finite logged loss was {finite[-1]['loss']:.6g} at step {finite[-1]['step']}" \
        if finite else "no logged loss was finite"
    return {"type": "diverged",
            "message": f"the loss became NaN or infinite; {last}; lower the learning_rate"}


def _finish(job, attempt, status, **outcome) -> str:
    with store.session() as session:
        held = jobs.finish(session=session, job_id=job.id, attempt=attempt, status=status, **outcome)
    if not held:
        log.info("job %s: claim lost before the outcome was written; outcome discarded", job.id)
        return "discarded"
    return status.value
