"""A sweep's progress as a chart: the best relative excess loss among the trials finished so far, against
how many have finished, with the search's stop_at_excess target drawn across it."""
from service.api.results import svg
from service.store.models import JobStatus

Y_TITLE = "best relative excess loss (log scale)"


def best_chart(sweep, outcomes) -> str:
    """`outcomes`: (status, relative excess loss) of each finished trial, in the order they finished. Trial
    n's point is the lowest relative excess of the succeeded trials among the first n (none before the
    first success), as the sweep's `best` ranks them."""
    title = f"Best relative excess loss of sweep {sweep.id}"
    target = (sweep.search or {}).get("stop_at_excess")
    if not outcomes:
        return svg.empty(title, "no trial has finished yet")
    best, points = None, []
    for n, (status, excess) in enumerate(outcomes, 1):
        if status == JobStatus.SUCCEEDED.value and excess is not None and (best is None or excess < best):
            best = excess
        points.append((n, best))
    positive = [y for _, y in points if y is not None and y > 0]
    if not positive:
        why = "no trial has succeeded yet" if best is None else "the best trial is at or below the optimum"
        return svg.empty(title, f"{why} ({len(outcomes)} finished): nothing to draw on a log scale")
    notes = []
    if best is not None and best <= 0:
        notes.append(f"from trial {_first_at_or_below(points)} the best is at or below the optimum: off the log scale")
    reference = None
    if target is not None and target > 0:
        reference = svg.Reference(target, f"target (stop_at_excess) {target:g}")
    elif target is not None:
        notes.append("the target (stop_at_excess 0) is off the log scale")
    y_axis = svg.log_axis(positive + ([reference.value] if reference else []), Y_TITLE)
    x_axis = svg.linear_axis([n for n, _ in points], "trials finished", whole=True)
    return svg.chart(title, x_axis, y_axis, [svg.Series("best so far", points)], notes, legend=False,
                     reference=reference)


def _first_at_or_below(points):
    return next(n for n, y in points if y is not None and y <= 0)
