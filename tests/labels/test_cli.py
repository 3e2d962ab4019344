"""`satellite tag add|remove|list`, the lists' tag filters and `satellite device move`."""

from __future__ import annotations

import json

from satellite.accounts.service import create_account, create_va
from satellite.actor import Actor
from satellite.clock import FixedClock
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.devices.helpers import TAG, FlaskTransport, Site, device, make_token

POOL = ("--account", "Acme", "--va", "Lab", "--license", TAG)


def test_tags_from_the_command_line_find_devices_and_licenses(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport, cli) -> None:  # type: ignore[no-untyped-def]
    token = make_token(db, actor, sealer)
    for sn in ("SW1", "SW2"):
        device(transport, clock).register(token, "C9300-24T", sn)

    added = cli("tag", "add", "Rack-4", "core", "--device", "SW1", "--json")
    assert added.code == 0, added.err
    assert json.loads(added.out)["tags"] == ["core", "rack-4"]
    assert cli("tag", "add", "edge", *POOL).out.strip() == "edge"
    listed = json.loads(cli("device", "list", "--tag", "rack-4", "--json").out)
    assert [d["udi"] for d in listed["devices"]] == ["PID:C9300-24T,SN:SW1"]
    assert listed["devices"][0]["tags"] == ["core", "rack-4"]
    pools = json.loads(cli("license", "list", "--account", "Acme", "--with-tag", "edge",
                           "--json").out)
    assert [(p["license"], p["tags"]) for p in pools["licenses"]] == [(TAG, ["edge"])]

    assert cli("tag", "remove", "core", "--device", "SW1").out.strip() == "rack-4"
    assert cli("tag", "list", "--device", "SW1").out.strip() == "rack-4"

    bad = cli("tag", "add", "two words", "--device", "SW1")
    assert bad.code != 0 and "is not a tag" in bad.err
    neither = cli("tag", "add", "x", "--device", "SW1", "--reservation", "C9300-24T:SW1")
    assert neither.code != 0 and "name one item" in neither.err


def test_device_move_to_another_account(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport, cli) -> None:  # type: ignore[no-untyped-def]
    with db.uow() as uow:
        create_account(uow, actor, "Globex", "globex.example.com")
        create_va(uow, actor, "Globex", "Ops")
        uow.commit()
    device(transport, clock).register(make_token(db, actor, sealer), "C9300-24T", "SW1")
    moved = cli("device", "move", "SW1", "--to-account", "globex.example.com", "--to-va", "Ops")
    assert moved.code == 0, moved.err
    assert moved.out.strip() == "Moved PID:C9300-24T,SN:SW1 to Globex/Ops"
    shown = json.loads(cli("device", "show", "SW1", "--json").out)
    assert (shown["account"], shown["va"]) == ("Globex", "Ops")
    again = cli("device", "move", "SW1", "--to-account", "Globex", "--to-va", "Ops")
    assert again.code != 0 and "already in" in again.err
