"""Data-access functions for API tokens: only a token's id, its name and its secret's hash are kept."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from service.clock import now
from service.store.models import ApiToken

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# fitq_<8 hex id>_<43 characters of token_urlsafe(32)>; the id is public, the secret is not.
TOKEN = re.compile(r"fitq_([0-9a-f]{8})_([A-Za-z0-9_-]{43})")
TOKEN_ID = re.compile(r"[0-9a-f]{8}")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
TOUCH_EVERY = timedelta(minutes=1)
# read: GET under /api/v1; submit: jobs, sweeps, cancelling one's own; admin: everything, every owner's;
# metrics: GET /metrics alone (a scraper's token).
SCOPES = ("read", "submit", "admin", "metrics")
DEFAULT_SCOPES = ("read", "submit")
OWNER = NAME  # an owner is named like a token


def parse_scopes(text: str) -> tuple[str, ...]:
    """Comma- or space-separated scope names, checked and in SCOPES' order; TokenError if one is unknown."""
    names = [n for n in re.split(r"[,\s]+", text.strip()) if n]
    unknown = [n for n in names if n not in SCOPES]
    if unknown or not names:
        raise TokenError(f"{', '.join(unknown) or 'no scope'!s}: scopes are {', '.join(SCOPES)} (comma-separated)")
    return tuple(s for s in SCOPES if s in names)


class TokenError(Exception):
    """A token that cannot be created, found, revoked or accepted; the message says why."""


def create(*, session: Session, name: str, owner: str | None = None,
           scopes: Sequence[str] = DEFAULT_SCOPES) -> tuple[ApiToken, str]:
    """Commit a new token named `name`, acting for `owner` (its name by default) with `scopes`;
    returns (row, token text). The text is not stored anywhere."""
    if not NAME.fullmatch(name) or TOKEN_ID.fullmatch(name):
        raise TokenError(f"{name!r} is not a token name: use 1 to 64 letters, digits, '.', '_', '@' "
                         "or '-', starting with a letter or digit, and not 8 hex digits (an id)")
    owner = name if owner is None else owner
    if not OWNER.fullmatch(owner):
        raise TokenError(f"{owner[:80]!r} is not an owner: use 1 to 64 letters, digits, '.', '_', '@' or '-'")
    scopes = parse_scopes(" ".join(scopes))
    if _active_named(session, name) is not None:
        raise TokenError(f"an active token is already named {name!r}; revoke it or pick another name")
    token_id, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
    row = ApiToken(id=token_id, name=name, secret_sha256=_digest(secret), created_at=now(), owner=owner,
                   scopes=" ".join(scopes))
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # a concurrent create took the name (or, rarely, the id) first
        session.rollback()
        raise TokenError(f"could not create {name!r}: the name or the id was taken meanwhile; "
                         "try again") from None
    return row, f"fitq_{token_id}_{secret}"


def listing(*, session: Session) -> list[ApiToken]:
    """Every token, revoked ones too, oldest first."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)))


def any_active(*, session: Session) -> bool:
    """Whether any token could be accepted at all."""
    return session.scalars(select(ApiToken.id).where(ApiToken.revoked_at.is_(None)).limit(1)).first() \
        is not None


def revoke(*, session: Session, which: str) -> ApiToken:
    """Revoke the token with id `which`, else the active token named `which`; returns its row."""
    row = session.get(ApiToken, which) if TOKEN_ID.fullmatch(which) else None
    row = row or _active_named(session, which)
    if row is None:
        named = session.scalars(select(ApiToken).where(ApiToken.name == which)).first()
        if named is None:
            raise TokenError(f"no token has the id or name {which!r}; `fitq token list` shows them")
        row = named
    if row.revoked_at is not None:
        raise TokenError(f"token {row.id} ({row.name}) was already revoked at {stamp(row.revoked_at)}")
    row.revoked_at = now()
    session.commit()
    return row


def verify(*, session: Session, text: str) -> ApiToken:
    """The active token whose text this is; TokenError says what is wrong otherwise."""
    match = TOKEN.fullmatch(text)
    if match is None:
        raise TokenError("the token is malformed: fitq tokens look like fitq_<id>_<secret>, "
                         "as `fitq token create` printed it")
    token_id, secret = match.groups()
    row = session.get(ApiToken, token_id)
    # An unknown id and a wrong secret read the same, so an answer never confirms that an id exists.
    if row is None or not hmac.compare_digest(row.secret_sha256, _digest(secret)):
        raise TokenError("the token is not valid: no token has this id and secret")
    if row.revoked_at is not None:
        raise TokenError(f"the token {row.id} ({row.name}) was revoked at {stamp(row.revoked_at)}")
    _touch(session, row)
    return row


def _touch(session: Session, row: ApiToken) -> None:
    # last_used_at moves at most once a minute: reads stay reads on a busy token.
    stamp = now()
    if row.last_used_at is not None and _utc(row.last_used_at) > stamp - TOUCH_EVERY:
        return
    session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=stamp))
    session.commit()


def _active_named(session: Session, name: str) -> ApiToken | None:
    return session.scalars(select(ApiToken).where(ApiToken.name == name,
                                                  ApiToken.revoked_at.is_(None))).first()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _utc(when: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; every one fitq writes is UTC.
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def stamp(when: datetime | None) -> str:
    """A stored time as `YYYY-MM-DD HH:MM:SS UTC`, or `-` for none."""
    return _utc(when).strftime("%Y-%m-%d %H:%M:%S UTC") if when else "-"
