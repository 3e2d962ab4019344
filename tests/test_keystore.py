from __future__ import annotations

import json
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from satellite.actor import Actor
from satellite.bootstrap import initialise, open_database
from satellite.config import Settings, load_settings
from satellite.crypto import certificates, keys
from satellite.errors import ConfigError
from satellite.keystore import open_keystore
from satellite.uow import Database
from tests.conftest import CliResult
from tests.crypto.test_keys import P256_PUBLIC_PEM

Cli = Callable[..., CliResult]

@pytest.fixture
def central_pub(tmp_path: Path) -> Path:
    path = tmp_path / "central.pub"
    path.write_bytes(keys.public_key_to_pem(keys.public_key_of(keys.generate_private_key())))
    return path


def test_init_creates_keys_readable_by_the_owner_only(settings: Settings, db: Database) -> None:
    directory = settings.data_dir / "keys"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for name in ("identity.key", "device-ca.key"):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    store = open_keystore(settings, env={})
    assert store.identity_signer().key_id == store.identity_key_id()
    ca = certificates.describe(store.device_ca_certificate())
    assert ca.is_ca and ca.public_key_id == keys.key_id(keys.public_key_of(store.device_ca_key()))


def test_init_again_never_replaces_keys(settings: Settings, db: Database, actor: Actor) -> None:
    directory = settings.data_dir / "keys"
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    report = initialise(settings, db, actor)
    assert not any("created the" in note for note in report.notes)
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before


def test_keys_are_encrypted_with_the_passphrase_from_the_environment(
        tmp_path: Path, database_url: str, actor: Actor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATELLITE_KEY_PASSPHRASE", "a long passphrase")
    settings = load_settings(data_dir=tmp_path / "d", env={},
                             overrides={"database_url": database_url})
    database = open_database(settings)
    try:
        initialise(settings, database, actor, admin_password="correct horse battery staple")
    finally:
        database.dispose()
    assert b"ENCRYPTED" in (settings.data_dir / "keys" / "identity.key").read_bytes()
    assert open_keystore(settings).identity_signer() is not None
    with pytest.raises(ConfigError, match="is encrypted"):
        open_keystore(settings, env={}).identity_signer()


def test_the_passphrase_file_setting_wins_over_the_environment(
        tmp_path: Path, database_url: str) -> None:
    secret = tmp_path / "passphrase"
    secret.write_text("from the file\n")
    settings = load_settings(data_dir=tmp_path / "d", env={}, overrides={
        "database_url": database_url, "key_passphrase_file": str(secret)})
    store = open_keystore(settings, env={"SATELLITE_KEY_PASSPHRASE": "from env"})
    store.ensure_keys("sat-1", datetime(2026, 3, 1, tzinfo=UTC))
    assert keys.load_private_key(store.directory / "identity.key", b"from the file")
    empty = tmp_path / "empty"
    empty.write_text("")
    with pytest.raises(ConfigError, match=r"key_passphrase_file: .* is empty"):
        open_keystore(load_settings(data_dir=tmp_path / "e", env={}, overrides={
            "key_passphrase_file": str(empty)}))


def test_init_records_the_central_key_and_status_shows_it(cli: Cli, central_pub: Path) -> None:
    first = cli("init", "--central-key", str(central_pub))
    assert first.code == 0, first.err
    assert "trust anchor" in first.out
    expected = keys.key_id(keys.load_public_key(central_pub))
    info = json.loads(cli("status", "--json").out)
    assert info["keys"]["central_key_id"] == expected
    assert len(info["keys"]["identity_key_id"]) == 16
    again = cli("init", "--central-key", str(central_pub))
    assert again.code == 0 and "trust anchor" not in again.out


def test_a_different_central_key_is_refused(cli: Cli, settings: Settings, central_pub: Path,
                                            tmp_path: Path) -> None:
    assert cli("init", "--central-key", str(central_pub)).code == 0
    other = tmp_path / "other.pub"
    other.write_bytes(keys.public_key_to_pem(keys.public_key_of(keys.generate_private_key())))
    result = cli("init", "--central-key", str(other))
    assert result.code == 4
    assert result.err.count("\n") == 1 and "a different Central key" in result.err
    assert (settings.data_dir / "keys" / "central.pub").read_bytes() == central_pub.read_bytes()


@pytest.mark.parametrize("content", [b"not a key\n", P256_PUBLIC_PEM])
def test_a_central_key_file_that_is_not_ed25519_is_refused_before_anything(
        cli: Cli, settings: Settings, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.pub"
    path.write_bytes(content)
    result = cli("init", "--central-key", str(path))
    assert result.code == 2
    assert result.err.count("\n") == 1 and "Ed25519 public key" in result.err
    assert not settings.data_dir.exists()
