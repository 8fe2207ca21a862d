"""The worker stores the least-squares optimum with every result it writes, so no reader solves it."""
import pytest

from fits import lstsq
from fits.params import resolve
from service.queue import make_celery
from service.store import jobs
from worker import tasks


@pytest.fixture
def ctx(settings):
    app = make_celery(settings)
    yield tasks.Context(settings, app, tasks.Store(settings.database))
    app.close()


def _run(ctx, sessions, variant, **params):
    with sessions() as session:
        job = jobs.new_job(variant, resolve(variant, params), 600, jobs.now())
        session.add(job)
        session.commit()
        job_id = job.id
    tasks.run_message(ctx, job_id, worker="test")
    with sessions() as session:
        return jobs.get(session=session, job_id=job_id)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_finished_job_carries_the_optimum_the_lstsq_variant_finds(ctx, sessions, dtype):
    job = _run(ctx, sessions, "tensor", samples=300, steps=50, dtype=dtype, seed=1)
    exact = lstsq.fit(samples=300, seed=0, dtype="float64", device="cpu")
    stored = job.result
    assert job.status == "succeeded"
    assert stored["optimum_loss"] == pytest.approx(exact.final_loss, rel=1e-9 if dtype == "float64" else 1e-6)
    assert stored["optimum_polynomial"] == pytest.approx(exact.polynomial, rel=1e-5, abs=1e-9)
    assert stored["excess_loss"] == pytest.approx(job.final_loss - stored["optimum_loss"])
    assert stored["relative_excess_loss"] == pytest.approx(stored["excess_loss"] / stored["optimum_loss"])
    # Copied into the columns GET /jobs sorts and filters by (migration 0008).
    assert (job.excess_loss, job.relative_excess_loss) == (stored["excess_loss"], stored["relative_excess_loss"])


def test_an_lstsq_job_has_no_excess_to_speak_of(ctx, sessions):
    job = _run(ctx, sessions, "lstsq", samples=1000, dtype="float64", seed=0)
    assert abs(job.result["relative_excess_loss"]) < 1e-9


def test_a_diverged_job_has_the_optimum_and_no_excess(ctx, sessions):
    job = _run(ctx, sessions, "tensor", samples=200, steps=200, log_every=10, learning_rate=1.0, seed=1)
    assert job.status == "diverged"
    assert job.result["optimum_loss"] > 0 and job.result["excess_loss"] is None
    assert job.excess_loss is None and job.relative_excess_loss is None
