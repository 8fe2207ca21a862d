"""The HTTP API, v1: variants, jobs, and the health probes."""
import logging
from dataclasses import replace

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from service.api import inputs, listing, stability, wakeups
from service.api.document import job_document, sweep_document
from service.api.guards import quota, tenancy
from service.api.openapi import document as openapi_document
from service.api.problems import Problem, problem_response
from service.queue import HIGH_PRIORITY, LOW_PRIORITY, enqueue, enqueue_batches
from service.roster import consumed_now
from service.store import jobs, query, sweeps
from service.store.models import JobStatus

blueprint = Blueprint("api", __name__)
probes = Blueprint("probes", __name__)
log = logging.getLogger(__name__)


def _state():
    return current_app.extensions["fitq"]


def _found(session, job_id):
    job = jobs.get(session=session, job_id=job_id) if jobs.is_id(job_id) else None
    if not tenancy.visible(job):  # another owner's job reads as no job: its id tells nothing
        raise Problem(404, f"no job with id {job_id!r}", field="id")
    return job


def _queues(*rows):
    # The queues live workers consume, asked of Redis only when one of these jobs still waits.
    if any(row.status == JobStatus.QUEUED.value for row in rows):
        return consumed_now(_state().redis)
    return None


@blueprint.get("/variants")
def variants():
    """The variant catalogue with each variant's defaults."""
    return jsonify(stability.variants())


@blueprint.post("/jobs")
def submit():
    """Record a queued job, then enqueue it; 202 with its Location."""
    state = _state()
    variant, params, requested, timeout_s, callback_url = inputs.submission(state.settings)
    key, owner = inputs.idempotency_key(), tenancy.caller().owner
    with state.sessions() as session:
        try:
            if key is None or jobs.by_key(session=session, owner=owner, key=key) is None:
                quota.admit(session, 1, params.get("steps", 1) * params["samples"])
            job, created = jobs.create(session=session, variant=variant, params=params, owner=owner,
                                       requested=requested, idempotency_key=key, timeout_s=timeout_s,
                                       callback_url=callback_url)
        except jobs.IdempotencyConflict as err:
            raise Problem(409, f"this Idempotency-Key was used for job {err.job.id} with a different "
                               "request", field="Idempotency-Key", job_id=err.job.id) from None
    # A replay of a job that is still queued is sent again: its first send may have failed, and a
    # duplicate delivery is harmless (the worker's claim skips a job that is not queued any more).
    if created or job.status == JobStatus.QUEUED.value:
        try:
            enqueue(state.celery, job)
        except Exception as err:  # the row is committed: the job is recorded, only delivery failed
            log.warning("enqueue of job %s failed: %s", job.id, err, extra={"job_id": job.id})
            raise Problem(503, f"job {job.id} is recorded but the queue is unreachable; "
                               "it stays queued", job_id=job.id) from None
        log.info("job %s queued: %s", job.id, job.variant, extra={"job_id": job.id})
    # Accepted all the same: a warning says what to expect, the user may mean it (or study divergence).
    # Only when there is one, so that a plain 202 stays the job document GET /jobs/<id> shows.
    warnings = stability.job_warnings(job.variant, job.params)
    response = jsonify({**job_document(job, _queues(job)), **({"warnings": warnings} if warnings else {})})
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@blueprint.get("/jobs/<job_id>")
def show(job_id):
    """One job."""
    with _state().sessions() as session:
        job = _found(session, job_id)
        return jsonify(job_document(job, _queues(job)))


@blueprint.get("/jobs")
def index():
    """Jobs, filtered and sorted (newest first by default), a page at a time."""
    q = listing.listing_query()
    filters = replace(q["filters"], owner=tenancy.readable_owner())
    with _state().sessions() as session:
        rows, after = query.page(session=session, filters=filters, order=q["order"],
                                 limit=q["limit"], after=q["after"])
        cursor = listing.encode_cursor(after, q["order"]) if after else None
        queues = _queues(*rows)
        return jsonify({"items": [job_document(j, queues) for j in rows], "next_cursor": cursor})


