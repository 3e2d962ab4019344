from __future__ import annotations

import json
import stat
from pathlib import Path

from satellite.config import Settings


def test_init_creates_admin_with_random_password_once(cli, settings: Settings) -> None:
    first = cli("init")
    assert first.code == 0, first.err
    password_file = settings.data_dir / "initial-admin-password"
    assert str(password_file) in first.out
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    password = password_file.read_text().strip()
    assert len(password) >= 20
    assert password not in first.out
    second = cli("init")
    assert second.code == 0
    assert "first system administrator" not in second.out
    assert password_file.read_text().strip() == password


def test_init_is_idempotent_and_keeps_data(cli) -> None:
    cli("init")
    before = json.loads(cli("status", "--json").out)
    cli("account", "create", "Acme", "--domain", "acme.example.com")
    assert cli("init").code == 0
    after = json.loads(cli("status", "--json").out)
    assert after["satellite_id"] == before["satellite_id"]
    assert after["counts"]["accounts"] == 1
    assert after["counts"]["virtual_accounts"] == 1


def test_admin_password_from_file_is_checked_against_policy(cli, tmp_path: Path) -> None:
    weak = tmp_path / "weak"
    weak.write_text("short\n")
    result = cli("init", "--admin-password-file", str(weak))
    assert result.code != 0
    assert "at least 12 characters" in result.err
    good = tmp_path / "good"
    good.write_text("a long passphrase for the appliance\n")
    assert cli("init", "--admin-password-file", str(good)).code == 0


def test_status_names_the_satellite(cli) -> None:
    cli("init")
    info = json.loads(cli("status", "--json").out)
    assert info["registration"] == "unregistered"
    assert len(info["satellite_id"]) == 36
    assert info["counts"]["users"] == 1
