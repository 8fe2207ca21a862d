"""A running job's heartbeat: a thread that proves, every HEARTBEAT_S, that its worker is alive."""
import logging
import threading

from service import jobs
from service.db import UNAVAILABLE

log = logging.getLogger(__name__)


class Heartbeat:
    """Writes heartbeat_at while the fit runs, also between history points; notes a lost claim."""

    def __init__(self, store, job_id, attempt, interval_s):
        self.store, self.job_id, self.attempt, self.interval_s = store, job_id, attempt, interval_s
        self.lost = threading.Event()  # the claim is gone: cancelled, or taken over by the sweeper
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{job_id}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join()

    def _beat(self):
        failing = False  # logged once per outage
        while not self._stop.wait(self.interval_s):
            try:
                with self.store.session() as session:
                    held = jobs.progress(session=session, job_id=self.job_id, attempt=self.attempt)
            except UNAVAILABLE as err:
                # The fit goes on; the outcome write will wait for the database to come back.
                if not failing:
                    log.warning("job %s: heartbeat not written: %s", self.job_id, type(err).__name__)
                failing = True
                continue
            failing = False
            if not held:
                self.lost.set()
                return
