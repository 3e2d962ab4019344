"""Access requests (a user asks for a role on an account) and account creation requests.

An account request creates the account Pending (its Central lines are held); approving the
request activates it, denying removes it. A request for a domain under an existing account's
domain (`abc.xyz.com` under `xyz.com`) is decided by the admins of the top-level one (the
shortest such domain); any other by a system administrator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from satellite.access.grants import add_grant
from satellite.access.models import APPROVED, DENIED, PENDING, AccessRequest, AccountRequest
from satellite.accounts.models import ACTIVE, Account, VirtualAccount
from satellite.accounts.service import (
    account_for,
    activate,
    add_account,
    clean_name,
    find_account,
    get_account,
    normalise_domain,
)
from satellite.actor import Actor
from satellite.alerts.models import REQUEST_PENDING, Alert, AlertChannel
from satellite.alerts.service import clear_alert, raise_alert
from satellite.audit.service import record
from satellite.cloudsync.held import held_counts, held_for
from satellite.cloudsync.models import HeldLine
from satellite.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from satellite.limits import MAX_NOTE, check_text
from satellite.permissions.models import ApiClient, Grant
from satellite.permissions.policy import ACCOUNT_ADMIN, ACCOUNT_ROLES, require
from satellite.uow import UnitOfWork
from satellite.users.models import User

R = TypeVar("R", AccessRequest, AccountRequest)


def _get(session: Session, model: type[R], request_id: int, missing: str) -> R:
    # Ids past the database's integer range cannot exist (and would not bind).
    found = session.get(model, request_id) if 0 < request_id < 2**63 else None
    if found is None:
        raise NotFound(missing)
    return found


def _requester(session: Session, actor: Actor) -> User:
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise PermissionDenied("only a signed-in user can make a request")
    return user


def request_access(uow: UnitOfWork, actor: Actor, account_ref: str, role: str,
                   note: str = "") -> AccessRequest:
    """Ask the account's admins for an account role.

    The answer is the same whether or not the account exists: a request for an unknown
    account is kept too, and simply never decided. Raises InvalidInput, Conflict (a pending
    request for the same name).
    """
    note = check_text(note, "note", MAX_NOTE, required=False, lines=True)
    if role not in ACCOUNT_ROLES:
        raise InvalidInput(f"ask for one of {', '.join(ACCOUNT_ROLES)}", field="role")
    session = uow.session
    user = _requester(session, actor)
    ref = (account_ref or "").strip()
    if not ref or len(ref) > 255:
        raise InvalidInput("name the account (its name or domain, at most 255 characters)",
                           field="account")
    account = find_account(session, ref)
    same = (AccessRequest.account_id == account.id if account is not None
            else (AccessRequest.account_id.is_(None)) & (AccessRequest.account_ref == ref))
    pending = session.scalar(select(AccessRequest.id).where(
        AccessRequest.user_id == user.id, same, AccessRequest.status == PENDING))
    if pending is not None:
        raise Conflict(f"you already have a pending request ({pending}) for {ref!r}",
                       field="account")
    req = AccessRequest(user_id=user.id, account_id=account.id if account else None,
                        account_ref=ref, role=role, note=note, status=PENDING,
                        created_at=uow.clock.now())
    session.add(req)
    session.flush()
    record(uow, actor, "access_request.create", f"account:{ref}",
           account_id=account.id if account else None, details={"request": req.id, "role": role})
    if account is not None:
        # The account's admins are told (their account's channels, and the appliance's). The
        # note stays in the request: alerts are read by every role of the account.
        raise_alert(session, _alert_key(req), REQUEST_PENDING,
                    f"{user.username} asks for the role {role} on {account.domain} (access "
                    f"request {req.id}); approve or deny it under Access", req.created_at,
                    account.id)
    return req


def list_access_requests(session: Session, actor: Actor, account_ref: str) -> list[AccessRequest]:
    account = account_for(session, actor, account_ref, "access_request.decide")
    return list(session.scalars(select(AccessRequest).where(
        AccessRequest.account_id == account.id).order_by(AccessRequest.id)))


def decide_access(uow: UnitOfWork, actor: Actor, request_id: int, approve: bool) -> AccessRequest:
    """Approve (granting the role) or deny a pending access request."""
    session = uow.session
    missing = f"no access request {request_id}"
    req = _get(session, AccessRequest, request_id, missing)
    if req.account_id is None:
        raise NotFound(missing)  # it names no account: there is nothing to decide
    require(session, actor, "access_request.decide", account_id=req.account_id, not_found=missing)
    _decide(req, actor, approve, uow)
    account = session.get(Account, req.account_id)
    user = session.get(User, req.user_id)
    assert account is not None and user is not None
    if approve:
        add_grant(uow, actor, user, req.role, account, None)
    record(uow, actor, f"access_request.{req.status.lower()}", f"user:{user.username}",
           account_id=account.id, details={"request": req.id, "role": req.role})
    return req


def _decide(req: AccessRequest | AccountRequest, actor: Actor, approve: bool,
            uow: UnitOfWork) -> None:
    if req.status != PENDING:
        raise Conflict(f"request {req.id} was already {req.status.lower()}")
    req.status = APPROVED if approve else DENIED
    req.decided_by = actor.label
    req.decided_at = uow.clock.now()
    clear_alert(uow.session, _alert_key(req), req.decided_at)


def _alert_key(req: AccessRequest | AccountRequest) -> str:
    which = "access" if isinstance(req, AccessRequest) else "account"
    return f"{REQUEST_PENDING}:{which}:{req.id}"


def parent_account(session: Session, domain: str) -> Account | None:
    """The Active account with the shortest domain that `domain` sits under: the top-level
    domain's account decides for everything under it (`z.lab.acme.example` goes to the admins
    of `acme.example`, even when `lab.acme.example` has an account too)."""
    labels = domain.split(".")
    suffixes = [".".join(labels[i:]) for i in range(1, len(labels) - 1)]
    if not suffixes:
        return None
    found = list(session.scalars(select(Account).where(Account.domain.in_(suffixes),
                                                       Account.status == ACTIVE)))
    return min(found, key=lambda a: len(a.domain), default=None)


def request_account(uow: UnitOfWork, actor: Actor, name: str, domain: str,
                    note: str = "") -> AccountRequest:
    """Ask for a new account: it is created Pending (its Central lines held) until whoever the
    request names approves it, which activates it."""
    note = check_text(note, "note", MAX_NOTE, required=False, lines=True)
    session = uow.session
    user = _requester(session, actor)
    name = clean_name(name, "account name", "name")
    domain = normalise_domain(domain)
    # A name or domain already taken is not refused here, which would tell anyone which
    # accounts exist: no Pending account is made, whoever decides the request learns it, and
    # approving it fails.
    parent = parent_account(session, domain)
    taken = session.scalar(select(Account.id).where(
        or_(Account.name == name, Account.domain == domain)))
    pending = None if taken is not None else add_account(
        uow, actor, name, domain, pending=True, created_by=f"user:{user.username}")
    req = AccountRequest(user_id=user.id, name=name, domain=domain, note=note, status=PENDING,
                         parent_account_id=parent.id if parent else None,
                         account_id=pending.id if pending else None,
                         created_at=uow.clock.now())
    session.add(req)
    session.flush()
    record(uow, actor, "account_request.create", f"account:{domain}",
           account_id=parent.id if parent else None, details={"request": req.id, "name": name})
    # Those who decide it are told: the top-level account's admins, else the appliance's.
    raise_alert(session, _alert_key(req), REQUEST_PENDING,
                f"{user.username} asks for a new account {name!r} ({domain}; account request "
                f"{req.id}); approve or deny it under Access", req.created_at,
                parent.id if parent else None)
    return req


def list_account_requests(session: Session, actor: Actor) -> list[AccountRequest]:
    """Requests the actor may decide, and the actor's own."""
    query = select(AccountRequest).order_by(AccountRequest.id)
    if not actor.is_system_admin:
        admin_of = select(Grant.account_id).where(Grant.user_id == actor.user_id,
                                                  Grant.role == ACCOUNT_ADMIN,
                                                  Grant.va_id.is_(None))
        query = query.where(or_(AccountRequest.user_id == actor.user_id,
                                AccountRequest.parent_account_id.in_(admin_of)))
    return list(session.scalars(query))


