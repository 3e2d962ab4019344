"""Tags on the device, license and reservation pages, the lists' tag filters, and the device
page's move to another account."""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask

from satellite.accounts.service import create_account, create_va, find_va
from satellite.actor import Actor
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.tokens.secrets import TokenSealer
from satellite.tokens.service import create_token
from satellite.uow import Database
from tests.devices.helpers import TAG, FlaskTransport, add_lines, device
from tests.web.ui.conftest import Browser

UDI = "PID:C9300-24T,SN:FOC1"
PAGE = f"/a/acme.example.com/devices/{quote(UDI)}"


def _registered(app: Flask, db: Database, settings: Settings, actor: Actor,
                clock: FixedClock) -> None:
    with db.uow() as uow:
        lab = find_va(uow.session, "Acme", "Lab")[1]
        add_lines(uow.session, lab.id, TAG, 5)
        create_account(uow, actor, "Globex", "globex.example.com")
        create_va(uow, actor, "Globex", "Ops")
        secret = create_token(uow, actor, TokenSealer.for_data_dir(settings.data_dir), "Acme",
                              "Lab").secret
        uow.commit()
    client = device(FlaskTransport(app.test_client()), clock)
    client.register(secret, "C9300-24T", "FOC1")
    client.report({TAG: 1})


def test_tags_on_pages_filter_lists_and_the_device_moves_to_another_account(
        app: Flask, admin: Browser, db: Database, settings: Settings, actor: Actor,
        clock: FixedClock) -> None:
    _registered(app, db, settings, actor, clock)

    assert "No tags." in admin.get(PAGE)
    admin.post(PAGE + "/tags", {"tags": "Rack-4, core"}, status=302)
    page = admin.get(PAGE)
    assert '<span class="tag">core' in page and '<span class="tag">rack-4' in page
    admin.post(PAGE + "/tags/remove", {"tags": "core"}, status=302)
    admin.post(PAGE + "/tags", {"tags": "semi;colon"}, status=302)
    page = admin.get(PAGE)
    assert "is not a tag" in page and '<span class="tag">core' not in page

    listed = admin.get("/a/acme.example.com/devices?tag=rack-4")
    assert f">{UDI}</a>" in listed and "1 product instance." in listed
    assert "No devices match." in admin.get("/a/acme.example.com/devices?tag=rack-4+absent")

    admin.get("/a/acme.example.com/licenses")
    admin.post("/a/acme.example.com/licenses/tags",
               {"lt-va": "Lab", "lt-license": TAG, "lt-tags": "edge"}, status=302)
    assert TAG in admin.get("/a/acme.example.com/licenses?tag=edge")
    assert "No pools match." in admin.get("/a/acme.example.com/licenses?tag=nope")
    admin.post("/a/acme.example.com/licenses/tags",
               {"lt-va": "Lab", "lt-license": TAG, "lt-tags": "edge", "remove": "1"},
               status=302)
    assert "No pools match." in admin.get("/a/acme.example.com/licenses?tag=edge")

    page = admin.get(PAGE)
    assert "Move to another account" in page and 'value="globex.example.com"' in page
    _code, refused = admin.post(PAGE + "/move", {"mv-to_account": "globex.example.com",
                                                 "mv-target": "Nowhere"}, status=404)
    assert "Nowhere" in refused
    admin.post(PAGE + "/move", {"mv-to_account": "globex.example.com", "mv-target": "Ops"},
               status=302)
    moved = admin.get(f"/a/globex.example.com/devices/{quote(UDI)}")
    assert '<dd id="device-va">Ops</dd>' in moved and '<span class="tag">rack-4' in moved
    assert "No devices match." in admin.get("/a/acme.example.com/devices")
