"""Local users: creation and lookup."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from satellite.actor import Actor
from satellite.audit.service import record
from satellite.errors import Conflict, InvalidInput
from satellite.uow import UnitOfWork
from satellite.users.models import User
from satellite.users.passwords import check_policy, hash_password

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,149}$")


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def create_user(uow: UnitOfWork, actor: Actor, username: str, password: str, *,
                system_admin: bool = False, must_change_password: bool = False) -> User:
    """Create a local user. Raises InvalidInput (name or password policy) or Conflict."""
    if not _USERNAME.match(username or ""):
        raise InvalidInput(f"user name {username!r} may use letters, digits and . _ @ - only")
    check_policy(password, username)
    session = uow.session
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"a user named {username!r} already exists")
    user = User(username=username, password_hash=hash_password(password),
                is_system_admin=system_admin, must_change_password=must_change_password,
                created_at=uow.clock.now())
    session.add(user)
    session.flush()
    record(uow, actor, "user.create", f"user:{username}", details={"system_admin": system_admin})
    return user
