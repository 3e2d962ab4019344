"""Web UI sessions kept on the server: ended at sign-out, password change and user disable,
after an absolute lifetime from sign-in, and after a while without a request."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from satellite.users.models import User, WebSession

# How stale last_seen_at may get before a request writes it again: the idle timeout is exact
# to this much, and a busy user does not write on every page.
TOUCH_EVERY = timedelta(seconds=60)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(session: Session, user: User, now: datetime, lifetime: timedelta) -> str:
    """Open a session for `user`. Returns its secret, for the cookie only."""
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    secret = secrets.token_urlsafe(32)
    session.add(WebSession(id=_digest(secret), user_id=user.id, created_at=now,
                           last_seen_at=now, expires_at=now + lifetime, ended_at=None))
    return secret


def session_user(session: Session, secret: str, now: datetime,
                 idle: timedelta) -> tuple[User | None, bool, bool]:
    """The session's user, or None; whether it just timed out; whether to touch it."""
    row = session.get(WebSession, _digest(secret)) if secret else None
    if row is None or row.ended_at is not None:
        return None, False, False
    if row.expires_at <= now or now - row.last_seen_at > idle:
        return None, True, False
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        return None, False, False
    return user, False, now - row.last_seen_at >= TOUCH_EVERY


def touch(session: Session, secret: str, now: datetime) -> None:
    session.execute(update(WebSession).where(WebSession.id == _digest(secret))
                    .values(last_seen_at=now))


def end_session(session: Session, secret: str, now: datetime) -> None:
    session.execute(update(WebSession).where(WebSession.id == _digest(secret),
                                             WebSession.ended_at.is_(None))
                    .values(ended_at=now))


def end_sessions(session: Session, user_id: int, now: datetime) -> None:
    """End every session of a user (password changed or reset, user disabled)."""
    session.execute(update(WebSession).where(WebSession.user_id == user_id,
                                             WebSession.ended_at.is_(None))
                    .values(ended_at=now))
