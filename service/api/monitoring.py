"""What operators watch: GET /metrics (Prometheus) and GET /api/v1/workers (the live workers)."""
import redis
from flask import Blueprint, Response, current_app, jsonify

from service import roster as workers
from service.api import metrics
from service.api.guards.auth import API_PREFIX
from service.api.problems import Problem

blueprint = Blueprint("monitoring", __name__)


@blueprint.get("/metrics")
def prometheus():
    """Job, queue and worker metrics in Prometheus's text format, counted from the database and Redis."""
    state = current_app.extensions["fitq"]
    with state.sessions() as session:
        return Response(metrics.scrape(session, state.redis), content_type=metrics.CONTENT_TYPE)


@blueprint.get(f"{API_PREFIX}/workers")
def live_workers():
    """The worker processes alive now: host, device, GPU, queues, current jobs, last heartbeat."""
    try:
        return jsonify(workers.live(current_app.extensions["fitq"].redis))
    except redis.RedisError as err:
        raise Problem(503, f"redis unreachable: {type(err).__name__}; the workers report there") from None
