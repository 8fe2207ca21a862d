"""Progress streams (Server-Sent Events) of a job and of a sweep. The database is the source of truth: a
stream re-reads it after each wake-up from Redis, or every STREAM_POLL_S in case one was missed, and
sends only what comes after the last id it sent."""
import time

from flask import Blueprint, Response, current_app, stream_with_context

from service.api import multiplex, serving, sse
from service.api.document import best_document, job_document
from service.api.guards import tenancy
from service.api.problems import Problem
from service.events import job_channel, sweep_channel
from service.store import jobs, points, sweeps
from service.store.models import JobStatus

blueprint = Blueprint("streams", __name__)


def _state():
    return current_app.extensions["fitq"]


def _respond(events) -> Response:
    response = Response(stream_with_context(events), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass events on as they come
    return response


def _paced(state, listener, one_pass, gap_s=0.0):
    """Send what `one_pass()` finds (its events, and whether the stream is over) after each wake-up or
    poll interval, at most one pass per `gap_s`, with keep-alive comments in the quiet spells."""
    settings, quiet_since = state.settings, time.monotonic()
    try:
        while True:
            listener.event.clear()  # before the read: a write after it wakes the next pass
            chunks, over = one_pass()  # its database session is closed before anything is written
            yield from chunks
            if over or serving.stopping():
                return  # ended, or this worker stops: the client reconnects with Last-Event-ID
            if chunks:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= settings.stream_keepalive_s:
                quiet_since = time.monotonic()
                yield sse.comment("keep-alive")
            if gap_s:
                time.sleep(gap_s)  # the wake-ups of many jobs meanwhile make one pass, not one each
            listener.event.wait(max(settings.stream_poll_s - gap_s, 0))
    finally:
        for channel in state.hub.forget(listener):
            state.snapshots.drop(channel)


@blueprint.get("/jobs/events")
def jobs_events():
    """Several jobs' progress and status changes in one stream, and its end when all have finished."""
    state = _state()
    ids = multiplex.requested(state)
    listener = state.hub.listen([job_channel(job_id) for job_id in ids])
    return _respond(_paced(state, listener, multiplex.Followed(state, ids).one_pass, multiplex.GAP_S))


@blueprint.get("/jobs/<job_id>/events")
def job_events(job_id):
    """A job's progress, status changes and end, as Server-Sent Events."""
    state = _state()
    step, status = sse.job_position(sse.last_event_id())
    with state.sessions() as session:
        job = jobs.get(session=session, job_id=job_id) if jobs.is_id(job_id) else None
        if not tenancy.visible(job):
            raise Problem(404, f"no job with id {job_id!r}", field="id")
    channel = job_channel(job_id)
    listener = state.hub.listen([channel])
    position = {"step": step, "status": status}

    def one_pass():
        now = state.snapshots.get(channel, position["step"], lambda after: _read_job(state, job_id, after))
        chunks = []
        for at, loss in now["points"]:
            position["step"] = at
            chunks.append(sse.event("progress", {"step": at, "steps": now["steps"], "loss": loss}, str(at)))
        if position["status"] == "end":  # a client that reconnected after the end: nothing more
            return chunks, True
        if now["status"] != position["status"]:
            position["status"] = now["status"]
            chunks.append(sse.event("status", now["document"], f"{position['step']}.{now['status']}"))
        if now["finished"]:
            chunks.append(sse.event("end", {"status": now["status"]}, f"{position['step']}.end"))
        return chunks, now["finished"]

    return _respond(_paced(state, listener, one_pass))


@blueprint.get("/sweeps/<sweep_id>/events")
def sweep_events(sweep_id):
    """A sweep's counts by status, each finished job, its best job so far and its end, as Server-Sent
    Events; each event's id is how many finished jobs were sent before it and with it."""
    state = _state()
    sent = sse.sweep_position(sse.last_event_id())
    with state.sessions() as session:
        sweep = sweeps.get(session=session, sweep_id=sweep_id) if jobs.is_id(sweep_id) else None
        if not tenancy.visible(sweep):
            raise Problem(404, f"no sweep with id {sweep_id!r}", field="id")
    listener = state.hub.listen([sweep_channel(sweep_id)])
    seen = {"sent": sent, "counts": None, "best": None}

    def one_pass():
        with state.sessions() as session:
            # Read each pass: a search's size becomes what it asked when it stops (at its target, say).
            sweep = sweeps.get(session=session, sweep_id=sweep_id)
            size, asking = sweep.size, sweep.strategy != "grid" and sweep.search_ended is None
            counts = sweeps.counts(session=session, sweep_id=sweep_id)
            done = []
            while True:  # every job finished since the last pass, a page at a time
                page = sweeps.finished(session=session, sweep_id=sweep_id, offset=seen["sent"] + len(done))
                done += page
                if len(page) < sweeps.FINISHED_PAGE:
                    break
            best = sweeps.best_of(session=session, sweep=sweep)
        chunks = []
        for job in done:
            seen["sent"] += 1
            chunks.append(sse.event("job", _finished_job(job), str(seen["sent"])))
        if counts != seen["counts"]:
            seen["counts"] = counts
            chunks.append(sse.event("counts", counts, str(seen["sent"])))
        if best is not None and best.id != seen["best"]:
            seen["best"] = best.id
            chunks.append(sse.event("best", best_document(best), str(seen["sent"])))
        over = seen["sent"] >= size and not asking
        if over:
            chunks.append(sse.event("end", {"counts": counts}, str(seen["sent"])))
        return chunks, over

    return _respond(_paced(state, listener, one_pass))


def _read_job(state, job_id, after):
    # What a job's streams send next: its points after `after` (a finished job's result history merged
    # in: a short job writes no points), its status and document.
    with state.sessions() as session:
        job = jobs.get(session=session, job_id=job_id)
        reached = dict(points.after(session=session, job_id=job_id, step=after))
        finished = JobStatus(job.status).finished
        for point in (job.result or {}).get("loss_history", []) if finished else ():
            if point["step"] > after:
                reached[point["step"]] = point["loss"]
        return {"points": sorted(reached.items()), "steps": job.progress_steps, "status": job.status,
                "finished": finished, "document": job_document(job)}


def _finished_job(job) -> dict:
    return {"id": job.id, "status": job.status, "params": job.params, "final_loss": job.final_loss,
            "duration_s": job.duration_s, "error": job.error}
