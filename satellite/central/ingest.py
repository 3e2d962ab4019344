"""Central's side of what satellites send: registrations and usage batches.

Usage is deduplicated by sequence number: a batch sent twice (a lost answer, a re-export, an
interrupted sync) counts once, and a hole in the sequence is reported and never acknowledged.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from satellite.central import classic, rum, store
from satellite.cloudsync.classic import REQUESTS_FIELD
from satellite.cloudsync.envelope import BundleReader, canonical_json, read_bundle
from satellite.cloudsync.outbound import CLASSIC_TRANSFER, RUM_REPORT
from satellite.cloudsync.records import (
    ACCOUNT,
    ANY_CENTRAL,
    CLASSIC_CONVERSION,
    EVENT,
    REGISTRATION_REQUEST,
    USAGE_BATCH,
)
from satellite.crypto import certificates, keys
from satellite.errors import Conflict, InvalidInput, NotFound, VerificationFailed

CA_FILE = "central-ca.crt"
SATELLITE_CERT_DAYS = 730
_ADVANCE_CHUNK = 10000
_BATCH = 5000


@dataclass
class IngestReport:
    kind: str
    satellite_id: str
    serial: int
    records: int = 0
    new: int = 0
    duplicates: int = 0
    missing: list[tuple[int, int]] = field(default_factory=list)
    acked_through: int = 0
    first_sequence: int | None = None
    last_sequence: int | None = None
    batch_id: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "satellite_id": self.satellite_id, "serial": self.serial,
                "batch_id": self.batch_id, "records": self.records, "new": self.new,
                "duplicates": self.duplicates, "missing": [list(r) for r in self.missing],
                "acked_through": self.acked_through, "first_sequence": self.first_sequence,
                "last_sequence": self.last_sequence, "notes": self.notes}


def ingest(directory: Path, path: Path, now: datetime, root: keys.PrivateKey) -> IngestReport:
    """Verify and take in a registration request or a usage batch. Raises on anything wrong,
    with nothing stored then."""
    with read_bundle(path) as bundle:
        kind = bundle.header.kind
        if kind == REGISTRATION_REQUEST:
            return _register(directory, bundle, now, root)
        if kind == USAGE_BATCH:
            return _usage(directory, bundle, now)
        raise InvalidInput(f"{path} is a {kind!r} bundle; Central takes registration requests "
                           "and usage batches")


def _central_id(conn: sqlite3.Connection) -> str:
    return str(conn.execute("SELECT value FROM central WHERE key = 'central_id'").fetchone()[0])


def ca_certificate(directory: Path, root: keys.PrivateKey, central_id: str,
                   now: datetime) -> bytes:
    """Central's issuing certificate for satellite certificates, made on first use."""
    path = directory / CA_FILE
    if not path.exists():
        keys.write_new_file(path, certificates.create_ca_certificate(
            root, f"Central {central_id}", now), 0o644)
    return path.read_bytes()


def _register(directory: Path, bundle: BundleReader, now: datetime,
              root: keys.PrivateKey) -> IngestReport:
    header = bundle.header
    pem = header.fields.get("public_key")
    if not isinstance(pem, str):
        raise VerificationFailed("the registration request carries no public key")
    public = keys.public_key_from_pem(pem.encode(), source="the registration's public key")
    # Self-signed: proves the sender holds the private key it asks Central to certify.
    bundle.verify(public)
    accounts = []
    for number, rec in enumerate(bundle.records(), start=1):
        if rec["type"] != ACCOUNT or not isinstance(rec.get("domain"), str):
            raise InvalidInput(f"record {number} of the registration is not an account")
        accounts.append(rec["domain"])
    report = IngestReport(REGISTRATION_REQUEST, header.sender, header.serial,
                          records=len(accounts))
    with store.transaction(directory) as conn:
        central_id = _central_id(conn)
        if header.recipient not in (central_id, ANY_CENTRAL):
            raise VerificationFailed(f"the request is addressed to {header.recipient}, "
                                     f"not to this Central ({central_id})")
        row = conn.execute("SELECT key_id FROM registrations WHERE satellite_id = ?",
                           (header.sender,)).fetchone()
        if row is not None and row["key_id"] != keys.key_id(public):
            raise Conflict(f"satellite {header.sender} is registered with key {row['key_id']}; "
                           f"a request with another key ({keys.key_id(public)}) is refused")
        issuer = ca_certificate(directory, root, central_id, now)
        cert = certificates.issue_certificate(root, issuer, public, common_name=header.sender,
                                              now=now, days=SATELLITE_CERT_DAYS)
        version = str(header.fields.get("version", ""))
        conn.execute(
            "INSERT INTO registrations (satellite_id, public_key, key_id, version, accounts, "
            "certificate, registered_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (satellite_id) DO UPDATE SET version = excluded.version, "
            "accounts = excluded.accounts, certificate = excluded.certificate",
            (header.sender, pem, keys.key_id(public), version, json.dumps(accounts),
             cert.decode("ascii"), now.isoformat()))
        report.notes.append("registered again (same key), certificate renewed" if row
                            else "registered")
        _log(conn, report, now)
    return report


