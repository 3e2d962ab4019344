"""Finding 5: failures are counted per source and name, so an attacker cannot lock out the
owner, unknown names answer like known ones, and a client id alone blocks nobody."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from satellite.actor import Actor
from satellite.clock import FixedClock
from satellite.errors import SatelliteError
from satellite.uow import Database
from satellite.users import service as users
from satellite.users import throttle

PASSWORD = "violet-kestrel-42-river"


@pytest.fixture
def alice(db: Database) -> None:
    with db.uow() as uow:
        users.create_user(uow, Actor("cli", "t"), "alice", PASSWORD)
        uow.commit()


def _attempt(db: Database, name: str, password: str, source: str) -> str:
    try:
        with db.uow() as uow:
            users.login(uow, name, password, source)
            uow.commit()
    except SatelliteError as exc:
        return f"{exc.http_status} {exc.message}"
    return "ok"


def test_an_attacker_locked_out_at_one_address_leaves_the_owner_signing_in(
        db: Database, clock: FixedClock, alice: None) -> None:
    for _ in range(throttle.PAIR.lockout):
        _attempt(db, "alice", "wrong password!!", "10.9.9.9")
        clock.advance(timedelta(seconds=61))
    assert _attempt(db, "alice", PASSWORD, "10.9.9.9").startswith("429")
    assert _attempt(db, "alice", PASSWORD, "web 10.0.0.5") == "ok"


def test_unknown_names_answer_exactly_like_known_ones(db: Database, alice: None) -> None:
    def answers(name: str, source: str) -> list[str]:
        return [_attempt(db, name, "wrong password!!", source)
                for _ in range(throttle.PAIR.free + 2)]

    assert answers("alice", "10.1.1.1") == answers("mallory", "10.1.1.2")


def test_one_address_cannot_spray_many_names(db: Database, alice: None) -> None:
    for n in range(throttle.SOURCE.free):
        _attempt(db, f"user{n}", "wrong password!!", "10.7.7.7")
    assert _attempt(db, "alice", PASSWORD, "10.7.7.7").startswith("429")
    assert _attempt(db, "alice", PASSWORD, "10.7.7.8") == "ok"


def test_knowing_a_client_id_does_not_block_the_client(
        client: FlaskClient, make_client: Callable[..., tuple[str, str]]) -> None:
    client_id, secret = make_client("acme.example.com")
    for _ in range(40):
        client.post("/oauth/token", json={"grant_type": "client_credentials",
                                          "client_id": client_id, "client_secret": "guess"},
                    environ_base={"REMOTE_ADDR": "10.6.6.6"})
    owner = client.post("/oauth/token", json={"grant_type": "client_credentials",
                                              "client_id": client_id, "client_secret": secret},
                        environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert owner.status_code == 200, owner.json
