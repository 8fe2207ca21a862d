"""Engine and session factory for a database URL."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

# Errors that mean "the database is not reachable right now", not "the statement is wrong".
UNAVAILABLE = (OperationalError, InterfaceError)


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so API and worker can share it."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine


def shown(url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    masked = make_url(url).render_as_string(hide_password=True)
    # SQLAlchemy ends the password at its first "@", redis-py at the last: hide up to the last too.
    scheme, sep, rest = masked.partition("://")
    userinfo = rest.partition("/")[0].rpartition("@")[0]
    if "@" in userinfo:
        masked = f"{scheme}{sep}{userinfo.partition('@')[0]}@{rest[len(userinfo) + 1:]}"
    return masked


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit, for building responses."""
    return sessionmaker(engine, expire_on_commit=False)
