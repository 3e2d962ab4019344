"""Accounts and VAs as the On-Prem API shapes them (shared by the CLI and the REST API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from satellite.accounts.models import Account, VirtualAccount


def account_json(account: Account) -> dict[str, Any]:
    """`status` ACTIVE or PENDING; who asked for or created it, who approved or activated it."""
    return {"name": account.name, "domain": account.domain,
            "reservation": account.reservation_mode, "status": account.status,
            "exportCategory": account.export_category,
            "createdBy": account.created_by, "createdAt": account.created_at.isoformat(),
            "approvedBy": account.approved_by,
            "activatedAt": account.activated_at.isoformat() if account.activated_at else None}


def va_json(va: VirtualAccount, names: Mapping[int, str]) -> dict[str, Any]:
    """`names`: VA names by id, to name the parent."""
    return {"name": va.name, "description": va.description,
            "parent": names.get(va.parent_id) if va.parent_id else None,
            "depth": va.depth, "default": va.is_default}
