"""Device-side lifecycle: register (or re-register), renew the ID certificate, deregister."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from satellite.accounts.models import Account, VirtualAccount
from satellite.accounts.service import require_active
from satellite.actor import Actor
from satellite.alerts.models import DEVICE_TAKEOVER
from satellite.alerts.service import raise_alert
from satellite.audit.service import Entry, record, record_many
from satellite.cloudsync import outbound
from satellite.config import Settings
from satellite.crypto import certificates
from satellite.crypto.keys import PublicKey, key_id, raw_public_bytes
from satellite.devices import evaluation
from satellite.devices.authority import DeviceAuthority, device_public_key
from satellite.devices.messages import SignedMessage, format_time
from satellite.devices.models import DEREGISTERED, REGISTERED, Device, RevokedCertificate
from satellite.devices.udi import Udi, check_udi
from satellite.devices.upstream import device_fact, log_device
from satellite.devices.verification import (
    DeviceSession,
    check_fresh,
    check_signature,
    remember_nonce,
)
from satellite.errors import (
    Conflict,
    InvalidInput,
    PermissionDenied,
    SatelliteError,
    Unauthenticated,
)
from satellite.groupcommit import BatchWriter
from satellite.labels.devices import follow_device
from satellite.licenses.usage import release
from satellite.limits import check_text
from satellite.reservation.models import RESERVED, Reservation
from satellite.tokens.service import spend_token
from satellite.uow import Database, UnitOfWork


def owner_of(device_id: int) -> str:
    """The consumption owner name of a device (licenses.usage)."""
    return f"device:{device_id}"


def device_actor(device: Device | DeviceSession | int) -> Actor:
    return Actor("device", str(device if isinstance(device, int) else device.id))


def udi_label(pid: str, serial: str) -> str:
    return f"PID:{pid},SN:{serial}"


def _text(body: Mapping[str, Any], key: str, limit: int) -> str:
    return check_text(body.get(key), key, limit, required=False).strip()


def parse_udi(body: Mapping[str, Any]) -> Udi:
    udi = body.get("udi")
    if not isinstance(udi, dict):
        raise InvalidInput("udi must be an object with pid and sn (and optionally vid, uuid)",
                           field="udi")
    return check_udi(udi.get("pid"), udi.get("sn"), udi.get("vid"), udi.get("uuid"))


def _public_key(body: Mapping[str, Any]) -> bytes:
    """The raw key a device registers: from `publicKey`, or from a PKCS#10 `csr`."""
    csr = body.get("csr")
    if "publicKey" not in body and isinstance(csr, str):
        return raw_public_bytes(certificates.csr_public_key(csr.encode()))
    value = body.get("publicKey")
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise InvalidInput("publicKey must be the base64 of the device's raw 32-byte Ed25519 key "
                           "(or send csr, a PEM certificate signing request)")
    return raw


def policy(settings: Settings) -> dict[str, int]:
    return {
        "authorizationRenewDays": settings.authorization_renew_days,
        "authorizationValidDays": settings.authorization_valid_days,
        "certificateDays": settings.certificate_days,
        "certificateRenewDays": settings.certificate_renew_days,
        "maxClockSkewSeconds": settings.message_max_age_seconds,
    }


def revoke_certificate(session: Session, device: Device, now: datetime, reason: str) -> None:
    if not device.certificate_serial:
        return  # a device reporting by SLUP files holds no certificate of the satellite
    if session.get(RevokedCertificate, device.certificate_serial) is None:
        session.add(RevokedCertificate(serial=device.certificate_serial, device_id=device.id,
                                       revoked_at=now, reason=reason))


class TakeoverRefused(PermissionDenied):
    """A registration that would take a registered device from another VA (audited)."""

    def __init__(self, device: Device, va: VirtualAccount, token_id: int, udi: Udi) -> None:
        super().__init__(f"UDI {udi.pid}:{udi.sn} is registered with another virtual account: "
                         "only a registration token of that virtual account may re-register it",
                         field="token")
        self.device_id, self.owner_account, self.owner_va = device.id, device.account_id, device.va_id
        self.token_account, self.token_id, self.label = va.account_id, token_id, udi_label(
            udi.pid, udi.sn)


