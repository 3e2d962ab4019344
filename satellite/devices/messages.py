"""The device protocol's wire format, shared by the satellite and the agent.

A signed message is a JSON object sent as exact bytes; the signature travels beside it in the
`X-Satellite-Key-Id` and `X-Satellite-Signature` headers and covers those bytes, nothing else.
See docs/device-protocol.md. No server code here: device vendors may read it as a reference.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from satellite.crypto.signing import Signature
from satellite.errors import InvalidInput
from satellite.limits import INT32_MAX, load_json

PROTOCOL = "satellite-device/1"
KEY_ID_HEADER = "X-Satellite-Key-Id"
SIGNATURE_HEADER = "X-Satellite-Signature"
CONTENT_TYPE = "application/json"
# Each message type has its own endpoint; the type inside the signed bytes binds them together.
MESSAGE_TYPES = {
    "register": "/api/device/v1/register",
    "usage": "/api/device/v1/usage",
    "renew": "/api/device/v1/renew",
    "deregister": "/api/device/v1/deregister",
}
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_MESSAGE_BYTES = 64 * 1024

# Per-tag answers in an authorization.
AUTHORIZED = "AUTHORIZED"
OUT_OF_COMPLIANCE = "OUT_OF_COMPLIANCE"
NOT_AUTHORIZED = "NOT_AUTHORIZED"
# Optional field of a usage report: the classic (PAK) licenses the device still holds, each
# {"pak": ..., "sku": ..., "quantity": N}; reports without it are as before.
CLASSIC_LICENSES = "classicLicenses"
MAX_CLASSIC = 50
_PAK_TEXT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


class MessageError(ValueError):
    """The bytes are not a well-formed protocol message; `field` names the part at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SignedMessage:
    type: str
    device_id: int | None
    timestamp: datetime
    nonce: str
    body: Mapping[str, Any]
    raw: bytes
    signature: Signature


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: object, field: str) -> datetime:
    if not isinstance(value, str) or not value.endswith("Z"):
        raise MessageError(f"{field} must be a UTC time such as 2026-03-01T12:00:00Z")
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError:
        raise MessageError(f"{field} {value!r} is not a UTC time such as 2026-03-01T12:00:00Z") from None
    return parsed.astimezone(UTC)


def encode(document: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON. Any encoding verifies; this one is simply small."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def build_request(message_type: str, device_id: int | None, fields: Mapping[str, Any],
                  now: datetime, sign: Callable[[bytes], Signature]) -> tuple[bytes, dict[str, str]]:
    """Return the exact bytes to send and the headers carrying their signature."""
    if message_type not in MESSAGE_TYPES:
        raise MessageError(f"unknown message type {message_type!r}")
    document: dict[str, Any] = {"protocol": PROTOCOL, "type": message_type}
    if device_id is not None:
        document["deviceId"] = device_id
    document.update(timestamp=format_time(now), nonce=new_nonce())
    document.update(fields)
    raw = encode(document)
    return raw, signature_headers(sign(raw))


def signature_headers(signature: Signature) -> dict[str, str]:
    return {"Content-Type": CONTENT_TYPE, KEY_ID_HEADER: signature.key_id,
            SIGNATURE_HEADER: signature.value}


def signature_from_headers(headers: Mapping[str, str]) -> Signature:
    # HTTP header names are case-insensitive.
    lowered = {name.lower(): value for name, value in headers.items()}
    key_id = lowered.get(KEY_ID_HEADER.lower())
    value = lowered.get(SIGNATURE_HEADER.lower())
    if not key_id or not value:
        raise MessageError(f"the message is not signed: headers {KEY_ID_HEADER} and "
                           f"{SIGNATURE_HEADER} are required")
    return Signature(key_id, value)


def parse_request(raw: bytes, headers: Mapping[str, str], expected_type: str) -> SignedMessage:
    """Read a signed request's envelope (the signature is checked by whoever knows the key)."""
    signature = signature_from_headers(headers)
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MessageError(f"the message is larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        document = load_json(raw, "the message body")
    except InvalidInput as exc:
        raise MessageError(exc.message, exc.field) from None
    if not isinstance(document, dict):
        raise MessageError("the message body must be a JSON object")
    if document.get("protocol") != PROTOCOL:
        raise MessageError(f"protocol must be {PROTOCOL!r}")
    if document.get("type") != expected_type:
        raise MessageError(f"this endpoint takes {expected_type!r} messages, "
                           f"not {document.get('type')!r}")
    device_id = document.get("deviceId")
    if expected_type == "register":
        if device_id is not None:
            raise MessageError("a register message carries no deviceId")
    elif isinstance(device_id, bool) or not isinstance(device_id, int) \
            or not 1 <= device_id <= INT32_MAX:
        raise MessageError("deviceId must be the whole number the satellite gave at registration",
                           "deviceId")
    nonce = document.get("nonce")
    if not isinstance(nonce, str) or not _NONCE.match(nonce):
        raise MessageError("nonce must be 16 to 64 characters of A-Z, a-z, 0-9, '-' and '_'")
    timestamp = parse_time(document.get("timestamp"), "timestamp")
    return SignedMessage(expected_type, device_id, timestamp, nonce, document, raw, signature)


def parse_response(raw: bytes, headers: Mapping[str, str]) -> tuple[dict[str, Any], Signature]:
    """Read a satellite answer and the signature over its bytes (the caller verifies it)."""
    signature = signature_from_headers(headers)
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise MessageError("the answer is not UTF-8 JSON") from None
    if not isinstance(document, dict):
        raise MessageError("the answer must be a JSON object")
    return document, signature


@dataclass(frozen=True)
class ClassicHolding:
    """A classic license a device reports it holds (device-led conversion)."""

    pak: str
    sku: str
    quantity: int = 1

    def to_json(self) -> dict[str, Any]:
        return {"pak": self.pak, "sku": self.sku, "quantity": self.quantity}


def parse_classic(body: Mapping[str, Any]) -> tuple[ClassicHolding, ...]:
    """The classic licenses of a usage report (none when the field is absent)."""
    items = body.get(CLASSIC_LICENSES)
    if items is None:
        return ()
    if not isinstance(items, list) or len(items) > MAX_CLASSIC:
        raise MessageError(f"{CLASSIC_LICENSES} must be a list of at most {MAX_CLASSIC} "
                           "objects", CLASSIC_LICENSES)
    found: dict[tuple[str, str], ClassicHolding] = {}
    for item in items:
        pak = item.get("pak") if isinstance(item, dict) else None
        sku = item.get("sku") if isinstance(item, dict) else None
        quantity = item.get("quantity", 1) if isinstance(item, dict) else None
        if (not isinstance(pak, str) or not isinstance(sku, str) or not _PAK_TEXT.match(pak)
                or not _PAK_TEXT.match(sku) or isinstance(quantity, bool)
                or not isinstance(quantity, int) or not 1 <= quantity <= 1_000_000):
            raise MessageError(f"each entry of {CLASSIC_LICENSES} is {{\"pak\": PAK, \"sku\": "
                               "SKU, \"quantity\": N}: letters, digits, '.', '_', '/' or '-', "
                               "and a whole number from 1", CLASSIC_LICENSES)
        found[(pak, sku)] = ClassicHolding(pak, sku, quantity)
    return tuple(found.values())
