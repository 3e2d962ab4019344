"""Every mapped table, imported in one place so metadata and migrations see them all."""

from satellite.access.models import (
    AccessRequest,
    AccountRequest,
    ApiClient,
    ApiToken,
    Grant,
    RateBucket,
)
from satellite.accounts.models import Account, VirtualAccount
from satellite.audit.models import AuditEvent, AuditHead
from satellite.db import Base
from satellite.licenses.models import LicenseLine, LicenseUsage, UsageTotal
from satellite.reservation.models import Reservation, ReservationLine
from satellite.state import StateEntry
from satellite.users.models import User

__all__ = [
    "AccessRequest",
    "Account",
    "AccountRequest",
    "ApiClient",
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "Base",
    "Grant",
    "LicenseLine",
    "LicenseUsage",
    "RateBucket",
    "Reservation",
    "ReservationLine",
    "StateEntry",
    "UsageTotal",
    "User",
    "VirtualAccount",
]