def _require_decider(session: Session, actor: Actor, req: AccountRequest, missing: str) -> None:
    if req.parent_account_id is None:
        require(session, actor, "account.create")
    else:
        require(session, actor, "account_request.decide", account_id=req.parent_account_id,
                not_found=missing)


def to_decide(session: Session, actor: Actor,
              reqs: Sequence[AccountRequest]) -> dict[int, int]:
    """The pending requests among `reqs` the actor may decide, each with how many lines Central
    holds for the domain it asks for (told to those who decide only: anyone may ask for any
    domain)."""
    deciding = []
    for req in reqs:
        if req.status != PENDING:
            continue
        try:
            _require_decider(session, actor, req, "")
        except (NotFound, PermissionDenied):
            continue
        deciding.append(req)
    held = held_counts(session, [req.domain for req in deciding])
    return {req.id: held.get(req.domain, 0) for req in deciding}


def requested_lines(session: Session, actor: Actor, request_id: int, limit: int | None,
                    offset: int = 0) -> tuple[AccountRequest, list[HeldLine], int]:
    """What Central holds for the account a request asks for, shown to whoever may decide it
    (not to its requester: anyone may ask for any domain): the request, a page of its held
    lines and how many in all. Raises NotFound or PermissionDenied as deciding would, and
    PermissionDenied to the requester."""
    missing = f"no account request {request_id}"
    req = _get(session, AccountRequest, request_id, missing)
    try:
        _require_decider(session, actor, req, missing)
    except NotFound:
        if actor.kind == "user" and actor.user_id == req.user_id:
            raise PermissionDenied("only whoever decides this request sees what Central holds "
                                   "for its domain") from None
        raise
    rows, total = held_for(session, HeldLine.domain == req.domain, limit, offset)
    return req, rows, total


