"""A job's loss history: downsampled for charts and written as CSV."""
import csv
import io


def downsample(points: list, max_points: int) -> list:
    """At most `max_points` of the history points ({step, loss}), in step order: the first, the last,
    and in between the lowest and the highest loss of each of equal buckets of points.

    Min/max per bucket (rather than LTTB, or one point per bucket) keeps the envelope: every spike
    and dip of a noisy curve (RMSprop's, a divergence) is still drawn, and a monotone curve keeps
    its shape. A null loss (not finite) counts as the highest, so a divergence is never dropped.
    """
    if len(points) <= max_points:
        return list(points)
    inner, buckets = points[1:-1], (max_points - 2) // 2
    kept = []
    for b in range(buckets):
        bucket = inner[b * len(inner) // buckets:(b + 1) * len(inner) // buckets]
        low, high = min(bucket, key=_rank), max(bucket, key=_rank)
        kept += [low] if low is high else sorted((low, high), key=lambda p: p["step"])
    return [points[0], *kept, points[-1]]


def _rank(point):
    # A null loss ranks above every number.
    return (point["loss"] is None, point["loss"] or 0.0)


def csv_text(points: list) -> str:
    """'step,loss' and one row per point; a null loss (not finite) is an empty field."""
    out = io.StringIO()
    writer = csv.writer(out)  # CRLF line ends, as RFC 4180 says
    writer.writerow(("step", "loss"))
    writer.writerows((p["step"], "" if p["loss"] is None else repr(p["loss"])) for p in points)
    return out.getvalue()