def register(uow: UnitOfWork, authority: DeviceAuthority, settings: Settings,
             message: SignedMessage) -> dict[str, Any]:
    """Register a device with a token, or re-register a known UDI (its history is kept).

    The message is signed by the key being registered, proving the device holds it.
    Returns the answer; the caller commits. Raises InvalidInput, Unauthenticated (bad
    signature, stale, token refused), Conflict, PermissionDenied (a takeover refused: that
    refusal's audit event and alert are committed before it is raised).
    """
    [outcome] = register_many(uow, authority, settings, [message])
    if isinstance(outcome, TakeoverRefused):
        uow.commit()
    if isinstance(outcome, SatelliteError):
        raise outcome
    return outcome


def register_many(uow: UnitOfWork, authority: DeviceAuthority, settings: Settings,
                  messages: Sequence[SignedMessage]) -> list[dict[str, Any] | SatelliteError]:
    """Register each message's device in the caller's transaction, one after the other.

    Returns, for each message in order, its answer or the error that refuses it: a refused
    registration leaves nothing behind (its own savepoint is rolled back; a refused takeover
    leaves its audit event and alert) and does not stop the others. The caller commits.
    What can be read for the whole batch at once is: the UDIs' devices and reservations.
    """
    now = uow.clock.now()
    checked: list[_Request | SatelliteError] = []
    for message in messages:
        try:
            checked.append(_check(message, now, settings))
        except SatelliteError as exc:
            checked.append(exc)
    udis = sorted({(r.udi.pid, r.udi.sn) for r in checked if isinstance(r, _Request)})
    reserved, devices = _reservations(uow.session, udis), _devices(uow.session, udis)
    outcomes: list[dict[str, Any] | SatelliteError] = []
    done: list[_Registered] = []
    places: dict[int, tuple[VirtualAccount, Account]] = {}
    for request in checked:
        if isinstance(request, SatelliteError):
            outcomes.append(request)
            continue
        try:
            with uow.session.begin_nested():
                registered = _register(uow, authority, settings, request, reserved, devices,
                                       places)
        except SatelliteError as exc:
            outcomes.append(exc)
        else:
            outcomes.append(registered.document)
            done.append(registered)
            devices[(request.udi.pid, request.udi.sn)] = registered.device
    # Central hears of the batch's registrations in one append, then the audit trail gets
    # them: the log's counter row before the trail's head, in the order check-ins take them.
    if done:
        outbound.append_many(uow.session, outbound.DEVICE_REGISTERED,
                             [r.fact for r in done], now)
    record_many(uow, [r.audit for r in done])
    for outcome in outcomes:
        if isinstance(outcome, TakeoverRefused):
            _audit_takeover(uow, outcome)
    return outcomes


@dataclass(frozen=True)
class _Request:
    """A registration message that passed the checks needing no database."""

    message: SignedMessage
    raw_key: bytes
    public: PublicKey
    udi: Udi
    hostname: str
    product_tag: str
    token_secret: str


@dataclass(frozen=True)
class _Registered:
    document: dict[str, Any]
    fact: dict[str, str]
    device: Device
    audit: Entry


def _check(message: SignedMessage, now: datetime, settings: Settings) -> _Request:
    body = message.body
    raw_key = _public_key(body)
    public = device_public_key(raw_key)
    if message.signature.key_id != key_id(public):
        raise Unauthenticated("a register message must be signed by the key it registers")
    check_signature(public, message)
    check_fresh(message, now, settings.message_max_age_seconds)
    udi = parse_udi(body)
    hostname = _text(body, "hostname", 255)
    product_tag = _text(body, "productTag", 255)
    token_secret = body.get("token")
    if not isinstance(token_secret, str) or not token_secret.strip():
        raise InvalidInput("token is required: the registration token from the satellite")
    return _Request(message, raw_key, public, udi, hostname, product_tag, token_secret)


