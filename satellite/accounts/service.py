"""Accounts and Virtual Accounts: creation, the folder tree, and its rules."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any, NamedTuple

from sqlalchemy import Select, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from satellite.accounts.models import (
    ACTIVE,
    DEFAULT_VA,
    MAX_VA_DEPTH,
    PENDING,
    RESERVATION_MODES,
    Account,
    VirtualAccount,
)
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.errors import Conflict, InvalidInput, NotFound, PermissionDenied, about
from satellite.limits import MAX_NOTE, check_text
from satellite.permissions.policy import require, visible_account_ids, visible_va_ids
from satellite.uow import UnitOfWork

_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"^(?=.{{1,253}}$)({_LABEL})(\.{_LABEL})+$")


def clean_name(value: str, what: str, field: str) -> str:
    """An account or VA name, stripped. Raises InvalidInput naming `field` (the input)."""
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"{what} must not be empty", field=field)
    if len(value) > 200:
        raise InvalidInput(f"{what} is longer than 200 characters", field=field)
    check_text(value, field, 200)
    if "/" in value:
        raise InvalidInput(f"{what} {value!r} contains '/'", field=field)
    return value


def normalise_domain(domain: str) -> str:
    value = (domain or "").strip().lower().rstrip(".")
    if not _DOMAIN.match(value):
        raise InvalidInput(f"domain {domain!r} is not a domain identifier such as abc.xyz.com",
                           field="domain")
    return value


def _no_account(ref: str) -> str:
    return f"no account named {ref!r} (give its name or domain identifier)"


def _no_va(account: Account, name: str) -> str:
    return f"account {account.name!r} has no virtual account named {name!r}"


def find_account(session: Session, ref: str) -> Account | None:
    """The account named `ref` (its name or its domain identifier), if there is one."""
    return session.scalar(
        select(Account).where(or_(Account.name == ref, Account.domain == ref.strip().lower()))
    )


def get_account(session: Session, ref: str) -> Account:
    """Find an account by its name or its domain identifier. Raises NotFound."""
    account = find_account(session, ref)
    if account is None:
        raise NotFound(_no_account(ref))
    return account


def account_for(session: Session, actor: Actor, ref: str, operation: str) -> Account:
    """The account, if the actor may do `operation` on it; NotFound as if absent otherwise."""
    account = get_account(session, ref)
    require(session, actor, operation, account_id=account.id, not_found=_no_account(ref))
    return account


def va_for(session: Session, actor: Actor, account_ref: str, va_name: str,
           operation: str) -> tuple[Account, VirtualAccount]:
    """The account and VA, if the actor may do `operation` on the VA."""
    account = account_for(session, actor, account_ref, "account.view")
    va = get_va(session, account, va_name)
    require(session, actor, operation, account_id=account.id, va_id=va.id,
            not_found=_no_va(account, va_name))
    return account, va


def list_accounts(session: Session, actor: Actor) -> list[Account]:
    """The accounts the actor holds a role in (all of them for system administrators)."""
    query = select(Account).order_by(Account.name)
    visible = visible_account_ids(session, actor)
    if visible is not None:
        query = query.where(Account.id.in_(visible))
    return list(session.scalars(query))


def create_account(uow: UnitOfWork, actor: Actor, name: str, domain: str,
                   pending: bool = False) -> Account:
    """Create an account and its Default VA, Active (its held lines delivered) or Pending.

    Raises Conflict if the name or domain is taken.
    """
    require(uow.session, actor, "account.create")
    return add_account(uow, actor, name, domain, pending=pending)


def add_account(uow: UnitOfWork, actor: Actor, name: str, domain: str, *, pending: bool = False,
                created_by: str | None = None) -> Account:
    """Create an account once the caller has decided the actor may (e.g. a request, which
    names its requester as `created_by`)."""
    session = uow.session
    name = clean_name(name, "account name", "name")
    domain = normalise_domain(domain)
    taken = session.scalar(
        select(Account).where(or_(Account.name == name, Account.domain == domain)))
    if taken is not None:
        which = "name" if taken.name == name else "domain"
        value = name if which == "name" else domain
        raise Conflict(f"an account with {which} {value!r} already exists", field=which)
    now = uow.clock.now()
    account = Account(name=name, domain=domain, reservation_mode="none", created_at=now,
                      status=PENDING, created_by=created_by or _who(actor))
    session.add(account)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(
            f"an account with name {name!r} or domain {domain!r} already exists") from None
    session.add(VirtualAccount(account_id=account.id, name=DEFAULT_VA, depth=1, is_default=True,
                               description="Default virtual account", created_at=now))
    if not pending:
        _make_active(uow, actor, account)
    record(uow, actor, "account.create", f"account:{domain}", account_id=account.id,
           details={"name": name, "domain": domain, "status": account.status,
                    "created_by": account.created_by})
    return account


def activate(uow: UnitOfWork, actor: Actor, account: Account) -> Account:
    """Make a Pending account Active, the actor its approver, and deliver its held lines, once
    the caller has decided the actor may. Raises Conflict if it is Active already."""
    if account.status == ACTIVE:
        raise Conflict(f"account {account.name!r} is already Active")
    delivered = _make_active(uow, actor, account)
    record(uow, actor, "account.activate", f"account:{account.domain}", account_id=account.id,
           details={"approved_by": account.approved_by, "delivered_lines": delivered})
    return account


def _make_active(uow: UnitOfWork, actor: Actor, account: Account) -> int:
    account.status = ACTIVE
    account.approved_by = _who(actor)
    account.activated_at = uow.clock.now()
    uow.session.flush()
    # Entitlements (cloudsync) build on accounts: imported here, where an account turns Active.
    from satellite.cloudsync.delivery import deliver
    return deliver(uow, actor, account).added


def _who(actor: Actor) -> str:
    # The person or process, as an account page names them (the audit trail adds the client).
    return f"{actor.kind}:{actor.name}"


def require_active(account: Account, use: str) -> None:
    """Raises Conflict naming the reason when the account is Pending (`use`: what was tried)."""
    if account.status != ACTIVE:
        raise Conflict(f"account {account.name!r} is Pending until its approver activates it: "
                       f"it cannot be used for {use} yet", field="account")


def set_reservation_mode(uow: UnitOfWork, actor: Actor, account_ref: str, mode: str) -> Account:
    if mode not in RESERVATION_MODES:
        raise InvalidInput(
            f"reservation mode {mode!r} is not one of {', '.join(RESERVATION_MODES)}")
    account = account_for(uow.session, actor, account_ref, "account.update")
    before = account.reservation_mode
    account.reservation_mode = mode
    record(uow, actor, "account.set_reservation", f"account:{account.domain}",
           account_id=account.id, details={"before": before, "after": mode})
    return account


def get_va(session: Session, account: Account, name: str) -> VirtualAccount:
    va = session.scalar(
        select(VirtualAccount)
        .where(VirtualAccount.account_id == account.id, VirtualAccount.name == name)
    )
    if va is None:
        raise NotFound(_no_va(account, name))
    return va


def find_va(session: Session, account_ref: str, va_name: str) -> tuple[Account, VirtualAccount]:
    account = get_account(session, account_ref)
    return account, get_va(session, account, va_name)


def _visible_vas(session: Session, actor: Actor, account_ref: str,
                 *columns: Any) -> tuple[Account, Select[Any]]:
    account = account_for(session, actor, account_ref, "va.view")
    query = select(*columns).where(VirtualAccount.account_id == account.id)
    visible = visible_va_ids(session, actor, "va.view", account.id)
    if visible is not None:
        query = query.where(VirtualAccount.id.in_(visible))
    return account, query.order_by(VirtualAccount.name)


def list_vas(session: Session, actor: Actor, account_ref: str) -> tuple[Account, list[VirtualAccount]]:
    """The account's VAs the actor may see, by name."""
    account, query = _visible_vas(session, actor, account_ref, VirtualAccount)
    return account, list(session.scalars(query))


