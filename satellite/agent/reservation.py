"""The device side of offline reservation, as a library: request, install, confirm, return.

Everything lives under `<state>/reservation/`: the device secret (`device.secret`, 0600)
that only this device ever knows, Central's keys it trusts as anchors (`anchors/<key id>.pem`),
the satellite certificate chains it verified against them (`certificates/<key id>.pem`, one per
satellite key, kept so codes signed by an older key still verify while its certificate is
valid) and `state.json` (the pending request and the installed authorization).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from satellite.clock import Clock, SystemClock
from satellite.crypto import keys
from satellite.errors import Conflict, NotFound, VerificationFailed
from satellite.reservation import codes, files
from satellite.reservation.chain import CertifiedKey, read_anchor, verify_chain
from satellite.reservation.codes import AuthorizationCode, Udi

SECRET_FILE = "device.secret"  # noqa: S105 (a file name)
STATE_FILE = "state.json"
ANCHOR_DIR = "anchors"
CERTIFICATE_DIR = "certificates"


@dataclass(frozen=True)
class Installed:
    authorization: AuthorizationCode
    confirmation_code: str | None
    already_installed: bool = False


class ReservationDevice:
    def __init__(self, state_dir: Path, clock: Clock | None = None) -> None:
        self.directory = Path(state_dir) / "reservation"
        self.clock: Clock = clock or SystemClock()

    # --- storage -------------------------------------------------------------------------

    def _secret(self) -> bytes:
        path = self.directory / SECRET_FILE
        if not path.exists():
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
        return bytes.fromhex(path.read_text().strip())

    def _state(self) -> dict[str, Any]:
        path = self.directory / STATE_FILE
        return dict(json.loads(path.read_text())) if path.exists() else {}

    def _save(self, state: dict[str, Any]) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.directory / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        tmp.replace(self.directory / STATE_FILE)

    def _request(self) -> tuple[dict[str, Any], Udi, bytes]:
        state = self._state()
        if "nonce" not in state:
            raise NotFound("this device has no reservation request: run `reservation request`")
        return state, Udi(state["pid"], state["sn"]), bytes.fromhex(state["nonce"])

    # --- trust ---------------------------------------------------------------------------

    def _folder(self, name: str) -> Path:
        folder = self.directory / name
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return folder

    def trust_anchor(self, pem: bytes, source: str) -> str:
        """Trust Central's key (its public key or certificate, PEM). Returns its key id."""
        public = read_anchor(pem, source)
        key_id = keys.key_id(public)
        (self._folder(ANCHOR_DIR) / f"{key_id}.pem").write_bytes(keys.public_key_to_pem(public))
        return key_id

    def anchors(self) -> list[keys.PublicKey]:
        folder = self.directory / ANCHOR_DIR
        return [keys.load_public_key(p) for p in sorted(folder.glob("*.pem"))] \
            if folder.is_dir() else []

    def add_chain(self, chain: bytes) -> CertifiedKey:
        """Verify a satellite's certificate chain against the anchors and keep its certificate.

        Raises VerificationFailed naming what is wrong.
        """
        certified = verify_chain(chain, self.anchors(), self.clock.now())
        self._keep(certified)
        return certified

    def _keep(self, certified: CertifiedKey) -> None:
        path = self._folder(CERTIFICATE_DIR) / f"{certified.key_id}.pem"
        current = self._stored(path)
        # A renewed certificate for the same key replaces one that ends sooner.
        if current is None or current.not_after <= certified.not_after:
            path.write_bytes(certified.chain)

    def _stored(self, path: Path) -> CertifiedKey | None:
        """A kept certificate, checked against the anchors again (none, or lapsed: None)."""
        if not path.exists():
            return None
        try:
            return verify_chain(path.read_bytes(), self.anchors(), self.clock.now())
        except VerificationFailed:
            return None

    def certified_keys(self) -> list[CertifiedKey]:
        """The satellite certificates this device holds that verify now."""
        folder = self.directory / CERTIFICATE_DIR
        found = [self._stored(p) for p in sorted(folder.glob("*.pem"))] if folder.is_dir() else []
        return [c for c in found if c is not None]

    def _certified(self, key_id: str, chain: bytes | None) -> tuple[CertifiedKey,
                                                                    CertifiedKey | None]:
        """The certificate for `key_id`: from the chain given with the code, else a kept one.

        Returns it and the certificate to keep once the code is installed.
        """
        brought = None
        if chain is not None:
            brought = verify_chain(chain, self.anchors(), self.clock.now())
            if brought.key_id == key_id:
                return brought, brought
        path = self.directory / CERTIFICATE_DIR / f"{key_id}.pem"
        if path.exists():
            # Verified again now: it may have expired, or its anchor been removed.
            return verify_chain(path.read_bytes(), self.anchors(), self.clock.now()), None
        if not self.anchors():
            raise VerificationFailed("this device has no Central trust anchor: run `reservation "
                                     "trust-anchor FILE` with Central's public key first")
        if brought is not None:
            raise VerificationFailed(
                f"this authorization code is signed by satellite key {key_id}, but its "
                f"certificate chain certifies key {brought.key_id}, and this device holds no "
                f"certificate for key {key_id}")
        raise VerificationFailed(
            f"this authorization code is signed by satellite key {key_id}, for which this device "
            "holds no certificate: import the satellite's certificate chain (`reservation chain "
            "FILE` with the file of `satellite reservation chain`), or install the "
            "authorization file, which carries it")

    # --- lifecycle -----------------------------------------------------------------------

    def request(self, pid: str, sn: str) -> str:
        """The request code for this device: the same one until the reservation is returned."""
        udi = Udi.checked(pid, sn)
        state = self._state()
        if "nonce" in state and not state.get("returned"):
            if (state["pid"], state["sn"]) != (udi.pid, udi.sn):
                raise Conflict(f"this device already requested a reservation as UDI "
                               f"{state['pid']}:{state['sn']}; return it before using another UDI")
            return str(state["request_code"])
        nonce = secrets.token_bytes(codes.NONCE_BYTES)
        code = codes.RequestCode.for_device(self._secret(), udi, nonce).encode()
        self._save({"pid": udi.pid, "sn": udi.sn, "nonce": nonce.hex(), "request_code": code,
                    "installed": None, "returned": False})
        return code

    def install(self, text: str) -> Installed:
        """Verify and install an authorization code (or the contents of its file).

        Raises VerificationFailed saying which check failed: a mistyped or modified code, a
        key no certificate from a trusted Central vouches for (or whose certificate expired),
        another UDI, another request, an older serial.
        """
        state, udi, nonce = self._request()
        if state.get("returned"):
            raise Conflict("this device returned its reservation; make a new request first")
        given = files.read_authorization(text)
        auth = AuthorizationCode.decode(given.code)
        certified, to_keep = self._certified(auth.key_id, given.chain)
        auth.verify([certified.public])
        if not certified.not_before <= auth.issued_at < certified.not_after:
            raise VerificationFailed(
                f"this authorization code was issued at {auth.issued_at.isoformat()}, outside "
                f"the validity of the certificate of satellite key {auth.key_id} "
                f"({certified.not_before.isoformat()} to {certified.not_after.isoformat()})")
        if auth.udi != udi:
            raise VerificationFailed(f"this authorization code is for UDI {auth.udi}, not for this "
                                     f"device ({udi})")
        if auth.nonce != nonce:
            raise VerificationFailed("this authorization code answers another request of this "
                                     "device, not its current request code")
        installed = state.get("installed")
        if installed is not None:
            if auth.serial < installed["serial"]:
                raise VerificationFailed(
                    f"this authorization code has serial {auth.serial}, older than the installed "
                    f"serial {installed['serial']}; it is refused")
            if auth.serial == installed["serial"]:
                return Installed(auth, self._confirmation(auth.serial), already_installed=True)
        if to_keep is not None:
            self._keep(to_keep)
        state["installed"] = {"serial": auth.serial, "code": auth.encode()}
        self._save(state)
        return Installed(auth, self._confirmation(auth.serial))

    def _confirmation(self, serial: int) -> str | None:
        if serial <= 1:
            return None
        _, udi, nonce = self._request()
        value = codes.chain_element(self._secret(), udi, nonce, codes.confirmation_index(serial))
        return codes.ConfirmationCode(serial, value).encode()

    def give_back(self) -> str:
        """Give the reservation up (installed or not) and return the code that proves it."""
        state, udi, nonce = self._request()
        code = codes.ReturnCode(codes.return_secret(self._secret(), udi, nonce)).encode()
        state["installed"] = None
        state["returned"] = True
        self._save(state)
        return code

    def installed(self) -> AuthorizationCode | None:
        state = self._state()
        entry = state.get("installed")
        return None if not entry else AuthorizationCode.decode(entry["code"])

    def status(self) -> dict[str, Any]:
        state = self._state()
        auth = self.installed()
        return {
            "udi": f"{state['pid']}:{state['sn']}" if "pid" in state else None,
            "request_code": None if state.get("returned") else state.get("request_code"),
            "returned": bool(state.get("returned")),
            "installed": None if auth is None else {
                "kind": auth.kind,
                "serial": auth.serial,
                "issued_at": auth.issued_at.isoformat(),
                "satellite_key_id": auth.key_id,
                "entitlements": [e.as_dict() for e in auth.entitlements],
            },
            "anchors": [keys.key_id(k) for k in self.anchors()],
            "satellite_keys": [{"key_id": c.key_id, "subject": c.subject,
                                "not_after": c.not_after.isoformat()}
                               for c in self.certified_keys()],
        }

