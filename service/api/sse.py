"""Server-Sent Events: the wire format, and the ids a client resumes from (Last-Event-ID)."""
import json
import re

from flask import request

from service.api.problems import Problem

MAX_ID = 64
JOB_ID = re.compile(r"(-1|[0-9]{1,18})(?:\.([a-z]{1,16}))?")  # ASCII digits only: int() takes others too
SWEEP_ID = re.compile(r"[0-9]{1,18}")


def event(name: str, data, event_id: str) -> str:
    """One event: its name, id and JSON data."""
    return f"event: {name}\nid: {event_id}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def comment(text: str) -> str:
    """A comment line: clients ignore it; proxies see traffic and keep the connection."""
    return f": {text}\n\n"


def last_event_id() -> str | None:
    """The Last-Event-ID header (or ?last_event_id= for clients that cannot set headers), or None."""
    value = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    return value.strip() if value and value.strip() else None


def job_position(value: str | None) -> tuple[int, str | None]:
    """A job stream's id as (last step sent, last status sent or 'end'): ids are `<step>` for progress
    and `<step>.<status>` (or `<step>.end`) after it, so they sort as they were sent; before the first
    point the step is -1."""
    if value is None:
        return -1, None
    matched = JOB_ID.fullmatch(value)
    if matched is None:
        raise Problem(422, f"{value[:MAX_ID]!r} is not an event id of this stream (expected a step, "
                           "optionally followed by .status)", field="Last-Event-ID")
    return int(matched[1]), matched[2]


def sweep_position(value: str | None) -> int:
    """A sweep stream's id: how many of its finished jobs were sent."""
    if value is None:
        return 0
    if SWEEP_ID.fullmatch(value) is None:
        raise Problem(422, f"{value[:MAX_ID]!r} is not an event id of this stream (expected a count of "
                           "finished jobs sent)", field="Last-Event-ID")
    return int(value)
