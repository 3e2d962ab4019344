"""For sites whose Central is Cisco's CSSM: the offline-upload archive of a VA's reports not
acknowledged yet, in the layout Cisco's tools write (`manifest.mf` and an inner gzip tar of one
`dev_<n>_<time>.txt` per device)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from satellite.accounts.models import Account, VirtualAccount
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.slup.archives import write_nested
from satellite.slup.formats import usage_document
from satellite.slup.models import CssmFile, RumReportRow
from satellite.uow import UnitOfWork


@dataclass(frozen=True)
class CssmExport:
    devices: int
    reports: int
    inner: str

    def to_json(self) -> dict[str, object]:
        return {"devices": self.devices, "reports": self.reports, "archive": self.inner}


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _device_files(session: Session, va_id: int, stamp: int, counts: list[int],
                  ) -> Iterator[tuple[str, bytes]]:
    rows = session.execute(select(RumReportRow.device_id, RumReportRow.text)
                           .where(RumReportRow.va_id == va_id, RumReportRow.acked_at.is_(None))
                           .order_by(RumReportRow.device_id, RumReportRow.id)
                           .execution_options(yield_per=2000))
    current: int | None = None
    texts: list[str] = []
    names: list[tuple[str, int]] = []

    def flush() -> tuple[str, bytes]:
        assert current is not None
        name = f"dev_{len(names) + 1}_{stamp}"
        names.append((name, current))
        counts[0] += 1
        counts[1] += len(texts)
        return f"{name}.txt", usage_document(texts).encode()

    for device_id, text in rows:
        if device_id != current and texts:
            yield flush()
            texts = []
        current = device_id
        texts.append(text)
    if texts:
        yield flush()
    for name, device_id in names:
        session.merge(CssmFile(name=name, device_id=device_id))


def export_cssm(uow: UnitOfWork, actor: Actor, account: Account, va: VirtualAccount,
                out: IO[bytes]) -> CssmExport:
    """Write the VA's reports not acknowledged yet to `out` and mark them sent (the caller
    commits once the file is complete)."""
    session, now = uow.session, uow.clock.now()
    stamp = int(now.timestamp())
    inner = f"UD_VA_{_safe(va.name)}_{stamp}.tar.gz"
    counts = [0, 0]
    write_nested(out, inner, _device_files(session, va.id, stamp, counts),
                 [f"smart_account: {account.domain}", f"virtual_account: {va.name}",
                  f"created: {_iso(now)}", "format: cssm-offline usage upload"], stamp)
    session.execute(update(RumReportRow).where(
        RumReportRow.va_id == va.id, RumReportRow.acked_at.is_(None),
        RumReportRow.imported_at <= now).values(exported_at=now))
    result = CssmExport(counts[0], counts[1], inner)
    record(uow, actor, "slup.export", f"va:{account.name}/{va.name}", account_id=account.id,
           details={"format": "cssm-offline", **result.to_json()})
    return result


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")
