"""Central's side of classic (PAK) licenses: entitle them, take conversion requests from usage
batches, and list both in every response.

A conversion that Central accepts reduces the PAK's unconverted quantity and becomes a new
PERPETUAL entitlement line of the PAK's tag in the request's VA, which the satellite receives
with the normal entitlement snapshot.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from satellite.accounts.service import normalise_domain
from satellite.central import store
from satellite.cloudsync.classic import (
    COMPLETED_RESULT,
    REJECTED_RESULT,
    ClassicRecord,
    ConversionRequest,
    ConversionResult,
    device_key,
)
from satellite.errors import Conflict, InvalidInput


def entitle_classic(directory: Path, now: datetime, *, account: str, pak: str, sku: str,
                    quantity: int, tag: str, va: str | None = None,
                    device: str | None = None) -> ClassicRecord:
    """Record a classic license (one SKU of a PAK). Raises InvalidInput, Conflict."""
    item = ClassicRecord.from_record(ClassicRecord(
        account=normalise_domain(account), pak=pak.strip(), sku=sku.strip(), tag=tag.strip(),
        quantity=quantity, va=va.strip() if va else None,
        device=(device or "").strip()).to_record(), 1)
    with store.transaction(directory) as conn:
        try:
            conn.execute("INSERT INTO classic_licenses VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)",
                         (item.account, item.pak, item.sku, item.tag, item.quantity, item.va,
                          item.device, now.isoformat()))
        except sqlite3.IntegrityError:
            raise Conflict(f"account {item.account} already has PAK {item.pak} SKU "
                           f"{item.sku}") from None
    return item


def moved(conn: sqlite3.Connection, data: dict[str, Any], number: int) -> None:
    """A satellite moved a classic license to another VA of its account: later responses
    name that VA. Raises InvalidInput when the event is malformed."""
    fields = {name: data.get(name) for name in ("account", "pak", "sku", "to")}
    if not all(isinstance(value, str) and value for value in fields.values()):
        raise InvalidInput(f"record {number}: a classic.transfer event names its account, pak, "
                           "sku and the VA it went to")
    conn.execute("UPDATE classic_licenses SET va = ? WHERE account = ? AND pak = ? AND sku = ?",
                 (fields["to"], fields["account"], fields["pak"], fields["sku"]))


def list_classic(directory: Path) -> list[ClassicRecord]:
    with store.transaction(directory) as conn:
        return [_from_row(row) for row in conn.execute(
            "SELECT * FROM classic_licenses ORDER BY account, pak, sku")]


def take(conn: sqlite3.Connection, satellite_id: str, rec: dict[str, Any], number: int,
         now: datetime) -> str | None:
    """Take one conversion request from a usage batch; returns a note, None for a request
    already received (each request id counts once). Raises InvalidInput when malformed."""
    request = ConversionRequest.from_record(rec, number)
    if conn.execute("SELECT 1 FROM classic_conversions WHERE request_id = ?",
                    (request.request_id,)).fetchone():
        return None
    status, line_id, reason = COMPLETED_RESULT, "", ""
    row = conn.execute("SELECT * FROM classic_licenses WHERE account = ? AND pak = ? AND "
                       "sku = ?", (request.account, request.pak, request.sku)).fetchone()
    if row is None:
        status, reason = REJECTED_RESULT, (f"account {request.account} has no classic license "
                                           f"PAK {request.pak} SKU {request.sku}")
    elif request.quantity > row["quantity"] - row["converted"]:
        status, reason = REJECTED_RESULT, (f"only {row['quantity'] - row['converted']} of PAK "
                                           f"{request.pak} SKU {request.sku} are left to "
                                           f"convert, not {request.quantity}")
    elif (row["device"] and request.device
          and device_key(row["device"]) != device_key(request.device)):
        status, reason = REJECTED_RESULT, (f"PAK {request.pak} is node-locked to device "
                                           f"{row['device']}, not {request.device}")
    else:
        line_id = uuid.uuid4().hex
        conn.execute("UPDATE classic_licenses SET converted = converted + ? WHERE account = ? "
                     "AND pak = ? AND sku = ?",
                     (request.quantity, request.account, request.pak, request.sku))
        conn.execute(
            "INSERT INTO entitlements (line_id, account, va, tag, display_name, license_type, "
            "quantity, start_date, end_date, subscription_id, export_controlled, created_at) "
            "VALUES (?, ?, ?, ?, ?, 'PERPETUAL', ?, NULL, NULL, ?, 0, ?)",
            (line_id, request.account, request.va, row["tag"], row["tag"], request.quantity,
             f"PAK {request.pak}"[:100], now.isoformat()))
    conn.execute("INSERT INTO classic_conversions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (request.request_id, satellite_id, request.account, request.va, request.pak,
                  request.sku, request.quantity, request.origin, request.device, status,
                  line_id, reason, now.isoformat()))
    return (f"conversion {request.request_id} of {request.quantity} x PAK {request.pak} SKU "
            f"{request.sku}: {status}" + (f" ({reason})" if reason else ""))


def records(conn: sqlite3.Connection, satellite_id: str) -> Iterator[dict[str, Any]]:
    """Every classic license, then the answer to each request of this satellite."""
    for row in conn.execute("SELECT * FROM classic_licenses ORDER BY account, pak, sku"):
        yield _from_row(row).to_record()
    for row in conn.execute("SELECT request_id, status, line_id, reason FROM "
                            "classic_conversions WHERE satellite_id = ? ORDER BY received_at, "
                            "request_id", (satellite_id,)):
        yield ConversionResult(row["request_id"], row["status"], row["line_id"],
                               row["reason"]).to_record()


def counts(conn: sqlite3.Connection, satellite_id: str) -> tuple[int, int]:
    """(classic licenses, answers to this satellite's requests) a response carries."""
    licenses = conn.execute("SELECT count(*) FROM classic_licenses").fetchone()[0]
    answers = conn.execute("SELECT count(*) FROM classic_conversions WHERE satellite_id = ?",
                           (satellite_id,)).fetchone()[0]
    return int(licenses), int(answers)


def _from_row(row: sqlite3.Row) -> ClassicRecord:
    if row["quantity"] < 1:
        raise InvalidInput(f"PAK {row['pak']} has no quantity")
    return ClassicRecord(account=row["account"], pak=row["pak"], sku=row["sku"], tag=row["tag"],
                         quantity=row["quantity"], converted=row["converted"], va=row["va"],
                         device=row["device"])
