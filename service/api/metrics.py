"""GET /metrics in Prometheus's text format, counted at scrape time from the database (the source of
truth, shared by every API process) and from Redis (queue lists, worker reports)."""
import time

import redis

from fits import catalog
from service import roster as workers
from service.queue import PRIORITY_SUFFIXES
from service.settings import KNOWN_QUEUES
from service.store import deliveries, stats
from service.store.models import JobStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DURATION_BOUNDS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600, 1800, 3600)
WAIT_BOUNDS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600)


def scrape(session, client) -> str:
    """The whole exposition."""
    start, out = time.perf_counter(), []
    counts, durations = stats.jobs_and_durations(session=session, bounds=DURATION_BOUNDS)
    variants = sorted({*catalog.VARIANTS, *(v for v, _ in counts)})
    _family(out, "fitq_jobs_submitted_total", "counter", "Jobs submitted, by variant.",
            [({"variant": v}, sum(n for (v2, _), n in counts.items() if v2 == v)) for v in variants])
    _family(out, "fitq_jobs_finished_total", "counter", "Jobs that reached a final status, by variant, status.",
            [({"variant": v, "status": s}, counts.get((v, s), 0)) for v in variants for s in stats.FINISHED])
    _family(out, "fitq_jobs", "gauge", "Jobs queued or running now, by variant and status.",
            [({"variant": v, "status": s.value}, counts.get((v, s.value), 0)) for v in variants
             for s in (JobStatus.QUEUED, JobStatus.RUNNING)])
    _histogram(out, "fitq_job_duration_seconds", "The fit's own run time of finished jobs, by variant.",
               "variant", durations, DURATION_BOUNDS)
    _histogram(out, "fitq_job_queue_wait_seconds",
               "Seconds from submission to the start of the run that finished the job, by its device.",
               "device", stats.queue_waits(session=session, bounds=WAIT_BOUNDS), WAIT_BOUNDS)
    _family(out, "fitq_webhooks", "gauge", "Webhook deliveries by state: pending (still retried), delivered, failed.",
            [({"state": state}, n) for state, n in deliveries.by_state(session=session).items()])
    try:
        depths, reports = _queue_depths(client), workers.live(client)
    except redis.RedisError:
        depths = reports = None  # the database's numbers still stand
    _family(out, "fitq_redis_up", "gauge", "1 if Redis answered this scrape, else 0.",
            [({}, 0 if depths is None else 1)])
    if depths is not None:
        _family(out, "fitq_queue_depth", "gauge", "Messages waiting in each queue (not yet delivered).",
                [({"queue": q}, depths[q]) for q in KNOWN_QUEUES])
        devices = sorted({"cpu", "cuda", *(str(w.get("device")) for w in reports)})
        _family(out, "fitq_workers", "gauge", "Live worker processes that run jobs, by device.",
                [({"device": d}, sum(1 for w in reports if w.get("device") == d)) for d in devices])
        _family(out, "fitq_queue_consumers", "gauge", "Live worker processes consuming each queue.",
                [({"queue": q}, sum(1 for w in reports if q in w.get("queues", ()) and not w.get("stopping")))
                 for q in KNOWN_QUEUES])
    _family(out, "fitq_metrics_scrape_seconds", "gauge", "How long this scrape took to count.",
            [({}, round(time.perf_counter() - start, 6))])
    return "\n".join(out) + "\n"


def _queue_depths(client) -> dict:
    pipe = client.pipeline(transaction=False)
    for queue in KNOWN_QUEUES:
        for suffix in PRIORITY_SUFFIXES:  # kombu keeps each priority in a list of its own
            pipe.llen(queue + suffix)
    lengths = iter(pipe.execute())
    return {q: sum(next(lengths) for _ in PRIORITY_SUFFIXES) for q in KNOWN_QUEUES}


def _family(out, name, kind, help_text, samples):
    out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    out += [f"{name}{_labels(labels)} {_number(value)}" for labels, value in samples]


def _histogram(out, name, help_text, label, rows, bounds):
    out += [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
    for value in sorted(rows):
        cumulative, count, total = rows[value]
        for bound, n in zip(bounds, cumulative):
            out.append(f"{name}_bucket{_labels({label: value, 'le': _number(bound)})} {n}")
        out.append(f"{name}_bucket{_labels({label: value, 'le': '+Inf'})} {count}")
        out.append(f"{name}_sum{_labels({label: value})} {_number(total)}")
        out.append(f"{name}_count{_labels({label: value})} {count}")


def _labels(labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _escape(value) -> str:
    # The text format's three escapes inside a label value.
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value) -> str:
    return repr(float(value)) if isinstance(value, float) and not value.is_integer() else str(int(value))
