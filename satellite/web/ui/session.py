"""Who is signed in: the session cookie holds the user's id, when it was last used, and a
fingerprint of their password hash (so a password change ends every other session)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from flask import session
from sqlalchemy.orm import Session

from satellite.access.policy import require, visible_va_ids
from satellite.accounts.service import VaEntry
from satellite.actor import Actor
from satellite.errors import SatelliteError
from satellite.users.models import User
from satellite.users.service import user_actor

USER_ID, SEEN, FINGERPRINT = "uid", "seen", "pwf"


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]


def start(user: User, now: datetime) -> None:
    """Begin a fresh session for `user` (a new CSRF token too: nothing carries over)."""
    session.clear()
    session.permanent = True
    session[USER_ID] = user.id
    session[FINGERPRINT] = _fingerprint(user)
    session[SEEN] = now.timestamp()


def end() -> None:
    session.clear()


def current_user(db_session: Session, now: datetime, idle: timedelta) -> tuple[User | None, bool]:
    """The signed-in user, or None; the flag tells whether a session just timed out."""
    user_id = session.get(USER_ID)
    if user_id is None:
        return None, False
    seen = session.get(SEEN, 0.0)
    if now.timestamp() - float(seen) > idle.total_seconds():
        end()
        return None, True
    user = db_session.get(User, user_id)
    if user is None or user.disabled or not hmac.compare_digest(
            str(session.get(FINGERPRINT, "")), _fingerprint(user)):
        end()
        return None, False
    session[SEEN] = now.timestamp()
    return user, False


def actor_of(user: User) -> Actor:
    return user_actor(user, None)


def allowed(db_session: Session, actor: Actor, operation: str, *,
            account_id: int | None = None, va_id: int | None = None) -> bool:
    """Whether the policy lets the actor do this: pages use it to hide forms, never to decide."""
    try:
        require(db_session, actor, operation, account_id=account_id, va_id=va_id)
    except SatelliteError:
        return False
    return True


def allowed_vas(db_session: Session, actor: Actor, operation: str, account_id: int,
                vas: list[VaEntry]) -> list[VaEntry]:
    """The VAs among `vas` where the policy lets the actor do this, asked once for all of
    them (a page may offer thousands of VAs)."""
    ids = visible_va_ids(db_session, actor, operation, account_id)
    return list(vas) if ids is None else [va for va in vas if va.id in ids]


def allowed_anywhere(db_session: Session, actor: Actor, operation: str, account_id: int) -> bool:
    """Whether the policy lets the actor do this in at least one VA of the account."""
    ids = visible_va_ids(db_session, actor, operation, account_id)
    return ids is None or bool(ids)
