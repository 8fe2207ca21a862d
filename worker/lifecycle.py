"""A worker's start and stop, hooked to Celery's signals: every process that runs jobs reports itself
(worker.presence), and SIGTERM lets running fits finish or hand them back (worker.shutdown)."""
from __future__ import annotations

import gc
import os
import signal
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from billiard.process import current_process
from celery import signals
from celery.concurrency.prefork import TaskPool as Prefork

from worker import presence, shutdown, tasks

if TYPE_CHECKING:
    from celery.worker import WorkController
    from celery.worker.consumer import Consumer

    from service.settings import Settings

_settings: Settings | None = None
# Celery's node name and queues, noted in the main process before a prefork pool forks.
_node: dict[str, Any] = {"name": f"fitq-{os.getpid()}@{os.uname().nodename}", "queues": []}
# Signals this close together are one stop (a process-group SIGTERM reaches every process at once).
SAME_STOP_S = 1.0
# billiard's SIGTERM handler in a pool process, for what is not ours to keep
_default_term: Callable[[int, FrameType | None], Any] | int | signal.Handlers | None = None


def connect(settings: Settings) -> None:
    """Hook this worker's start and stop to Celery's signals."""
    global _settings
    _settings = settings
    signals.worker_init.connect(_named)
    signals.worker_ready.connect(_ready)
    signals.worker_process_init.connect(_pool_process_started)
    signals.task_prerun.connect(_guard_pool_process)
    signals.worker_shutting_down.connect(_shutting_down)
    signals.worker_process_shutdown.connect(_stopped)
    signals.worker_shutdown.connect(_stopped)


def _named(sender: WorkController, **_: object) -> None:
    _node.update(name=sender.hostname, queues=sorted(sender.app.amqp.queues.consume_from))


def _ready(sender: Consumer, **_: object) -> None:
    if isinstance(sender.pool, Prefork):
        return  # its pool processes run the jobs and report themselves
    # solo or threads: this process runs the jobs and never forks, so asking CUDA is safe here.
    assert _settings is not None  # connect() sets it before it hooks this handler
    presence.start(_settings, _node["name"], _node["queues"], type(sender.pool).__module__.rsplit(".")[-1])
    if tasks.context is not None:
        tasks.warm(tasks.context)
    _freeze_heap()


def _pool_process_started(**_: object) -> None:
    # A prefork pool process, just forked: now it may ask CUDA for its device. (The solo pool sends
    # this signal too, in the main process; that one reports itself when ready.)
    if current_process().name != "MainProcess":
        assert _settings is not None  # connect() sets it before it hooks this handler
        presence.start(_settings, _node["name"], _node["queues"], "prefork")
        if tasks.context is not None:
            tasks.warm(tasks.context)
        _freeze_heap()


def _freeze_heap() -> None:
    # What the process holds once warm (torch, SQLAlchemy, Celery: some 345,000 objects) lives as long as
    # it does. Python's full collection walked all of it, 165-190 ms, about every fifty passes of a sweep:
    # a pause inside some pass's claim or outcomes. Frozen, a full collection walks only what came after.
    gc.freeze()


def _guard_pool_process(**_: object) -> None:
    # billiard sets a pool process's SIGTERM handler after worker_process_init, so ours goes in at its
    # first task; solo and threads workers keep Celery's, which sends worker_shutting_down.
    global _default_term
    if presence.current is None or presence.current.report["pool"] != "prefork" or _default_term is not None:
        return
    _default_term = signal.signal(signal.SIGTERM, _terminated)


def _shutting_down(**_: object) -> None:
    # From Celery's SIGTERM (or SIGINT, SIGQUIT) handler in the main process: docker stop signals it
    # alone, and the pool processes read the request from shared memory. One assignment, no locks.
    shutdown.request()


def _terminated(signum: int, frame: FrameType | None) -> None:
    # SIGTERM to a pool process itself. Sent to the whole process group (systemd, kill -TERM -PGID), it
    # is the same stop the main process got: a running fit finishes or hands back. An idle process
    # ends at once, as does one whose stop began a while ago (billiard's cold shutdown, a second kill).
    asked = shutdown.requested_at()
    if presence.busy() and (asked is None or time.monotonic() - asked < SAME_STOP_S):
        shutdown.request()
        return
    signal.signal(signal.SIGTERM, _default_term)
    if callable(_default_term):
        _default_term(signum, frame)
    else:
        os.kill(os.getpid(), signal.SIGTERM)


def _stopped(**_: object) -> None:
    presence.stop()
