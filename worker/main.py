"""The worker's Celery app: `celery -A worker.main worker`. torch is imported here, once per process."""
import logging
from collections.abc import Sequence

import torch  # noqa: E402
from celery.signals import setup_logging, task_postrun, task_prerun, worker_process_init

# Imported before any pool forks, so each job starts warm. Nothing here touches CUDA.
import fits.registry  # noqa: F401,E402  (pulls in torch, torch.nn and torch.optim)
from service import logs
from service.queue import make_celery
from service.settings import Settings
from worker import allocator, threads

settings = Settings.from_env()
if settings.contradictions():  # also when started as `celery -A worker.main` rather than `fitq worker`
    raise SystemExit("fitq worker: " + "; ".join(settings.contradictions()))
if not threads.limit(settings.torch_threads):  # torch's and numpy's BLAS: one worker, TORCH_THREADS cores
    raise SystemExit("fitq worker: threadpoolctl is not installed (pip install 'fitq[worker]'); without it "
                     "numpy's BLAS takes a thread per core whatever TORCH_THREADS says")
allocator.tune()  # before any pool forks: children inherit it (worker/allocator.py says why)
# The first optimizer imports torch._dynamo lazily (about 1.7 s): pay it here, not in the first job.
torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.0)
app = make_celery(settings)
app.conf.worker_redirect_stdouts = False

from worker import lifecycle, tasks  # noqa: E402  (importing tasks registers fitq.run_fit)

tasks.bind(app, settings)

logs.configure(settings)
lifecycle.connect(settings)
# Said once at start: the BLAS kernels set numpy's speed, and an environment variable can choose them.
logging.getLogger("worker.threads").info("numpy's BLAS: %s", threads.blas())


@setup_logging.connect
def _logging(**_: object) -> None:
    # Connected, so Celery adds no handlers of its own: its lines and ours share LOG_FORMAT.
    logs.configure(settings)


@task_prerun.connect
def _about_job(args: Sequence[object] | None = None, **_: object) -> None:
    # Every line logged while a message runs is about its job, unless the line names another.
    logs.current_job.set(args[0] if args and isinstance(args[0], str) else None)


@task_postrun.connect
def _job_done(**_: object) -> None:
    logs.current_job.set(None)


@worker_process_init.connect
def _fresh_connections(**_: object) -> None:
    # A forked pool child must not share its parent's database connections.
    assert tasks.context is not None  # tasks.bind() ran above, on import
    tasks.context.store.reset()
