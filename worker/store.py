"""The worker's database sessions, made on first use in each process."""
from service.db import make_engine, make_sessionmaker


class Store:
    """A lazily built session factory for one database URL."""

    def __init__(self, url):
        self.url = url
        self._sessions = None

    def session(self):
        """A new session."""
        if self._sessions is None:
            self._sessions = make_sessionmaker(make_engine(self.url))
        return self._sessions()

    def reset(self):
        """Forget the engine (after a fork)."""
        self._sessions = None
