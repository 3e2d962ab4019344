"""Every mapped table, imported in one place so metadata and migrations see them all."""

from satellite.accounts.models import Account, VirtualAccount
from satellite.alerts.models import Alert
from satellite.audit.models import AuditEvent, AuditHead
from satellite.cloudsync.models import OutboundEvent, OutboundHead
from satellite.db import Base
from satellite.licenses.models import LicenseLine, LicenseUsage, UsageTotal
from satellite.reservation.models import Reservation, ReservationLine
from satellite.state import StateEntry
from satellite.users.models import User

__all__ = [
    "Account",
    "Alert",
    "AuditEvent",
    "AuditHead",
    "Base",
    "LicenseLine",
    "LicenseUsage",
    "OutboundEvent",
    "OutboundHead",
    "Reservation",
    "ReservationLine",
    "StateEntry",
    "UsageTotal",
    "User",
    "VirtualAccount",
]