def _reservations(session: Session, udis: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The kind of offline reservation each UDI holds (those holding none are absent)."""
    if not udis:
        return {}
    rows = session.execute(
        select(Reservation.pid, Reservation.serial_number, Reservation.kind)
        .where(or_(*(and_(Reservation.pid == pid, Reservation.serial_number == sn)
                     for pid, sn in udis)), Reservation.status == RESERVED))
    return {(row.pid, row.serial_number): row.kind for row in rows}


def _devices(session: Session, udis: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Device]:
    """The known devices of these UDIs, locked: two registrations of one UDI at once (on two
    nodes) apply one after the other."""
    if not udis:
        return {}
    found = session.scalars(
        select(Device).where(or_(*(and_(Device.pid == pid, Device.serial == sn)
                                   for pid, sn in udis))).with_for_update())
    return {(device.pid, device.serial): device for device in found}


def _register(uow: UnitOfWork, authority: DeviceAuthority, settings: Settings,
              request: _Request, reservations: Mapping[tuple[str, str], str],
              devices: Mapping[tuple[str, str], Device],
              places: dict[int, tuple[VirtualAccount, Account]]) -> _Registered:
    """One registration (see register): its answer, and what the log and the trail get.

    `places` keeps the VAs and accounts the batch has read (the session holds them weakly).
    """
    session, now = uow.session, uow.clock.now()
    udi, message = request.udi, request.message
    reserved = reservations.get((udi.pid, udi.sn))
    if reserved is not None:
        raise Conflict(f"UDI {udi.pid}:{udi.sn} holds an offline reservation ({reserved}); "
                       "return it before registering the device over the network")
    token = spend_token(session, request.token_secret, now)
    if token.va_id not in places:
        va = session.get(VirtualAccount, token.va_id)
        assert va is not None
        account = session.get(Account, va.account_id)
        assert account is not None
        places[token.va_id] = va, account
    va, account = places[token.va_id]
    require_active(account, "device registration")
    device = devices.get((udi.pid, udi.sn))
    if device is not None and not may_replace(device, va, settings):
        # Raised inside the registration's savepoint: the token's use is undone with it.
        raise TakeoverRefused(device, va, token.id, udi)
    cert = authority.issue(request.public, udi_label(udi.pid, udi.sn), now,
                           settings.certificate_days)
    hostname, product_tag, raw_key = request.hostname, request.product_tag, request.raw_key

    action = "device.register"
    details: dict[str, Any] = {"va": va.name, "token_id": token.id, "hostname": hostname}
    if device is None:
        device = Device(pid=udi.pid, serial=udi.sn, first_registered_at=now, registrations=1)
        session.add(device)
    else:
        action = "device.reregister"
        details.update(previous_va_id=device.va_id, previous_status=device.status)
        release(session, owner_of(device.id))
        if device.status != DEREGISTERED:
            revoke_certificate(session, device, now, "superseded")
        device.registrations += 1
    if device.id is not None and device.account_id != va.account_id:
        follow_device(session, device.id, va.account_id)
    device.va_id, device.account_id = va.id, va.account_id
    device.vid, device.uuid = udi.vid, udi.uuid
    device.hostname, device.product_tag, device.public_key = hostname, product_tag, raw_key
    device.certificate_pem, device.certificate_serial = cert.pem, cert.serial
    device.certificate_expires_at = cert.expires_at
    device.token_id, device.export_controlled = token.id, token.export_controlled
    device.status, device.registered_at, device.last_contact_at = REGISTERED, now, now
    device.authorization_expires_at, device.deregistered_at = None, None
    evaluation.at_registration(device, message.body.get("evaluationStartedAt"), now)
    try:
        session.flush()
    except IntegrityError:
        # Another request registered this new UDI after our read (nothing to lock then).
        raise Conflict(f"UDI {udi_label(udi.pid, udi.sn)} was just registered by another "
                       "request; register again to take it over") from None
    remember_nonce(session, device.id, message, settings.message_max_age_seconds)
    document = {
        "type": "registration", "deviceId": device.id, "requestNonce": message.nonce,
        "timestamp": format_time(now), "account": account.domain, "virtualAccount": va.name,
        "certificate": cert.pem, "certificateExpiresAt": format_time(cert.expires_at),
        "caChain": authority.ca_chain, "policy": policy(settings),
        "satelliteKey": authority.identity_public_key,
        "nextCallAt": format_time(now),
    }
    return _Registered(document, device_fact(f"{udi.pid}:{udi.sn}", account.domain, va.name),
                       device, Entry(device_actor(device), action,
                                     f"device:{udi_label(udi.pid, udi.sn)}", account.id, details))


def may_replace(device: Device, va: VirtualAccount, settings: Settings) -> bool:
    """Whether a registration with a token of `va` may take over the existing `device`.

    A registered device's key is replaced only by a token of its own VA (or of its own account
    when `device_reregister_scope` is "account"): a UDI is printed on the chassis, so knowing
    it proves nothing. A deregistered device holds no key any more and is free, like a new one.
    """
    if device.status == DEREGISTERED:
        return True
    if settings.device_reregister_scope == "account":
        return device.account_id == va.account_id
    return device.va_id == va.id


def _audit_takeover(uow: UnitOfWork, refused: TakeoverRefused) -> None:
    """Audit and alert a refused takeover; the device and the token were left untouched."""
    details = {"token_id": refused.token_id, "token_account_id": refused.token_account,
               "device_va_id": refused.owner_va}
    for account_id in {refused.owner_account, refused.token_account}:
        record(uow, Actor("device", "-"), "device.reregister_refused", f"device:{refused.label}",
               account_id=account_id, details=details)
    raise_alert(uow.session, f"{DEVICE_TAKEOVER}:{refused.device_id}", DEVICE_TAKEOVER,
                f"a registration of {refused.label} with a registration token of another "
                "virtual account was refused; the registered device was left as it was",
                uow.clock.now(), account_id=refused.owner_account)


def renew(uow: UnitOfWork, authority: DeviceAuthority, settings: Settings,
          who: DeviceSession, message: SignedMessage) -> dict[str, Any]:
    """Issue a fresh ID certificate for an authenticated device's key; the old one is revoked."""
    session, now = uow.session, uow.clock.now()
    device = session.get(Device, who.id)
    assert device is not None
    cert = authority.issue(device_public_key(device.public_key),
                           udi_label(device.pid, device.serial), now, settings.certificate_days)
    revoke_certificate(session, device, now, "renewed")
    before = format_time(device.certificate_expires_at)
    device.certificate_pem, device.certificate_serial = cert.pem, cert.serial
    device.certificate_expires_at, device.last_contact_at = cert.expires_at, now
    record(uow, device_actor(device), "device.renew_certificate",
           f"device:{udi_label(device.pid, device.serial)}", account_id=who.account_id,
           details={"before": before, "after": format_time(cert.expires_at)})
    return {
        "type": "certificate", "deviceId": device.id, "requestNonce": message.nonce,
        "timestamp": format_time(now), "certificate": cert.pem,
        "certificateExpiresAt": format_time(cert.expires_at), "caChain": authority.ca_chain,
    }


