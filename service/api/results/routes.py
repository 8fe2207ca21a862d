"""The HTTP API, v1, on what jobs produced: loss history export, compare, predict and plots (a sweep's too)."""
from flask import Blueprint, Response, current_app, jsonify, request

from fits.params import MAX_HISTORY_POINTS
from service.api.guards import tenancy
from service.api.listing import NUMBER, bounded
from service.api.problems import Problem
from service.api.results import plots
from service.api.results.best import best_chart
from service.api.results.compare import compared
from service.api.results.history import csv_text, downsample
from service.api.results.polynomial import finite_value
from service.store import jobs, query, sweeps
from service.store.models import JobStatus

blueprint = Blueprint("results", __name__)

FORMATS = ("json", "csv")
MAX_COMPARE = 50  # jobs side by side in one compare
MAX_OVERLAY = 20  # curves in one chart: ten colours, then the same ten dashed
MAX_X = 1000  # points one predict evaluates
SVG = "image/svg+xml"
# A plot opened on its own is a document of this origin: nothing in it may run, load or be framed.
# Its look is presentation attributes only, so no style source is needed either.
SVG_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


@blueprint.get("/jobs/<job_id>/history")
def history(job_id):
    """A job's loss history as JSON or CSV, downsampled to at most max_points."""
    _only("max_points", "format")
    most = bounded(request.args.get("max_points"), None, 2, MAX_HISTORY_POINTS, "max_points")
    form = request.args.get("format", FORMATS[0])
    if form not in FORMATS:
        raise Problem(400, f"must be one of {', '.join(FORMATS)}", field="format")
    job = _with_result(job_id, "no loss history")
    points = job.result["loss_history"]
    kept = points if most is None else downsample(points, most)
    if form == "csv":
        response = Response(csv_text(kept), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="fitq-{job.id}-history.csv"'
        return response
    return jsonify({"id": job.id, "status": job.status, "points": len(points),
                    "downsampled": len(kept) < len(points), "loss_history": kept})


@blueprint.get("/jobs/<job_id>/predict")
def predict(job_id):
    """The job's fitted power-basis polynomial evaluated at each x."""
    _only("x")
    xs = _numbers("x", MAX_X)
    job = _with_result(job_id, "no fitted polynomial")
    polynomial = job.result["polynomial"]
    return jsonify({"id": job.id, "variant": job.variant, "polynomial": polynomial, "x": xs,
                    "y": [finite_value(polynomial, x) for x in xs]})


@blueprint.get("/compare")
def compare():
    """Jobs side by side, each with its gap to the least-squares optimum on the same data."""
    _only("ids")
    return jsonify({"items": [compared(job) for job in _jobs(MAX_COMPARE)]})


@blueprint.get("/jobs/<job_id>/plots/loss.svg")
def loss_plot(job_id):
    """The job's loss curve on a log scale (SVG)."""
    _only()
    return _svg(plots.loss_chart(_job(job_id)))


@blueprint.get("/jobs/<job_id>/plots/fit.svg")
def fit_plot(job_id):
    """The job's fitted polynomial against sin(x) over [-pi, pi] (SVG)."""
    _only()
    return _svg(plots.fit_chart(_job(job_id)))


@blueprint.get("/plots/losses.svg")
def losses_plot():
    """Several jobs' loss curves over each other, with a legend (SVG)."""
    _only("ids")
    return _svg(plots.losses_chart(_jobs(MAX_OVERLAY)))


@blueprint.get("/sweeps/<sweep_id>/plots/best.svg")
def best_plot(sweep_id):
    """The best relative excess loss of a sweep's trials against how many have finished, with its target (SVG)."""
    _only()
    with current_app.extensions["fitq"].sessions() as session:
        sweep = sweeps.get(session=session, sweep_id=sweep_id) if jobs.is_id(sweep_id) else None
        if not tenancy.visible(sweep):
            raise Problem(404, f"no sweep with id {sweep_id!r}", field="id")
        return _svg(best_chart(sweep, sweeps.outcomes(session=session, sweep_id=sweep.id)))


def _only(*names):
    for key in request.args:
        if key not in names:
            allowed = f"allowed: {', '.join(names)}" if names else "this route takes none"
            raise Problem(400, f"unknown query parameter; {allowed}", field=key)


def _job(job_id):
    with current_app.extensions["fitq"].sessions() as session:
        job = jobs.get(session=session, job_id=job_id) if jobs.is_id(job_id) else None
    if not tenancy.visible(job):
        raise Problem(404, f"no job with id {job_id!r}", field="id")
    return job


def _with_result(job_id, what):
    job = _job(job_id)
    if job.result is None:
        later = "" if JobStatus(job.status).finished else " yet"
        raise Problem(409, f"job {job.id} is {job.status}: it has {what}{later}", field="id")
    return job


def _jobs(most):
    # ids=a,b,c (or ids repeated): each a job id, and a job; one listed twice is shown twice.
    raw = ",".join(request.args.getlist("ids"))
    ids = raw.split(",") if raw else []
    if not 1 <= len(ids) <= most:
        raise Problem(400, f"give 1 to {most} job ids, comma-separated", field="ids")
    bad = next((i for i in ids if not jobs.is_id(i)), None)
    if bad is not None:
        raise Problem(400, f"{bad[:40]!r} is not a job id", field="ids")
    with current_app.extensions["fitq"].sessions() as session:
        found = {i: job for i, job in query.by_ids(session=session, ids=ids).items() if tenancy.visible(job)}
    unknown = list(dict.fromkeys(i for i in ids if i not in found))
    if unknown:
        raise Problem(404, f"no job with id {', '.join(unknown)}", field="ids", unknown=unknown)
    return [found[i] for i in ids]


def _numbers(field, most):
    # x=0.5,1.0 or x=0.5&x=1.0: decimal numbers (NUMBER's digits are bounded, so each is finite).
    raw = ",".join(request.args.getlist(field))
    texts = raw.split(",") if raw else []
    if not 1 <= len(texts) <= most:
        raise Problem(400, f"give 1 to {most} numbers, comma-separated", field=field)
    bad = next((t for t in texts if not NUMBER.fullmatch(t)), None)
    if bad is not None:
        raise Problem(400, f"{bad[:40]!r} is not a decimal number like -1.5 or 2e-3", field=field)
    return [float(t) for t in texts]


def _svg(text):
    response = Response(text, mimetype=SVG)
    response.headers["Content-Security-Policy"] = SVG_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
