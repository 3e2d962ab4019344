"""A reference Central in a directory and a satellite that trusts it, driven through services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from satellite.accounts.service import create_account, create_va
from satellite.actor import Actor
from satellite.central import service as central
from satellite.central.ingest import IngestReport, ingest
from satellite.clock import FixedClock
from satellite.cloudsync import outbound
from satellite.cloudsync.central_registration import write_request
from satellite.cloudsync.export import ExportReport, export_batch
from satellite.cloudsync.service import ImportReport, import_bundle
from satellite.config import Settings
from satellite.keystore import Keystore, open_keystore, read_central_key_file
from satellite.licenses.usage import set_usage
from satellite.state import get_state
from satellite.uow import Database

TAG = "regid.2024-01.com.example.router-advantage"


@dataclass
class Lab:
    db: Database
    settings: Settings
    actor: Actor
    clock: FixedClock
    central_dir: Path
    work: Path
    satellite_id: str
    _files: int = 0

    @property
    def keystore(self) -> Keystore:
        return open_keystore(self.settings)

    def file(self, name: str) -> Path:
        self._files += 1
        return self.work / f"{self._files:02d}-{name}.bundle"

    def now(self) -> datetime:
        return self.clock.now()

    def register(self) -> Path:
        path = self.file("registration")
        write_request(self.db, self.keystore, path)
        return path

    def export(self) -> tuple[Path, ExportReport]:
        path = self.file("batch")
        return path, export_batch(self.db, self.keystore, self.actor, path)

    def ingest(self, path: Path) -> IngestReport:
        return ingest(self.central_dir, path, self.now(), central.load_root(self.central_dir))

    def respond(self) -> Path:
        path = self.file("response")
        central.respond(self.central_dir, self.satellite_id, path, self.now())
        return path

    def apply(self, path: Path, dry_run: bool = False) -> ImportReport:
        return import_bundle(self.db, self.keystore, self.actor, path, dry_run=dry_run)

    def entitle(self, quantity: int, va: str | None = "Lab", license_type: str = "PERPETUAL",
                start_date: date | None = None, end_date: date | None = None) -> str:
        line = central.entitle(self.central_dir, self.now(), account="abc.xyz.com", va=va,
                               tag=TAG, quantity=quantity, license_type=license_type,
                               start_date=start_date, end_date=end_date)
        return line.line_id

    def report_usage(self, device: str, va_id: int, count: int) -> int:
        """What a device report does: record consumption and log it, in one transaction."""
        with self.db.uow() as uow:
            set_usage(uow.session, device, "in_use", {(va_id, TAG): count})
            seq = outbound.append(uow.session, outbound.USAGE, {
                "device": device, "account": "abc.xyz.com", "va": "Lab", "tag": TAG,
                "count": count}, uow.clock.now())
            uow.commit()
        return seq

    def state(self, key: str) -> str | None:
        with self.db.reader() as uow:
            return get_state(uow.session, key)

    def registered(self) -> None:
        """Register through files, as a disconnected site does."""
        self.ingest(self.register())
        self.apply(self.respond())


def make_lab(db: Database, settings: Settings, actor: Actor, clock: FixedClock,
             tmp_path: Path) -> Lab:
    central_dir = tmp_path / "central"
    central.init_central(central_dir, clock.now())
    open_keystore(settings).record_central_key(
        read_central_key_file(central_dir / central.PUB_FILE))
    with db.uow() as uow:
        create_account(uow, actor, "ABC", "abc.xyz.com")
        create_va(uow, actor, "abc.xyz.com", "Lab")
        satellite_id = get_state(uow.session, "satellite_id")
        uow.commit()
    assert satellite_id
    work = tmp_path / "carry"
    work.mkdir()
    return Lab(db, settings, actor, clock, central_dir, work, satellite_id)
