"""The Celery app, configured in one place, and the broker's message format: the API and the sweeper
send with it, the worker consumes with it. A message names jobs, nothing else: `[job id]`, or `[first id,
[more ids]]` for jobs sent to share one vectorised pass. It is encoded and decoded here only."""
from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from celery import Celery
from kombu import Exchange, Queue

from fits.batch_key import batch_key, most_in_pass
from service.settings import KNOWN_QUEUES

if TYPE_CHECKING:
    from service.settings import Settings
    from service.store.models import Job

RUN_FIT = "fitq.run_fit"
DEFAULT_QUEUE = "fitq"
# A job's device decides its queue: GPU workers take gpu, CPU workers cpu, every worker the default.
QUEUE_FOR_DEVICE = {"cuda": "gpu", "cpu": "cpu", "auto": DEFAULT_QUEUE}
# kombu's Redis transport keeps priorities 3, 6 and 9 in lists named <queue>\x06\x16<priority>.
PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
# Workers read a queue's priority lists in that order, 0 (the bare name) first: single jobs and small
# sweeps go at 0, large sweeps at 9, so one owner's 10,000-job sweep does not hold up everyone's next job.
HIGH_PRIORITY, LOW_PRIORITY = 0, 9


def make_celery(settings: Settings) -> Celery:
    """A JSON-only Celery app on the settings' Redis."""
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set: run `fitq up` for the embedded Redis, "
                           "or point REDIS_URL at a Redis server")
    app = Celery("fitq", broker=settings.redis_url, set_as_current=False)
    app.conf.update(
        # JSON only, both ways: a pickled message is refused, nothing in it runs.
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        event_serializer="json",
        # The database holds every outcome; Celery keeps no results.
        task_ignore_result=True,
        # A message is acked after its job ran, and redelivered if the worker died mid-job.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=DEFAULT_QUEUE,
        # Each queue its own direct exchange and key, so a message lands in exactly one queue.
        task_queues=[Queue(q, Exchange(q, type="direct"), routing_key=q)
                     for q in KNOWN_QUEUES],
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout_s,
            # redis-py 8 defaults to a 5 s socket timeout; blocking reads need more.
            "socket_timeout": 30,
            "socket_connect_timeout": 5,
        },
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    return app


def enqueue(celery: Celery, job: Job) -> None:
    """Send the job id (nothing else) to the queue its device asks for, at the high priority."""
    send(celery, [job.id], _queue(job))


def send(celery: Celery, ids: list[str], queue: str, priority: int = HIGH_PRIORITY) -> None:
    """One message naming `ids` (at least one): they are claimed together and share a pass."""
    first, *rest = ids
    celery.send_task(RUN_FIT, args=[first, rest] if rest else [first], queue=queue, priority=priority)


def named(job_id: str, also: object, most: int) -> list[str]:
    """The other job ids a message names beside `job_id`, as the worker's task receives them: at most
    `most`, each a string other than `job_id`; anything else in `also` is ignored."""
    also = also if isinstance(also, (list, tuple)) else ()
    return [i for i in also if isinstance(i, str) and i != job_id][:most]


def job_ids(message: object) -> list[str]:
    """The job ids a raw message in Redis names (a Celery protocol 2 message: the JSON body,
    base64-encoded, is [args, kwargs, embed]); [] for a message that is not one of ours."""
    try:
        if isinstance(message, (str, bytes)):
            message = json.loads(message)
        args = json.loads(base64.b64decode(message["body"]))[0]  # type: ignore[index]
        more = args[1] if len(args) > 1 and isinstance(args[1], list) else []
        return [i for i in [args[0], *more] if isinstance(i, str)] if args else []
    except (ValueError, KeyError, IndexError, TypeError):
        return []


class Sendable(Protocol):
    """What a job's message is made of: a Job row, or a sweep's point as inserted."""

    @property
    def id(self) -> str: ...
    @property
    def variant(self) -> str: ...
    @property
    def params(self) -> dict: ...
    @property
    def timeout_s(self) -> int | None: ...


def enqueue_batches(celery: Celery, jobs: Iterable[Sendable], size: int, priority: int = HIGH_PRIORITY, *,
                    default_timeout_s: float) -> int:
    """Send jobs that can share a vectorised pass as messages of up to `size` ids each (one per job
    that runs alone); returns the number of messages. One message is the first id and a list of the
    rest, so a worker claims them together and a 1000-point sweep is 16 messages, not 1000. Jobs whose
    pass would take much of their time budget go in smaller messages (fits.batch_key.most_in_pass)."""
    groups: dict[tuple[str, int | None, tuple | str], list[str]] = {}
    most: dict[tuple[str, int | None, tuple | str], int] = {}
    for job in jobs:
        key: tuple | str | None = batch_key(job.variant, job.params)
        group = (_queue(job), job.timeout_s, job.id if key is None else key)  # alone: its own message
        if group not in most:
            device = "cuda" if job.params.get("device") == "cuda" else "cpu"  # auto: the CPU's, the lower
            most[group] = 1 if key is None else \
                min(max(1, size), most_in_pass(job.params, job.timeout_s or default_timeout_s, device))
        groups.setdefault(group, []).append(job.id)
    sent = 0
    for group, ids in groups.items():
        for start in range(0, len(ids), most[group]):
            send(celery, ids[start:start + most[group]], group[0], priority)
            sent += 1
    return sent


def _queue(job: Sendable) -> str:
    return QUEUE_FOR_DEVICE[job.params.get("device", "auto")]
