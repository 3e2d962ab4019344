from __future__ import annotations

from pathlib import Path

import pytest

from satellite.config import Settings


@pytest.mark.sqlite_only
def test_backup_and_restore_commands(cli, settings: Settings, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    passphrase = tmp_path / "pass"
    passphrase.write_text("a long backup passphrase\n")
    assert cli("init").code == 0
    assert cli("account", "create", "Acme", "--domain", "acme.example.com").code == 0
    out = tmp_path / "b.satbak"
    made = cli("backup", "--out", str(out), "--passphrase-file", str(passphrase))
    assert made.code == 0, made.err
    assert "Wrote backup" in made.out

    target = tmp_path / "restored"
    monkeypatch.delenv("SATELLITE_DATABASE_URL")
    wrong = tmp_path / "wrong"
    wrong.write_text("not the right passphrase")
    refused = cli("--data-dir", str(target), "restore", str(out), "--passphrase-file", str(wrong))
    assert refused.code == 6
    assert refused.err.strip() == "satellite: error: wrong passphrase for this backup"
    assert not target.exists()
    done = cli("--data-dir", str(target), "restore", str(out), "--passphrase-file", str(passphrase))
    assert done.code == 0, done.err
    listed = cli("--data-dir", str(target), "account", "list")
    assert "acme.example.com" in listed.out
    again = cli("--data-dir", str(target), "restore", str(out), "--passphrase-file", str(passphrase))
    assert again.code == 4
    assert "is not empty" in again.err