class VaEntry(NamedTuple):
    """What lists and pickers show of a VA: loads by the thousand far cheaper than the rows
    (a tuple: made in a fraction of a dataclass's time)."""

    id: int
    name: str
    parent_id: int | None
    is_default: bool
    description: str


def va_entries(session: Session, actor: Actor, account_ref: str, limit: int | None = None,
               under: int | None = None) -> tuple[Account, list[VaEntry]]:
    """The account's VAs the actor may see, by name, as entries (the first `limit`; those
    directly inside the VA `under`)."""
    account, query = _visible_vas(session, actor, account_ref, VirtualAccount.id,
                                  VirtualAccount.name, VirtualAccount.parent_id,
                                  VirtualAccount.is_default, VirtualAccount.description)
    if under is not None:
        query = query.where(VirtualAccount.parent_id == under)
    return account, [VaEntry(*row) for row in session.execute(query.limit(limit))]


def va_names(session: Session, account_id: int,
             ids: Collection[int] | None = None) -> dict[int, str]:
    """VA names of the account by id, all or those of `ids` (to name VAs the actor may not
    see)."""
    query = select(VirtualAccount.id, VirtualAccount.name).where(
        VirtualAccount.account_id == account_id)
    if ids is not None:
        query = query.where(VirtualAccount.id.in_(sorted(ids)))
    rows = session.execute(query)
    return {va_id: name for va_id, name in rows}


