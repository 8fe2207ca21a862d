"""A job as the API shows it (DESIGN.md's job document)."""
from service.clock import iso
from service.roster import notice


def job_document(job, queues=None) -> dict:
    """The JSON document of one job; given the queues live workers consume, a queued job that none
    of them serves says so in `notice`."""
    return {
        "id": job.id,
        "variant": job.variant,
        "params": job.params,
        "status": job.status,
        "progress": {"step": job.progress_step, "steps": job.progress_steps},
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "attempts": job.attempts,
        "device": job.device,
        "worker": job.worker,
        "timeout_s": job.timeout_s,
        "sweep_id": job.sweep_id,
        "result": job.result,
        "error": job.error,
        "notice": notice(job, queues),
    }


def sweep_document(sweep, counts, best) -> dict:
    """The JSON document of one sweep: what it asked, how far its jobs are, and its best job."""
    done = sum(n for status, n in counts.items() if status not in ("queued", "running"))
    search = None
    if sweep.strategy != "grid":
        asked = {k: v for k, v in (sweep.search or {}).items() if k not in ("base", "timeout_s")}
        search = {**asked, "asked": sweep.asked, "ended": sweep.search_ended}
    return {
        "id": sweep.id,
        "variant": sweep.variant,
        "params": sweep.params,
        "grid": sweep.grid,
        "size": sweep.size,
        "created_at": iso(sweep.created_at),
        "counts": counts,
        # A search is finished once it stopped asking and every trial it asked has finished.
        "finished": done == sweep.size and (sweep.strategy == "grid" or sweep.search_ended is not None),
        "strategy": sweep.strategy,
        "search": search,
        "trials": {"asked": sweep.asked if search else sweep.size, "finished": done,
                   "pruned": counts.get("pruned", 0)},
        "best": None if best is None else best_document(best),
        "jobs": f"/api/v1/jobs?sweep={sweep.id}",
    }


def best_document(best) -> dict:
    """A sweep's best job as its document and its stream's `best` event show it."""
    return {"job_id": best.id, "final_loss": best.final_loss, "excess_loss": best.excess_loss,
            "relative_excess_loss": best.relative_excess_loss, "params": best.params}
