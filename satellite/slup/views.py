"""What pages and lists show of SLUP devices: their reports, counts and ACK state."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from satellite.devices.messages import format_time
from satellite.errors import SatelliteError
from satellite.slup.formats import parse_report
from satellite.slup.models import RumAck, RumReportRow, SlupUsage

REPORTS_SHOWN = 50


def _unix(value: int | None) -> str | None:
    """A device's Unix time as people read it (reports count in whole seconds)."""
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else None


def states(session: Session, device_ids: Collection[int]) -> dict[int, dict[str, Any]]:
    """Per device: last report imported, reports awaiting an ACK, last ACK (two queries)."""
    ids = sorted(device_ids)
    found: dict[int, dict[str, Any]] = {
        i: {"last_report_at": None, "awaiting_ack": 0, "last_ack_at": None} for i in ids}
    if not ids:
        return found
    for device_id, last, awaiting in session.execute(
            select(RumReportRow.device_id, func.max(RumReportRow.imported_at),
                   func.count(RumReportRow.id).filter(RumReportRow.acked_at.is_(None)))
            .where(RumReportRow.device_id.in_(ids)).group_by(RumReportRow.device_id)):
        found[device_id].update(last_report_at=format_time(last), awaiting_ack=int(awaiting))
    for device_id, last in session.execute(
            select(RumAck.device_id, func.max(RumAck.received_at))
            .where(RumAck.device_id.in_(ids)).group_by(RumAck.device_id)):
        found[device_id]["last_ack_at"] = format_time(last)
    return found


def _report(row: RumReportRow) -> dict[str, Any]:
    parsed = parse_report(row.text, f"report {row.report_id}")
    return {
        "report_id": row.report_id, "tag": row.tag, "software_version": row.software_version,
        "window_start": _unix(row.window_start), "window_end": _unix(row.window_end),
        "count": row.count, "flags": [f for f in row.flags.split(",") if f],
        "ha": list(parsed.ha), "imported_at": format_time(row.imported_at),
        "exported_at": format_time(row.exported_at) if row.exported_at else None,
        "acked_at": format_time(row.acked_at) if row.acked_at else None,
        "measurements": [{"start": _unix(m.start), "end": _unix(m.end), "count": m.count,
                          "closed": m.closed, "clock_change_delta": m.clock_change,
                          "added": list(m.added), "removed": list(m.removed)}
                         for m in parsed.measurements],
    }


def device_reports(session: Session, device_id: int) -> dict[str, Any]:
    """A SLUP device's latest reports (newest first), its ACK state."""
    rows = session.scalars(select(RumReportRow).where(RumReportRow.device_id == device_id)
                           .order_by(RumReportRow.window_end.desc(), RumReportRow.id.desc())
                           .limit(REPORTS_SHOWN))
    counts = {tag: count for tag, count in session.execute(
        select(SlupUsage.tag, SlupUsage.count).where(SlupUsage.device_id == device_id)
        .order_by(SlupUsage.tag))}
    return {**states(session, [device_id])[device_id], "counts": counts,
            "reports": [_report(row) for row in rows]}


def describe_event(data: Any) -> str:
    """A `rum_report` event of a usage batch in plain words."""
    if not isinstance(data, dict) or not isinstance(data.get("report"), str):
        return "a Cisco device's RUM report, not well formed"
    try:
        report = parse_report(data["report"], "report")
    except SatelliteError as exc:
        return f"a Cisco device's RUM report that cannot be read: {exc.message}"
    latest = report.latest
    count = (f"count {latest.count} in the window {_unix(latest.start)} to {_unix(latest.end)}"
             if latest else "no closed measurement")
    return (f"a Cisco device's RUM report (SLUP), carried as the device wrote it "
            f"({len(report.text)} characters, signed by the device): device PID:{report.pid},"
            f"SN:{report.serial}, account {data.get('account')}, virtual account "
            f"{data.get('va')}, report {report.report_id}, tag {report.tag}, "
            f"{len(report.measurements)} measurements, {count}")


def describe_ack(rec: dict[str, Any]) -> str:
    """A `rum_ack` record of a response in plain words."""
    ids = rec.get("report_ids") or []
    return (f"an ACK for SLUP device PID:{rec.get('pid')},SN:{rec.get('serial')} of account "
            f"{rec.get('account')} (virtual account {rec.get('va')}): {len(ids)} reports "
            f"acknowledged ({', '.join(map(str, ids[:10]))}{', ...' if len(ids) > 10 else ''})")
