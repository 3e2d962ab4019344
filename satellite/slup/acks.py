"""ACKs for SLUP devices: received from Central or CSSM, kept per device, written as the file
the device imports (`license smart import`)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from satellite.accounts.models import Account
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.devices.models import SLUP, Device
from satellite.devices.registration import udi_label
from satellite.devices.service import checked_device, list_devices
from satellite.errors import InvalidInput, NotFound
from satellite.permissions.policy import require
from satellite.slup.archives import documents
from satellite.slup.formats import ACK, POLICY, Skipped, iter_elements
from satellite.slup.models import CssmFile, RumAck, RumReportRow
from satellite.uow import UnitOfWork

CENTRAL, CSSM = "central", "cssm"
MAX_ACK_FILE = 16 * 1024 * 1024


def store_ack(session: Session, device_id: int, document: str, origin: str,
              report_ids: Sequence[str] | None, now: datetime) -> int:
    """Keep an ACK document for a device and mark its reports acknowledged: those named,
    or (`report_ids` None) every report sent out and not acknowledged yet. Returns how many."""
    query = update(RumReportRow).where(RumReportRow.device_id == device_id,
                                       RumReportRow.acked_at.is_(None))
    if report_ids is None:
        query = query.where(RumReportRow.exported_at.is_not(None))
    else:
        query = query.where(RumReportRow.report_id.in_(list(report_ids)))
    marked = session.execute(query.values(acked_at=now)).rowcount or 0  # type: ignore[attr-defined]
    session.add(RumAck(device_id=device_id, received_at=now, origin=origin,
                       reports=int(marked), document=document))
    return int(marked)


def apply_central_acks(uow: UnitOfWork, actor: Actor, records: Iterable[Mapping[str, Any]],
                       now: datetime) -> dict[str, int]:
    """Apply the ACK records of a response from Central. A record for a device this
    satellite does not hold in the named account is passed over (and counted)."""
    done = {"devices": 0, "reports": 0, "unknown_devices": 0}
    session = uow.session
    for number, rec in enumerate(records, start=1):
        pid, serial, account, ids, document = (rec.get(k) for k in (
            "pid", "serial", "account", "report_ids", "document"))
        if not (isinstance(pid, str) and isinstance(serial, str) and isinstance(account, str)
                and isinstance(document, str) and isinstance(ids, list)
                and all(isinstance(i, str) for i in ids)):
            raise InvalidInput(f"ACK record {number} is not well formed")
        device_id = session.scalar(select(Device.id).join(Account, Account.id ==
                                                          Device.account_id)
                                   .where(Device.pid == pid, Device.serial == serial,
                                          Account.domain == account))
        if device_id is None:
            done["unknown_devices"] += 1
            continue
        done["devices"] += 1
        done["reports"] += store_ack(session, device_id, document, CENTRAL, ids, now)
    if done["devices"] or done["unknown_devices"]:
        record(uow, actor, "slup.ack_received", "central", details={**done, "origin": CENTRAL})
    return done


def latest_ack(session: Session, actor: Actor, udi: str) -> tuple[str, str, int]:
    """(UDI label, ACK document, account id) of a device's latest ACK. Raises NotFound."""
    device, account, _va = checked_device(session, actor, udi, "device.view")
    document = session.scalar(select(RumAck.document).where(RumAck.device_id == device.id)
                              .order_by(RumAck.received_at.desc(), RumAck.id.desc()).limit(1))
    label = udi_label(device.pid, device.serial)
    if document is None:
        raise NotFound(f"device {label} has no ACK yet")
    return label, document, account.id


def give_ack(uow: UnitOfWork, actor: Actor, udi: str) -> tuple[str, str]:
    """(UDI label, ACK document) of a device's latest ACK, handed out for the device: audited
    as slup.ack_given. Raises NotFound."""
    label, document, account_id = latest_ack(uow.session, actor, udi)
    record(uow, actor, "slup.ack_given", f"device:{label}", account_id=account_id)
    return label, document


def ack_file_name(label: str) -> str:
    """A file name for a device's ACK, from its UDI."""
    return "ACK_" + re.sub(r"[^A-Za-z0-9._-]+", "_", label.replace("PID:", "").replace(
        ",SN:", "_")) + ".txt"


