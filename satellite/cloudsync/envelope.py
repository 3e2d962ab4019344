"""The sync bundle: a signed, versioned envelope around a stream of JSON records.

Layout (see docs/sync.md):
  line 1  `SATELLITE-BUNDLE/1`
  line 2  the header, canonical JSON: who, to whom, serial, and the SHA-256 of the payload
  line 3  the signature, canonical JSON, over exactly the bytes of lines 1 and 2
  rest    the payload: a gzip stream of JSON lines, one record per line

The signature covers the header and the header covers the payload's hash, so a verified
signature plus a matching streamed hash proves every byte, with memory independent of size.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from satellite.clock import as_utc
from satellite.crypto.keys import PublicKey
from satellite.crypto.signing import Signature, Signer, verify
from satellite.errors import InvalidInput, VerificationFailed
from satellite.limits import INT64_MAX, load_json

FORMAT_VERSION = 1
MAGIC_PREFIX = b"SATELLITE-BUNDLE/"
MAGIC = MAGIC_PREFIX + str(FORMAT_VERSION).encode() + b"\n"
MAX_HEADER_BYTES = 1 << 20
MAX_RECORD_BYTES = 1 << 20
# Header fields nest a little (policy, certificate); records are flat apart from event details.
MAX_HEADER_DEPTH = 8
MAX_RECORD_DEPTH = 8
MAX_HEADER_TEXT = 256
# A payload may expand at most this many times its compressed size (real bundles: about 25),
# and always to MIN_EXPANSION_BYTES: a small file cannot make the reader inflate gigabytes.
MAX_EXPANSION = 200
MIN_EXPANSION_BYTES = 64 << 20
_CHUNK = 1 << 16
_LINES_PER_WRITE = 1000
_HEADER_KEYS = {"format", "kind", "sender", "recipient", "serial", "created_at", "key_id",
                "payload_sha256", "payload_records", "fields"}


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> bytes:
    """One-line JSON with sorted keys and no spaces: the same value always gives the same bytes."""
    return _CANONICAL.encode(value).encode()


def _unsupported(version: object) -> InvalidInput:
    return InvalidInput(f"bundle format version {version} is not supported "
                        f"(this satellite reads version {FORMAT_VERSION})")


@dataclass(frozen=True)
class Header:
    kind: str
    sender: str
    recipient: str
    serial: int
    created_at: datetime
    key_id: str
    payload_sha256: str
    payload_records: int
    # Kind-specific values; extensions of a kind go here, never as new top-level keys.
    fields: Mapping[str, Any] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    def to_line(self) -> bytes:
        return canonical_json({
            "format": self.format, "kind": self.kind, "sender": self.sender,
            "recipient": self.recipient, "serial": self.serial,
            "created_at": as_utc(self.created_at).isoformat(), "key_id": self.key_id,
            "payload_sha256": self.payload_sha256, "payload_records": self.payload_records,
            "fields": dict(self.fields),
        }) + b"\n"

    @classmethod
    def from_line(cls, line: bytes) -> Header:
        try:
            data = load_json(line, "the bundle header", MAX_HEADER_DEPTH)
        except InvalidInput as exc:
            raise VerificationFailed(exc.message) from None
        if not isinstance(data, dict):
            raise VerificationFailed("the bundle header is not a JSON object")
        if data.get("format") != FORMAT_VERSION:
            raise _unsupported(data.get("format"))
        if set(data) != _HEADER_KEYS:
            raise VerificationFailed("the bundle header does not have the expected fields")
        text = ("kind", "sender", "recipient", "key_id", "payload_sha256", "created_at")
        if (any(not isinstance(data[k], str) for k in text)
                or any(type(data[k]) is not int for k in ("serial", "payload_records"))
                or not isinstance(data["fields"], dict)):
            raise VerificationFailed("the bundle header has a field of the wrong type")
        if any(len(data[k]) > MAX_HEADER_TEXT for k in text):
            raise VerificationFailed(f"the bundle header has a text field longer than "
                                     f"{MAX_HEADER_TEXT} characters")
        if not 0 <= data["serial"] <= INT64_MAX or not 0 <= data["payload_records"] <= INT64_MAX:
            raise VerificationFailed("the bundle header's serial or record count is out of range")
        try:
            created_at = datetime.fromisoformat(data["created_at"])
        except ValueError:
            raise VerificationFailed("the bundle header's created_at is not a timestamp") from None
        if created_at.tzinfo is None:
            raise VerificationFailed("the bundle header's created_at has no time zone")
        return cls(kind=data["kind"], sender=data["sender"], recipient=data["recipient"],
                   serial=data["serial"], created_at=created_at, key_id=data["key_id"],
                   payload_sha256=data["payload_sha256"], payload_records=data["payload_records"],
                   fields=data["fields"], format=data["format"])


class _HashingWriter:
    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.target.write(data)

    def flush(self) -> None:
        self.target.flush()


class _HashingReader:
    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        return data


def write_bundle(path: Path, *, kind: str, sender: str, recipient: str, serial: int,
                 created_at: datetime, signer: Signer,
                 records: Iterable[Mapping[str, Any] | bytes],
                 fields: Mapping[str, Any] | None = None) -> Header:
    """Stream `records` into a signed bundle at `path` (replaced atomically when complete).

    A record is a mapping, or bytes: its canonical JSON already encoded (one line, no newline),
    for writers that hold their records' text. The payload is spooled to a temporary file
    first, since the header carries its hash.
    """
    path = Path(path)
    with tempfile.TemporaryFile(dir=path.parent) as spool:
        hashing = _HashingWriter(spool)
        count = 0
        with gzip.GzipFile(fileobj=hashing, mode="wb", mtime=0) as gz:
            # Lines go to the compressor in blocks: one call per line costs more than the
            # compression itself.
            block: list[bytes] = []
            for record in records:
                block.append(record if isinstance(record, bytes) else canonical_json(dict(record)))
                count += 1
                if len(block) == _LINES_PER_WRITE:
                    gz.write(b"\n".join(block) + b"\n")
                    block = []
            if block:
                gz.write(b"\n".join(block) + b"\n")
        header = Header(kind=kind, sender=sender, recipient=recipient, serial=serial,
                        created_at=created_at, key_id=signer.key_id,
                        payload_sha256=hashing.digest.hexdigest(), payload_records=count,
                        fields=dict(fields or {}))
        signed = MAGIC + header.to_line()
        signature = signer.sign(signed)
        partial = path.with_name(path.name + ".part")
        with partial.open("wb") as out:
            out.write(signed)
            out.write(signature.to_json().encode() + b"\n")
            spool.seek(0)
            while chunk := spool.read(_CHUNK):
                out.write(chunk)
        os.replace(partial, path)
    return header


class BundleReader:
    """An open bundle: its header and signature parsed, its payload read on demand."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self._file: IO[bytes] = self.path.open("rb")
        except OSError as exc:
            raise InvalidInput(f"cannot read {self.path}: {exc.strerror}") from None
        try:
            self._parse_head()
        except BaseException:
            self._file.close()
            raise

    def _line(self, limit: int, what: str) -> bytes:
        line = self._file.readline(limit + 1)
        if not line.endswith(b"\n") or len(line) > limit:
            raise VerificationFailed(f"{self.path} is not a complete Satellite bundle ({what})")
        return line

    def _parse_head(self) -> None:
        first = self._file.readline(64)
        if not first.startswith(MAGIC_PREFIX):
            raise VerificationFailed(f"{self.path} is not a Satellite bundle")
        if first != MAGIC:
            version = first[len(MAGIC_PREFIX):].strip().decode("ascii", "replace")
            raise _unsupported(version)
        header_line = self._line(MAX_HEADER_BYTES, "header")
        self.signed_bytes = first + header_line
        self._header_line = header_line
        self._header: Header | None = None
        sig_line = self._line(1024, "signature")
        try:
            self.signature = Signature.from_json(sig_line[:-1].decode("ascii"))
        except UnicodeDecodeError:
            raise VerificationFailed("the bundle signature is not ASCII") from None
        self._payload_offset = self._file.tell()

    @property
    def header(self) -> Header:
        """The header, parsed (with bounds) when first asked for. Whoever holds the key calls
        verify first, so that unsigned bytes are never parsed beyond the signature line."""
        if self._header is None:
            self._header = Header.from_line(self._header_line)
        return self._header

    def verify(self, trusted: PublicKey | Iterable[PublicKey]) -> PublicKey:
        """Check the signature, then the header, then the payload hash. Returns the key that
        signed.

        Raises VerificationFailed naming what is wrong; nothing should be applied then.
        """
        signer = verify(trusted, self.signed_bytes, self.signature, what=str(self.path))
        if self.header.key_id != self.signature.key_id:
            raise VerificationFailed(f"the header of {self.path} names key {self.header.key_id} "
                                     f"but it is signed by key {self.signature.key_id}")
        self._file.seek(self._payload_offset)
        digest = hashlib.sha256()
        while chunk := self._file.read(_CHUNK):
            digest.update(chunk)
        self._check_digest(digest.hexdigest())
        return signer

    def _check_digest(self, actual: str) -> None:
        if actual != self.header.payload_sha256:
            raise VerificationFailed(
                f"the payload of {self.path} does not match its signed hash: the file was modified")

    def records(self) -> Iterator[dict[str, Any]]:
        """Yield the payload's records, hashing as it reads.

        Raises VerificationFailed at the end if the bytes read do not match the signed hash,
        so a caller applying records inside a transaction rolls back.
        """
        compressed = os.fstat(self._file.fileno()).st_size - self._payload_offset
        allowed = max(MAX_EXPANSION * compressed, MIN_EXPANSION_BYTES)
        self._file.seek(self._payload_offset)
        source = _HashingReader(self._file)
        count = expanded = 0
        try:
            with gzip.GzipFile(fileobj=source, mode="rb") as gz:  # type: ignore[call-overload]
                # Inflated in blocks and split here: a readline per record costs more than
                # the inflating. `rest` is the start of a record the next block ends.
                rest = b""
                while block := gz.read(_CHUNK):
                    expanded += len(block)
                    if expanded > allowed:
                        raise VerificationFailed(
                            f"the payload of {self.path} expands to more than {MAX_EXPANSION} "
                            "times its size; it is refused unread")
                    lines = (rest + block).split(b"\n") if rest else block.split(b"\n")
                    rest = lines.pop()
                    for line in lines:
                        if len(line) > MAX_RECORD_BYTES:
                            raise self._cut_short(count + 1)
                        record = _parse_record(line, count + 1)
                        count += 1
                        yield record
                    if len(rest) > MAX_RECORD_BYTES:
                        raise self._cut_short(count + 1)
                if rest:
                    raise self._cut_short(count + 1)
            while source.read(_CHUNK):
                pass
        except (OSError, EOFError, zlib.error):
            # A damaged stream is reported as what it is: bytes that do not match the hash.
            while source.read(_CHUNK):
                pass
            self._check_digest(source.digest.hexdigest())
            raise VerificationFailed(
                f"the payload of {self.path} is not a valid gzip stream") from None
        self._check_digest(source.digest.hexdigest())
        if count != self.header.payload_records:
            raise VerificationFailed(f"{self.path} holds {count} records, its header says "
                                     f"{self.header.payload_records}")

    def _cut_short(self, number: int) -> VerificationFailed:
        return VerificationFailed(f"record {number} of {self.path} is cut short or longer "
                                  "than 1 MiB")

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> BundleReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _parse_record(line: bytes, number: int) -> dict[str, Any]:
    try:
        record = load_json(line, f"record {number}", MAX_RECORD_DEPTH)
    except InvalidInput as exc:
        raise VerificationFailed(exc.message) from None
    if not isinstance(record, dict) or not isinstance(record.get("type"), str):
        raise VerificationFailed(f"record {number} is not a JSON object with a type")
    return record


def read_bundle(path: Path) -> BundleReader:
    """Open a bundle and parse its head. Raises VerificationFailed / InvalidInput."""
    return BundleReader(path)