def decide_account(uow: UnitOfWork, actor: Actor, request_id: int,
                   approve: bool) -> AccountRequest:
    """Approve (activating the Pending account, its requester becoming its admin) or deny
    (removing the Pending account: its held lines are held for no account again)."""
    session = uow.session
    missing = f"no account request {request_id}"
    req = _get(session, AccountRequest, request_id, missing)
    _require_decider(session, actor, req, missing)
    _decide(req, actor, approve, uow)
    pending = session.get(Account, req.account_id) if req.account_id is not None else None
    record(uow, actor, f"account_request.{req.status.lower()}", f"account:{req.domain}",
           account_id=req.parent_account_id, details={"request": req.id})
    if not approve:
        if pending is not None and pending.status != ACTIVE:
            req.account_id = None
            remove_pending(uow, actor, pending)
        return req
    user = session.get(User, req.user_id)
    assert user is not None
    if pending is None:
        account = add_account(uow, actor, req.name, req.domain, created_by=f"user:{user.username}")
    else:
        account = activate(uow, actor, pending)
    add_grant(uow, actor, user, ACCOUNT_ADMIN, account, None)
    return req


def remove_pending(uow: UnitOfWork, actor: Actor, account: Account) -> None:
    """Remove a Pending account (nothing can have used it) with its VAs, roles and alerts."""
    session = uow.session
    for model in (AccessRequest, ApiClient, Grant, Alert, AlertChannel):
        session.execute(delete(model).where(model.account_id == account.id))
    session.execute(delete(VirtualAccount).where(VirtualAccount.account_id == account.id))
    session.delete(account)
    session.flush()
    record(uow, actor, "account.remove_pending", f"account:{account.domain}",
           account_id=account.id, details={"name": account.name})


def activate_account(uow: UnitOfWork, actor: Actor, account_ref: str) -> Account:
    """Activate a Pending account: approve its request if a user asked for it (its approver
    decides), else a system administrator's. Raises NotFound, Conflict (Active already)."""
    session = uow.session
    account = get_account(session, account_ref)
    missing = f"no account named {account_ref!r} (give its name or domain identifier)"
    req = session.scalar(select(AccountRequest).where(AccountRequest.account_id == account.id,
                                                      AccountRequest.status == PENDING))
    if req is None:
        # Who holds no role on it learns nothing of it.
        account_for(session, actor, account_ref, "account.view")
        require(session, actor, "account.create")
        return activate(uow, actor, account)
    _require_decider(session, actor, req, missing)
    decide_account(uow, actor, req.id, True)
    return account