def _usage(directory: Path, bundle: BundleReader, now: datetime) -> IngestReport:
    header = bundle.header
    report = IngestReport(USAGE_BATCH, header.sender, header.serial,
                          batch_id=str(header.fields.get("batch_id")))
    with store.transaction(directory) as conn:
        central_id = _central_id(conn)
        row = conn.execute("SELECT * FROM registrations WHERE satellite_id = ?",
                           (header.sender,)).fetchone()
        if row is None:
            raise NotFound(f"satellite {header.sender} is not registered with this Central: "
                           "ingest its registration request first")
        bundle.verify(keys.public_key_from_pem(row["public_key"].encode()))
        if header.recipient not in (central_id, ANY_CENTRAL):
            raise VerificationFailed(f"the batch is addressed to {header.recipient}, "
                                     f"not to this Central ({central_id})")
        if header.serial <= row["last_batch_serial"]:
            report.notes.append(f"batch serial {header.serial} is not newer than the last one "
                                f"received ({row['last_batch_serial']}): a re-sent or older "
                                "batch; every event in it already received counts once")
        taker = _Taker(conn, header.sender, report, row["acked_through"])
        conversions = 0
        for number, rec in enumerate(bundle.records(), start=1):
            if rec["type"] == CLASSIC_CONVERSION:
                conversions += 1
                note = classic.take(conn, header.sender, rec, number, now)
                report.notes.append(note or f"record {number}: a conversion request already "
                                    "received, counted once")
                continue
            taker.take(rec)
        taker.flush()
        _check_header(header.fields, report)
        if conversions != header.fields.get(REQUESTS_FIELD, 0):
            raise VerificationFailed(f"the batch header says {header.fields.get(REQUESTS_FIELD)} "
                                     f"conversion requests, it carries {conversions}")
        report.acked_through = _advance(conn, header.sender, row["acked_through"])
        conn.execute("UPDATE registrations SET acked_through = ?, last_batch_serial = "
                     "max(last_batch_serial, ?) WHERE satellite_id = ?",
                     (report.acked_through, header.serial, header.sender))
        _log(conn, report, now)
    return report


