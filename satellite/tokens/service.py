"""Registration tokens: create, list (secrets shown again), revoke, and spend one use."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from satellite.accounts.export_control import check_token
from satellite.accounts.models import Account, VirtualAccount
from satellite.accounts.service import account_for, require_active, va_for
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.db import UTCDateTime
from satellite.errors import InvalidInput, NotFound, Unauthenticated
from satellite.limits import INT32_MAX, MAX_NOTE, check_text
from satellite.permissions.policy import visible_va_ids
from satellite.tokens.models import RegistrationToken
from satellite.tokens.secrets import TokenSealer, secret_hash
from satellite.uow import UnitOfWork

MAX_EXPIRY_DAYS = 365 * 10


class TokenRefused(Unauthenticated):
    """A device presented a token that cannot register it (unknown, expired, revoked, used up)."""


@dataclass(frozen=True)
class TokenView:
    id: int
    secret: str
    account: str
    va: str
    description: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    max_uses: int | None
    uses: int
    export_controlled: bool
    revoked_at: datetime | None
    va_id: int = 0

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        if self.max_uses is not None and self.uses >= self.max_uses:
            return "used up"
        return "active"

    def as_dict(self, now: datetime) -> dict[str, object]:
        return {
            "id": self.id, "token": self.secret, "account": self.account, "va": self.va,
            "description": self.description, "created_by": self.created_by,
            "created_at": self.created_at.isoformat(), "expires_at": self.expires_at.isoformat(),
            "max_uses": self.max_uses, "uses": self.uses,
            "export_controlled": self.export_controlled,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "state": self.state(now),
        }


def _view(token: RegistrationToken, account: Account, va: VirtualAccount,
          sealer: TokenSealer) -> TokenView:
    return TokenView(
        id=token.id, secret=sealer.unseal(token.sealed_secret, token.secret_hash),
        account=account.name, va=va.name, description=token.description,
        created_by=token.created_by, created_at=token.created_at, expires_at=token.expires_at,
        max_uses=token.max_uses, uses=token.uses, export_controlled=token.export_controlled,
        revoked_at=token.revoked_at, va_id=va.id,
    )


def create_token(uow: UnitOfWork, actor: Actor, sealer: TokenSealer, account_ref: str,
                 va_name: str, *, expires_days: int = 30, max_uses: int | None = None,
                 export_controlled: bool = False, description: str = "") -> TokenView:
    """Create a token for a VA. Returns it with its secret. Raises InvalidInput / NotFound."""
    if not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        raise InvalidInput(f"expiry must be between 1 and {MAX_EXPIRY_DAYS} days, not {expires_days}",
                           field="expires_days")
    description = check_text(description, "description", MAX_NOTE, required=False, lines=True)
    if max_uses is not None and not 1 <= max_uses <= INT32_MAX:
        raise InvalidInput(f"maximum uses must be 1 to {INT32_MAX:,} (or unlimited), not {max_uses}",
                           field="max_uses")
    account, va = va_for(uow.session, actor, account_ref, va_name, "token.manage")
    require_active(account, "registration tokens")
    check_token(account, export_controlled)
    secret = secrets.token_urlsafe(32)
    digest = secret_hash(secret)
    now = uow.clock.now()
    token = RegistrationToken(
        va_id=va.id, secret_hash=digest, sealed_secret=sealer.seal(secret, digest),
        seal_key_id=sealer.key_id, description=description.strip(), created_by=actor.label,
        created_at=now, expires_at=now + timedelta(days=expires_days), max_uses=max_uses,
        uses=0, export_controlled=export_controlled,
    )
    uow.session.add(token)
    uow.session.flush()
    record(uow, actor, "token.create", f"va:{account.domain}/{va.name}", account_id=account.id,
           details={"token_id": token.id, "expires_at": token.expires_at.isoformat(),
                    "max_uses": max_uses, "export_controlled": export_controlled,
                    "description": token.description})
    return _view(token, account, va, sealer)


def list_tokens(session: Session, actor: Actor, sealer: TokenSealer, account_ref: str,
                va_name: str) -> list[TokenView]:
    """A VA's tokens with their secrets (shown to anyone who may see the VA's tokens)."""
    account, va = va_for(session, actor, account_ref, va_name, "token.view")
    tokens = session.scalars(select(RegistrationToken).where(RegistrationToken.va_id == va.id)
                             .order_by(RegistrationToken.id))
    return [_view(t, account, va, sealer) for t in tokens]


@dataclass(frozen=True)
class AccountTokens:
    tokens: list[TokenView]
    more: bool  # more tokens than `limit` exist
    manageable: set[int] | None  # ids of the VAs whose tokens the actor may manage; None: all


def list_account_tokens(session: Session, actor: Actor, sealer: TokenSealer, account_ref: str,
                        limit: int = 1000) -> AccountTokens:
    """The tokens of every VA of the account whose tokens the actor may see, by VA and id."""
    account = account_for(session, actor, account_ref, "account.view")
    visible = visible_va_ids(session, actor, "token.view", account.id)
    query = (select(RegistrationToken, VirtualAccount)
             .join(VirtualAccount, VirtualAccount.id == RegistrationToken.va_id)
             .where(VirtualAccount.account_id == account.id)
             .order_by(VirtualAccount.name, RegistrationToken.id).limit(limit + 1))
    if visible is not None:
        query = query.where(RegistrationToken.va_id.in_(sorted(visible)))
    rows = session.execute(query).all()
    return AccountTokens([_view(t, account, va, sealer) for t, va in rows[:limit]],
                         len(rows) > limit,
                         visible_va_ids(session, actor, "token.manage", account.id))


def revoke_token(uow: UnitOfWork, actor: Actor, account_ref: str, va_name: str,
                 token_ref: int | str) -> None:
    """Revoke a token (by its id, or by its secret): no device registers with it again.

    Raises NotFound.
    """
    account, va = va_for(uow.session, actor, account_ref, va_name, "token.manage")
    which = (RegistrationToken.id == token_ref if isinstance(token_ref, int)
             else RegistrationToken.secret_hash == secret_hash(token_ref.strip()))
    token = uow.session.scalar(select(RegistrationToken).where(
        which, RegistrationToken.va_id == va.id))
    if token is None:
        shown = token_ref if isinstance(token_ref, int) else "with that value"
        raise NotFound(f"virtual account {va.name!r} has no token {shown}")
    if token.revoked_at is None:
        token.revoked_at = uow.clock.now()
        token.revoked_by = actor.label
        record(uow, actor, "token.revoke", f"va:{account.domain}/{va.name}",
               account_id=account.id, details={"token_id": token.id})


@cache
def _spend_statement() -> Any:
    # A Core statement built once: registrations run it one after the other in a storm.
    t = RegistrationToken.__table__
    assert isinstance(t, Table)
    c = t.c
    return (update(t)
            .where(c.secret_hash == bindparam("digest"), c.revoked_at.is_(None),
                   c.expires_at > bindparam("now", type_=UTCDateTime()),
                   (c.max_uses.is_(None)) | (c.uses < c.max_uses))
            .values(uses=c.uses + 1)
            .returning(c.id, c.va_id, c.export_controlled))


@dataclass(frozen=True)
class SpentToken:
    """What a registration needs of the token it used."""

    id: int
    va_id: int
    export_controlled: bool


def spend_token(session: Session, secret: str, now: datetime) -> SpentToken:
    """Count one registration against a token, exactly, however many devices register at once.

    Returns the token. Raises TokenRefused saying why it cannot be used.
    """
    digest = secret_hash(secret.strip())
    t = RegistrationToken
    # One conditional UPDATE: the database serialises concurrent spenders on the row, so the
    # use count can never pass max_uses. It returns what the registration needs.
    spent = session.connection().execute(
        _spend_statement(), {"digest": digest, "now": now}).one_or_none()
    if spent is not None:
        return SpentToken(spent.id, spent.va_id, spent.export_controlled)
    token = session.scalar(select(t).where(t.secret_hash == digest)
                           .execution_options(populate_existing=True))
    if token is None:
        raise TokenRefused("registration token is not known to this satellite")
    if token.revoked_at is not None:
        raise TokenRefused("registration token has been revoked")
    if token.expires_at <= now:
        raise TokenRefused(f"registration token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC")
    raise TokenRefused(f"registration token has been used {token.uses} times, its maximum")
