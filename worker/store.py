"""The worker's database sessions, made on first use in each process, and writes that outlast outages."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from service.store.db import UNAVAILABLE, make_engine, make_sessionmaker

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
T = TypeVar("T")


class DatabaseUnavailable(Exception):
    """The database stayed unreachable for the whole retry budget."""


class Store:
    """A lazily built session factory for one database URL."""

    def __init__(self, url: str, retry_s: float = 300.0) -> None:
        self.url, self.retry_s = url, retry_s
        self._sessions: sessionmaker[Session] | None = None

    def session(self) -> Session:
        """A new session."""
        if self._sessions is None:
            self._sessions = make_sessionmaker(make_engine(self.url))
        return self._sessions()

    def reset(self) -> None:
        """Forget the engine (after a fork)."""
        self._sessions = None

    def retrying(self, work: Callable[[Session], T], what: str) -> T:
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
