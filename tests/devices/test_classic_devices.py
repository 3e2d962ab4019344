"""Device-led conversion: a device reports a classic license it still holds; it is Out Of
Compliance for it, with the reason, until Central's conversion comes back with a sync."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from satellite.actor import Actor
from satellite.agent.client import DeviceClient, Refused
from satellite.central import classic as central_classic
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.devices.authority import DeviceAuthority
from satellite.devices.messages import ClassicHolding
from satellite.devices.service import show_device
from satellite.licenses.counters import counter
from satellite.tokens.secrets import TokenSealer
from satellite.tokens.service import create_token
from satellite.uow import Database
from satellite.web import create_app
from tests.cloudsync.lab import TAG, Lab, make_lab
from tests.devices.helpers import FlaskTransport, device
from tests.web.ui.conftest import Browser

SMART = "regid.2024-01.com.example.router-security"
HELD = ClassicHolding("PAK-77", "L-SEC-K9", 1)


@pytest.fixture
def lab(db: Database, settings: Settings, actor: Actor, clock: FixedClock,
        tmp_path: Path) -> Lab:
    made = make_lab(db, settings, actor, clock, tmp_path)
    made.registered()
    made.entitle(5)
    central_classic.entitle_classic(made.central_dir, made.now(), account="abc.xyz.com",
                                    pak=HELD.pak, sku=HELD.sku, quantity=1, tag=SMART,
                                    va="Lab", device="C9300-24T:FOC1")
    made.apply(made.respond())
    return made


@pytest.fixture
def app(settings: Settings, db: Database, authority: DeviceAuthority) -> Flask:
    made: Flask = create_app(settings, db)
    made.config["TESTING"] = True
    return made


@pytest.fixture
def transport(app: Flask) -> Iterator[FlaskTransport]:
    with app.test_client() as client:
        yield FlaskTransport(client)


@pytest.fixture
def switch(lab: Lab, actor: Actor, sealer: TokenSealer, transport: FlaskTransport,
           clock: FixedClock) -> DeviceClient:
    with lab.db.uow() as uow:
        token = create_token(uow, actor, sealer, "abc.xyz.com", "Lab").secret
        uow.commit()
    client = device(transport, clock)
    client.register(token, "C9300-24T", "FOC1", hostname="sw1")
    return client


def _device(lab: Lab) -> dict[str, object]:
    with lab.db.reader() as uow:
        return show_device(uow.session, lab.actor, "PID:C9300-24T,SN:FOC1")


def test_a_classic_license_not_converted_is_out_of_compliance_until_central_converts_it(
        lab: Lab, switch: DeviceClient, app: Flask) -> None:
    answer = switch.report({TAG: 1}, [HELD])
    assert answer["status"] == "OUT_OF_COMPLIANCE"
    assert answer["tags"][0]["status"] == "AUTHORIZED"
    (held,) = answer["classicLicenses"]
    assert held["status"] == "OUT_OF_COMPLIANCE" and held["conversion"] == "Pending"
    assert held["tag"] == SMART and "PAK PAK-77 SKU L-SEC-K9 is not converted" in held["reason"]
    shown = _device(lab)
    assert shown["status"] == "Out Of Compliance"
    assert shown["classicLicenses"][0]["reason"] == held["reason"]  # type: ignore[index]
    browser = Browser(app.test_client())
    browser.sign_in()
    page = browser.get("/a/abc.xyz.com/devices/PID:C9300-24T,SN:FOC1")
    assert "Classic licenses it holds" in page and "is not converted to Smart" in page
    # Reporting again asks once: one request goes up.
    switch.report({TAG: 1}, [HELD])

    batch, _ = lab.export()
    notes = lab.ingest(batch).notes
    assert len([n for n in notes if "completed" in n]) == 1
    lab.apply(lab.respond())
    # Converted: the device is back in compliance without calling, the pool has the line.
    assert _device(lab)["status"] == "Authorized"
    with lab.db.reader() as uow:
        from satellite.accounts.service import find_va
        va = find_va(uow.session, "abc.xyz.com", "Lab")[1]
        assert counter(uow.session, va.id, SMART, lab.now().date()).quantity == 1
    answer = switch.report({TAG: 1, SMART: 1}, [HELD])
    assert answer["status"] == "AUTHORIZED"
    assert answer["classicLicenses"][0]["conversion"] == "Completed"


def test_the_tag_a_held_classic_license_converts_to_is_out_of_compliance_with_the_reason(
        lab: Lab, switch: DeviceClient) -> None:
    # The tag is licensed already (bought as Smart), but this device's own license is classic.
    with lab.db.uow() as uow:
        from satellite.accounts.service import find_va
        from tests.devices.helpers import add_lines
        add_lines(uow.session, find_va(uow.session, "abc.xyz.com", "Lab")[1].id, SMART, 3)
        uow.commit()
    answer = switch.report({SMART: 1}, [HELD])
    (entry,) = answer["tags"]
    assert entry["status"] == "OUT_OF_COMPLIANCE" and "not converted" in entry["reason"]


def test_reports_without_classic_licenses_are_answered_as_before(
        lab: Lab, switch: DeviceClient) -> None:
    answer = switch.report({TAG: 1})
    assert answer["status"] == "AUTHORIZED" and "classicLicenses" not in answer
    assert "classicLicenses" not in _device(lab)


def test_a_malformed_classic_field_is_refused(lab: Lab, switch: DeviceClient) -> None:
    with pytest.raises(Refused, match="classicLicenses"):
        switch.report({TAG: 1}, [ClassicHolding("PAK 1 with spaces", "SKU", 1)])


def test_a_pool_covered_again_does_not_hide_a_classic_license_still_held(
        lab: Lab, switch: DeviceClient) -> None:
    from satellite.accounts.service import find_va
    from tests.devices.helpers import add_lines
    assert switch.report({TAG: 6}, [HELD])["status"] == "OUT_OF_COMPLIANCE"  # 5 held, 6 used
    with lab.db.uow() as uow:
        add_lines(uow.session, find_va(uow.session, "abc.xyz.com", "Lab")[1].id, TAG, 5)
        uow.commit()
    assert _device(lab)["status"] == "Out Of Compliance"
