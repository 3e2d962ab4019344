"""Finding 6: every path in a backup is relative, checked and hashed; a failed restore leaves
no half-written data dir."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import pytest

from satellite.actor import Actor
from satellite.backup.service import _seal, backup, restore
from satellite.clock import FixedClock
from satellite.config import Settings, load_settings
from satellite.crypto.sealing import open_sealed
from satellite.errors import VerificationFailed
from satellite.uow import Database

PASSPHRASE = "a long backup passphrase"


def _tampered(settings: Settings, clock: FixedClock, tmp_path: Path, **changes: object) -> Path:
    """A genuine backup, unpacked, its manifest changed, sealed again with the passphrase."""
    made = backup(settings, tmp_path / "real.satbak", PASSPHRASE, clock, Actor("cli", "t")).path
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    with made.open("rb") as src, (tmp_path / "plain.tar").open("wb") as out:
        for chunk in open_sealed(src, PASSPHRASE):
            out.write(chunk)
    with tarfile.open(tmp_path / "plain.tar") as archive:
        archive.extractall(unpacked, filter="data")
    manifest = json.loads((unpacked / "manifest.json").read_text())
    manifest.update(changes)
    (unpacked / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "tampered.satbak"
    _seal(unpacked, ["manifest.json", *json.loads((unpacked / "manifest.json").read_text())[
        "files"]], out, PASSPHRASE)
    return out


def _target(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "restored", env={})


@pytest.mark.sqlite_only
@pytest.mark.parametrize("where", ["absolute", "parent"])
def test_a_database_file_outside_the_backup_is_refused(
        db: Database, settings: Settings, clock: FixedClock, tmp_path: Path, where: str) -> None:
    outside = tmp_path / "outside.db"
    shutil.copyfile(settings.effective_database_url.removeprefix("sqlite:///"), outside)
    name = str(outside) if where == "absolute" else "../../outside.db"
    evil = _tampered(settings, clock, tmp_path, database_file=name)
    target = _target(tmp_path)
    with pytest.raises(VerificationFailed):
        restore(target, evil, PASSPHRASE, clock, Actor("cli", "t"))
    assert outside.exists()
    assert not target.data_dir.exists()


@pytest.mark.sqlite_only
def test_a_restore_failing_after_writing_leaves_no_data_dir(
        db: Database, settings: Settings, clock: FixedClock, tmp_path: Path) -> None:
    evil = _tampered(settings, clock, tmp_path, satellite_id="another-satellite")
    target = _target(tmp_path)
    target.data_dir.mkdir(mode=0o700)  # an empty data dir prepared by the operator stays empty
    with pytest.raises(VerificationFailed, match="another satellite"):
        restore(target, evil, PASSPHRASE, clock, Actor("cli", "t"))
    assert target.data_dir.is_dir() and list(target.data_dir.iterdir()) == []
