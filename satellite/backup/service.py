"""`satellite backup` and `restore`: one encrypted file holding the database, keys and settings.

The archive (a tar sealed by satellite.crypto.sealing) holds manifest.json, the database snapshot,
keys/ and tls/ from the data dir, and the settings. Restore authenticates and checks everything
in a staging directory before anything is written to the target.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy.engine import make_url

from satellite import __version__
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.backup import database
from satellite.bootstrap import open_database, require_initialised
from satellite.clock import Clock
from satellite.config import Settings
from satellite.crypto.sealing import SealedWriter, open_sealed
from satellite.db import known_revisions, migrate, schema_revision
from satellite.errors import Conflict, InvalidInput, VerificationFailed
from satellite.limits import load_json

FORMAT = 1
MANIFEST = "manifest.json"
# Directories of the data dir that travel with a backup: private keys and the TLS certificate.
CARRIED_DIRS = ("keys", "tls")


@dataclass(frozen=True)
class BackupReport:
    path: Path
    manifest: dict[str, Any]


@dataclass
class RestoreReport:
    satellite_id: str
    backup_created_at: str
    from_revision: list[str]
    to_revision: list[str]
    notes: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_passphrase(path: Path) -> str:
    """The passphrase held in a file (its trailing newline dropped).

    Raises InvalidInput when the file cannot be read or is empty; the message never holds it.
    """
    try:
        value = path.read_text().strip("\r\n")
    except OSError as exc:
        raise InvalidInput(f"cannot read passphrase file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"passphrase file {path} is not text") from None
    if not value:
        raise InvalidInput(f"passphrase file {path} is empty")
    return value


def _public_settings(settings: Settings) -> dict[str, Any]:
    values = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)
              if f.name not in ("extra", "data_dir")}
    if settings.database_url:
        values["database_url"] = make_url(settings.database_url).render_as_string(hide_password=True)
    return values


@contextmanager
def _staging(near: Path) -> Iterator[Path]:
    near.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=".satellite-staging-", dir=near))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def backup(settings: Settings, out: Path, passphrase: str, clock: Clock, actor: Actor,
           config_file: Path | None = None) -> BackupReport:
    """Write an encrypted, consistent backup of a (possibly running) satellite to `out`.

    Raises ConfigError when pg_dump is needed and missing, Conflict when `out` exists.
    """
    if len(passphrase) < 12:
        raise InvalidInput("the backup passphrase must be at least 12 characters")
    if out.exists():
        raise Conflict(f"{out} exists already; choose a new file name")
    db = open_database(settings, clock)
    try:
        satellite_id = require_initialised(db)
        url = settings.effective_database_url
        with _staging(out.parent) as staging:
            revision = list(schema_revision(db.engine))
            db_file = database.snapshot(url, staging)
            for name in CARRIED_DIRS:
                if (settings.data_dir / name).is_dir():
                    shutil.copytree(settings.data_dir / name, staging / name)
            (staging / "settings").mkdir()
            (staging / "settings" / "effective.json").write_text(
                json.dumps(_public_settings(settings), indent=2, sort_keys=True))
            if config_file is not None:
                shutil.copyfile(config_file, staging / "settings" / "satellite.toml")
            files = {p.relative_to(staging).as_posix(): _sha256(p)
                     for p in sorted(staging.rglob("*")) if p.is_file()}
            manifest = {
                "format": FORMAT, "satellite_version": __version__, "satellite_id": satellite_id,
                "schema_revision": revision, "created_at": clock.now().isoformat(),
                "database": database.engine_kind(url), "database_file": db_file,
                "pg_schema": database.pg_schema(url) if database.engine_kind(url) == "postgresql" else None,
                "files": files,
            }
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
            _seal(staging, [MANIFEST, *files], out, passphrase)
        with db.uow() as uow:
            record(uow, actor, "system.backup", str(out.name),
                   details={"sha256": _sha256(out), "schema_revision": revision})
            uow.commit()
    finally:
        db.dispose()
    return BackupReport(out, manifest)


def _seal(staging: Path, names: list[str], out: Path, passphrase: str) -> None:
    partial = out.with_name(out.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            writer = SealedWriter(fh, passphrase)
            with tarfile.open(fileobj=writer, mode="w|") as archive:  # type: ignore[call-overload]
                for name in names:
                    archive.add(staging / name, arcname=name, recursive=False)
            writer.close()
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


def _unseal(source: Path, passphrase: str, staging: Path) -> dict[str, Any]:
    """Authenticate and unpack into staging; check the manifest. Returns the manifest."""
    plain = staging / "archive.tar"
    try:
        src = source.open("rb")
    except OSError as exc:
        raise InvalidInput(f"cannot read {source}: {exc.strerror}") from None
    with src, plain.open("wb") as fh:
        for chunk in open_sealed(src, passphrase):
            fh.write(chunk)
    unpacked = staging / "unpacked"
    with tarfile.open(plain, mode="r:") as archive:
        for member in archive.getmembers():
            if not member.isfile():
                raise VerificationFailed(f"the backup holds an unexpected entry {member.name!r}")
            target = unpacked.joinpath(*_inside(member.name).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            extracted = archive.extractfile(member)
            assert extracted is not None
            with extracted, target.open("wb") as out:
                shutil.copyfileobj(extracted, out)
    plain.unlink()
    try:
        manifest = parse_manifest((unpacked / MANIFEST).read_bytes())
    except OSError:
        raise VerificationFailed("the backup has no readable manifest") from None
    present = {p.relative_to(unpacked).as_posix() for p in unpacked.rglob("*") if p.is_file()} - {MANIFEST}
    if present != set(manifest["files"]):
        raise VerificationFailed("the backup's files do not match its manifest")
    for name, digest in manifest["files"].items():
        if _sha256(unpacked / name) != digest:
            raise VerificationFailed(f"{name} in the backup does not match its recorded hash")
    return manifest


def parse_manifest(raw: bytes) -> dict[str, Any]:
    """A backup's manifest, read with bounds and checked for shape before anything uses it.

    Raises VerificationFailed naming what is wrong.
    """
    try:
        manifest = load_json(raw, "the backup's manifest")
    except InvalidInput as exc:
        raise VerificationFailed(exc.message) from None
    if not isinstance(manifest, dict):
        raise VerificationFailed("the backup's manifest is not a JSON object")
    if manifest.get("format") != FORMAT:
        raise VerificationFailed(f"unknown backup format {str(manifest.get('format'))[:40]!r}")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
            isinstance(name, str) and isinstance(digest, str) and len(digest) == 64
            for name, digest in files.items()):
        raise VerificationFailed("the backup's manifest does not list its files with their hashes")
    for name in files:
        _inside(name)
    # The database is read from where the manifest says: it must be one of the hashed files.
    if manifest.get("database_file") not in files:
        raise VerificationFailed("the backup's database file is not among its hashed files")
    return manifest


def _inside(name: object) -> PurePosixPath:
    """A path of the backup as a plain relative path. Raises VerificationFailed for anything
    that could point elsewhere (absolute, `..`, `.`, empty parts, backslashes)."""
    if not isinstance(name, str) or not name or "\\" in name or "\0" in name:
        raise VerificationFailed(f"the backup names an unexpected path {name!r}")
    parts = name.split("/")
    if name.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise VerificationFailed(f"the backup names an unexpected path {name!r}")
    return PurePosixPath(name)


def _owner_only(root: Path) -> None:
    """Keys and certificates come back readable by the service user only."""
    os.chmod(root, 0o700)
    for path in root.rglob("*"):
        os.chmod(path, 0o700 if path.is_dir() else 0o600)


def _check_target(manifest: dict[str, Any], url: str) -> None:
    unknown = set(manifest["schema_revision"]) - known_revisions()
    if unknown:
        raise InvalidInput(f"the backup comes from a newer Satellite ({manifest['satellite_version']}, "
                           f"schema {', '.join(sorted(unknown))}); install that version or newer first")
    kind = database.engine_kind(url)
    if manifest["database"] != kind:
        raise InvalidInput(f"the backup holds a {manifest['database']} database but this data dir uses "
                           f"{kind}; set database_url to match")
    if kind == "postgresql" and manifest["pg_schema"] != database.pg_schema(url):
        raise InvalidInput(f"the backup's tables belong to PostgreSQL schema {manifest['pg_schema']!r}, "
                           f"but database_url points at schema {database.pg_schema(url)!r}")
    database.ensure_empty(url)


def _put_in_place(manifest: dict[str, Any], unpacked: Path, data_dir: Path, url: str) -> None:
    os.chmod(data_dir, 0o700)
    for name in CARRIED_DIRS:
        if (unpacked / name).is_dir():
            shutil.copytree(unpacked / name, data_dir / name)
            _owner_only(data_dir / name)
    if (unpacked / "settings").is_dir():
        shutil.copytree(unpacked / "settings", data_dir / "settings-from-backup")
    database.load(url, unpacked / manifest["database_file"])


def restore(settings: Settings, source: Path, passphrase: str, clock: Clock, actor: Actor) -> RestoreReport:
    """Restore a backup into an empty data dir (and empty database), migrating an older schema.

    Nothing is left behind when it fails: the data dir is emptied again (removed if it did not
    exist) and an SQLite database put elsewhere by database_url is removed; PostgreSQL loads
    in one transaction.
    Raises VerificationFailed (wrong passphrase, damaged file), Conflict (target not empty),
    InvalidInput (backup from a newer Satellite, or for another database engine).
    """
    data_dir = settings.data_dir
    if data_dir.exists() and any(data_dir.iterdir()):
        raise Conflict(f"the data dir {data_dir} is not empty; restore only into an empty data dir")
    url = settings.effective_database_url
    # Staging lives inside the (empty) target, where the service user may write and the final
    # moves stay on one filesystem; it is removed whatever happens.
    created = not data_dir.exists()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    loaded = False
    try:
        with _staging(data_dir) as staging:
            manifest = _unseal(source, passphrase, staging)
            _check_target(manifest, url)
            loaded = True  # from here on, something is written
            _put_in_place(manifest, staging / "unpacked", data_dir, url)
        report = _finish(settings, manifest, source, clock, actor)
    except BaseException:
        _empty_again(data_dir, created, url if loaded else None)
        raise
    report.notes.append(f"the backed-up settings are in {data_dir / 'settings-from-backup'}; "
                        "compare them with this machine's settings file")
    return report


def _finish(settings: Settings, manifest: dict[str, Any], source: Path, clock: Clock,
            actor: Actor) -> RestoreReport:
    db = open_database(settings, clock)
    try:
        migrate(db.engine)
        satellite_id = require_initialised(db)
        if manifest["satellite_id"] != satellite_id:
            raise VerificationFailed(
                "the restored database names another satellite than the manifest")
        with db.uow() as uow:
            record(uow, actor, "system.restore", source.name,
                   details={"backup_created_at": manifest["created_at"],
                            "schema_revision": manifest["schema_revision"]})
            uow.commit()
        return RestoreReport(satellite_id, manifest["created_at"], manifest["schema_revision"],
                             list(schema_revision(db.engine)))
    finally:
        db.dispose()


def _empty_again(data_dir: Path, created: bool, url: str | None) -> None:
    """Undo a failed restore: the data dir as it was (empty or absent), no SQLite file."""
    if url is not None and database.engine_kind(url) == "sqlite":
        path = database.sqlite_path(url)
        for leftover in (path, path.with_name(path.name + "-wal"),
                         path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
    if created:
        shutil.rmtree(data_dir, ignore_errors=True)
        return
    for child in data_dir.iterdir() if data_dir.exists() else ():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
