"""API clients and the bearer tokens they obtain (OAuth 2 client_credentials and password).

Client secrets and tokens are 256-bit random values, so one SHA-256 is enough to store them:
a database dump reveals neither, and checking a token per request stays cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from satellite.access import ratelimit
from satellite.accounts.service import account_for
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.errors import InvalidInput, NotFound, Unauthenticated
from satellite.limits import MAX_NOTE, check_text
from satellite.permissions.models import ApiClient, ApiToken
from satellite.permissions.policy import ACCOUNT_ADMIN, ACCOUNT_ROLES
from satellite.uow import UnitOfWork
from satellite.users.models import User
from satellite.users.service import login, user_actor

TOKEN_LIFETIME = timedelta(hours=1)
MAX_CLIENT_ID = 64
MAX_CLIENT_SECRET = 128
GRANT_TYPES = ("client_credentials", "password")
# Token requests per minute, per source address.
TOKEN_REQUESTS_PER_MINUTE = 30


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


def create_client(uow: UnitOfWork, actor: Actor, account_ref: str, role: str = ACCOUNT_ADMIN,
                  description: str = "") -> tuple[ApiClient, str]:
    """Create an API client for an account. Returns it and its secret (shown only now)."""
    if role not in ACCOUNT_ROLES:
        raise InvalidInput(f"an API client's role is one of {', '.join(ACCOUNT_ROLES)}")
    description = check_text(description, "description", MAX_NOTE, required=False, lines=True)
    account = account_for(uow.session, actor, account_ref, "apiclient.manage")
    secret = secrets.token_urlsafe(32)
    client = ApiClient(client_id=secrets.token_hex(12), secret_hash=_digest(secret),
                       account_id=account.id, role=role, description=description,
                       created_by=actor.label, created_at=uow.clock.now())
    uow.session.add(client)
    uow.session.flush()
    record(uow, actor, "apiclient.create", f"apiclient:{client.client_id}",
           account_id=account.id, details={"role": role})
    return client, secret


def list_clients(session: Session, actor: Actor, account_ref: str) -> list[ApiClient]:
    account = account_for(session, actor, account_ref, "apiclient.manage")
    return list(session.scalars(select(ApiClient).where(ApiClient.account_id == account.id)
                                .order_by(ApiClient.id)))


def revoke_client(uow: UnitOfWork, actor: Actor, account_ref: str, client_id: str) -> ApiClient:
    """Revoke a client and every token it holds."""
    session = uow.session
    account = account_for(session, actor, account_ref, "apiclient.manage")
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id,
                                                    ApiClient.account_id == account.id))
    if client is None:
        raise NotFound(f"account {account.name!r} has no API client {client_id!r}")
    now = uow.clock.now()
    if client.revoked_at is None:
        client.revoked_at = now
    session.execute(update(ApiToken).where(ApiToken.client_id == client.id,
                                           ApiToken.revoked_at.is_(None)).values(revoked_at=now))
    record(uow, actor, "apiclient.revoke", f"apiclient:{client_id}", account_id=account.id)
    return client


def issue_token(uow: UnitOfWork, grant_type: str, client_id: str, client_secret: str,
                username: str | None = None, password: str | None = None,
                source: str = "") -> IssuedToken:
    """Check the client (and the user, for the password grant) and issue a bearer token.

    Failed attempts are committed before this raises, so the rate limit and the user's lockout
    count them. Raises InvalidInput, Unauthenticated or TooManyRequests.
    """
    # Bounded before anything is counted or audited: these values go into both.
    check_text(client_id, "client_id", MAX_CLIENT_ID)
    check_text(client_secret, "client_secret", MAX_CLIENT_SECRET, required=False)
    if grant_type not in GRANT_TYPES:
        raise InvalidInput(f"grant_type must be one of {', '.join(GRANT_TYPES)}",
                           field="grant_type")
    # Counted per source only: a limit per client id would let anyone who read a client id
    # (it is in audit text) keep that client from getting tokens. Its secret is 256 random
    # bits, and user passwords are throttled by login, so guessing needs no limit of its own.
    ratelimit.hit(uow, f"oauth-source:{source}", TOKEN_REQUESTS_PER_MINUTE, 60)
    session = uow.session
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    expected = client.secret_hash if client else _digest(secrets.token_hex(16))
    if (client is None or client.revoked_at is not None
            or not hmac.compare_digest(expected, _digest(client_secret or ""))):
        record(uow, Actor("apiclient", client_id or "-"), "apiclient.auth_failed",
               f"apiclient:{client_id}", account_id=client.account_id if client else None,
               details={"source": source, "grant_type": grant_type})
        uow.commit()
        raise Unauthenticated("unknown or revoked client, or wrong client secret")
    user: User | None = None
    if grant_type == "password":
        if not username or password is None:
            raise InvalidInput("the password grant needs username and password")
        # A user who must change the password gets a token that can do only that
        # (access.policy refuses every other operation to such an actor).
        user = login(uow, username, password, source)
    token = secrets.token_urlsafe(32)
    now = uow.clock.now()
    session.add(ApiToken(token_hash=_digest(token), client_id=client.id,
                         user_id=user.id if user else None, created_at=now,
                         expires_at=now + TOKEN_LIFETIME))
    actor = (user_actor(user, via=client.client_id) if user
             else Actor("apiclient", client.client_id, client_id=client.id))
    record(uow, actor, "apiclient.token", f"apiclient:{client.client_id}",
           account_id=client.account_id, details={"grant_type": grant_type, "source": source})
    return IssuedToken(token, int(TOKEN_LIFETIME.total_seconds()))


def authenticate(session: Session, token: str, now: datetime) -> Actor:
    """The actor a bearer token acts as. Raises Unauthenticated (unknown, expired, revoked)."""
    found = session.execute(
        select(ApiToken, ApiClient)
        .join(ApiClient, ApiClient.id == ApiToken.client_id)
        .where(ApiToken.token_hash == _digest(token or ""))
    ).first()
    if found is None:
        raise Unauthenticated("unknown bearer token")
    row, client = found
    if row.revoked_at is not None or client.revoked_at is not None:
        raise Unauthenticated("this bearer token was revoked")
    if row.expires_at <= now:
        raise Unauthenticated("this bearer token has expired: request a new one")
    if row.user_id is None:
        return Actor("apiclient", client.client_id, client_id=client.id)
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        raise Unauthenticated("the user of this bearer token is disabled")
    return user_actor(user, via=client.client_id)


def revoke_token(uow: UnitOfWork, token: str) -> None:
    """Revoke a bearer token; holding it is the proof needed (as in RFC 7009)."""
    row = uow.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token or "")))
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = uow.clock.now()
    client = uow.session.get(ApiClient, row.client_id)
    assert client is not None
    record(uow, Actor("apiclient", client.client_id, client_id=client.id), "apiclient.token_revoke",
           f"apiclient:{client.client_id}", account_id=client.account_id)
