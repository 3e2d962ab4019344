"""Counters as the On-Prem API shapes them (shared by the CLI and the REST API)."""

from __future__ import annotations

from typing import Any

from satellite.licenses.counters import AccountCounter, CounterPage, LineDetail


def detail_json(detail: LineDetail) -> dict[str, Any]:
    return {
        "licenseType": detail.license_type,
        "quantity": detail.quantity,
        "startDate": detail.start_date.isoformat() if detail.start_date else None,
        "endDate": detail.end_date.isoformat() if detail.end_date else None,
        "subscriptionId": detail.subscription_id,
        "active": detail.active,
    }


def license_json(row: AccountCounter) -> dict[str, Any]:
    c = row.counter
    return {
        "license": c.tag,
        "account": row.account,
        "virtualAccount": row.virtual_account,
        "quantity": c.quantity,
        "inUse": c.in_use,
        "reserved": c.reserved,
        "available": c.available,
        "status": c.status,
        "licenseDetails": [detail_json(d) for d in row.details],
        "tags": list(row.labels),
    }


def page_json(page: CounterPage) -> dict[str, Any]:
    return {"totalRecords": page.total, "licenses": [license_json(r) for r in page.rows]}
