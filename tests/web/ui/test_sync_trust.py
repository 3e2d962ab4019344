"""One rule says which key verifies which bundle: the CLI and the web UI answer alike."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask

from satellite.cloudsync.central_registration import write_request
from satellite.config import Settings
from satellite.keystore import open_keystore
from satellite.uow import Database
from tests.conftest import CliResult
from tests.web.ui.conftest import Browser

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _inspect_in_ui(admin: Browser, path: Path) -> str:
    admin.get("/sync")
    _, html = admin.post("/sync/inspect", {"ins-bundle": (io.BytesIO(path.read_bytes()), path.name)},
                         content_type="multipart/form-data", status=200)
    return html


def test_a_registration_request_is_valid_in_the_cli_and_in_the_web_ui(
        db: Database, settings: Settings, app: Flask, admin: Browser, cli, tmp_path: Path) -> None:
    request = tmp_path / "register.bundle"
    write_request(db, open_keystore(settings), request)

    shown: CliResult = cli("sync", "inspect", str(request))
    assert shown.code == 0, shown.err
    assert "valid, signed by the requesting satellite's key" in shown.out

    html = _inspect_in_ui(admin, request)
    assert "valid, signed by the requesting satellite&#39;s key" in html
    assert "not checked" not in html and "NOT VALID" not in html
