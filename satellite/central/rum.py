"""Central's side of Cisco SLUP: RUM reports received verbatim, usage counted, ACKs signed.

A report arrives as a satellite's `rum_report` event holding the report's exact text. Central
keeps that text, counts each device's latest closed measurement per account, VA and tag, and
answers every report once with an ACK for its device inside the next signed response.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from satellite.cloudsync.records import RUM_ACK
from satellite.crypto import keys
from satellite.crypto.signing import sign
from satellite.errors import InvalidInput
from satellite.slup.formats import ack_document, parse_report


def take(conn: sqlite3.Connection, satellite_id: str, data: Mapping[str, Any], at: str,
         number: int) -> None:
    """Keep one reported RUM report and count it. Raises InvalidInput when malformed."""
    text, account = data.get("report"), data.get("account")
    if not isinstance(text, str) or not isinstance(account, str):
        raise InvalidInput(f"record {number}: a rum_report event carries report and account")
    report = parse_report(text, f"record {number}")
    device = f"{report.pid}:{report.serial}"
    va = data.get("va") if isinstance(data.get("va"), str) else None
    conn.execute("INSERT INTO rum_reports VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL) "
                 "ON CONFLICT DO NOTHING",
                 (satellite_id, device, report.report_id, account, va, report.tag, text, at))
    latest = report.latest
    if latest is None or latest.count is None:
        return
    conn.execute(
        "INSERT INTO rum_usage VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (satellite_id, device, "
        "tag) DO UPDATE SET account = excluded.account, va = excluded.va, count = excluded.count,"
        " end_time = excluded.end_time WHERE excluded.end_time > rum_usage.end_time",
        (satellite_id, device, report.tag, account, va, latest.count, latest.end or 0))


def usage(conn: sqlite3.Connection, satellite_id: str) -> list[dict[str, Any]]:
    """What SLUP devices of a satellite use, per account, VA, tag and device."""
    return [dict(row) for row in conn.execute(
        "SELECT account, va, tag, device, count, end_time FROM rum_usage WHERE satellite_id = ?"
        " ORDER BY account, va, tag, device", (satellite_id,))]


def acks(conn: sqlite3.Connection, satellite_id: str, central_id: str, root: keys.PrivateKey,
         serial: int, now: datetime) -> Iterator[dict[str, Any]]:
    """One signed ACK record per device with reports not acknowledged yet; they are then
    marked as answered by response `serial`."""
    rows = conn.execute("SELECT device, report_id, account, va FROM rum_reports WHERE "
                        "satellite_id = ? AND ack_serial IS NULL ORDER BY device, report_id",
                        (satellite_id,)).fetchall()
    by_device: dict[str, list[sqlite3.Row]] = {}
    for row in rows:
        by_device.setdefault(row["device"], []).append(row)
    conn.execute("UPDATE rum_reports SET ack_serial = ? WHERE satellite_id = ? AND "
                 "ack_serial IS NULL", (serial, satellite_id))
    for device, reports in by_device.items():
        pid, serial_number = device.rsplit(":", 1)
        ids = [r["report_id"] for r in reports]
        data = json.dumps({"version": "1.0", "type": "RUM_ACK", "central": central_id,
                           "acked_at": int(now.timestamp()),
                           "sudi": {"udi_pid": pid, "udi_serial_number": serial_number},
                           "report_ids": ids}, separators=(",", ":"))
        signature = sign(root, data.encode())
        ack = json.dumps({"data": data, "signature": {
            "signing_type": "central", "key": signature.key_id, "value": signature.value}})
        yield {"type": RUM_ACK, "pid": pid, "serial": serial_number,
               "account": reports[0]["account"], "va": reports[0]["va"], "report_ids": ids,
               "document": ack_document([ack])}
