"""An account with nested VAs and one user per role, for access control tests."""

from __future__ import annotations

from dataclasses import dataclass

from satellite.access.grants import add_grant
from satellite.accounts.service import create_account, create_va, find_va
from satellite.actor import Actor
from satellite.permissions.policy import ROLES, SYSTEM_ADMIN, VA_ROLES
from satellite.uow import Database
from satellite.users.models import User
from satellite.users.service import user_actor


@dataclass
class World:
    account_id: int
    parent_id: int
    child_id: int
    other_id: int
    actors: dict[str, Actor]


def build_world(db: Database, actor: Actor) -> World:
    """Acme with VAs Parent > Child and Other; a user per role (VA roles held on Parent)."""
    with db.uow() as uow:
        create_account(uow, actor, "Acme", "acme.example.com")
        create_account(uow, actor, "Globex", "globex.example.com")
        create_va(uow, actor, "Acme", "Parent")
        create_va(uow, actor, "Acme", "Child", parent="Parent")
        create_va(uow, actor, "Acme", "Other")
        account, parent = find_va(uow.session, "Acme", "Parent")
        child = find_va(uow.session, "Acme", "Child")[1]
        other = find_va(uow.session, "Acme", "Other")[1]
        actors = {}
        for role in (*ROLES, "nobody"):
            # A cheap placeholder hash: these users never sign in.
            user = User(username=role, password_hash="-", is_system_admin=role == SYSTEM_ADMIN,
                        created_at=uow.clock.now())
            uow.session.add(user)
            uow.session.flush()
            if role not in (SYSTEM_ADMIN, "nobody"):
                add_grant(uow, actor, user, role, account, parent if role in VA_ROLES else None)
            actors[role] = user_actor(user)
        uow.commit()
        return World(account.id, parent.id, child.id, other.id, actors)


def user_with(db: Database, actor: Actor, name: str, role: str, account: str,
              va: str | None = None) -> Actor:
    """The user `name` (created on first use) holding `role` on the account or one VA of it."""
    from sqlalchemy import select

    with db.uow() as uow:
        user = uow.session.scalar(select(User).where(User.username == name))
        if user is None:
            user = User(username=name, password_hash="-", is_system_admin=False,
                        created_at=uow.clock.now())
            uow.session.add(user)
            uow.session.flush()
        acct, place = find_va(uow.session, account, va or "Default")
        add_grant(uow, actor, user, role, acct, place if va else None)
        uow.commit()
        return user_actor(user)