def write_acks(uow: UnitOfWork, actor: Actor, account: str, va: str, out: Path) -> list[str]:
    """Write the latest ACK of every SLUP device of a VA into `out`, one file per device
    named by UDI, audited as one slup.acks_given. Returns the names written."""
    session = uow.session
    out.mkdir(parents=True, exist_ok=True)
    written = []
    after = None
    account_id = None
    while True:
        page = list_devices(session, actor, account=account, va=va, limit=500, after=after)
        for row in page.rows:
            if row["reporting"] != SLUP or not row.get("slup", {}).get("last_ack_at"):
                continue
            label, document, account_id = latest_ack(session, actor, row["udi"])
            name = ack_file_name(label)
            (out / name).write_text(document, encoding="utf-8")
            written.append(name)
        if page.after is None:
            break
        after = page.after
    record(uow, actor, "slup.acks_given", f"va:{account}/{va}", account_id=account_id,
           details={"files": len(written)})
    return written


# CSSM's ACK archive (import-ack)

_DEV = re.compile(r"(dev_\d+_\d+)")


def _find(value: Any, key: str) -> Iterator[Any]:
    """Every value under `key` anywhere in a JSON value."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key:
                yield v
            yield from _find(v, key)
    elif isinstance(value, list):
        for item in value:
            yield from _find(item, key)


def _ack_facts(texts: list[str]) -> tuple[tuple[str, str] | None, list[str] | None]:
    """The SUDI and report ids an ACK names, when its data says them."""
    sudi: tuple[str, str] | None = None
    ids: list[str] = []
    for text in texts:
        try:
            outer = json.loads(text)
        except ValueError:
            continue
        for data in [outer, *(json.loads(d) if isinstance(d, str) else d
                              for d in _find(outer, "data") if _json_like(d))]:
            for found in _find(data, "udi_pid"):
                serials = list(_find(data, "udi_serial_number"))
                if isinstance(found, str) and serials and isinstance(serials[0], str):
                    sudi = sudi or (found, serials[0])
            for key in ("report_id", "report_ids"):
                for value in _find(data, key):
                    ids.extend(str(v) for v in (value if isinstance(value, list) else [value]))
    return sudi, (sorted(set(ids)) or None)


def _json_like(value: Any) -> bool:
    if not isinstance(value, str):
        return isinstance(value, dict | list)
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


@dataclass
class AckImport:
    files: int = 0
    devices: list[str] = field(default_factory=list)
    reports: int = 0
    unmatched: list[str] = field(default_factory=list)
    policies: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"files": self.files, "devices": self.devices, "reports": self.reports,
                "unmatched": self.unmatched, "policies": self.policies}


def import_cssm_acks(uow: UnitOfWork, actor: Actor, name: str, stream: IO[bytes]) -> AckImport:
    """Read CSSM's ACK archive (or one ACK file) and give each ACK to its device, matched by
    the SUDI it names, else by the `dev_<n>_<time>` file it answers. Raises InvalidInput."""
    session, now = uow.session, uow.clock.now()
    require(session, actor, "sync.import")
    result = AckImport()
    for document_name, member in documents(stream, name):
        raw = member.read(MAX_ACK_FILE + 1)
        if len(raw) > MAX_ACK_FILE:
            raise InvalidInput(f"{document_name}: larger than an ACK file can be")
        skipped = Skipped()


        texts = [t for _n, t in iter_elements(io.BytesIO(raw), document_name, ACK, skipped)]
        result.files += 1
        result.policies += skipped.names.get(POLICY, 0)
        if not texts:
            raise InvalidInput(f"{document_name}: holds no <{ACK}>")
        sudi, ids = _ack_facts(texts)
        device_id = None
        if sudi is not None:
            device_id = session.scalar(select(Device.id).where(Device.pid == sudi[0],
                                                               Device.serial == sudi[1]))
        if device_id is None and (match := _DEV.search(document_name.rsplit(": ", 1)[-1])):
            device_id = session.scalar(select(CssmFile.device_id).where(
                CssmFile.name == match.group(1)))
        if device_id is None:
            result.unmatched.append(document_name)
            continue
        device = session.get(Device, device_id)
        assert device is not None
        result.devices.append(udi_label(device.pid, device.serial))
        result.reports += store_ack(session, device_id, raw.decode("utf-8"), CSSM, ids, now)
    record(uow, actor, "slup.import_ack", name, details={**result.to_json(), "origin": CSSM})
    return result
