"""Who is signed in: the session cookie holds only the secret of a server-side session
(users.sessions), which sign-out, a password change and disabling the user end for good."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import session
from sqlalchemy.orm import Session

from satellite.accounts.service import VaEntry
from satellite.actor import Actor
from satellite.errors import SatelliteError
from satellite.permissions.policy import require, visible_va_ids
from satellite.uow import Database
from satellite.users import sessions
from satellite.users.models import User
from satellite.users.service import user_actor

SESSION_ID = "sid"


def start(db_session: Session, user: User, now: datetime, lifetime: timedelta) -> None:
    """Begin a fresh session for `user` inside the caller's transaction (a new CSRF token too:
    nothing carries over from before the sign-in)."""
    secret = sessions.start_session(db_session, user, now, lifetime)
    session.clear()
    session.permanent = True
    session[SESSION_ID] = secret


def end(db: Database) -> None:
    """Sign out: the session ends on the server, so a copy of the cookie is worth nothing."""
    secret = session.get(SESSION_ID)
    if isinstance(secret, str):
        with db.uow() as uow:
            sessions.end_session(uow.session, secret, uow.clock.now())
            uow.commit()
    session.clear()


def current_user(db: Database, idle: timedelta) -> tuple[User | None, bool]:
    """The signed-in user, or None; the flag tells whether a session just timed out."""
    secret = session.get(SESSION_ID)
    if not isinstance(secret, str):
        return None, False
    now = db.clock.now()
    with db.reader() as uow:
        user, timed_out, stale = sessions.session_user(uow.session, secret, now, idle)
        if user is not None:
            uow.session.expunge(user)
    if user is None:
        session.clear()
    elif stale:
        with db.uow() as uow:
            sessions.touch(uow.session, secret, now)
            uow.commit()
    return user, timed_out


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
