"""Sealing with AES-256-GCM, the one place that calls it: short secrets under a 32-byte key
(`KeySealer`, for token secrets), and streams under a passphrase (backups, below).

Passphrase sealing for backups: scrypt derives the key, AES-GCM seals the data in chunks.

File layout: MAGIC, a 4-byte header length, the JSON header (KDF parameters, salt, nonce prefix,
a passphrase check), then chunks of [4-byte length][ciphertext+tag]. Every chunk's associated data
is the header, its index and whether it is the last, so reordering, truncating or editing the
header fails authentication. Chunks keep memory bounded for large databases.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from satellite.errors import VerificationFailed

MAGIC = b"SATELLITE-SEALED\x00v1\n"
CHUNK = 1 << 20
# scrypt cost: ~0.1 s and 32 MiB on a server, so guessing passphrases offline stays expensive.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 15, 8, 1
_CHECK = b"satellite backup passphrase check"


class KeySealer:
    """Seal short texts under a 32-byte key, bound to a context (AES-256-GCM, random nonce)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("a sealing key is 32 bytes")
        self._aead = AESGCM(key)

    def seal(self, text: str, context: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, text.encode(), context.encode())

    def unseal(self, sealed: bytes, context: str, what: str) -> str:
        """Raises VerificationFailed naming `what` when the data does not open."""
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], context.encode()).decode()
        except (InvalidTag, ValueError):
            raise VerificationFailed(f"{what} does not open with this data dir's key") from None


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


def _aad(header: bytes, index: int, last: bool) -> bytes:
    return header + struct.pack(">I?", index, last)


class SealedWriter:
    """A write-only binary stream that seals what is written to `out`; call close() to finish."""

    def __init__(self, out: BinaryIO, passphrase: str) -> None:
        salt, prefix = os.urandom(16), os.urandom(8)
        self._aes = AESGCM(_derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P))
        check = self._aes.encrypt(b"\x00" * 12, b"", _CHECK + salt)
        self._header = json.dumps({"kdf": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
                                   "salt": salt.hex(), "nonce_prefix": prefix.hex(),
                                   "check": check.hex(), "cipher": "AES-256-GCM"}).encode()
        self._prefix = prefix
        self._out = out
        self._buffer = bytearray()
        self._index = 0
        out.write(MAGIC + struct.pack(">I", len(self._header)) + self._header)

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK:
            self._emit(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _emit(self, plain: bytes, last: bool) -> None:
        sealed = self._aes.encrypt(_nonce(self._prefix, self._index), plain,
                                   _aad(self._header, self._index, last))
        self._out.write(struct.pack(">I", len(sealed)) + sealed)
        self._index += 1

    def close(self) -> None:
        self._emit(bytes(self._buffer), last=True)
        self._buffer.clear()


def _read_exact(src: BinaryIO, size: int) -> bytes:
    data = src.read(size)
    if len(data) != size:
        raise VerificationFailed("the backup file is truncated")
    return data


def open_sealed(src: BinaryIO, passphrase: str) -> Iterator[bytes]:
    """Yield the plaintext chunk by chunk, each authenticated before it is yielded.

    Raises VerificationFailed for a wrong passphrase, or for a damaged or truncated file.
    """
    if src.read(len(MAGIC)) != MAGIC:
        raise VerificationFailed("this is not a Satellite backup file")
    (size,) = struct.unpack(">I", _read_exact(src, 4))
    header = _read_exact(src, size)
    try:
        params = json.loads(header)
        salt = bytes.fromhex(params["salt"])
        prefix = bytes.fromhex(params["nonce_prefix"])
        check = bytes.fromhex(params["check"])
        n, r, p = int(params["n"]), int(params["r"]), int(params["p"])
    except (ValueError, KeyError, TypeError):
        raise VerificationFailed("the backup file's header is damaged") from None
    if n > 1 << 20 or r > 32 or p > 16:
        raise VerificationFailed("the backup file asks for an unreasonable key derivation cost")
    aes = AESGCM(_derive(passphrase, salt, n, r, p))
    try:
        aes.decrypt(b"\x00" * 12, check, _CHECK + salt)
    except InvalidTag:
        raise VerificationFailed("wrong passphrase for this backup") from None
    return _chunks(src, aes, header, prefix)


def _chunks(src: BinaryIO, aes: AESGCM, header: bytes, prefix: bytes) -> Iterator[bytes]:
    index = 0
    while True:
        raw = src.read(4)
        if len(raw) != 4:
            raise VerificationFailed("the backup file is truncated")
        (size,) = struct.unpack(">I", raw)
        if size > CHUNK + 16:
            raise VerificationFailed(f"the backup file is damaged (chunk {index} is too large)")
        sealed = _read_exact(src, size)
        last = _at_end(src)
        try:
            yield aes.decrypt(_nonce(prefix, index), sealed, _aad(header, index, last))
        except InvalidTag:
            raise VerificationFailed(f"the backup file is damaged (chunk {index} fails its check)") from None
        if last:
            return
        index += 1


def _at_end(src: BinaryIO) -> bool:
    position = src.tell()
    at_end = src.read(1) == b""
    src.seek(position)
    return at_end
