"""The roster of live workers in Redis: written by each worker process, read by the API and the CLI,
and what it means for a job still waiting."""
import json
import time
import weakref

import redis

from service.queue import QUEUE_FOR_DEVICE
from service.store.models import JobStatus

# One key per process that runs jobs (a solo worker, or each prefork pool process); it expires
# STALE_AFTER_S after the last refresh, so a worker that died unannounced drops out on its own.
PREFIX = "fitq:worker:"
# What to start when nothing serves a queue.
REMEDY = {"gpu": "start a GPU worker (WORKER_QUEUES with gpu, e.g. fitq,gpu)",
          "cpu": "start a CPU worker (WORKER_QUEUES with cpu, e.g. fitq,cpu)",
          "fitq": "start a worker (`fitq worker`)"}
QUIET_S = 30
_quiet_until = weakref.WeakKeyDictionary()  # Redis client -> when to ask it again after a failure


def key(name, pid) -> str:
    """The Redis key of one worker process."""
    return f"{PREFIX}{name}:{pid}"


def write(client, at: str, report: dict, ttl_s: float) -> None:
    """Write one process's report at its key; it expires `ttl_s` later unless written again."""
    client.set(at, json.dumps(report), px=int(ttl_s * 1000))


def remove(client, at: str) -> None:
    """Remove one process's report (a clean exit)."""
    client.delete(at)


def live(client) -> list[dict]:
    """Every live worker process's report, sorted by name and pid."""
    keys = sorted(client.scan_iter(match=PREFIX + "*", count=1000))
    if not keys:
        return []
    found = []
    for raw in client.mget(keys):
        if raw is None:  # expired between the scan and the read
            continue
        try:
            found.append(json.loads(raw))
        except ValueError:
            continue  # not one of ours
    return sorted(found, key=lambda w: (str(w.get("name")), w.get("pid") or 0))


def consumed(reports) -> set:
    """The queues some live worker consumes; a worker that is stopping takes nothing new."""
    return {q for w in reports if not w.get("stopping") for q in w.get("queues", ())}


def consumed_now(client):
    """consumed(live(client)), or None when Redis cannot be asked (then nothing can be said). After a
    failure it is not asked again for QUIET_S: one stalled request, not one per job shown."""
    if time.monotonic() < _quiet_until.get(client, 0.0):
        return None
    try:
        return consumed(live(client))
    except redis.RedisError:
        _quiet_until[client] = time.monotonic() + QUIET_S
        return None


def notice(job, queues) -> str | None:
    """Why a queued job may wait forever: no live worker consumes its queue. None when one does,
    when the job is not queued, or when `queues` is None (unknown)."""
    if queues is None or job.status != JobStatus.QUEUED.value:
        return None
    queue = QUEUE_FOR_DEVICE.get((job.params or {}).get("device", "auto"))
    if queue is None or queue in queues:
        return None
    return f"no live worker consumes queue {queue}: {REMEDY[queue]}; the job waits until one is up"
