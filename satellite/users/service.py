"""Local users: creation, sign-in with progressive delay and lockout, passwords, disabling."""

from __future__ import annotations

import re

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from satellite.actor import Actor
from satellite.audit.service import record
from satellite.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from satellite.limits import check_text
from satellite.permissions.models import ApiToken
from satellite.permissions.policy import require
from satellite.uow import UnitOfWork
from satellite.users import throttle
from satellite.users.models import User
from satellite.users.passwords import check_length, check_policy, hash_password, verify_password
from satellite.users.sessions import end_sessions

MAX_USERNAME = 150
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,149}$")
# Hashed once so that an unknown user name costs as much time as a wrong password.
_DUMMY_HASH: list[str] = []


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def create_user(uow: UnitOfWork, actor: Actor, username: str, password: str, *,
                system_admin: bool = False, must_change_password: bool = False) -> User:
    """Create a local user. Raises InvalidInput (name or password policy) or Conflict."""
    require(uow.session, actor, "user.manage")
    if not _USERNAME.match(username or ""):
        raise InvalidInput(f"user name {username!r} may use letters, digits and . _ @ - only",
                           field="username")
    check_policy(password, username)
    session = uow.session
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"a user named {username!r} already exists", field="username")
    user = User(username=username, password_hash=hash_password(password),
                is_system_admin=system_admin, must_change_password=must_change_password,
                created_at=uow.clock.now())
    session.add(user)
    session.flush()
    record(uow, actor, "user.create", f"user:{username}", details={"system_admin": system_admin})
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def list_users(session: Session, actor: Actor) -> list[User]:
    require(session, actor, "user.manage")
    return list(session.scalars(select(User).order_by(User.username)))


def user_actor(user: User, via: str | None = None) -> Actor:
    """The actor a signed-in user acts as."""
    return Actor("user", user.username, user_id=user.id, system_admin=user.is_system_admin,
                 via=via, password_change_due=user.must_change_password)


def set_disabled(uow: UnitOfWork, actor: Actor, username: str, disabled: bool) -> User:
    """Disable (or enable) a user; a disabled user cannot sign in, and its bearer tokens and
    web sessions end for good (enabling it again does not revive them)."""
    require(uow.session, actor, "user.manage")
    user = get_user(uow.session, username)
    if disabled and actor.user_id == user.id:
        raise InvalidInput("you cannot disable yourself")
    user.disabled = disabled
    if disabled:
        _end_credentials(uow, user)
    record(uow, actor, "user.disable" if disabled else "user.enable", f"user:{username}")
    return user


def reset_password(uow: UnitOfWork, actor: Actor, username: str, password: str) -> User:
    """A system administrator sets a new password, which the user must change at sign-in."""
    require(uow.session, actor, "user.manage")
    user = get_user(uow.session, username)
    check_policy(password, username)
    user.password_hash = hash_password(password)
    user.must_change_password = True
    _end_credentials(uow, user)
    record(uow, actor, "user.reset_password", f"user:{username}")
    return user


def change_password(uow: UnitOfWork, username: str, old: str, new: str, source: str = "") -> User:
    """A user changes their own password, proving the old one. Raises Unauthenticated."""
    user = login(uow, username, old, source)
    if old == new:
        raise InvalidInput("the new password must differ from the old one", field="new")
    check_policy(new, username, field="new")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    _end_credentials(uow, user)
    record(uow, user_actor(user), "user.change_password", f"user:{username}")
    return user


def _end_credentials(uow: UnitOfWork, user: User) -> None:
    """End the bearer tokens and web sessions obtained with the old password (or by a user
    being disabled)."""
    now = uow.clock.now()
    uow.session.execute(update(ApiToken).where(ApiToken.user_id == user.id,
                                               ApiToken.revoked_at.is_(None))
                        .values(revoked_at=now))
    end_sessions(uow.session, user.id, now)


def login(uow: UnitOfWork, username: str, password: str, source: str = "") -> User:
    """Check a user's password, with a growing wait after failures and a temporary lockout,
    counted per source address and user name (see users.throttle).

    A failed attempt is committed before this raises, so that the count survives the caller's
    rollback. Raises Unauthenticated (wrong name or password, disabled) or TooManyRequests.
    """
    check_text(username, "username", MAX_USERNAME)
    check_length(password)
    session = uow.session
    now = uow.clock.now()
    throttle.check(session, now, source, username)
    user = session.scalar(select(User).where(User.username == username))
    # Every name costs one argon2 verification, known or not, so timing tells nothing.
    ok = verify_password(user.password_hash if user else _dummy_hash(), password)
    if user is None or not ok or user.disabled:
        throttle.failed(session, now, source, username)
        record(uow, Actor("user", username or "-"), "user.login_failed", f"user:{username}",
               details={"source": source, "reason": "disabled" if ok and user else "password"})
        uow.commit()
        raise Unauthenticated("wrong user name or password, or the user is disabled")
    throttle.succeeded(session, source, username)
    record(uow, user_actor(user), "user.login", f"user:{username}", details={"source": source})
    return user


def _dummy_hash() -> str:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password("not a password of anyone"))
    return _DUMMY_HASH[0]
