"""The permission table and the one function every service calls to enforce it.

Roles are held per account or per VA (a VA grant covers the VAs nested under it). System
administrators, the console operator and scheduled jobs may do everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from satellite.accounts.models import VirtualAccount
from satellite.actor import Actor
from satellite.errors import InvalidInput, NotFound, PermissionDenied
from satellite.permissions.models import ApiClient, Grant

SYSTEM_ADMIN = "system_admin"
ACCOUNT_ADMIN, ACCOUNT_USER, ACCOUNT_VIEWER = "account_admin", "account_user", "account_viewer"
VA_ADMIN, VA_USER, VA_VIEWER = "va_admin", "va_user", "va_viewer"
ACCOUNT_ROLES = (ACCOUNT_ADMIN, ACCOUNT_USER, ACCOUNT_VIEWER)
VA_ROLES = (VA_ADMIN, VA_USER, VA_VIEWER)
ROLES = (SYSTEM_ADMIN, *ACCOUNT_ROLES, *VA_ROLES)

_ADMINS = frozenset({ACCOUNT_ADMIN, VA_ADMIN})
_USERS = _ADMINS | {ACCOUNT_USER, VA_USER}
_EVERYONE = _USERS | {ACCOUNT_VIEWER, VA_VIEWER}
_NOBODY: frozenset[str] = frozenset()  # system administrators only


@dataclass(frozen=True)
class Rule:
    """Who may do an operation, and on what it is done.

    scope "system": nothing narrower than the appliance; "account": an account; "va": a VA of
    an account, where VA roles on it or on a VA above it count. A "per_va" account-wide read is
    open to VA roles too, and shows them only the VAs they hold a role on.
    """

    description: str
    scope: str
    roles: frozenset[str]
    per_va: bool = False


PERMISSIONS: dict[str, Rule] = {
    "account.create": Rule("create accounts", "system", _NOBODY),
    "account.export_category": Rule("change an account's export-control category", "system",
                                    _NOBODY),
    "user.manage": Rule("manage users", "system", _NOBODY),
    "reservation.remove": Rule("force-remove reservations", "system", _NOBODY),
    "audit.list_all": Rule("read the whole audit trail", "system", _NOBODY),
    "sync.import": Rule("apply sync files from Central", "system", _NOBODY),
    "settings.view": Rule("read the appliance's settings", "system", _NOBODY),
    "system.view": Rule("see system health", "system", _NOBODY),
    "system.clock": Rule("accept the clock's time after it jumped", "system", _NOBODY),
    "account.view": Rule("see this account", "account", _EVERYONE, per_va=True),
    "alert.view": Rule("see alerts", "account", _EVERYONE, per_va=True),
    "alert.manage": Rule("manage alert delivery channels", "account", frozenset({ACCOUNT_ADMIN})),
    "sync.view": Rule("see the sync status", "account", frozenset({ACCOUNT_ADMIN})),
    "account.update": Rule("change this account's settings", "account", frozenset({ACCOUNT_ADMIN})),
    "account_request.decide": Rule("decide requests for accounts under this account's domain",
                                   "account", frozenset({ACCOUNT_ADMIN})),
    "access_request.decide": Rule("decide access requests", "account", frozenset({ACCOUNT_ADMIN})),
    "apiclient.manage": Rule("manage API clients", "account", frozenset({ACCOUNT_ADMIN})),
    "audit.list": Rule("read this account's audit trail", "account", frozenset({ACCOUNT_ADMIN})),
    "deposit_rule.manage": Rule("see or change deposit rules", "account",
                                frozenset({ACCOUNT_ADMIN})),
    "holding.deposit": Rule("deposit lines from the holding account", "account",
                            frozenset({ACCOUNT_ADMIN})),
    "license.transfer_account": Rule("transfer licenses to another account", "account",
                                     frozenset({ACCOUNT_ADMIN})),
    "device.transfer_account": Rule("move devices to or from another account", "account",
                                    frozenset({ACCOUNT_ADMIN})),
    "va.view": Rule("see virtual accounts", "va", _EVERYONE, per_va=True),
    "va.create": Rule("create virtual accounts", "va", _ADMINS),
    "va.update": Rule("rename or move virtual accounts", "va", _ADMINS),
    "va.delete": Rule("delete virtual accounts", "va", _ADMINS),
    "license.view": Rule("see licenses", "va", _EVERYONE, per_va=True),
    "license.transfer": Rule("transfer licenses", "va", _USERS),
    "license.convert": Rule("convert classic licenses to Smart Licensing", "va", _USERS),
    "reservation.view": Rule("see reservations", "va", _EVERYONE, per_va=True),
    "reservation.manage": Rule("reserve licenses", "va", _USERS),
    "token.view": Rule("see registration tokens", "va", _EVERYONE, per_va=True),
    "token.manage": Rule("create or revoke registration tokens", "va", _USERS),
    "device.view": Rule("see devices", "va", _EVERYONE, per_va=True),
    "device.manage": Rule("transfer or remove devices", "va", _USERS),
    "slup.upload": Rule("upload or export SLUP usage reports", "va", _USERS),
    "grant.view": Rule("see who has access", "va", _ADMINS, per_va=True),
    "grant.manage": Rule("grant or revoke access", "va", _ADMINS),
}


def _held(session: Session, actor: Actor, account_id: int) -> list[tuple[str, int | None]]:
    """(role, va_id or None) pairs the actor holds in the account."""
    if actor.password_change_due:
        return []
    if actor.user_id is not None:
        return [(role, va_id) for role, va_id in session.execute(
            select(Grant.role, Grant.va_id).where(Grant.user_id == actor.user_id,
                                                  Grant.account_id == account_id))]
    if actor.client_id is not None:
        client = session.get(ApiClient, actor.client_id)
        if client is not None and client.account_id == account_id and client.revoked_at is None:
            return [(client.role, None)]
    return []


def _lineage(session: Session, va_id: int) -> set[int]:
    """The VA and every VA above it."""
    found: set[int] = set()
    current = session.get(VirtualAccount, va_id)
    while current is not None and current.id not in found:
        found.add(current.id)
        current = session.get(VirtualAccount, current.parent_id) if current.parent_id else None
    return found


def rule(operation: str) -> Rule:
    try:
        return PERMISSIONS[operation]
    except KeyError:
        raise InvalidInput(f"unknown operation {operation!r}") from None


def require(session: Session, actor: Actor, operation: str, *, account_id: int | None = None,
            va_id: int | None = None, not_found: str = "not found") -> None:
    """Allow the operation or raise.

    Raises PermissionDenied when the actor may see the target but not do this, and NotFound
    (with `not_found` as its message) when the actor holds nothing there, so that existence
    does not leak.
    """
    wanted = rule(operation)
    if actor.password_change_due:
        raise PermissionDenied("change your password first: until then it is all you may do")
    if actor.is_system_admin:
        return
    if wanted.scope == "system" or account_id is None:
        raise PermissionDenied(f"only a system administrator may {wanted.description}")
    held = _held(session, actor, account_id)
    if not held:
        raise NotFound(not_found)
    if any(va is None and role in wanted.roles for role, va in held):
        return
    on_account = any(va is None for _, va in held)
    if va_id is not None and wanted.scope == "va":
        lineage = _lineage(session, va_id)
        if any(va in lineage and role in wanted.roles for role, va in held):
            return
        if not on_account and not any(va in lineage for _, va in held):
            raise NotFound(not_found)
    elif va_id is None and wanted.per_va and any(
            va is not None and role in wanted.roles for role, va in held):
        return
    raise PermissionDenied(f"you may not {wanted.description} here")


def visible_va_ids(session: Session, actor: Actor, operation: str,
                   account_id: int) -> set[int] | None:
    """The VAs of the account whose rows a per-VA read may show: None means all of them."""
    wanted = rule(operation)
    if actor.is_system_admin:
        return None
    held = _held(session, actor, account_id)
    if any(va is None and role in wanted.roles for role, va in held):
        return None
    roots = {va for role, va in held if va is not None and role in wanted.roles}
    children: dict[int | None, list[int]] = {}
    for va, parent in session.execute(select(VirtualAccount.id, VirtualAccount.parent_id)
                                      .where(VirtualAccount.account_id == account_id)):
        children.setdefault(parent, []).append(va)
    seen: set[int] = set()
    frontier = list(roots)
    while frontier:
        va = frontier.pop()
        if va not in seen:
            seen.add(va)
            frontier.extend(children.get(va, []))
    return seen


def visible_account_ids(session: Session, actor: Actor) -> set[int] | None:
    """Accounts the actor holds any role in; None means all (system administrators)."""
    if actor.is_system_admin:
        return None
    if actor.password_change_due:
        return set()
    if actor.user_id is not None:
        return set(session.scalars(select(Grant.account_id).where(Grant.user_id == actor.user_id)))
    if actor.client_id is not None:
        client = session.get(ApiClient, actor.client_id)
        if client is not None and client.revoked_at is None:
            return {client.account_id}
    return set()
