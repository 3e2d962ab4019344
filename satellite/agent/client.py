"""The device side of protocol v1: sign requests, verify the satellite's answers.

`DeviceClient` holds a key and a connection (the simulator runs thousands of them);
`Agent` adds the state directory, retries with backoff and the last authorization.
"""

from __future__ import annotations

import base64
import json
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from satellite.agent.transport import HttpTransport, Reply, Unreachable
from satellite.crypto import keys, signing
from satellite.devices.messages import (
    CLASSIC_LICENSES,
    MESSAGE_TYPES,
    ClassicHolding,
    MessageError,
    build_request,
    parse_response,
)
from satellite.errors import SatelliteError

Now = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Refused(Exception):
    """The satellite answered with an error (the status and its one-line explanation)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"the satellite refused the request ({status}): {message}")
        self.status = status
        self.message = message


class BadAnswer(Exception):
    """An answer that is not signed by the satellite this device trusts, or not for this request."""


@dataclass(frozen=True)
class Prepared:
    """A signed request ready to send: its exact bytes, signature headers and nonce."""

    message_type: str
    raw: bytes
    headers: dict[str, str]
    nonce: str


@lru_cache(maxsize=64)
def _satellite_public_key(encoded: str) -> keys.PublicKey:
    # A device trusts one satellite key; parsing it once is enough.
    return keys.public_key_from_raw(base64.b64decode(encoded))


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _web_page(reply: Reply) -> str | None:
    """What to say when an HTML page came back instead of the satellite's JSON (a proxy, a
    captive portal or another web server answered); None for anything else."""
    media = reply.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "text/html" and not reply.body.lstrip()[:15].lower().startswith(
            (b"<!doctype html", b"<html")):
        return None
    found = _TITLE.search(reply.body[:4096])
    title = " ".join(found.group(1).decode(errors="replace").split())[:100] if found else ""
    named = f' titled "{title}"' if title else ""
    return (f"a web page{named} came back instead of the satellite's answer: a proxy or "
            "another web server answers at this URL; check the URL, and the proxy settings")


class DeviceClient:
    def __init__(self, transport: HttpTransport, private_key: keys.PrivateKey,
                 device_id: int | None = None, satellite_key: str | None = None,
                 now: Now = utcnow) -> None:
        self.transport = transport
        self.private_key = private_key
        self._signer = signing.Signer(private_key)
        self.device_id = device_id
        self.satellite_key = satellite_key
        self._now = now

    @property
    def public_key_b64(self) -> str:
        raw = keys.raw_public_bytes(keys.public_key_of(self.private_key))
        return base64.b64encode(raw).decode()

    def prepare(self, message_type: str, fields: Mapping[str, Any]) -> Prepared:
        """Build and sign one request (new timestamp and nonce) without sending it."""
        raw, headers = build_request(message_type, self.device_id, fields, self._now(),
                                     self._signer.sign)
        return Prepared(message_type, raw, headers, json.loads(raw)["nonce"])

    def send(self, prepared: Prepared) -> Reply:
        """Send a prepared request as it is; the answer is checked by `accept`."""
        return self.transport.request("POST", MESSAGE_TYPES[prepared.message_type],
                                      prepared.raw, prepared.headers)

    def accept(self, prepared: Prepared, reply: Reply) -> dict[str, Any]:
        """The answer to `prepared`, once its signature and nonce are checked.

        Raises Refused for an error answer, BadAnswer for one this device must not trust.
        """
        page = _web_page(reply)
        if reply.status != 200:
            if page is not None:
                raise Refused(reply.status, page)
            try:
                error = json.loads(reply.body).get("error", "")
            except (ValueError, AttributeError):
                error = reply.body[:200].decode(errors="replace")
            raise Refused(reply.status, error or "no explanation given")
        if page is not None:
            raise BadAnswer(page)
        try:
            document, signature = parse_response(reply.body, reply.headers)
        except MessageError as exc:
            raise BadAnswer(str(exc)) from None
        trusted = self.satellite_key or document.get("satelliteKey")
        if not isinstance(trusted, str):
            raise BadAnswer("no satellite key is pinned, so the answer cannot be verified")
        try:
            signing.verify(_satellite_public_key(trusted), reply.body, signature,
                           what="the satellite's answer")
        except (SatelliteError, ValueError) as exc:
            raise BadAnswer(str(exc)) from None
        if document.get("requestNonce") != prepared.nonce:
            raise BadAnswer("the answer is not for the request just sent")
        self.satellite_key = trusted
        return document

    def _send(self, message_type: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        prepared = self.prepare(message_type, fields)
        return self.accept(prepared, self.send(prepared))

    def register(self, token: str, pid: str, sn: str, hostname: str = "",
                 product_tag: str = "", vid: str = "", uuid: str = "",
                 evaluation_started_at: str | None = None) -> dict[str, Any]:
        udi = {"pid": pid, "sn": sn}
        if vid:
            udi["vid"] = vid
        if uuid:
            udi["uuid"] = uuid
        self.device_id = None
        fields: dict[str, Any] = {"token": token, "udi": udi, "hostname": hostname,
                                  "productTag": product_tag, "publicKey": self.public_key_b64}
        if evaluation_started_at:
            fields["evaluationStartedAt"] = evaluation_started_at
        document = self._send("register", fields)
        self.device_id = int(document["deviceId"])
        return document

    def report(self, usage: Mapping[str, int],
               classic: Sequence[ClassicHolding] = ()) -> dict[str, Any]:
        fields: dict[str, Any] = {"usage": dict(usage)}
        if classic:
            fields[CLASSIC_LICENSES] = [holding.to_json() for holding in classic]
        return self._send("usage", fields)

    def renew(self) -> dict[str, Any]:
        return self._send("renew", {})

    def deregister(self) -> dict[str, Any]:
        return self._send("deregister", {})


def with_retries(call: Callable[[], dict[str, Any]], attempts: int = 4, base_delay: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Call until it answers; wait base_delay, 2x, 4x... (with jitter) after each failure.

    Only an unreachable or overloaded satellite is retried; a refusal is final. Every attempt
    is a new signed message (new timestamp and nonce), so a retry is never taken for a replay.
    """
    for attempt in range(attempts):
        try:
            return call()
        except Unreachable:
            if attempt == attempts - 1:
                raise
        except Refused as exc:
            if exc.status < 500 or attempt == attempts - 1:
                raise
        sleep(base_delay * (2 ** attempt) * random.uniform(0.8, 1.2))  # noqa: S311 (jitter)
    raise AssertionError("unreachable")
