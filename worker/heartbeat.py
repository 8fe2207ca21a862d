"""Running jobs' heartbeat and progress, written by a thread so the training loop never waits on the
database: a write when progress moved (at most every TICK_S), else one every HEARTBEAT_S. Each write also
stores the history points reached since the last one (one INSERT) and wakes the jobs' streams."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from service.store import jobs, points
from service.store.db import UNAVAILABLE
from worker import presence

if TYPE_CHECKING:
    from worker.events import Publisher
    from worker.store import Store

log = logging.getLogger(__name__)
# Progress shows within half a second; a short job writes none (its outcome says it all).
TICK_S = 0.5


class Heartbeat:
    """Keeps the claims {job id: attempt} of a run alive; notes which ones were lost."""

    def __init__(self, store: Store, claims: Mapping[str, int], interval_s: float, device: str | None = None,
                 publisher: Publisher | None = None, sweeps: Mapping[str, str | None] | None = None) -> None:
        self.store, self.claims, self.interval_s, self.device = store, dict(claims), interval_s, device
        self.publisher, self.sweeps = publisher, dict(sweeps or {})
        self._order = list(self.claims)  # a batch's losses come in the claims' order
        self._points: list[tuple[str, int, float | None]] = []  # (job id, step, loss) not yet written
        self._lock = threading.Lock()
        self.step: int | None = None  # the last history point the loop reached; the loop sets it
        self.lost: set[str] = set()  # cancelled, or taken over by the sweeper
        self.all_lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        presence.running(self.claims)  # the worker's own report in Redis lists them while they run
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        presence.finished(self.claims)

    def record(self, step: int, losses: Sequence[float | None]) -> None:
        """The loop has done `step` steps, a history point, with these losses (one per claimed job, in order)."""
        # A result's history names a point by its step index, step - 1 (the loss computed before update t).
        with self._lock:
            self._points.extend(zip(self._order, [step - 1] * len(losses), losses))
        self.step = step

    def _take(self) -> list[tuple[str, int, float | None]]:
        with self._lock:
            taken, self._points = self._points, []
        return [row for row in taken if row[0] not in self.lost]

    def _beat(self) -> None:
        written, last, failing = None, time.monotonic(), False
        while not self._stop.wait(min(TICK_S, self.interval_s)):
            step = self.step
            if step == written and time.monotonic() - last < self.interval_s:
                continue
            live = {k: v for k, v in self.claims.items() if k not in self.lost}
            rows = self._take()
            try:
                with self.store.session() as session:
                    held = jobs.beat(session=session, claims=live, step=step, device=self.device)
                    points.add(session=session, rows=[r for r in rows if r[0] in held])
            except UNAVAILABLE as err:
                with self._lock:  # written next time, before the points reached meanwhile
                    self._points[:0] = rows
                # The fit goes on; the outcome write will wait for the database to come back.
                if not failing:
                    log.warning("heartbeat of %s not written: %s", ", ".join(live), type(err).__name__)
                failing = True
                continue
            written, last, failing, self.device = step, time.monotonic(), False, None
            self.lost |= live.keys() - held
            if rows and self.publisher is not None:
                self.publisher.wake(held, (self.sweeps.get(i) for i in held))
            if len(self.lost) == len(self.claims):
                self.all_lost.set()
                return

