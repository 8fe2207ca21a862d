"""Following an event stream to its end, reopened after its last event when it breaks (Last-Event-ID)."""
import time
from collections.abc import Callable, Iterator

from fitq_client import sse
from fitq_client.errors import FitqError, StreamUnavailable
from fitq_client.polling import PATIENCE_S

# A stream that never delivered an event is given up (and the wait polls) after this many breaks in a
# row: a proxy that refuses or buffers streams. One that did deliver is reopened for up to PATIENCE_S.
RECONNECTS = 5


def follow(events: Callable[[str | None], Iterator[sse.Event]], on_event: Callable[[sse.Event], bool],
           notify: Callable[[str], object] | None, check: Callable[[], None]) -> None:
    """Feed each event of events(last_event_id) to on_event until it returns True (the end); check() is
    called between events and retries (it raises on the wait's timeout)."""
    last_id, delivered, breaks, lost_at, noted = None, False, 0, None, False
    while True:
        this_time = False
        try:
            for event in events(last_id):
                this_time, delivered, breaks, lost_at, noted = True, True, 0, None, False
                last_id = event.id if event.id is not None else last_id
                check()
                if on_event(event):
                    return
            why = "it closed before its end"
        except StreamUnavailable:
            raise
        except FitqError as err:
            if not err.transient:
                raise
            why = str(err)
            # Said once per outage, when reopening fails (the API down), not when a stream is cut off.
            if delivered and not this_time and not noted and notify:
                notify(f"{err}; trying again for up to {PATIENCE_S:g} s")
                noted = True
        breaks += 1
        lost_at = lost_at or time.monotonic()
        if not delivered and breaks > RECONNECTS:
            raise StreamUnavailable(f"the event stream kept breaking ({why})")
        if delivered and time.monotonic() - lost_at > PATIENCE_S:
            raise StreamUnavailable(f"the event stream did not come back within {PATIENCE_S:g} s ({why})")
        check()
        time.sleep(min(0.1 * 2 ** min(breaks, 5), 2.0))
