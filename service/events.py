"""The Redis pub/sub channels that wake streams: the worker (and the API on a cancel) publishes on them
after each write the database already holds; a message carries nothing a stream needs but the nudge."""

PREFIX = "fitq:events:"
PATTERN = PREFIX + "*"


def job_channel(job_id: str) -> str:
    """The channel of one job's progress and status changes."""
    return f"{PREFIX}job:{job_id}"


def sweep_channel(sweep_id: str) -> str:
    """The channel of a sweep's jobs' status changes."""
    return f"{PREFIX}sweep:{sweep_id}"
