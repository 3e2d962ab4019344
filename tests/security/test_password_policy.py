"""Finding 12: common passwords (from the list shipped in the package) and passwords holding
the user name are refused, wherever a password is set."""

from __future__ import annotations

import pytest

from satellite.actor import Actor
from satellite.errors import InvalidInput
from satellite.uow import Database
from satellite.users.passwords import common_passwords
from satellite.users.service import create_user, reset_password


def test_the_list_ships_inside_the_package() -> None:
    assert len(common_passwords()) >= 10_000 and "password1234" in common_passwords()


@pytest.mark.parametrize("password", ["password1234", "123456789012", "Password2024!",
                                      "qwertyuiop123", "Sunshine!!!!2024", "my name is alice"])
def test_common_and_name_holding_passwords_are_refused(db: Database, password: str) -> None:
    with db.uow() as uow, pytest.raises(InvalidInput) as refused:
        create_user(uow, Actor("cli", "t"), "alice", password)
    assert refused.value.field == "password"
    with db.uow() as uow, pytest.raises(InvalidInput):
        reset_password(uow, Actor("cli", "t"), "admin", password.replace("alice", "admin"))


def test_an_uncommon_passphrase_is_taken(db: Database) -> None:
    with db.uow() as uow:
        create_user(uow, Actor("cli", "t"), "alice", "violet-kestrel-42-river")
