"""The four reservation codes: request, authorization, confirmation and return.

Binary layouts (big-endian) inside the grouped, checksummed text of `checksum.py`; the
device secrets behind confirmation and return codes; the authorization signature. The
format is specified, with test vectors, in docs/reservation-codes.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from satellite.crypto import keys, signing
from satellite.devices.udi import check_udi
from satellite.errors import InvalidInput
from satellite.limits import quoted
from satellite.reservation import checksum
from satellite.reservation.checksum import CodeError

REQUEST, AUTHORIZATION, CONFIRMATION, RETURN = "R", "A", "C", "X"
SLR, PLR = "SLR", "PLR"
LICENSE_TYPES = {"P": "PERPETUAL", "T": "TERM", "D": "DEMO"}
TYPE_LETTERS = {name: letter for letter, name in LICENSE_TYPES.items()}

NONCE_BYTES = 8
SECRET_BYTES = 10  # 80 bits: confirmation and return values, and their commitments
CHAIN_LENGTH = 1024  # confirmations available per reservation: serials 2 .. CHAIN_LENGTH - 1
MAX_SERIAL = CHAIN_LENGTH - 1
KEY_ID_BYTES = 8
SIGNATURE_BYTES = 64
EPOCH = date(1970, 1, 1)
SIGNING_CONTEXT = b"satellite-reservation-authorization-v1\x00"
MAX_FIELD = 255


@dataclass(frozen=True)
class Udi:
    pid: str
    sn: str

    def __str__(self) -> str:
        return f"{self.pid}:{self.sn}"

    @classmethod
    def parse(cls, text: str) -> Udi:
        """`PID:SN`. Raises InvalidInput when malformed (satellite.devices.udi's rule)."""
        pid, sep, sn = text.strip().partition(":")
        if not sep:
            raise InvalidInput(f"{quoted(text)} is not a UDI written as PID:SN", field="udi")
        return cls.checked(pid, sn)

    @classmethod
    def checked(cls, pid: object, sn: object) -> Udi:
        """Raises InvalidInput naming `pid` or `sn` when either breaks the UDI rule."""
        found = check_udi(pid, sn)
        return cls(found.pid, found.sn)

    def encode(self) -> bytes:
        return _field(self.pid) + _field(self.sn)


def _field(value: str) -> bytes:
    raw = value.encode("utf-8")
    if len(raw) > MAX_FIELD:
        raise CodeError(f"{value[:40]!r}... is longer than {MAX_FIELD} bytes")
    return bytes([len(raw)]) + raw


class _Reader:
    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.at, self.what = data, 0, what

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise CodeError(f"the {self.what} code is truncated")
        chunk = self.data[self.at:self.at + n]
        self.at += n
        return chunk

    def unpack(self, fmt: str) -> int:
        (value,) = struct.unpack(fmt, self.take(struct.calcsize(fmt)))
        return int(value)

    def text(self) -> str:
        try:
            return self.take(self.take(1)[0]).decode("utf-8")
        except UnicodeDecodeError:
            raise CodeError(f"the {self.what} code holds text that is not UTF-8") from None

    def udi(self) -> Udi:
        try:
            return Udi.checked(self.text(), self.text())
        except InvalidInput as exc:
            raise CodeError(f"the {self.what} code names a UDI this satellite refuses: "
                            f"{exc.message}") from None

    def end(self) -> None:
        if self.at != len(self.data):
            raise CodeError(f"the {self.what} code has {len(self.data) - self.at} bytes too many")


# --- the device's secrets ---------------------------------------------------------------

def _derive(device_secret: bytes, label: bytes, udi: Udi, nonce: bytes) -> bytes:
    message = label + b"\x00" + nonce + udi.encode()
    return hmac.new(device_secret, message, hashlib.sha256).digest()[:SECRET_BYTES]


def return_secret(device_secret: bytes, udi: Udi, nonce: bytes) -> bytes:
    return _derive(device_secret, b"return", udi, nonce)


def return_commitment(secret: bytes) -> bytes:
    """What the request code carries; the satellite finds a reservation by it."""
    return hashlib.sha256(b"satellite-reservation-return\x00" + secret).digest()[:SECRET_BYTES]


def chain_step(nonce: bytes, index: int, value: bytes) -> bytes:
    """Element index + 1 of the confirmation chain from element `index`."""
    data = b"satellite-reservation-chain\x00" + nonce + struct.pack(">H", index) + value
    return hashlib.sha256(data).digest()[:SECRET_BYTES]


def chain_element(device_secret: bytes, udi: Udi, nonce: bytes, index: int) -> bytes:
    """x_index, walking forward from the device-only seed x_0."""
    value = _derive(device_secret, b"confirm", udi, nonce)
    for i in range(index):
        value = chain_step(nonce, i, value)
    return value


def chain_forward(nonce: bytes, index: int, value: bytes, steps: int) -> bytes:
    for i in range(index, index + steps):
        value = chain_step(nonce, i, value)
    return value


def confirmation_index(serial: int) -> int:
    """The chain element that confirms `serial`: later serials reveal earlier elements."""
    return CHAIN_LENGTH - serial


# --- request ------------------------------------------------------------------------------

# What `license smart reservation request local` prints on a Cisco device, e.g.
# CB-ZC9300-24T:FCW2233L0AB-AKaPznPNg-CF: two letters, Z, PID:SN, then Cisco's own fields.
_CISCO_REQUEST = re.compile(r"\s*[A-Z]{2}-Z?(?P<pid>[^:\s]+):(?P<sn>[A-Za-z0-9]+)-\S+\s*")


def _refuse_cisco_request(text: str) -> None:
    """A Cisco device's reservation request code is named as such, not as a mistyped code."""
    found = _CISCO_REQUEST.fullmatch(text)
    if found:
        raise CodeError(
            f"this is a Cisco device's own reservation request code (PID {found['pid']}, SN "
            f"{found['sn']}): only Cisco's CSSM can authorize it, with a code Cisco signs. "
            "Reserve that device's licenses in CSSM; the satellite's codes are for devices that "
            "use its reservation protocol (docs/reservation-codes.md)")


@dataclass(frozen=True)
class RequestCode:
    udi: Udi
    nonce: bytes
    return_commitment: bytes
    chain_anchor: bytes

    @classmethod
    def for_device(cls, device_secret: bytes, udi: Udi, nonce: bytes) -> RequestCode:
        commitment = return_commitment(return_secret(device_secret, udi, nonce))
        anchor = chain_element(device_secret, udi, nonce, CHAIN_LENGTH)
        return cls(udi, nonce, commitment, anchor)

    def encode(self) -> str:
        return checksum.make(REQUEST, self.nonce + self.udi.encode() + self.return_commitment
                             + self.chain_anchor)

    @classmethod
    def decode(cls, text: str) -> RequestCode:
        _refuse_cisco_request(text)
        r = _Reader(checksum.parse(text, REQUEST).payload, "request")
        nonce = r.take(NONCE_BYTES)
        udi = r.udi()
        code = cls(udi, nonce, r.take(SECRET_BYTES), r.take(SECRET_BYTES))
        r.end()
        return code


# --- authorization ------------------------------------------------------------------------

@dataclass(frozen=True)
class Entitlement:
    tag: str
    count: int
    license_type: str  # PERPETUAL, TERM or DEMO
    start: date | None = None
    end: date | None = None

    def as_dict(self) -> dict[str, object]:
        return {"tag": self.tag, "count": self.count, "type": self.license_type,
                "start": self.start.isoformat() if self.start else None,
                "end": self.end.isoformat() if self.end else None}


def _day(value: date | None) -> int:
    return 0 if value is None else (value - EPOCH).days + 1


def _from_day(value: int) -> date | None:
    return None if value == 0 else EPOCH + timedelta(days=value - 1)


@dataclass(frozen=True)
class AuthorizationCode:
    kind: str  # SLR or PLR
    serial: int
    issued_at: datetime
    nonce: bytes
    udi: Udi
    entitlements: tuple[Entitlement, ...]
    key_id: str
    signature: bytes = b""

    def signed_bytes(self) -> bytes:
        body = struct.pack(">BHI", 1 if self.kind == PLR else 0, self.serial,
                           int(self.issued_at.timestamp())) + self.nonce + self.udi.encode()
        body += bytes([len(self.entitlements)])
        for e in self.entitlements:
            body += _field(e.tag) + struct.pack(">IcHH", e.count, TYPE_LETTERS[e.license_type].encode(),
                                                _day(e.start), _day(e.end))
        return body + bytes.fromhex(self.key_id)

    def sign(self, signer: signing.Signer) -> AuthorizationCode:
        unsigned = AuthorizationCode(self.kind, self.serial, self.issued_at, self.nonce, self.udi,
                                     self.entitlements, signer.key_id)
        signature = signer.sign_raw(SIGNING_CONTEXT + unsigned.signed_bytes())
        return AuthorizationCode(**{**unsigned.__dict__, "signature": signature})

    def encode(self) -> str:
        return checksum.make(AUTHORIZATION, self.signed_bytes() + self.signature)

    @classmethod
    def decode(cls, text: str) -> AuthorizationCode:
        r = _Reader(checksum.parse(text, AUTHORIZATION).payload, "authorization")
        kind = r.unpack(">B")
        if kind not in (0, 1):
            raise CodeError(f"the authorization code names an unknown reservation kind {kind}")
        serial, issued = r.unpack(">H"), r.unpack(">I")
        nonce, udi = r.take(NONCE_BYTES), r.udi()
        entitlements = []
        for _ in range(r.take(1)[0]):
            tag = r.text()
            count, letter, start, end = struct.unpack(">IcHH", r.take(9))
            name = LICENSE_TYPES.get(letter.decode("latin-1"))
            if name is None:
                raise CodeError(f"the authorization code names an unknown license type {letter!r}")
            entitlements.append(Entitlement(tag, count, name, _from_day(start), _from_day(end)))
        key_id = r.take(KEY_ID_BYTES).hex()
        signature = r.take(SIGNATURE_BYTES)
        r.end()
        return cls(PLR if kind else SLR, serial, datetime.fromtimestamp(issued, UTC), nonce, udi,
                   tuple(entitlements), key_id, signature)

    def verify(self, trusted: list[keys.PublicKey]) -> None:
        """Raises VerificationFailed unless a trusted satellite key signed exactly this code."""
        signature = signing.Signature(self.key_id, base64.b64encode(self.signature).decode("ascii"))
        signing.verify(trusted, SIGNING_CONTEXT + self.signed_bytes(), signature,
                       what="the authorization code")


# --- confirmation and return --------------------------------------------------------------

@dataclass(frozen=True)
class ConfirmationCode:
    serial: int
    value: bytes

    def encode(self) -> str:
        return checksum.make(CONFIRMATION, struct.pack(">H", self.serial) + self.value)

    @classmethod
    def decode(cls, text: str) -> ConfirmationCode:
        r = _Reader(checksum.parse(text, CONFIRMATION).payload, "confirmation")
        code = cls(r.unpack(">H"), r.take(SECRET_BYTES))
        r.end()
        return code


@dataclass(frozen=True)
class ReturnCode:
    value: bytes

    def encode(self) -> str:
        return checksum.make(RETURN, self.value)

    @classmethod
    def decode(cls, text: str) -> ReturnCode:
        r = _Reader(checksum.parse(text, RETURN).payload, "return")
        code = cls(r.take(SECRET_BYTES))
        r.end()
        return code
