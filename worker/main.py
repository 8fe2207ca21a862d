"""The worker's Celery app: `celery -A worker.main worker`. torch is imported here, once per process."""
import logging

from celery.signals import worker_process_init

from service.queue import make_celery
from service.settings import Settings

# Imported before any pool forks, so each job starts warm. Nothing here touches CUDA.
import fits.registry  # noqa: F401,E402  (pulls in torch, torch.nn and torch.optim)
import torch  # noqa: E402

settings = Settings.from_env()
if settings.contradictions():  # also when started as `celery -A worker.main` rather than `fitq worker`
    raise SystemExit("fitq worker: " + "; ".join(settings.contradictions()))
torch.set_num_threads(settings.torch_threads)
# The first optimizer imports torch._dynamo lazily (about 1.7 s): pay it here, not in the first job.
torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.0)
app = make_celery(settings)
app.conf.worker_redirect_stdouts = False

from worker import tasks  # noqa: E402,F401  (registers fitq.run_fit on app)

logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")


@worker_process_init.connect
def _fresh_connections(**_):
    # A forked pool child must not share its parent's database connections.
    tasks.store.reset()
