from __future__ import annotations

import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from satellite.accounts.models import Account, VirtualAccount
from satellite.accounts.service import create_account, create_va
from satellite.actor import Actor
from satellite.audit.service import verify
from satellite.backup import database
from satellite.backup.service import backup, restore
from satellite.bootstrap import open_database
from satellite.clock import FixedClock
from satellite.config import Settings, load_settings
from satellite.errors import Conflict, InvalidInput, VerificationFailed
from satellite.uow import Database

PASSPHRASE = "a long backup passphrase"


def _counts(db: Database) -> tuple[int, int, int]:
    with db.reader() as uow:
        s = uow.session
        accounts = s.scalar(select(func.count()).select_from(Account)) or 0
        vas = s.scalar(select(func.count()).select_from(VirtualAccount)) or 0
        lab_vas = s.scalar(select(func.count()).select_from(VirtualAccount)
                           .where(VirtualAccount.name == "Lab")) or 0
    return accounts, vas, lab_vas


@contextmanager
def _writers(db: Database, actor: Actor, threads: int = 2) -> Iterator[None]:
    """Create accounts, each with a `Lab` VA in the same transaction, until the block ends."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        i = 0
        try:
            while not stop.is_set():
                domain = f"w{worker}-{i}.example.com"
                with db.uow() as uow:
                    create_account(uow, actor, f"W{worker}-{i}", domain)
                    create_va(uow, actor, domain, "Lab")
                    uow.commit()
                i += 1
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in pool:
            thread.join()
    assert errors == []


def _target(settings: Settings, tmp_path: Path, name: str) -> Settings:
    """Where a restore lands: a new data dir, and on PostgreSQL the (emptied) schema of the source."""
    on_pg = settings.database_url.startswith("postgresql")
    return load_settings(data_dir=tmp_path / name, env={},
                         overrides={"database_url": settings.database_url if on_pg else ""})


def _move_source_schema_aside(db: Database, settings: Settings) -> str:
    """PostgreSQL dumps name their schema: free it (keeping the source) so the restore can land there."""
    db.dispose()
    schema = database.pg_schema(settings.database_url)
    admin = create_engine(settings.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER SCHEMA "{schema}" RENAME TO "{schema}_src"'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return f"{schema}_src"


def _drop(settings: Settings, schema: str) -> None:
    admin = create_engine(settings.database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def test_backup_taken_while_writing_restores_a_consistent_satellite(
        db: Database, settings: Settings, actor: Actor, clock: FixedClock, tmp_path: Path) -> None:
    keys = settings.data_dir / "keys"
    keys.mkdir(exist_ok=True)
    (keys / "identity-extra.pem").write_text("private key material")
    key_files = {p.name: p.read_bytes() for p in keys.iterdir() if p.is_file()}
    out = tmp_path / "during.satbak"
    with _writers(db, actor):
        time.sleep(0.3)
        backup(settings, out, PASSPHRASE, clock, actor)
        time.sleep(0.2)
    final = _counts(db)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert b"private key material" not in out.read_bytes()

    on_pg = settings.database_url.startswith("postgresql")
    aside = _move_source_schema_aside(db, settings) if on_pg else None
    try:
        target = _target(settings, tmp_path, "restored")
        report = restore(target, out, PASSPHRASE, clock, actor)
        restored = open_database(target, clock)
        try:
            accounts, vas, labs = _counts(restored)
            # A consistent snapshot: every account it holds came with its Default and Lab VAs.
            assert 0 < accounts < final[0]
            assert vas == 2 * accounts
            assert labs == accounts
            with restored.reader() as uow:
                chain = verify(uow.session)
            assert chain.ok, chain.reason
            assert report.satellite_id
        finally:
            restored.dispose()
        restored_keys = target.data_dir / "keys"
        assert {p.name: p.read_bytes() for p in restored_keys.iterdir() if p.is_file()} == key_files
        assert stat.S_IMODE((restored_keys / "identity-extra.pem").stat().st_mode) == 0o600
    finally:
        if aside:
            _drop(settings, aside)


@pytest.mark.sqlite_only
def test_a_quiet_backup_restores_the_same_counts_and_refuses_bad_input(
        tmp_path: Path, actor: Actor, clock: FixedClock) -> None:
    from satellite.bootstrap import initialise

    source = load_settings(data_dir=tmp_path / "source", env={})
    db = open_database(source, clock)
    initialise(source, db, actor, admin_password="correct horse battery staple")
    with db.uow() as uow:
        create_account(uow, actor, "Acme", "acme.example.com")
        create_va(uow, actor, "Acme", "Lab")
        uow.commit()
    out = tmp_path / "quiet.satbak"
    backup(source, out, PASSPHRASE, clock, actor)
    expected = _counts(db)

    with pytest.raises(Conflict, match="exists already"):
        backup(source, out, PASSPHRASE, clock, actor)
    with pytest.raises(InvalidInput, match="at least 12 characters"):
        backup(source, tmp_path / "short.satbak", "short", clock, actor)

    target = load_settings(data_dir=tmp_path / "target", env={})
    with pytest.raises(VerificationFailed, match="wrong passphrase"):
        restore(target, out, "not the passphrase", clock, actor)
    damaged = tmp_path / "damaged.satbak"
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0x01
    damaged.write_bytes(bytes(data))
    with pytest.raises(VerificationFailed, match="damaged"):
        restore(target, damaged, PASSPHRASE, clock, actor)
    truncated = tmp_path / "truncated.satbak"
    truncated.write_bytes(out.read_bytes()[:-10])
    with pytest.raises(VerificationFailed, match=r"truncated|damaged"):
        restore(target, truncated, PASSPHRASE, clock, actor)
    assert not target.data_dir.exists()
    with pytest.raises(Conflict, match="not empty"):
        restore(source, out, PASSPHRASE, clock, actor)

    restore(target, out, PASSPHRASE, clock, actor)
    restored = open_database(target, clock)
    try:
        assert _counts(restored) == expected
    finally:
        restored.dispose()

    db.dispose()


@pytest.mark.sqlite_only
def test_a_backup_from_a_newer_schema_is_refused_before_anything_is_written(
        db: Database, settings: Settings, actor: Actor, clock: FixedClock, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "b.satbak"
    backup(settings, out, PASSPHRASE, clock, actor)
    # This Satellite "knows" only an older revision than the backup's.
    monkeypatch.setattr("satellite.backup.service.known_revisions", lambda: {"0000_older"})
    target = load_settings(data_dir=tmp_path / "target", env={})
    with pytest.raises(InvalidInput, match=r"comes from a newer Satellite .* install that version or newer"):
        restore(target, out, PASSPHRASE, clock, actor)
    assert not target.data_dir.exists()


def test_backup_of_postgresql_without_pg_dump_names_the_tool(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(database.shutil, "which", lambda _name: None)
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    with pytest.raises(Exception, match="needs `pg_dump`"):
        database.snapshot(url, tmp_path)
