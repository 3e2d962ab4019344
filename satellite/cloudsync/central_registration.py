"""Registering the satellite with Central: the signed request out, the certificate back."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from satellite import __version__
from satellite.accounts.models import Account
from satellite.actor import Actor
from satellite.cloudsync import sync_history as history
from satellite.cloudsync.envelope import Header, write_bundle
from satellite.cloudsync.records import ACCOUNT, ANY_CENTRAL, REGISTRATION_REQUEST
from satellite.crypto import certificates, keys
from satellite.errors import VerificationFailed
from satellite.keystore import Keystore
from satellite.state import get_state, set_state
from satellite.uow import Database

STATE_KEY = "registration_state"
UNREGISTERED = "unregistered"
PENDING = "pending"
REGISTERED = "registered"
CENTRAL_ID_KEY = "sync.central_id"
# Central's certificate for the identity key, in the database so that every node serving the
# satellite has it (the key directory keeps a copy for `satellite status` and backups).
CERTIFICATE_KEY = "sync.satellite_certificate"
_SERIAL_KEY = "sync.registration_serial"


def registration_state(db: Database) -> str:
    with db.reader() as uow:
        return get_state(uow.session, STATE_KEY) or UNREGISTERED


def write_request(db: Database, keystore: Keystore, out: Path,
                  actor: Actor | None = None) -> Header:
    """Write the signed registration request (id, public key, version, accounts served).

    The state becomes "pending" unless the satellite is registered already (re-registering
    after a key change keeps the old certificate until the new one arrives).
    """
    signer = keystore.identity_signer()
    public_pem = keys.public_key_to_pem(signer.public_key).decode("ascii")
    with db.uow() as uow:
        session = uow.session
        satellite_id = get_state(session, "satellite_id") or ""
        serial = int(get_state(session, _SERIAL_KEY) or 0) + 1
        header = write_bundle(
            out, kind=REGISTRATION_REQUEST, sender=satellite_id,
            recipient=get_state(session, CENTRAL_ID_KEY) or ANY_CENTRAL, serial=serial,
            created_at=uow.clock.now(), signer=signer,
            records=_accounts(db), fields={"public_key": public_pem, "version": __version__})
        set_state(session, _SERIAL_KEY, str(serial))
        if get_state(session, STATE_KEY) != REGISTERED:
            set_state(session, STATE_KEY, PENDING)
        history.add(session, actor or Actor.local_operator(), uow.clock.now(), history.REGISTER,
                    serial=serial, records=header.payload_records,
                    summary="registration request, accounts served")
        uow.commit()
    return header


def _accounts(db: Database) -> Iterator[dict[str, Any]]:
    with db.reader() as uow:
        for account in uow.session.scalars(select(Account).order_by(Account.domain)):
            yield {"type": ACCOUNT, "domain": account.domain, "name": account.name}


def check_certificate(fields: Mapping[str, Any], keystore: Keystore, anchor: keys.PublicKey,
                      satellite_id: str, now: datetime) -> bytes | None:
    """The satellite certificate a response carries, verified; None when it carries none.

    Raises VerificationFailed unless Central's key issued it, for this satellite's identity key.
    """
    cert, issuer = fields.get("certificate"), fields.get("issuer_certificate")
    if cert is None:
        return None
    if not isinstance(cert, str) or not isinstance(issuer, str):
        raise VerificationFailed("the response's certificate fields are not PEM text")
    issuer_info = certificates.describe(issuer.encode())
    if issuer_info.public_key_id != keys.key_id(anchor):
        raise VerificationFailed("the satellite certificate's issuer is not Central's trusted key")
    info = certificates.verify_issued(issuer.encode(), cert.encode(), now)
    if info.subject != f"CN={satellite_id}":
        raise VerificationFailed(f"the certificate is for {info.subject}, not this satellite")
    if info.public_key_id != keystore.identity_key_id():
        raise VerificationFailed(
            f"the certificate certifies key {info.public_key_id}, not this satellite's identity "
            f"key {keystore.identity_key_id()}: send a new registration request")
    return cert.encode()


def mark_registered(session: Session, central_id: str, certificate: bytes) -> None:
    set_state(session, STATE_KEY, REGISTERED)
    set_state(session, CENTRAL_ID_KEY, central_id)
    set_state(session, CERTIFICATE_KEY, certificate.decode())


def satellite_certificate(session: Session, keystore: Keystore) -> bytes | None:
    """The certificate Central issued for this satellite, None while it is not registered.

    Read from the database, so every node has the one the import recorded; a satellite
    registered before the database held it still has it in its key directory.
    """
    stored = get_state(session, CERTIFICATE_KEY)
    return stored.encode() if stored else keystore.satellite_certificate()
