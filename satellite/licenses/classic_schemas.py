"""Classic licenses and conversion requests as the CLI's --json and the REST API show them."""

from __future__ import annotations

from typing import Any

from satellite.clock import as_utc
from satellite.licenses.classic import ClassicView, ConversionView


def classic_json(view: ClassicView) -> dict[str, Any]:
    lic = view.license
    return {"pak": lic.pak, "sku": lic.sku, "license": lic.tag, "virtualAccount": view.va,
            "quantity": lic.quantity, "converted": lic.converted, "pending": view.pending,
            "unconverted": view.unconverted, "convertible": view.convertible,
            "deviceUdi": lic.device_udi or None}


def conversion_json(view: ConversionView) -> dict[str, Any]:
    c = view.conversion
    return {"requestId": c.request_id, "pak": c.pak, "sku": c.sku, "quantity": c.quantity,
            "virtualAccount": view.va, "origin": c.origin, "device": view.device,
            "status": c.status, "requestedBy": c.requested_by,
            "requestedAt": as_utc(c.requested_at).isoformat(),
            "completedAt": as_utc(c.completed_at).isoformat() if c.completed_at else None,
            "lineId": c.line_id or None, "reason": c.reason or None}