def va_path(session: Session, va: VirtualAccount) -> list[str]:
    """Names from the top-level VA down to this one, in one query."""
    tree = VirtualAccount.__table__
    up = (select(tree.c.id, tree.c.parent_id, tree.c.name, literal(0).label("level"))
          .where(tree.c.id == va.id).cte("up", recursive=True))
    up = up.union_all(select(tree.c.id, tree.c.parent_id, tree.c.name, up.c.level + 1)
                      .join(up, tree.c.id == up.c.parent_id))
    return list(session.scalars(select(up.c.name).order_by(up.c.level.desc())))


def create_va(uow: UnitOfWork, actor: Actor, account_ref: str, name: str,
              parent: str | None = None, description: str = "") -> VirtualAccount:
    """Create a VA, optionally nested under another. Raises Conflict / InvalidInput / NotFound."""
    session = uow.session
    account = account_for(session, actor, account_ref, "account.view")
    name = clean_name(name, "virtual account name", "name")
    description = check_text(description, "description", MAX_NOTE, required=False, lines=True)
    if session.scalar(select(VirtualAccount.id).where(
            VirtualAccount.account_id == account.id, VirtualAccount.name == name)) is not None:
        raise Conflict(f"account {account.name!r} already has a virtual account named {name!r}",
                       field="name")
    depth = 1
    with about("parent"):
        parent_va = get_va(session, account, parent) if parent else None
    require(session, actor, "va.create", account_id=account.id,
            va_id=parent_va.id if parent_va else None, not_found=_no_va(account, parent or ""))
    if parent_va is not None:
        depth = parent_va.depth + 1
        if depth > MAX_VA_DEPTH:
            raise InvalidInput(
                f"virtual accounts nest at most {MAX_VA_DEPTH} levels; "
                f"{parent!r} is already at level "
                f"{parent_va.depth}", field="parent"
            )
    va = VirtualAccount(account_id=account.id, parent_id=parent_va.id if parent_va else None,
                        name=name, description=description or "", depth=depth,
                        created_at=uow.clock.now())
    session.add(va)
    session.flush()
    record(uow, actor, "va.create", f"va:{account.domain}/{name}", account_id=account.id,
           details={"parent": parent, "description": description})
    return va


def _subtree(session: Session, va: VirtualAccount) -> list[VirtualAccount]:
    found = [va]
    frontier = [va.id]
    while frontier:
        children = list(session.scalars(
            select(VirtualAccount).where(VirtualAccount.parent_id.in_(frontier))))
        found.extend(children)
        frontier = [c.id for c in children]
    return found


def rename_va(uow: UnitOfWork, actor: Actor, account_ref: str, name: str,
              new_name: str) -> VirtualAccount:
    session = uow.session
    account, va = va_for(session, actor, account_ref, name, "va.update")
    new_name = clean_name(new_name, "virtual account name", "new_name")
    if va.is_default:
        raise InvalidInput(f"the {DEFAULT_VA} virtual account cannot be renamed")
    if new_name != name and session.scalar(select(VirtualAccount.id).where(
            VirtualAccount.account_id == account.id, VirtualAccount.name == new_name)) is not None:
        raise Conflict(f"account {account.name!r} already has a virtual account named {new_name!r}",
                       field="new_name")
    va.name = new_name
    record(uow, actor, "va.rename", f"va:{account.domain}/{new_name}", account_id=account.id,
           details={"before": name, "after": new_name})
    return va


def move_va(uow: UnitOfWork, actor: Actor, account_ref: str, name: str,
            new_parent: str | None) -> VirtualAccount:
    """Move a VA (and what is nested under it) under another VA, or to the top with None."""
    session = uow.session
    account, va = va_for(session, actor, account_ref, name, "va.update")
    subtree = _subtree(session, va)
    target_depth = 1
    target_id = None
    if new_parent:
        # The account was found above: a NotFound here is about the new parent.
        with about("new_parent", NotFound):
            target = va_for(session, actor, account_ref, new_parent, "va.update")[1]
        if target.id in {v.id for v in subtree}:
            raise InvalidInput(
                f"cannot move {name!r} under {new_parent!r}: that is inside {name!r}",
                field="new_parent")
        target_depth = target.depth + 1
        target_id = target.id
    else:
        # The top level holds what only an account-wide role may create (see create_va).
        with about("new_parent", PermissionDenied):
            require(session, actor, "va.create", account_id=account.id,
                    not_found=_no_account(account_ref))
    shift = target_depth - va.depth
    deepest = max(v.depth for v in subtree) + shift
    if deepest > MAX_VA_DEPTH:
        raise InvalidInput(
            f"moving {name!r} there would nest virtual accounts {deepest} levels deep "
            f"(at most {MAX_VA_DEPTH})", field="new_parent"
        )
    before = va.parent_id
    va.parent_id = target_id
    for v in subtree:
        v.depth += shift
    record(uow, actor, "va.move", f"va:{account.domain}/{name}", account_id=account.id,
           details={"before_parent_id": before, "after": new_parent})
    return va
