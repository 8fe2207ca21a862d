"""Reading something again until it is finished, riding out an API that stops answering for a while."""
import time
from collections.abc import Callable
from typing import Any, TypeVar

from fitq_client.errors import FitqError

PATIENCE_S = 60.0  # how long a wait rides out an API that stopped answering (a restart, a deploy)
T = TypeVar("T")


def until(fetch: Callable[[], T], finished: Callable[[T], bool], report: Callable[[T], object],
          notify: Callable[[str], object] | None = None, longest_s: float = 1.0,
          deadline: float | None = None, first: T | None = None) -> T:
    """fetch() until finished(answer), calling report with each answer; a refusal is raised at once,
    a transient error (no answer, 429, 502-504) is retried for up to PATIENCE_S and told to notify once
    per outage; TimeoutError once time.monotonic() passes `deadline`."""
    # Quickly at first (small jobs end within a second), then every longest_s.
    delay, current, lost_at = 0.05, fetch() if first is None else first, None
    while True:
        report(current)
        if finished(current):
            return current
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError("still not finished at the wait's timeout")
        time.sleep(delay)
        delay = min(delay * 1.5, longest_s)
        try:
            current, lost_at = fetch(), None
        except FitqError as err:
            if not err.transient or (lost_at is not None and time.monotonic() - lost_at > PATIENCE_S):
                raise
            if lost_at is None:
                lost_at = time.monotonic()
                if notify:
                    notify(f"{err}; trying again for up to {PATIENCE_S:g} s")


def changes(call: Callable[[Any], object] | None, key: Callable[[Any], Any],
            only: bool = True) -> Callable[[Any], None]:
    """A report for polling that calls `call` with key(reading) when it differs from the last one (or
    every time, only=False)."""
    last: list[Any] = []

    def report(reading: Any) -> None:
        value = key(reading)
        if call and (not only or last != [value]):
            last[:] = [value]
            call(value)

    return report
