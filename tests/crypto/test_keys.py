from __future__ import annotations

import stat
from pathlib import Path

import pytest

from satellite.crypto import keys
from satellite.errors import ConfigError, Conflict, InvalidInput

# RFC 8032, section 7.1, test 1.
RFC_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC_KEY_ID = "21fe31dfa154a261"  # first 16 hex of SHA-256(RFC_PUBLIC)

P256_PUBLIC_PEM = b"""-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEdFBVLdP6E6kFmDAZq1VY175eA/KB
kHkDuSl2ICcl+uZpO/3L1ATOLCLVpv37kr31m8I9C+wUz+OnpDHEPf984A==
-----END PUBLIC KEY-----
"""


def test_rfc8032_vector_gives_its_public_key_and_key_id() -> None:
    private = keys.private_key_from_raw(RFC_SECRET)
    public = keys.public_key_of(private)
    assert keys.raw_public_bytes(public) == RFC_PUBLIC
    assert keys.key_id(public) == RFC_KEY_ID
    assert keys.key_id(keys.public_key_from_raw(RFC_PUBLIC)) == RFC_KEY_ID


def test_generated_keys_differ_and_have_16_hex_ids() -> None:
    a, b = keys.generate_private_key(), keys.generate_private_key()
    ids = {keys.key_id(keys.public_key_of(a)), keys.key_id(keys.public_key_of(b))}
    assert len(ids) == 2
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)


def test_public_key_pem_round_trip(tmp_path: Path) -> None:
    public = keys.public_key_from_raw(RFC_PUBLIC)
    keys.save_public_key(tmp_path / "k.pub", public)
    assert keys.key_id(keys.load_public_key(tmp_path / "k.pub")) == RFC_KEY_ID


def test_unencrypted_private_key_is_written_0600(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    keys.save_private_key(path, keys.private_key_from_raw(RFC_SECRET))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"ENCRYPTED" not in path.read_bytes()
    loaded = keys.load_private_key(path)
    assert keys.key_id(keys.public_key_of(loaded)) == RFC_KEY_ID


def test_encrypted_private_key_needs_its_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    keys.save_private_key(path, keys.private_key_from_raw(RFC_SECRET), b"s3cret passphrase")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"BEGIN ENCRYPTED PRIVATE KEY" in path.read_bytes()
    loaded = keys.load_private_key(path, b"s3cret passphrase")
    assert keys.key_id(keys.public_key_of(loaded)) == RFC_KEY_ID
    with pytest.raises(ConfigError, match="wrong passphrase"):
        keys.load_private_key(path, b"not it")
    with pytest.raises(ConfigError, match="is encrypted"):
        keys.load_private_key(path, None)


def test_an_existing_key_file_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    keys.save_private_key(path, keys.private_key_from_raw(RFC_SECRET))
    before = path.read_bytes()
    with pytest.raises(Conflict, match="never replaced"):
        keys.save_private_key(path, keys.generate_private_key())
    assert path.read_bytes() == before


@pytest.mark.parametrize("pem", [b"", b"hello", P256_PUBLIC_PEM])
def test_only_ed25519_public_keys_are_accepted(pem: bytes) -> None:
    with pytest.raises(InvalidInput, match="Ed25519 public key"):
        keys.public_key_from_pem(pem, source="that file")


def test_raw_keys_must_be_32_bytes() -> None:
    with pytest.raises(InvalidInput, match="32 bytes"):
        keys.public_key_from_raw(b"\x00" * 31)
    with pytest.raises(InvalidInput, match="32 bytes"):
        keys.private_key_from_raw(b"\x00" * 33)