def retire(uow: UnitOfWork, actor: Actor, device: Device, account_id: int, action: str,
           reason: str) -> None:
    """Deregister a device: consumption released, certificate revoked, device kept as history."""
    if device.status == DEREGISTERED:
        return
    now = uow.clock.now()
    release(uow.session, owner_of(device.id))
    revoke_certificate(uow.session, device, now, reason)
    before = device.status
    device.status, device.deregistered_at = DEREGISTERED, now
    device.authorization_expires_at = None
    log_device(uow.session, outbound.DEVICE_DEREGISTERED, device.id, now)
    record(uow, actor, action, f"device:{udi_label(device.pid, device.serial)}",
           account_id=account_id, details={"before": before, "after": DEREGISTERED,
                                           "reason": reason})


def deregister(uow: UnitOfWork, who: DeviceSession, message: SignedMessage) -> dict[str, Any]:
    device = uow.session.get(Device, who.id)
    assert device is not None
    retire(uow, device_actor(device), device, who.account_id, "device.deregister", "deregistered")
    now = uow.clock.now()
    device.last_contact_at = now
    return {"type": "deregistration", "deviceId": device.id, "requestNonce": message.nonce,
            "timestamp": format_time(now), "status": "DEREGISTERED"}



class RegistrationWriter(BatchWriter[SignedMessage, dict[str, Any]]):
    """The registrations of this process, recorded by group commit (satellite.groupcommit).

    Registrations that arrive together share one transaction, each in its own savepoint; each
    caller gets its answer once that transaction is committed. A storm of devices registering
    at once then costs one commit per batch, not one per device.
    """

    def __init__(self, db: Database, settings: Settings, keys: Callable[[], DeviceAuthority],
                 max_batch: int = 64) -> None:
        super().__init__(db, lambda uow, messages: register_many(uow, keys(), settings, messages),
                         key=lambda message: message.nonce, max_batch=max_batch)

    def register(self, message: SignedMessage) -> dict[str, Any]:
        """Register one device; return the answer to sign. Raises its refusal."""
        return self.submit(message)
