"""Registration tokens: sealed at rest, shown again to operators, spent exactly."""

from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from satellite.actor import Actor
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.crypto import keys, signing
from satellite.devices import registration
from satellite.devices.authority import DeviceAuthority
from satellite.devices.messages import SignedMessage, build_request, parse_request
from satellite.devices.models import Device
from satellite.errors import InvalidInput, VerificationFailed
from satellite.tokens.models import RegistrationToken
from satellite.tokens.secrets import TokenSealer
from satellite.tokens.service import TokenRefused, list_tokens, revoke_token, spend_token
from satellite.uow import Database
from tests.devices.helpers import Site, make_token


def test_a_database_dump_does_not_reveal_a_token_but_the_list_shows_it_again(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, settings: Settings) -> None:
    secret = make_token(db, actor, sealer, description="lab switches", max_uses=3)
    with db.reader() as uow:
        dump = " ".join(str(v) for row in uow.session.execute(
            text("SELECT * FROM registration_tokens")) for v in row)
        views = list_tokens(uow.session, actor, sealer, "Acme", "Lab")
    assert secret not in dump
    assert [(v.secret, v.description, v.max_uses, v.uses) for v in views] == [
        (secret, "lab switches", 3, 0)]
    assert (settings.data_dir / "keys" / "token-seal.key").stat().st_mode & 0o777 == 0o600
    other_dir = settings.data_dir.parent / "elsewhere"
    other_dir.mkdir()
    with db.reader() as uow, pytest.raises(VerificationFailed):
        list_tokens(uow.session, actor, TokenSealer.for_data_dir(other_dir), "Acme", "Lab")


def test_token_options_are_checked(db: Database, actor: Actor, sealer: TokenSealer,
                                   site: Site) -> None:
    with pytest.raises(InvalidInput, match="expiry"):
        make_token(db, actor, sealer, expires_days=0)
    with pytest.raises(InvalidInput, match="maximum uses"):
        make_token(db, actor, sealer, max_uses=0)


def test_expired_revoked_used_up_and_unknown_tokens_are_refused_with_the_reason(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock) -> None:
    once = make_token(db, actor, sealer, max_uses=1)
    short = make_token(db, actor, sealer, expires_days=1)
    revoked = make_token(db, actor, sealer)
    with db.uow() as uow:
        token_id = uow.session.scalar(select(func.max(RegistrationToken.id)))
        assert token_id is not None
        revoke_token(uow, actor, "Acme", "Lab", token_id)
        spend_token(uow.session, once, clock.now())
        uow.commit()
    later = clock.now() + timedelta(days=2)
    with db.uow() as uow:
        for secret, when, reason in [(once, clock.now(), "used 1 times, its maximum"),
                                     (short, later, "expired on"),
                                     (revoked, clock.now(), "revoked"),
                                     ("nonsense", clock.now(), "not known")]:
            with pytest.raises(TokenRefused, match=reason):
                spend_token(uow.session, secret, when)


def _register_message(index: int, secret: str, clock: FixedClock) -> SignedMessage:
    private = keys.generate_private_key()
    public = keys.raw_public_bytes(keys.public_key_of(private))
    raw, headers = build_request(
        "register", None, {"token": secret, "udi": {"pid": "P", "sn": f"SN{index}"},
                           "publicKey": base64.b64encode(public).decode()},
        clock.now(), lambda data: signing.sign(private, data))
    return parse_request(raw, headers, "register")


@pytest.mark.slow
def test_fifty_parallel_registrations_on_a_ten_use_token_make_exactly_ten_devices(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        settings: Settings, authority: DeviceAuthority) -> None:
    secret = make_token(db, actor, sealer, max_uses=10)
    messages = [_register_message(i, secret, clock) for i in range(50)]
    outcomes: list[str] = []
    start = threading.Barrier(50)

    def register(index: int) -> None:
        start.wait()
        try:
            with db.uow() as uow:
                registration.register(uow, authority, settings, messages[index])
                uow.commit()
            outcomes.append("ok")
        except TokenRefused as exc:
            outcomes.append(exc.message)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 10
    assert all("used 10 times" in o for o in outcomes if o != "ok")
    with db.reader() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Device)) == 10
        assert uow.session.scalar(select(RegistrationToken.uses)) == 10


def test_token_cli_creates_lists_and_revokes(cli, site: Site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    created = cli("token", "create", "Acme", "Lab", "--max-uses", "2", "--expires-days", "7",
                  "--export-controlled", "--description", "racks")
    assert created.code == 0, created.err
    secret = created.out.strip()
    listed = cli("token", "list", "acme.example.com", "Lab", "--json")
    [token] = json.loads(listed.out)["tokens"]
    assert (token["token"], token["max_uses"], token["export_controlled"], token["state"]) == (
        secret, 2, True, "active")
    assert cli("token", "revoke", "Acme", "Lab", str(token["id"])).code == 0
    assert json.loads(cli("token", "list", "Acme", "Lab", "--json").out)["tokens"][0][
        "state"] == "revoked"
    bad = cli("token", "create", "Acme", "Nowhere")
    assert bad.code != 0
    assert bad.err.strip() == "satellite: error: account 'Acme' has no virtual account named 'Nowhere'"
