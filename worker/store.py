"""The worker's database sessions, made on first use in each process, and writes that outlast outages."""
import logging
import time

from service.store.db import UNAVAILABLE, make_engine, make_sessionmaker

log = logging.getLogger(__name__)


class DatabaseUnavailable(Exception):
    """The database stayed unreachable for the whole retry budget."""


class Store:
    """A lazily built session factory for one database URL."""

    def __init__(self, url, retry_s=300.0):
        self.url, self.retry_s = url, retry_s
        self._sessions = None

    def session(self):
        """A new session."""
        if self._sessions is None:
            self._sessions = make_sessionmaker(make_engine(self.url))
        return self._sessions()

    def reset(self):
        """Forget the engine (after a fork)."""
        self._sessions = None

    def retrying(self, work, what):
        """work(session), retried with backoff while the database is unreachable, for up to retry_s."""
        deadline, pause = time.monotonic() + self.retry_s, 0.25
        while True:
            try:
                with self.session() as session:
                    return work(session)
            except UNAVAILABLE as err:
                if time.monotonic() + pause > deadline:
                    raise DatabaseUnavailable(f"{what}: database unreachable for {self.retry_s:g}s") from err
                log.warning("%s: database unreachable (%s); retrying in %.2gs", what,
                            type(err).__name__, pause)
                time.sleep(pause)
                pause = min(pause * 2, 5.0)
