"""gunicorn hooks for the API (`fitq api` loads this module as its config): they let an open stream
notice that its worker is stopping, so it closes at once and its client reconnects to another worker,
instead of holding the worker's shutdown for the whole graceful timeout."""

_worker = None  # this process's gunicorn worker, once it has loaded the app


def post_worker_init(worker):
    """Remember the worker (gunicorn calls this in each worker process after it loads the app)."""
    global _worker
    _worker = worker


def stopping() -> bool:
    """Whether this process's gunicorn worker was asked to stop (False outside gunicorn)."""
    return _worker is not None and not _worker.alive
