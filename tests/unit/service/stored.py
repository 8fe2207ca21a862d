"""Jobs in any state written straight into a test's database through service.store.jobs: no worker runs."""
from datetime import timedelta

from fits.params import resolve
from service.store import jobs

CUBIC = [0.0, 0.8567408430737841, 0.0, -0.09333038904059883]  # the least-squares cubic on 2000 points


def result(polynomial=CUBIC, history=None, final_loss=8.9, duration_s=0.5, coefficients=None):
    """A result document as a worker writes it."""
    history = [{"step": 99, "loss": 200.0}, {"step": 199, "loss": final_loss}] if history is None else history
    return {"coefficients": coefficients or {f"b_{i}": c for i, c in enumerate(polynomial)},
            "polynomial": polynomial, "formula": "y = ...", "final_loss": final_loss,
            "loss_history": history, "duration_s": duration_s, "device": "cpu"}


def store(app, variant="tensor", status="succeeded", params=None, outcome=None, created_at=None,
          sweep_id=None) -> str:
    """A job of `variant` with `params`, brought to `status` (with `outcome` as its result); its id."""
    sessions = app.extensions["fitq"].sessions
    stamp = created_at or jobs.now()
    with sessions() as session:
        job = jobs.new_job(variant, resolve(variant, params or {}), 600, stamp, sweep_id=sweep_id)
        session.add(job)
        session.commit()
        job_id = job.id
        if status == "queued":
            return job_id
        if status == "cancelled":
            jobs.cancel(session=session, job_id=job_id)
            return job_id
        jobs.claim(session=session, job_id=job_id, worker="test")
        if status == "running":
            return job_id
        if status == "succeeded":
            outcome = result() if outcome is None else outcome
        error = None if status == "succeeded" else {"type": status, "message": "test"}
        assert jobs.finish(session=session, job_id=job_id, attempt=1, status=status, result=outcome,
                           error=error, device="cpu")
    return job_id


def ago(seconds):
    """A moment `seconds` before now, in UTC."""
    return jobs.now() - timedelta(seconds=seconds)
