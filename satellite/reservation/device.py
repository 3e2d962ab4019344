"""The device side of offline reservation, as a library: request, install, confirm, return.

Everything lives under `<state>/reservation/`: the device secret (`device.secret`, 0600)
that only this device ever knows, the satellite keys it trusts (`trusted/<key id>.pem`)
and `state.json` (the pending request and the installed authorization).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from satellite.crypto import keys
from satellite.errors import Conflict, NotFound, VerificationFailed
from satellite.reservation import codes
from satellite.reservation.codes import AuthorizationCode, Udi

SECRET_FILE = "device.secret"  # noqa: S105 (a file name)
STATE_FILE = "state.json"
TRUST_DIR = "trusted"


@dataclass(frozen=True)
class Installed:
    authorization: AuthorizationCode
    confirmation_code: str | None
    already_installed: bool = False


class ReservationDevice:
    def __init__(self, state_dir: Path) -> None:
        self.directory = Path(state_dir) / "reservation"

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

    def trust(self, pem: bytes, source: str) -> str:
        """Trust a satellite's identity public key (PEM). Returns its key id."""
        public = keys.public_key_from_pem(pem, source=source)
        key_id = keys.key_id(public)
        folder = self.directory / TRUST_DIR
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        (folder / f"{key_id}.pem").write_bytes(keys.public_key_to_pem(public))
        return key_id

    def trusted_keys(self) -> list[keys.PublicKey]:
        folder = self.directory / TRUST_DIR
        if not folder.is_dir():
            return []
        return [keys.load_public_key(p) for p in sorted(folder.glob("*.pem"))]

    # --- lifecycle -----------------------------------------------------------------------

    def request(self, pid: str, sn: str) -> str:
        """The request code for this device: the same one until the reservation is returned."""
        udi = Udi(codes.check_field(pid, "product id"), codes.check_field(sn, "serial number"))
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

        Raises VerificationFailed saying which check failed: a mistyped or modified code,
        another UDI, another request, an older serial.
        """
        state, udi, nonce = self._request()
        if state.get("returned"):
            raise Conflict("this device returned its reservation; make a new request first")
        auth = AuthorizationCode.decode(codes.read_authorization(text))
        trusted = self.trusted_keys()
        if not trusted:
            raise VerificationFailed("this device trusts no satellite key yet: run "
                                     "`reservation trust FILE` with the satellite's identity.pub")
        auth.verify(trusted)
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
            "trusted_keys": [keys.key_id(k) for k in self.trusted_keys()],
        }

