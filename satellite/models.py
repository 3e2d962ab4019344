"""Every mapped table, imported in one place so metadata and migrations see them all."""

from satellite.accounts.models import Account, VirtualAccount
from satellite.audit.models import AuditEvent, AuditHead
from satellite.db import Base
from satellite.licenses.models import LicenseLine, LicenseUsage, UsageTotal
from satellite.reservation.models import Reservation, ReservationLine
from satellite.state import StateEntry
from satellite.users.models import User

__all__ = [
    "Account",
    "AuditEvent",
    "AuditHead",
    "Base",
    "LicenseLine",
    "LicenseUsage",
    "Reservation",
    "ReservationLine",
    "StateEntry",
    "UsageTotal",
    "User",
    "VirtualAccount",
]
