"""Central's settings: the few values Central may set for this satellite in a signed response
(the response's `policy` field), each overriding the local setting of the same name.

"Policy" elsewhere means access control (satellite.permissions.policy); these are settings.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from satellite.state import get_state

KEYS = ("sync_overdue_days", "sync_interval_hours")
# What Central may set them to: a value outside could not be scheduled or compared.
BOUNDS = {"sync_overdue_days": (1, 3650), "sync_interval_hours": (0.01, 24 * 90)}
# Where an applied value is kept (the state table), by key.
STATE_PREFIX = "policy."


def central_setting(session: Session, key: str, default: float) -> float:
    """The value Central set for `key`, else the local setting `default` (also when the
    stored value is out of bounds: one applied before the bounds existed)."""
    value = get_state(session, STATE_PREFIX + key)
    try:
        found = float(value) if value is not None else default
    except ValueError:
        return default
    low, high = BOUNDS.get(key, (0, 0))
    return found if value is None or low <= found <= high else default
