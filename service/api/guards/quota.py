"""Quotas on queued work: an owner (with AUTH off, everyone together) may have only so many jobs, and so
many steps x samples, queued or running; past that a submission is a 429 that says what to wait for."""
from flask import current_app

from service.api.guards import tenancy
from service.api.problems import Problem
from service.store import jobs


def admit(session, count: int, work: int) -> None:
    """Raise 429 if `count` more jobs of `work` steps x samples would take the caller past its quota."""
    settings = current_app.extensions["fitq"].settings
    most_jobs, most_work = settings.max_queued_jobs, settings.max_queued_work
    if not most_jobs and not most_work:
        return
    # With AUTH off there is one implicit owner: everything queued counts, whoever's it was.
    owner = tenancy.caller().owner if settings.auth_required else None
    have, doing = jobs.queued_work(session=session, owner=owner)
    whose = f"owner {owner!r}" if owner else "this service (AUTH is off: one quota for everyone)"
    if most_jobs and have + count > most_jobs:
        raise Problem(429, f"{whose} has {have:,} jobs queued or running; {count:,} more would pass "
                           f"MAX_QUEUED_JOBS ({most_jobs:,}); wait for some to finish or cancel some",
                      field="quota", queued_jobs=have, limit=most_jobs)
    if most_work and doing + work > most_work:
        raise Problem(429, f"{whose} has {doing:,} steps x samples queued or running; {work:,} more would pass "
                           f"MAX_QUEUED_WORK ({most_work:,}); wait for some to finish, cancel some, or ask "
                           "for fewer steps or samples", field="quota", queued_work=doing, limit=most_work)
