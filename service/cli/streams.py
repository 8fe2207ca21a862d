"""`--wait` from the event streams: a job's progress and a sweep's counts as the API pushes them,
reconnecting with Last-Event-ID when the API restarts. Unavailable means: poll instead."""
import http.client
import json
import time

from service.cli.client import ApiError

FINISHED = frozenset({"succeeded", "failed", "diverged", "cancelled"})
# Longer than the server's keep-alive (15 s): silence past it means a proxy holds the events back.
SILENCE_S = 40.0


class Unavailable(Exception):
    """The stream could not be opened, or delivered nothing: the caller falls back to polling."""


def events(response):
    """(name, id, data) for each event of an open stream, until it closes."""
    fields = {}
    for raw in response:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line:
            if not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        elif "data" in fields:
            yield fields.get("event", "message"), fields.get("id"), json.loads(fields["data"])
            fields = {}


def follow(client, path, on_event, patience_s, note=print):
    """Feed each event of `path`'s stream to on_event(name, data) until it returns something true (the
    end), which is returned; a dropped stream is resumed, for up to patience_s at a time (said once per
    outage with note(line))."""
    last_id, lost_at, opened, noted = None, None, False, False
    while True:
        try:
            response = client.open_stream(path, last_id, timeout=SILENCE_S)
        except ApiError as err:
            if not opened:
                raise Unavailable(str(err)) from None
            if not err.transient or time.monotonic() - lost_at > patience_s:
                raise
            if not noted:
                note(f"fitq: {err}; trying again for up to {patience_s:g} s")
                noted = True
            time.sleep(0.5)
            continue
        opened = True
        try:
            with response:
                for name, event_id, data in events(response):
                    last_id, lost_at, noted = event_id or last_id, None, False
                    done = on_event(name, data)
                    if done:
                        return done
        except TimeoutError:
            if last_id is None:
                raise Unavailable(f"no event within {SILENCE_S:g} s (a proxy that buffers?)") from None
        except (OSError, http.client.HTTPException):
            pass  # cut off mid-stream (the API restarted): resume after the last event
        lost_at = lost_at or time.monotonic()
        if time.monotonic() - lost_at > patience_s:
            raise ApiError(f"the event stream {path} stopped and did not come back within {patience_s:g} s")
