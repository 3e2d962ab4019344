"""Usage batches: every unacknowledged fact of the outbound log, streamed into a signed bundle."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from pathlib import Path

from satellite.actor import Actor
from satellite.clock import as_utc
from satellite.cloudsync import classic, outbound
from satellite.cloudsync import sync_history as history
from satellite.cloudsync.central_registration import CENTRAL_ID_KEY, REGISTERED, STATE_KEY
from satellite.cloudsync.envelope import Header, canonical_json, write_bundle
from satellite.cloudsync.records import ANY_CENTRAL, EVENT, USAGE_BATCH
from satellite.errors import ConfigError, SatelliteError
from satellite.keystore import Keystore
from satellite.permissions.policy import require
from satellite.state import get_state, set_state
from satellite.uow import Database

_SERIAL_KEY = "sync.last_batch_serial"
Progress = Callable[[int], None]
# A record's keys in canonical (sorted) order are at, data, kind, seq, type.
_EVENT_END = b',"type":' + canonical_json(EVENT) + b"}"
# Events logged in one transaction share a time: its text is made once.
_TIMES_KEPT = 10_000


@dataclass(frozen=True)
class ExportReport:
    header: Header
    batch_id: str
    first_sequence: int
    last_sequence: int
    count: int


def export_batch(db: Database, keystore: Keystore, actor: Actor, out: Path,
                 progress: Progress | None = None) -> ExportReport:
    """Write every event after the acknowledgement watermark to `out`.

    Exporting again before Central acknowledges covers the same events plus new ones, so a lost
    file loses nothing. Raises PermissionDenied for a caller who may not sync (the sync.import
    rule: carrying data out and in is the same trust), ConfigError while not registered.
    """
    signer = keystore.identity_signer()
    with db.uow() as uow:
        session = uow.session
        require(session, actor, "sync.import")
        if get_state(session, STATE_KEY) != REGISTERED:
            raise ConfigError("this satellite is not registered with Central yet: run "
                              "`satellite sync register --out FILE` and import Central's answer")
        satellite_id = get_state(session, "satellite_id") or ""
        recipient = get_state(session, CENTRAL_ID_KEY) or ANY_CENTRAL
        acked = outbound.acked_through(session)
        last = outbound.last_sequence(session)
        serial = int(get_state(session, _SERIAL_KEY) or 0) + 1
        set_state(session, _SERIAL_KEY, str(serial))
        now = uow.clock.now()
        conversions = classic.pending_requests(session)
        # The batch serial is taken before the file is written: a failed write wastes a
        # number, which Central tolerates, and two exports never share one.
        uow.commit()
    batch_id = uuid.uuid4().hex
    fields = {"batch_id": batch_id, "first_sequence": acked + 1 if last > acked else None,
              "last_sequence": last if last > acked else None, "count": last - acked,
              "acked_through": acked}
    if conversions:
        fields[classic.REQUESTS_FIELD] = len(conversions)
    try:
        header = write_bundle(out, kind=USAGE_BATCH, sender=satellite_id, recipient=recipient,
                              serial=serial, created_at=now, signer=signer,
                              records=chain(_records(db, acked, last, progress), conversions),
                              fields=fields)
    except (OSError, SatelliteError) as exc:
        history.add_failure(db, actor, history.EXPORT, str(exc)[:500], serial)
        raise
    with db.uow() as uow:
        history.add(uow.session, actor, uow.clock.now(), history.EXPORT, serial=serial,
                    records=last - acked,
                    summary=f"events {acked + 1}-{last}" if last > acked else "no new events")
        uow.commit()
    return ExportReport(header, batch_id, acked + 1, last, last - acked)


def _records(db: Database, after: int, through: int,
             progress: Progress | None) -> Iterator[bytes]:
    """Each event's record as canonical JSON: the payload is logged as canonical JSON
    (outbound.append), so its text goes in as it is, not decoded and encoded again."""
    times: dict[datetime, bytes] = {}
    kinds: dict[str, bytes] = {}
    with db.reader() as uow:
        for seq, kind, at, payload in outbound.event_rows(uow.session, after, through):
            when = times.get(at)
            if when is None:
                if len(times) > _TIMES_KEPT:
                    times.clear()
                when = times[at] = _text(as_utc(at).isoformat())
            kind_text = kinds.get(kind) or kinds.setdefault(kind, _text(kind))
            yield b"".join((b'{"at":', when, b',"data":', payload.encode(), b',"kind":',
                            kind_text, b',"seq":', str(seq).encode(), _EVENT_END))
            if progress is not None:
                progress(1)


def _text(value: str) -> bytes:
    return canonical_json(value)
