"""Sign-in throttling, per (source address, user name) and per source address.

Guessing from one address is slowed, then locked out at that address, while the owner signing
in from anywhere else is not: the count is of the pair, so knowing a user name is not enough to
lock its owner out. A second, larger count per address alone stops one address from trying
many names. Unknown names are counted exactly like known ones, so neither the answers nor
their timing tell which names exist. Counts live in the database (every node shares them) and
are forgotten a day after the last failure.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from satellite.errors import TooManyRequests
from satellite.users.models import SignInThrottle

FORGET_AFTER = timedelta(days=1)
MAX_DELAY = timedelta(seconds=60)
LOCKOUT = timedelta(minutes=15)


@dataclass(frozen=True)
class Limit:
    """After `free` failures each further one makes the next attempt wait 1, 2, 4 ... seconds
    (at most MAX_DELAY); from `lockout` failures on the wait is LOCKOUT."""

    name: str
    free: int
    lockout: int

    def wait(self, failures: int) -> timedelta:
        if failures >= self.lockout:
            return LOCKOUT
        if failures < self.free:
            return timedelta(0)
        return min(timedelta(seconds=2 ** (failures - self.free)), MAX_DELAY)


PAIR = Limit("pair", free=3, lockout=10)
SOURCE = Limit("source", free=30, lockout=100)


def address_of(source: str) -> str:
    """The address in an audit source ("web 10.0.0.5" or "10.0.0.5")."""
    return source.rsplit(" ", 1)[-1]


def _keys(source: str, username: str) -> list[tuple[Limit, str]]:
    address = address_of(source)
    return [(PAIR, hashlib.sha256(f"pair\0{address}\0{username}".encode()).hexdigest()),
            (SOURCE, hashlib.sha256(f"source\0{address}".encode()).hexdigest())]


def check(session: Session, now: datetime, source: str, username: str) -> None:
    """Raises TooManyRequests while this address, or this address for this name, must wait."""
    keys = dict((key, limit) for limit, key in _keys(source, username))
    rows = session.scalars(select(SignInThrottle).where(SignInThrottle.key.in_(keys)))
    until = max((r.blocked_until for r in rows if r.blocked_until and r.blocked_until > now),
                default=None)
    if until is not None:
        wait = int((until - now).total_seconds()) + 1
        raise TooManyRequests(f"too many failed sign-ins from this address: try again in {wait} "
                              "seconds", wait)


def failed(session: Session, now: datetime, source: str, username: str) -> None:
    """Count one failure for the pair and for the address."""
    session.execute(delete(SignInThrottle).where(SignInThrottle.updated_at < now - FORGET_AFTER))
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql"
              else sqlite.insert)
    for limit, key in _keys(source, username):
        stmt: Any = insert(SignInThrottle).values(key=key, failures=1, blocked_until=None,
                                                  updated_at=now)
        stmt = stmt.on_conflict_do_update(index_elements=[SignInThrottle.key], set_={
            "failures": case((SignInThrottle.updated_at < now - FORGET_AFTER, 1),
                             else_=SignInThrottle.failures + 1),
            "updated_at": now,
        })
        session.execute(stmt)
        failures = session.scalar(select(SignInThrottle.failures)
                                  .where(SignInThrottle.key == key)) or 0
        wait = limit.wait(failures)
        session.execute(update(SignInThrottle).where(SignInThrottle.key == key).values(
            blocked_until=now + wait if wait else None))


def succeeded(session: Session, source: str, username: str) -> None:
    """The pair starts again; the address's count stays (a success there proves nothing)."""
    pair = _keys(source, username)[0][1]
    session.execute(delete(SignInThrottle).where(SignInThrottle.key == pair))
