from __future__ import annotations

import pytest

from satellite.accounts import service
from satellite.actor import Actor
from satellite.uow import Database


@pytest.fixture
def acme(db: Database, actor: Actor) -> int:
    """An account, Acme (acme.example.com); returns its id."""
    with db.uow() as uow:
        account = service.create_account(uow, actor, "Acme", "acme.example.com")
        uow.commit()
        return account.id
