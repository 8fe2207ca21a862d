"""The charts drawn from stored results: a job's loss curve, its fit against sin(x), and an overlay."""
import math

from service.api.results import svg
from service.api.results.polynomial import finite_value
from service.store.models import JobStatus

FIT_POINTS = 241  # x values in [-pi, pi] the fit and sin(x) are drawn through
FIT_LIMIT = 10.0  # the fit chart's y range stops here, so a wild fit leaves sin(x) readable
PI_TICKS = ((-math.pi, "-\u03c0"), (-math.pi / 2, "-\u03c0/2"), (0.0, "0"), (math.pi / 2, "\u03c0/2"),
            (math.pi, "\u03c0"))
LOSS_TITLE = "loss (sum of squares, log scale)"


def missing(job) -> str | None:
    """Why `job` has no loss curve to draw, or None when it has one."""
    if job.result is None:
        return f"job {job.id} is {job.status}: no result" + ("" if JobStatus(job.status).finished else " yet")
    if not job.result["loss_history"]:
        return f"no loss history: {job.variant} solves in one step (loss {_loss(job.result['final_loss'])})"
    return None


def loss_chart(job) -> str:
    """The job's loss against step on a log scale; a divergence is marked where it happened."""
    title = f"Loss of {job.variant} job {job.id}"
    reason = missing(job)
    if reason:
        return svg.empty(title, reason)
    series = [svg.Series("loss", _curve(job))]
    return _losses_chart(title, series, _diverged([job]), legend=False, reference=_optimum([job]))


def losses_chart(jobs) -> str:
    """Several jobs' loss curves over each other, each labelled with what sets it apart."""
    title = f"Loss of {len(jobs)} jobs"
    labels = _labels(jobs)
    series = [svg.Series(label + (f" ({missing(job)})" if missing(job) else ""),
                         [] if missing(job) else _curve(job), i)
              for i, (job, label) in enumerate(zip(jobs, labels))]
    return _losses_chart(title, series, _diverged(jobs, short=True), legend=True, reference=_optimum(jobs))


def fit_chart(job) -> str:
    """The fitted power-basis polynomial against sin(x) over [-pi, pi]."""
    title = f"Fit of {job.variant} job {job.id}"
    if job.result is None:
        return svg.empty(title, missing(job))
    xs = [-math.pi + 2 * math.pi * i / (FIT_POINTS - 1) for i in range(FIT_POINTS)]
    target = [(x, math.sin(x)) for x in xs]
    polynomial = job.result["polynomial"]
    fitted = [(x, finite_value(polynomial, x)) for x in xs]
    label = "expected fit over the random order" if job.variant == "dynamic" else "fit"
    shown = [y for _, y in target + fitted if y is not None and abs(y) <= FIT_LIMIT]
    notes = []
    if any(c is None for c in polynomial):
        notes.append("the fit's coefficients are not finite: only sin(x) is drawn")
    elif any(y is None or abs(y) > FIT_LIMIT for _, y in fitted):
        notes.append(f"where the fit passes \u00b1{FIT_LIMIT:g} it leaves the chart")
    x_axis = svg.Axis(-math.pi, math.pi, "x", ticks=PI_TICKS)
    y_axis = svg.linear_axis(shown, "y", pad=0.1)
    series = [svg.Series("sin(x)", target, 0), svg.Series(f"{job.variant} {label}", fitted, 1)]
    return svg.chart(title, x_axis, y_axis, series, notes)


def _losses_chart(title, series, notes, legend, reference=None):
    steps = [x for s in series for x, _ in s.points]
    positive = [y for s in series for _, y in s.points if y is not None and y > 0]
    if not positive:
        return svg.empty(title, notes[0] if len(notes) == 1 else
                         "no finite, positive loss to draw on a log scale")
    # The axis takes in the optimum too, so the line shows how far above it the curve ends.
    y_axis = svg.log_axis(positive + ([reference.value] if reference else []), LOSS_TITLE)
    return svg.chart(title, svg.linear_axis(steps, "step", whole=True), y_axis, series, notes, legend=legend,
                     reference=reference)


def _optimum(jobs):
    # The least-squares optimum the worker stored, when the jobs shown share one (same points) and it is
    # positive (a log axis; below four points it is 0); results written before it have none.
    values = {(job.result or {}).get("optimum_loss") for job in jobs if not missing(job)}
    if len(values) != 1:
        return None
    (value,) = values
    if value is None or not value > 0:
        return None
    return svg.Reference(value, f"least-squares optimum {value:.6g}")


def _curve(job):
    return [(p["step"], p["loss"]) for p in job.result["loss_history"]]


def _diverged(jobs, short=False):
    # A null loss is where the loop stopped: the loss was no longer finite.
    notes = []
    for job in jobs:
        history = (job.result or {}).get("loss_history") or []
        if history and history[-1]["loss"] is None:
            who = f"{job.variant} {job.id[-6:]}: " if short else ""
            notes.append(f"{who}diverged, the loss was not finite by step {history[-1]['step']}")
    return notes


def _labels(jobs):
    # The variant, the end of the id (its start is a timestamp, shared by jobs made together), and
    # every parameter that differs between the jobs shown.
    keys = sorted({k for job in jobs for k in job.params})
    differing = [k for k in keys if len({repr(job.params.get(k)) for job in jobs}) > 1]
    return [" ".join([job.variant, job.id[-6:], *(f"{k}={job.params[k]}" for k in differing
                                                   if k in job.params)]) for job in jobs]


def _loss(value):
    return "not finite" if value is None else f"{value:.6g}"

