"""Services name the input an error is about (`exc.field`), so that forms can show it there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from satellite.access import requests
from satellite.access.grants import grant
from satellite.accounts import service as accounts
from satellite.actor import Actor
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    SatelliteError,
    TooManyRequests,
    about,
)
from satellite.licenses.transfers import transfer
from satellite.reservation import codes
from satellite.reservation import service as reservations
from satellite.reservation.signer import CodeSigner
from satellite.tokens.secrets import TokenSealer
from satellite.tokens.service import create_token
from satellite.uow import Database, UnitOfWork
from satellite.users import service as users
from tests.devices.helpers import TAG, make_site
from tests.reservation.certify import certified_signer

PASSWORD = "a long enough password 1"


@dataclass
class Context:
    actor: Actor
    ula: Actor
    sealer: TokenSealer
    signer: CodeSigner


Call = Callable[[UnitOfWork, Context], object]


def test_errors_carry_no_field_unless_given() -> None:
    assert InvalidInput("bad").field is None
    assert InvalidInput("bad", field="domain").field == "domain"
    assert Conflict("taken", field="name").field == "name"
    limited = TooManyRequests("wait", 7, field="password")
    assert (limited.retry_after, limited.field) == (7, "password")


def test_about_names_the_field_of_errors_that_name_none() -> None:
    with pytest.raises(NotFound) as raised, about("parent"):
        raise NotFound("no such VA")
    assert raised.value.field == "parent"
    with pytest.raises(InvalidInput) as named, about("parent"):
        raise InvalidInput("bad", field="name")
    assert named.value.field == "name"
    with pytest.raises(Conflict) as other, about("parent", NotFound):
        raise Conflict("taken")
    assert other.value.field is None


def _request_code(serial: str) -> str:
    return codes.RequestCode.for_device(bytes(32), codes.Udi("C9300", serial), bytes(8)).encode()


CASES: dict[str, tuple[Call, type[SatelliteError], str]] = {
    "access request, no account named": (
        lambda uow, c: requests.request_access(uow, c.ula, " ", "account_user"),
        InvalidInput, "account"),
    "access request, unknown role": (
        lambda uow, c: requests.request_access(uow, c.ula, "Acme", "overlord"),
        InvalidInput, "role"),
    "access request, already pending": (
        lambda uow, c: [requests.request_access(uow, c.ula, "Acme", "account_user"),
                        requests.request_access(uow, c.ula, "Acme", "account_admin")],
        Conflict, "account"),
    "account request, bad domain": (
        lambda uow, c: requests.request_account(uow, c.ula, "New", "not a domain"),
        InvalidInput, "domain"),
    "account request, empty name": (
        lambda uow, c: requests.request_account(uow, c.ula, " ", "new.example.org"),
        InvalidInput, "name"),
    "account, name taken": (
        lambda uow, c: accounts.create_account(uow, c.actor, "Acme", "new.example.org"),
        Conflict, "name"),
    "account, domain taken": (
        lambda uow, c: accounts.create_account(uow, c.actor, "New", "acme.example.com"),
        Conflict, "domain"),
    "VA, name taken": (
        lambda uow, c: accounts.create_va(uow, c.actor, "Acme", "Lab"), Conflict, "name"),
    "VA, unknown parent": (
        lambda uow, c: accounts.create_va(uow, c.actor, "Acme", "New", parent="Nowhere"),
        NotFound, "parent"),
    "VA rename, name taken": (
        lambda uow, c: accounts.rename_va(uow, c.actor, "Acme", "Lab", "Spare"),
        Conflict, "new_name"),
    "VA move, under itself": (
        lambda uow, c: accounts.move_va(uow, c.actor, "Acme", "Lab", "Lab"),
        InvalidInput, "new_parent"),
    "VA move, unknown parent": (
        lambda uow, c: accounts.move_va(uow, c.actor, "Acme", "Lab", "Nowhere"),
        NotFound, "new_parent"),
    "user, bad name": (
        lambda uow, c: users.create_user(uow, c.actor, "bob smith", PASSWORD),
        InvalidInput, "username"),
    "user, name taken": (
        lambda uow, c: users.create_user(uow, c.actor, "ula", PASSWORD),
        Conflict, "username"),
    "user, weak password": (
        lambda uow, c: users.create_user(uow, c.actor, "bob", "short"),
        InvalidInput, "password"),
    "user, password reset too weak": (
        lambda uow, c: users.reset_password(uow, c.actor, "ula", "aaaaaaaaaaaaaaaa"),
        InvalidInput, "password"),
    "own password, unchanged": (
        lambda uow, c: users.change_password(uow, "ula", PASSWORD, PASSWORD),
        InvalidInput, "new"),
    "grant, unknown user": (
        lambda uow, c: grant(uow, c.actor, "nobody", "account_user", "Acme"),
        NotFound, "username"),
    "grant, unknown role": (
        lambda uow, c: grant(uow, c.actor, "ula", "overlord", "Acme"), InvalidInput, "role"),
    "grant, VA role without VA": (
        lambda uow, c: grant(uow, c.actor, "ula", "va_user", "Acme"), InvalidInput, "va_name"),
    "grant, unknown VA": (
        lambda uow, c: grant(uow, c.actor, "ula", "va_user", "Acme", "Nowhere"),
        NotFound, "va_name"),
    "token, expiry": (
        lambda uow, c: create_token(uow, c.actor, c.sealer, "Acme", "Lab", expires_days=0),
        InvalidInput, "expires_days"),
    "token, uses": (
        lambda uow, c: create_token(uow, c.actor, c.sealer, "Acme", "Lab", max_uses=0),
        InvalidInput, "max_uses"),
    "transfer, to itself": (
        lambda uow, c: transfer(uow, c.actor, "Acme", "Lab", "Lab", TAG, 1),
        InvalidInput, "target_va"),
    "transfer, unknown tag": (
        lambda uow, c: transfer(uow, c.actor, "Acme", "Lab", "Spare", "regid.none", 1),
        NotFound, "tag"),
    "transfer, too many": (
        lambda uow, c: transfer(uow, c.actor, "Acme", "Lab", "Spare", TAG, 6),
        Conflict, "quantity"),
    "transfer, not a count": (
        lambda uow, c: transfer(uow, c.actor, "Acme", "Lab", "Spare", TAG, 0),
        InvalidInput, "quantity"),
    "reservation, mistyped request code": (
        lambda uow, c: reservations.authorize(
            uow, c.actor, "Acme", "Lab", _request_code("A1")[:-3] + "XYZ", {TAG: 1}, c.signer),
        SatelliteError, "request_code"),
    "reservation, shortfall": (
        lambda uow, c: reservations.authorize(
            uow, c.actor, "Acme", "Lab", _request_code("A2"), {TAG: 6}, c.signer),
        Conflict, "licenses"),
    "reservation, bad count": (
        lambda uow, c: reservations.authorize(
            uow, c.actor, "Acme", "Lab", _request_code("A3"), {TAG: 0}, c.signer),
        InvalidInput, "licenses"),
}


@pytest.mark.parametrize("case", CASES)
def test_services_name_the_field_at_fault(db: Database, actor: Actor, clock: FixedClock,
                                          settings: Settings, case: str) -> None:
    make_site(db, actor)
    with db.uow() as uow:
        ula = users.create_user(uow, actor, "ula", PASSWORD)
        accounts.set_reservation_mode(uow, actor, "Acme", "specific")
        uow.commit()
        context = Context(actor, users.user_actor(ula),
                          TokenSealer.for_data_dir(settings.data_dir),
                          certified_signer(clock.now()))
    call, kind, field = CASES[case]
    with db.uow() as uow, pytest.raises(kind) as raised:
        call(uow, context)
    assert raised.value.field == field, raised.value.message
