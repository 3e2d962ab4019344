"""`satellite device list|show|transfer|remove`."""

from __future__ import annotations

import json

from satellite.actor import Actor
from satellite.clock import FixedClock
from satellite.licenses.counters import counter
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.devices.helpers import TAG, FlaskTransport, Site, device, make_token, va_id


def test_operators_list_show_transfer_and_remove_devices(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport, cli) -> None:  # type: ignore[no-untyped-def]
    token = make_token(db, actor, sealer)
    for sn, count in (("SW1", 2), ("SW2", 1)):
        client = device(transport, clock)
        client.register(token, "C9300-24T", sn, hostname=f"host-{sn}")
        client.report({TAG: count})

    listed = json.loads(cli("device", "list", "--account", "Acme", "--va", "Lab", "--json").out)
    assert listed["total"] == 2
    assert [d["udi"] for d in listed["devices"]] == ["PID:C9300-24T,SN:SW1", "PID:C9300-24T,SN:SW2"]
    assert json.loads(cli("device", "list", "--search", "host-SW2", "--json").out)["total"] == 1
    assert json.loads(cli("device", "list", "--status", "Deregistered", "--json").out)["total"] == 0

    shown = json.loads(cli("device", "show", "PID:C9300-24T,SN:SW1", "--json").out)
    assert (shown["hostname"], shown["usage"]) == ("host-SW1", {TAG: 2})

    moved = cli("device", "transfer", "SW1", "--to-va", "Spare")
    assert moved.code == 0, moved.err
    spare = va_id(db, "Acme", "Spare")
    with db.reader() as uow:
        assert counter(uow.session, spare, TAG, clock.now().date()).in_use == 2
        assert counter(uow.session, site.va_id, TAG, clock.now().date()).in_use == 1

    assert cli("device", "remove", "SW2").code == 0
    with db.reader() as uow:
        assert counter(uow.session, site.va_id, TAG, clock.now().date()).in_use == 0
    gone = json.loads(cli("device", "show", "SW2", "--json").out)
    assert gone["status"] == "Deregistered"

    missing = cli("device", "show", "NOPE")
    assert missing.code != 0
    assert "no device with UDI 'NOPE'" in missing.err
    blocked = cli("va", "delete", "Acme", "Spare")
    assert blocked.code != 0
    assert "devices" in blocked.err


def test_metrics_count_devices_by_state(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport) -> None:
    token = make_token(db, actor, sealer)
    for sn in ("M1", "M2"):
        client = device(transport, clock)
        client.register(token, "C9300-24T", sn)
    client.report({TAG: 1})
    body = transport.client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_data(
        as_text=True)
    assert 'satellite_devices{status="Registered"} 1.0' in body
    assert 'satellite_devices{status="Authorized"} 1.0' in body
    assert 'satellite_devices{status="Deregistered"} 0.0' in body
