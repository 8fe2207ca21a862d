"""One database read per job, per wake-up, per API process, shared by every stream of that job: a
thousand streams of one job cost one query when its worker writes, not a thousand."""
import threading
import time


class Snapshots:
    """Reads of a job's stream state, reused while no wake-up came for its channel since they were made
    and they are younger than `max_age_s` (the streams' poll interval: a missed message is still caught)."""

    def __init__(self, hub, max_age_s: float) -> None:
        self.hub, self.max_age_s = hub, max_age_s
        self._entries: dict = {}  # channel -> (generation, read at, after step, snapshot)
        self._locks: dict = {}
        self._lock = threading.Lock()

    def get(self, channel: str, after: int, read):
        """read(after) -> a snapshot whose "points" are (step, loss) after `after`; a shared one if one
        still holds, its points cut to those after `after`."""
        with self._lock:
            lock = self._locks.setdefault(channel, threading.Lock())
        with lock:  # the streams woken together wait for one read, then share it
            generation = self.hub.generation(channel)
            entry = self._entries.get(channel)
            if entry is None or entry[0] != generation or entry[2] > after \
                    or time.monotonic() - entry[1] >= self.max_age_s:
                # The generation is taken before the read: a write after it shows as a newer one.
                entry = (generation, time.monotonic(), after, read(after))
                self._entries[channel] = entry
        snapshot = entry[3]
        return {**snapshot, "points": [p for p in snapshot["points"] if p[0] > after]}

    def drop(self, channel: str) -> None:
        """Forget a channel nobody streams any more."""
        with self._lock:
            self._entries.pop(channel, None)
            self._locks.pop(channel, None)
