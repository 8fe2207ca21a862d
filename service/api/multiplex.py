"""One stream of many jobs (the dashboard's list): a browser opens at most six HTTP/1.1 connections to a
host, so the jobs a page shows share one. It is a stream of state, not of history: each pass sends a
job's newest point and its document when they changed, and a client that reconnects gets every job's
current state again, so its events carry no id to resume from."""
from flask import request

from service.api import sse
from service.api.document import job_document
from service.api.guards import tenancy
from service.api.problems import Problem
from service.store import jobs, points, query
from service.store.models import JobStatus

MAX_IDS = 100  # the jobs of one stream: twice a list page (50 by default)
# Least time between passes: a hundred running jobs wake the stream 200 times a second (a heartbeat
# each every 0.5 s), and a list redrawn four times a second looks as live.
GAP_S = 0.25


def requested(state) -> list[str]:
    """The ?ids= of the request (comma-separated, or repeated; each once, in order), each a job the
    caller may see: otherwise a problem naming `ids`, before any stream starts."""
    for key in request.args:
        if key != "ids":
            raise Problem(400, "unknown query parameter; allowed: ids", field=key)
    raw = ",".join(request.args.getlist("ids"))
    ids = list(dict.fromkeys(raw.split(","))) if raw else []
    if not 1 <= len(ids) <= MAX_IDS:
        raise Problem(400, f"give 1 to {MAX_IDS} job ids, comma-separated", field="ids")
    bad = next((i for i in ids if not jobs.is_id(i)), None)
    if bad is not None:
        raise Problem(400, f"{bad[:40]!r} is not a job id", field="ids")
    with state.sessions() as session:
        found = {i for i, job in query.by_ids(session=session, ids=ids).items() if tenancy.visible(job)}
    unknown = [i for i in ids if i not in found]
    if unknown:  # another owner's job is as unknown as a missing one
        raise Problem(404, f"no job with id {', '.join(unknown)}", field="ids", unknown=unknown)
    return ids


class Followed:
    """What one list stream has sent of each of its jobs; `one_pass` reads them all in two queries."""

    def __init__(self, state, ids: list[str]) -> None:
        self.state, self.ids = state, ids
        self.step = dict.fromkeys(ids, -1)  # the newest point sent
        self.status: dict[str, str | None] = dict.fromkeys(ids, None)
        self.open = list(ids)  # not finished yet, or finished but not sent as such

    def one_pass(self) -> tuple[list[str], bool]:
        """The events since the last pass (a job's `progress`, then its `status`), and `end` once every
        job has finished."""
        with self.state.sessions() as session:
            rows = query.by_ids(session=session, ids=self.open)
            newest = points.newest(session=session, job_ids=self.open)
            documents = {i: job_document(job) for i, job in rows.items() if job.status != self.status[i]}
        chunks = []
        for job_id in list(self.open):
            job = rows.get(job_id)
            if job is None:  # its row deleted meanwhile (by hand: fitq deletes none): nothing more comes
                self.open.remove(job_id)
                continue
            finished = JobStatus(job.status).finished
            point = _last(newest.get(job_id), job.result if finished else None)
            if point is not None and point[0] > self.step[job_id]:
                self.step[job_id] = point[0]
                chunks.append(sse.event("progress", {"id": job_id, "step": point[0], "steps": job.progress_steps,
                                                     "loss": point[1]}, None))
            if job_id in documents:
                self.status[job_id] = job.status
                chunks.append(sse.event("status", documents[job_id], None))
            if finished:
                self.open.remove(job_id)
        if not self.open:
            chunks.append(sse.event("end", {"statuses": dict(self.status)}, None))
        return chunks, not self.open


def _last(point, result):
    # A short job writes no points before it ends: its result's last history point stands in.
    history = (result or {}).get("loss_history") or []
    if history and (point is None or history[-1]["step"] > point[0]):
        return history[-1]["step"], history[-1]["loss"]
    return point
