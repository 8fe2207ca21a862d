"""The HTTP API, v1, on webhooks: each delivery of a job's or a sweep's end, with its attempts."""
from flask import Blueprint, current_app, jsonify

from service.api.guards import tenancy
from service.api.problems import Problem
from service.clock import iso
from service.store import deliveries, jobs, sweeps
from service.store.models import DeliveryState

blueprint = Blueprint("webhooks", __name__)


@blueprint.get("/jobs/<job_id>/deliveries")
def job_deliveries(job_id):
    """A job's webhook deliveries and each attempt's time and status code."""
    with current_app.extensions["fitq"].sessions() as session:
        job = jobs.get(session=session, job_id=job_id) if jobs.is_id(job_id) else None
        if not tenancy.visible(job):
            raise Problem(404, f"no job with id {job_id!r}", field="id")
        return _listing(deliveries.of(session=session, job_id=job.id))


@blueprint.get("/sweeps/<sweep_id>/deliveries")
def sweep_deliveries(sweep_id):
    """A sweep's webhook delivery (sent when its last job ends) and each attempt's time and status code."""
    with current_app.extensions["fitq"].sessions() as session:
        sweep = sweeps.get(session=session, sweep_id=sweep_id) if jobs.is_id(sweep_id) else None
        if not tenancy.visible(sweep):
            raise Problem(404, f"no sweep with id {sweep_id!r}", field="id")
        return _listing(deliveries.of(session=session, sweep_id=sweep.id))


def _listing(found):
    return jsonify({"items": [{
        "id": d.id, "url": d.url, "state": d.state, "created_at": iso(d.created_at),
        "next_attempt_at": iso(d.next_attempt_at) if d.state == DeliveryState.PENDING.value else None,
        "attempts": [{"at": iso(a.at), "status_code": a.status_code, "error": a.error, "excerpt": a.excerpt}
                     for a in attempts]} for d, attempts in found]})
