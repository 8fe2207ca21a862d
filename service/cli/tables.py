"""Jobs and workers as text for the terminal: a listing grid, a job's record, jobs side by side, and
the live workers."""
from datetime import datetime


def number(value, digits=8):
    """A value as people read it: floats to `digits` significant digits, '-' for none."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def seconds(value):
    """A duration in seconds, '-' for none."""
    if value is None:
        return "-"
    return f"{value} s" if isinstance(value, int) else f"{value:.3f} s"


def moment(iso):
    """An API timestamp (2026-11-27T05:39:11.270803Z) to the second, '-' for none."""
    return "-" if not iso else iso[:19].replace("T", " ") + " UTC"


def grid(rows):
    """Lines of a table whose first row is the header; columns two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]


def record(pairs):
    """Lines of `label  value`, the values lined up; pairs whose value is None are left out."""
    kept = [(label, value) for label, value in pairs if value is not None]
    width = max(len(label) for label, _ in kept)
    return [f"{label.ljust(width)}  {value}" for label, value in kept]


def assignments(mapping):
    """{name: value} as `name=value` pairs on one line."""
    return "  ".join(f"{k}={number(v)}" for k, v in (mapping or {}).items()) or "-"


def outcome(job):
    """A finished job's result as (label, value) pairs: the fit, or the error that stopped it."""
    result, error = job.get("result"), job.get("error")
    pairs = []
    if result and job["status"] == "succeeded":  # a diverged fit's numbers are NaN: its error says more
        pairs += [("final loss", number(result.get("final_loss"))),
                  ("duration", seconds(result.get("duration_s"))),
                  ("device", job.get("device") or result.get("device")),
                  ("coefficients", assignments(result.get("coefficients"))), ("formula", result.get("formula"))]
    if error:
        pairs.append(("error", f"{error.get('type')}: {error.get('message')}"))
    return pairs


def result_lines(job):
    """The table `fitq submit --wait` prints: status, loss, duration, device, coefficients, formula."""
    return record([("job", job["id"]), ("variant", job["variant"]), ("status", job["status"]), *outcome(job)])


def best_lines(job):
    """The table `fitq sweep --wait` prints of the best job: the result's, with its params and relative excess."""
    result = job.get("result") or {}
    return record([("job", job["id"]), ("variant", job["variant"]), ("status", job["status"]),
                   ("params", assignments(job.get("params"))),
                   ("relative excess", number(result.get("relative_excess_loss"))), *outcome(job)])


def job_lines(job):
    """Everything `fitq show` prints about one job."""
    progress, result = job.get("progress") or {}, job.get("result") or {}
    history = result.get("loss_history") or []
    return record([
        ("job", job["id"]), ("variant", job["variant"]), ("status", job["status"]),
        ("notice", job.get("notice")), ("params", assignments(job.get("params"))),
        ("progress", f"step {progress.get('step')} of {progress.get('steps')}"),
        ("created", moment(job.get("created_at"))), ("started", moment(job.get("started_at"))),
        ("finished", moment(job.get("finished_at"))), ("attempts", number(job.get("attempts"))),
        ("worker", job.get("worker") or "-"), ("timeout", seconds(job.get("timeout_s"))),
        ("sweep", job.get("sweep_id")), *outcome(job),
        ("polynomial", "  ".join(map(number, result["polynomial"])) if result.get("polynomial") else None),
        ("history", f"{len(history)} points, step {history[0]['step']} to {history[-1]['step']}"
         if history else None)])


def listing_lines(items):
    """The table `fitq jobs` prints, one row a job."""
    rows = [("ID", "VARIANT", "STATUS", "PROGRESS", "FINAL LOSS", "DURATION", "DEVICE", "CREATED")]
    for job in items:
        progress, result = job.get("progress") or {}, job.get("result") or {}
        rows.append((job["id"], job["variant"], job["status"],
                     f"{progress.get('step')}/{progress.get('steps')}",
                     number(result.get("final_loss")), seconds(result.get("duration_s")),
                     job.get("device") or "-", moment(job.get("created_at"))))
    return grid(rows)


def compare_lines(items):
    """The table `fitq compare` prints: one column a job, one row a field, params and coefficients."""
    def row(label, value_of):
        return (label, *(number(value_of(item)) for item in items))

    params = list(dict.fromkeys(name for item in items for name in item.get("params") or {}))
    coefficients = list(dict.fromkeys(name for item in items for name in item.get("coefficients") or {}))
    degree = max(len(item.get("polynomial") or ()) for item in items)
    return grid([
        ("", *(item["id"] for item in items)), row("variant", lambda i: i["variant"]),
        row("status", lambda i: i["status"]),
        *(row(name, lambda i, n=name: (i.get("params") or {}).get(n)) for name in params),
        row("final loss", lambda i: i.get("final_loss")),
        row("optimum loss", lambda i: (i.get("optimum") or {}).get("loss")),
        row("gap", lambda i: i.get("gap")), row("relative gap", lambda i: i.get("relative_excess_loss")),
        row("ratio", lambda i: i.get("ratio")),
        ("duration", *(seconds(i.get("duration_s")) for i in items)),
        row("ran on", lambda i: i.get("device")),
        *(row(name, lambda i, n=name: (i.get("coefficients") or {}).get(n)) for name in coefficients),
        *(row(f"c{k}", lambda i, k=k: _nth(i.get("polynomial"), k)) for k in range(degree))])


def _nth(values, k):
    return values[k] if values and k < len(values) else None


def workers_table(reports, now) -> list[str]:
    """The reports as the lines of a table for `fitq workers`; `now` is an aware datetime."""
    rows = [("NAME", "PID", "DEVICE", "QUEUES", "JOBS", "HEARTBEAT", "UP SINCE")]
    for w in reports:
        device = f"{w.get('device')} ({w['gpu']})" if w.get("gpu") else str(w.get("device"))
        jobs = ",".join(w.get("jobs") or ()) or "-"
        rows.append((str(w.get("name")), str(w.get("pid")), device, ",".join(w.get("queues") or ()),
                     jobs + (" (stopping)" if w.get("stopping") else ""),
                     _ago(w.get("heartbeat_at"), now), str(w.get("started_at"))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


def _ago(stamp, now) -> str:
    try:
        seconds = (now - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds()
    except (AttributeError, ValueError):
        return "?"
    return f"{max(0.0, seconds):.0f}s ago"
