"""Local users: creation, sign-in with progressive delay and lockout, passwords, disabling."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from satellite.access.models import ApiToken
from satellite.access.policy import require
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.errors import Conflict, InvalidInput, NotFound, TooManyRequests, Unauthenticated
from satellite.limits import check_text
from satellite.uow import UnitOfWork
from satellite.users.models import User
from satellite.users.passwords import check_length, check_policy, hash_password, verify_password

MAX_USERNAME = 150
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,149}$")
# Failures before each further one makes the user wait (1 s, 2 s, 4 s ... at most MAX_DELAY).
FREE_FAILURES = 3
MAX_DELAY = timedelta(seconds=60)
# From this many failures in a row the account is locked for LOCKOUT.
LOCKOUT_FAILURES = 10
LOCKOUT = timedelta(minutes=15)
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
                 via=via)


def set_disabled(uow: UnitOfWork, actor: Actor, username: str, disabled: bool) -> User:
    """Disable (or enable) a user; a disabled user cannot sign in and its tokens stop working."""
    require(uow.session, actor, "user.manage")
    user = get_user(uow.session, username)
    if disabled and actor.user_id == user.id:
        raise InvalidInput("you cannot disable yourself")
    user.disabled = disabled
    record(uow, actor, "user.disable" if disabled else "user.enable", f"user:{username}")
    return user


def reset_password(uow: UnitOfWork, actor: Actor, username: str, password: str) -> User:
    """A system administrator sets a new password, which the user must change at sign-in."""
    require(uow.session, actor, "user.manage")
    user = get_user(uow.session, username)
    check_policy(password, username)
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    _end_tokens(uow, user)
    record(uow, actor, "user.reset_password", f"user:{username}")
    return user


def change_password(uow: UnitOfWork, username: str, old: str, new: str) -> User:
    """A user changes their own password, proving the old one. Raises Unauthenticated."""
    user = login(uow, username, old)
    if old == new:
        raise InvalidInput("the new password must differ from the old one", field="new")
    check_policy(new, username, field="new")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    _end_tokens(uow, user)
    record(uow, user_actor(user), "user.change_password", f"user:{username}")
    return user


def _end_tokens(uow: UnitOfWork, user: User) -> None:
    """A new password ends the bearer tokens obtained with the old one."""
    uow.session.execute(update(ApiToken).where(ApiToken.user_id == user.id,
                                               ApiToken.revoked_at.is_(None))
                        .values(revoked_at=uow.clock.now()))


def login(uow: UnitOfWork, username: str, password: str, source: str = "") -> User:
    """Check a user's password, with a growing wait after failures and a temporary lockout.

    A failed attempt is committed before this raises, so that the count survives the caller's
    rollback. Raises Unauthenticated (wrong name or password, disabled) or TooManyRequests.
    """
    check_text(username, "username", MAX_USERNAME)
    check_length(password)
    session = uow.session
    now = uow.clock.now()
    user = session.scalar(select(User).where(User.username == username).with_for_update())
    if user is not None and user.locked_until is not None and user.locked_until > now:
        wait = int((user.locked_until - now).total_seconds()) + 1
        raise TooManyRequests(f"too many failed sign-ins: try again in {wait} seconds", wait)
    ok = verify_password(user.password_hash if user else _dummy_hash(), password)
    if user is None or not ok or user.disabled:
        who = Actor("user", username or "-")
        if user is not None and not ok:
            user.failed_logins += 1
            user.locked_until = now + _delay(user.failed_logins)
        record(uow, who, "user.login_failed", f"user:{username}",
               details={"source": source, "reason": "disabled" if ok and user else "password"})
        uow.commit()
        raise Unauthenticated("wrong user name or password, or the user is disabled")
    user.failed_logins = 0
    user.locked_until = None
    record(uow, user_actor(user), "user.login", f"user:{username}", details={"source": source})
    return user


def _delay(failures: int) -> timedelta:
    if failures >= LOCKOUT_FAILURES:
        return LOCKOUT
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (failures - FREE_FAILURES)), MAX_DELAY)


def _dummy_hash() -> str:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password("not a password of anyone"))
    return _DUMMY_HASH[0]