@blueprint.post("/sweeps")
def create_sweep():
    """Record a sweep and one queued job per grid point, then enqueue them; 202 with its Location."""
    state = _state()
    variant, base, grid, points, timeout_s, callback_url, search = inputs.sweep_submission(state.settings)
    if search is not None:
        return _create_search(state, variant, base, timeout_s, callback_url, search)
    # A small sweep goes at a single job's priority; a large one waits behind both (service/queue.py).
    priority = HIGH_PRIORITY if len(points) <= state.settings.small_sweep_jobs else LOW_PRIORITY
    with state.sessions() as session:
        quota.admit(session, len(points), sum(p.get("steps", 1) * p["samples"] for p in points))
        sweep, made = sweeps.create(session=session, variant=variant, params=base, grid=grid,
                                    points=points, timeout_s=timeout_s, owner=tenancy.caller().owner,
                                    callback_url=callback_url)
        try:
            enqueue_batches(state.celery, made, state.settings.batch_size, priority=priority,
                            default_timeout_s=state.settings.default_timeout_s)
        except Exception as err:  # committed: the sweeper sends whatever did not go out
            log.warning("enqueue of sweep %s failed: %s", sweep.id, err)
            raise Problem(503, f"sweep {sweep.id} is recorded but the queue is unreachable; its jobs "
                               "stay queued and are sent once it is back", sweep_id=sweep.id) from None
        document = sweep_document(sweep, sweeps.counts(session=session, sweep_id=sweep.id), None)
    warnings = stability.sweep_warnings(variant, points)
    response = jsonify({**document, **({"warnings": warnings} if warnings else {})})
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/sweeps/{sweep.id}"
    return response


def _create_search(state, variant, base, timeout_s, callback_url, search):
    # A random or tpe sweep: recorded with no trial yet; the sweeper asks Optuna for them, in batches.
    strategy = search.pop("strategy")
    with state.sessions() as session:
        planned = search["base"].get("steps", 1) * search["base"].get("samples", 1)
        quota.admit(session, min(search["trials"], search["parallelism"]),
                    min(search["trials"], search["parallelism"]) * planned)
        sweep = sweeps.create_search(session=session, variant=variant, params=base, strategy=strategy,
                                     search=search, timeout_s=timeout_s, owner=tenancy.caller().owner,
                                     callback_url=callback_url)
        document = sweep_document(sweep, sweeps.counts(session=session, sweep_id=sweep.id), None)
    response = jsonify(document)
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/sweeps/{sweep.id}"
    return response


@blueprint.get("/sweeps/<sweep_id>")
def show_sweep(sweep_id):
    """One sweep: its jobs' counts by status and its best job so far."""
    with _state().sessions() as session:
        sweep = sweeps.get(session=session, sweep_id=sweep_id) if jobs.is_id(sweep_id) else None
        if not tenancy.visible(sweep):
            raise Problem(404, f"no sweep with id {sweep_id!r}", field="id")
        return jsonify(sweep_document(sweep, sweeps.counts(session=session, sweep_id=sweep.id),
                                      sweeps.best_of(session=session, sweep=sweep)))


@blueprint.post("/jobs/<job_id>/cancel")
def cancel(job_id):
    """Cancel a queued or running job; 409 if it had already finished."""
    with _state().sessions() as session:
        tenancy.may_change(_found(session, job_id))
        job, changed = jobs.cancel(session=session, job_id=job_id)
        if not changed:
            raise Problem(409, f"job {job_id} already {job.status}; nothing to cancel",
                          field="id", job=job_document(job))
        wakeups.wake(_state().redis, job)
        return jsonify(job_document(job))


@blueprint.get("/whoami")
def whoami():
    """The caller's owner and scopes: what its token may do."""
    return jsonify(tenancy.whoami())


@blueprint.get("/openapi.json")
def openapi():
    """This API's OpenAPI document, built from the checks that validate requests."""
    return jsonify(openapi_document(current_app))


@probes.get("/healthz")
@blueprint.get("/healthz")
def healthz():
    """The process is up."""
    return jsonify({"status": "ok"})


@probes.get("/readyz")
@blueprint.get("/readyz")
def readyz():
    """The database and Redis both answer."""
    state, checks = _state(), {}
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as err:
        checks["database"] = f"unreachable: {type(err).__name__}"
    try:
        state.redis.ping()
        checks["redis"] = "ok"
    except Exception as err:
        checks["redis"] = f"unreachable: {type(err).__name__}"
    if all(v == "ok" for v in checks.values()):
        return jsonify({"status": "ok", **checks})
    return problem_response(503, "; ".join(f"{k} {v}" for k, v in checks.items() if v != "ok"),
                            checks=checks)
