"""Cisco's offline archives: a gzip tar holding `manifest.mf` and an inner gzip tar of one file
per device (`dev_<n>_<time>.txt` going to CSSM, `ACK_dev_<n>_...` coming back).

Archives are read as streams, member by member, and never unpacked to disk.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import PurePosixPath
from typing import IO, Any

from satellite.errors import InvalidInput

MANIFEST = "manifest.mf"
_NESTED = (".tar.gz", ".tgz", ".tar")
# Errors a damaged archive raises while a member is read.
READ_ERRORS = (OSError, EOFError, zlib.error, tarfile.TarError)


def _is_archive(stream: Any) -> bool:
    head: bytes = stream.peek(512)[:512]
    return head[:2] == b"\x1f\x8b" or head[257:262] == b"ustar"


def documents(stream: IO[bytes], name: str) -> Iterator[tuple[str, IO[bytes]]]:
    """(name, stream) of every document in an upload: the file itself, or each member of an
    offline archive (nested archives opened in turn, manifests passed over). The caller
    reads each stream before asking for the next. Raises InvalidInput for a damaged archive.
    """
    buffered: Any = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(
        stream)
    if not _is_archive(buffered):
        yield name, buffered
        return
    yield from _members(buffered, name, 0)


def _members(stream: IO[bytes], name: str, depth: int) -> Iterator[tuple[str, IO[bytes]]]:
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as archive:
            for member in archive:
                if not member.isfile():
                    continue
                inner = archive.extractfile(member)
                assert inner is not None
                base = PurePosixPath(member.name).name
                where = f"{name}: {member.name}"
                if base.endswith(_NESTED) and depth < 2:
                    yield from _members(inner, where, depth + 1)
                elif base != MANIFEST:
                    yield where, inner
    except READ_ERRORS as exc:
        raise InvalidInput(f"{name}: not a readable offline archive (gzip tar): {exc}") from None


def _add(archive: tarfile.TarFile, name: str, data: bytes, mtime: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), mtime, 0o644
    archive.addfile(info, io.BytesIO(data))


def write_nested(out: IO[bytes], inner_name: str, files: Iterator[tuple[str, bytes]],
                 manifest: Sequence[str], mtime: int) -> int:
    """Write Cisco's nested layout to `out`: manifest.mf and `inner_name` (a gzip tar of
    `files`). Returns how many files it holds. The inner archive is spooled, not held."""
    listed = []
    with tempfile.TemporaryFile() as spool:
        with tarfile.open(fileobj=spool, mode="w:gz") as inner:
            for file_name, data in files:
                _add(inner, file_name, data, mtime)
                listed.append(f"{file_name} sha256={hashlib.sha256(data).hexdigest()}")
        size = spool.tell()
        spool.seek(0)
        with tarfile.open(fileobj=out, mode="w:gz") as outer:
            text = "\n".join([*manifest, f"archive: {inner_name}", f"files: {len(listed)}",
                              *listed]) + "\n"
            _add(outer, MANIFEST, text.encode(), mtime)
            info = tarfile.TarInfo(inner_name)
            info.size, info.mtime, info.mode = size, mtime, 0o644
            outer.addfile(info, spool)
    return len(listed)
