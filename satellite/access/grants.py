"""Granting and revoking roles on accounts and VAs."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from satellite.accounts.models import Account, VirtualAccount
from satellite.accounts.service import account_for, va_for
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.db import in_chunks
from satellite.errors import InvalidInput, NotFound, about
from satellite.permissions.models import Grant
from satellite.permissions.policy import (
    ACCOUNT_ROLES,
    ROLES,
    SYSTEM_ADMIN,
    VA_ROLES,
    require,
    visible_va_ids,
)
from satellite.uow import UnitOfWork
from satellite.users.models import User
from satellite.users.service import get_user


@dataclass(frozen=True)
class GrantView:
    username: str
    role: str
    account: str
    virtual_account: str | None


def check_role(role: str, va_name: str | None) -> None:
    if role not in ROLES:
        raise InvalidInput(f"role {role!r} is not one of {', '.join(ROLES)}", field="role")
    if role in ACCOUNT_ROLES and va_name:
        raise InvalidInput(f"{role} is an account role: give no virtual account",
                           field="va_name")
    if role in VA_ROLES and not va_name:
        raise InvalidInput(f"{role} is a virtual account role: give the virtual account",
                           field="va_name")


def _target(session: Session, actor: Actor, role: str, account_ref: str | None,
            va_name: str | None) -> tuple[Account, VirtualAccount | None]:
    check_role(role, va_name)
    if account_ref is None:
        raise InvalidInput(f"{role} is held on an account: give the account")
    if va_name:
        account = account_for(session, actor, account_ref, "account.view")
        with about("va_name", NotFound):
            return va_for(session, actor, account.domain, va_name, "grant.manage")
    return account_for(session, actor, account_ref, "grant.manage"), None


def _system_admin(uow: UnitOfWork, actor: Actor, user: User, value: bool) -> None:
    require(uow.session, actor, "user.manage")
    if not value and actor.user_id == user.id:
        raise InvalidInput("you cannot take the system administrator role from yourself")
    user.is_system_admin = value
    record(uow, actor, "grant.add" if value else "grant.remove", f"user:{user.username}",
           details={"role": SYSTEM_ADMIN})


def grant(uow: UnitOfWork, actor: Actor, username: str, role: str,
          account_ref: str | None = None, va_name: str | None = None) -> None:
    """Give a user a role on an account or VA (system_admin: on the appliance). Idempotent."""
    session = uow.session
    # Permission first: whether a user name exists is told only to who may grant there.
    if role == SYSTEM_ADMIN:
        require(session, actor, "user.manage")
        with about("username"):
            _system_admin(uow, actor, get_user(session, username), True)
        return
    account, va = _target(session, actor, role, account_ref, va_name)
    with about("username"):
        user = get_user(session, username)
    add_grant(uow, actor, user, role, account, va)


def add_grant(uow: UnitOfWork, actor: Actor, user: User, role: str, account: Account,
              va: VirtualAccount | None) -> None:
    """Record a grant the caller has already authorised (e.g. an approved request)."""
    session = uow.session
    va_id = va.id if va else None
    exists = session.scalar(select(Grant.id).where(
        Grant.user_id == user.id, Grant.account_id == account.id, Grant.role == role,
        Grant.va_id.is_(None) if va_id is None else Grant.va_id == va_id))
    if exists is not None:
        return
    session.add(Grant(user_id=user.id, account_id=account.id, va_id=va_id, role=role,
                      granted_by=actor.label, created_at=uow.clock.now()))
    session.flush()
    record(uow, actor, "grant.add", f"user:{user.username}", account_id=account.id,
           details={"role": role, "virtual_account": va.name if va else None})


def revoke(uow: UnitOfWork, actor: Actor, username: str, role: str,
           account_ref: str | None = None, va_name: str | None = None) -> None:
    """Take a role away. Raises NotFound when the user does not hold it there."""
    session = uow.session
    if role == SYSTEM_ADMIN:
        require(session, actor, "user.manage")
        _system_admin(uow, actor, get_user(session, username), False)
        return
    account, va = _target(session, actor, role, account_ref, va_name)
    va_id = va.id if va else None
    # One answer whether the user does not exist or holds no such role: revoking must not
    # tell an account admin which user names exist on the appliance.
    user_id = select(User.id).where(User.username == username).scalar_subquery()
    done = session.execute(delete(Grant).where(
        Grant.user_id == user_id, Grant.account_id == account.id, Grant.role == role,
        Grant.va_id.is_(None) if va_id is None else Grant.va_id == va_id))
    if not getattr(done, "rowcount", 0):
        raise NotFound(f"user {username!r} holds no {role} role there", field="username")
    record(uow, actor, "grant.remove", f"user:{username}", account_id=account.id,
           details={"role": role, "virtual_account": va_name})


def list_grants(session: Session, actor: Actor, account_ref: str) -> list[GrantView]:
    """Who holds which role in the account (VA admins: in their VAs)."""
    account = account_for(session, actor, account_ref, "grant.view")
    visible = visible_va_ids(session, actor, "grant.view", account.id)
    query = (select(User.username, Grant.role, VirtualAccount.name)
             .join(User, User.id == Grant.user_id)
             .outerjoin(VirtualAccount, VirtualAccount.id == Grant.va_id)
             .where(Grant.account_id == account.id)
             .order_by(User.username, Grant.role, VirtualAccount.name))
    if visible is not None:
        query = query.where(Grant.va_id.in_(visible))
    return [GrantView(name, role, account.name, va) for name, role, va in session.execute(query)]


def user_grants(session: Session, user_id: int) -> list[GrantView]:
    """Every role one user holds."""
    return grants_by_user(session, [user_id])[user_id]


def grants_by_user(session: Session, user_ids: Collection[int]) -> dict[int, list[GrantView]]:
    """Every role each user holds, for a list of users (`satellite user list`, the Users page)
    in one query per 500 users; every user is listed, one holding no role with []."""
    found: dict[int, list[GrantView]] = {user_id: [] for user_id in user_ids}
    for ids in in_chunks(sorted(found)):
        rows = session.execute(
            select(Grant.user_id, User.username, Grant.role, Account.name, VirtualAccount.name)
            .join(User, User.id == Grant.user_id)
            .join(Account, Account.id == Grant.account_id)
            .outerjoin(VirtualAccount, VirtualAccount.id == Grant.va_id)
            .where(Grant.user_id.in_(ids))
            .order_by(Account.name, VirtualAccount.name, Grant.role))
        for user_id, *view in rows:
            found[user_id].append(GrantView(*view))
    return found
