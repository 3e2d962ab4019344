"""Every mapped table, imported in one place so metadata and migrations see them all."""

from satellite.access.models import AccessRequest, AccountRequest, RateBucket
from satellite.accounts.models import Account, VirtualAccount
from satellite.alerts.models import Alert, AlertChannel, AlertDelivery
from satellite.audit.models import AuditEvent, AuditHead
from satellite.cloudsync.models import HeldLine, HoldingLine, OutboundEvent, OutboundHead, SyncRun
from satellite.db import Base
from satellite.devices.models import Device, DeviceNonce, RevokedCertificate
from satellite.jobruns import JobRunRecord
from satellite.labels.models import DeviceLabel, LicenseLabel, ReservationLabel
from satellite.licenses.classic_models import ClassicConversion, ClassicLicense
from satellite.licenses.models import (
    AccountUsageSnapshot,
    DepositRule,
    LicenseLine,
    LicenseUsage,
    LinePlacement,
    TagSearch,
    UsageSnapshot,
    UsageTotal,
)
from satellite.permissions.models import ApiClient, ApiToken, Grant
from satellite.reservation.models import Reservation, ReservationLine
from satellite.slup.models import CssmFile, RumAck, RumReportRow, SlupUsage
from satellite.state import StateEntry
from satellite.tokens.models import RegistrationToken
from satellite.users.models import SignInThrottle, User, WebSession

__all__ = [
    "AccessRequest",
    "Account",
    "AccountRequest",
    "AccountUsageSnapshot",
    "Alert",
    "AlertChannel",
    "AlertDelivery",
    "ApiClient",
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "Base",
    "ClassicConversion",
    "ClassicLicense",
    "CssmFile",
    "DepositRule",
    "Device",
    "DeviceLabel",
    "DeviceNonce",
    "Grant",
    "HeldLine",
    "HoldingLine",
    "JobRunRecord",
    "LicenseLabel",
    "LicenseLine",
    "LicenseUsage",
    "LinePlacement",
    "OutboundEvent",
    "OutboundHead",
    "RateBucket",
    "RegistrationToken",
    "Reservation",
    "ReservationLabel",
    "ReservationLine",
    "RevokedCertificate",
    "RumAck",
    "RumReportRow",
    "SignInThrottle",
    "SlupUsage",
    "StateEntry",
    "SyncRun",
    "TagSearch",
    "UsageSnapshot",
    "UsageTotal",
    "User",
    "VirtualAccount",
    "WebSession",
]