class _Taker:
    """A batch's events taken in order, written _BATCH at a time: the events already received
    among them read in one query, the new ones and their usage written with executemany."""

    def __init__(self, conn: sqlite3.Connection, satellite_id: str, report: IngestReport,
                 previous: int) -> None:
        self.conn, self.satellite_id, self.report = conn, satellite_id, report
        self.previous = previous
        self.pending: list[tuple[int, str, str, dict[str, Any], str]] = []

    def take(self, rec: dict[str, Any]) -> None:
        report = self.report
        number = report.records + 1
        seq, kind, at, data = rec.get("seq"), rec.get("kind"), rec.get("at"), rec.get("data")
        if (rec["type"] != EVENT or type(seq) is not int or not isinstance(kind, str)
                or not isinstance(at, str) or not isinstance(data, dict)):
            raise InvalidInput(f"record {number} is not a well-formed event")
        if report.last_sequence is not None and seq <= report.last_sequence:
            raise InvalidInput(f"record {number}: sequence {seq} does not increase")
        report.records += 1
        report.first_sequence = seq if report.first_sequence is None else report.first_sequence
        report.last_sequence = seq
        # Sequences increase, so the events between two of this batch are never in it.
        if seq > self.previous + 1:
            stored = self.conn.execute(
                "SELECT count(*) FROM events WHERE satellite_id = ? AND seq > ? AND seq < ?",
                (self.satellite_id, self.previous, seq)).fetchone()[0]
            if stored < seq - self.previous - 1:
                report.missing.append((self.previous + 1, seq - 1))
        self.previous = seq
        self.pending.append((seq, kind, at, data, canonical_json(data).decode()))
        if len(self.pending) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        conn, satellite_id, report = self.conn, self.satellite_id, self.report
        known = {row[0]: (row[1], row[2]) for row in conn.execute(
            "SELECT seq, kind, data FROM events WHERE satellite_id = ? AND seq >= ? AND seq <= ?",
            (satellite_id, self.pending[0][0], self.pending[-1][0]))}
        events, usage = [], []
        first = report.records - len(self.pending) + 1
        for number, (seq, kind, at, data, text) in enumerate(self.pending, start=first):
            before = known.get(seq)
            if before is not None:
                if before != (kind, text):
                    raise Conflict(f"event {seq} differs from the event {seq} received before "
                                   f"from satellite {satellite_id}; the batch is refused")
                report.duplicates += 1
                continue
            report.new += 1
            events.append((satellite_id, seq, kind, at, text))
            if kind == RUM_REPORT:
                rum.take(conn, satellite_id, data, at, number)
            elif kind == CLASSIC_TRANSFER:
                classic.moved(conn, data, number)
            elif kind == "usage" and {"device", "account", "tag", "count"} <= data.keys():
                usage.append((satellite_id, str(data["device"]), str(data["tag"]),
                              str(data["account"]), data.get("va"), int(data["count"]), at, seq))
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", events)
        # In sequence order, as one statement per event would: the newest count wins.
        conn.executemany(
            "INSERT INTO usage VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (satellite_id, device, tag) DO UPDATE SET account = excluded.account, "
            "va = excluded.va, count = excluded.count, at = excluded.at, seq = excluded.seq "
            "WHERE excluded.seq > usage.seq", usage)
        self.pending = []


def _check_header(fields: Any, report: IngestReport) -> None:
    expected = (fields.get("count"), fields.get("first_sequence"), fields.get("last_sequence"))
    actual = (report.records, report.first_sequence, report.last_sequence)
    if expected != actual:
        raise VerificationFailed(f"the batch header says count/first/last {expected}, "
                                 f"its records are {actual}")


def _advance(conn: sqlite3.Connection, satellite_id: str, through: int) -> int:
    """The highest sequence up to which every event has arrived."""
    while True:
        rows = conn.execute("SELECT seq FROM events WHERE satellite_id = ? AND seq > ? "
                            "ORDER BY seq LIMIT ?", (satellite_id, through, _ADVANCE_CHUNK))
        moved = False
        for (seq,) in rows:
            if seq != through + 1:
                return through
            through, moved = seq, True
        if not moved:
            return through


def _log(conn: sqlite3.Connection, report: IngestReport, now: datetime) -> None:
    conn.execute("INSERT INTO ingests (satellite_id, kind, serial, summary, received_at) "
                 "VALUES (?, ?, ?, ?, ?)", (report.satellite_id, report.kind, report.serial,
                                            json.dumps(report.to_json()), now.isoformat()))


def satellites(directory: Path) -> list[dict[str, Any]]:
    """Registered satellites with what Central holds of each."""
    with store.transaction(directory) as conn:
        rows = conn.execute(
            "SELECT r.*, (SELECT count(*) FROM events e WHERE e.satellite_id = r.satellite_id) "
            "AS events FROM registrations r ORDER BY satellite_id").fetchall()
        usage = conn.execute("SELECT * FROM usage ORDER BY satellite_id, device, tag").fetchall()
        slup = {row["satellite_id"]: rum.usage(conn, row["satellite_id"]) for row in rows}
    result = []
    for row in rows:
        result.append({
            "satellite_id": row["satellite_id"], "key_id": row["key_id"],
            "version": row["version"], "accounts": json.loads(row["accounts"]),
            "registered_at": row["registered_at"], "acked_through": row["acked_through"],
            "events": row["events"],
            "usage": [{"device": u["device"], "account": u["account"], "va": u["va"],
                       "tag": u["tag"], "count": u["count"], "at": u["at"]}
                      for u in usage if u["satellite_id"] == row["satellite_id"]],
            "rum_usage": slup[row["satellite_id"]]})
    return result
