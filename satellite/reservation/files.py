"""The files an operator carries to a device: the authorization file and the chain file.

The authorization file is JSON holding the typed code and the satellite's certificate chain,
so a device that imports files gets both in one go. The chain file is the chain alone, as a
PEM bundle (satellite certificate first), for devices whose codes are typed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from satellite.errors import InvalidInput
from satellite.reservation.codes import Udi

FILE_FORMAT = "satellite-reservation-authorization/2"
# Files from before the chain was carried: a device still reads them.
FORMATS = (FILE_FORMAT, "satellite-reservation-authorization/1")


@dataclass(frozen=True)
class AuthorizationText:
    code: str
    chain: bytes | None  # PEM bundle, when the file carries one


def authorization_file(code: str, udi: Udi, key_id: str, chain: bytes | None) -> str:
    """The file form of an authorization code, with the chain that certifies its key."""
    data: dict[str, object] = {"format": FILE_FORMAT, "udi": str(udi), "satellite_key_id": key_id,
                               "code": code}
    if chain is not None:
        data["chain"] = chain.decode("ascii")
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _json(stripped: str) -> dict[str, object]:
    try:
        data = json.loads(stripped)
    except ValueError:
        raise InvalidInput("the authorization file is not valid JSON") from None
    if not isinstance(data, dict) or data.get("format") not in FORMATS \
            or not isinstance(data.get("code"), str):
        raise InvalidInput(f"the authorization file is not in the {FILE_FORMAT} format")
    if not isinstance(data.get("chain", ""), str):
        raise InvalidInput("the authorization file's chain is not PEM text")
    return data


def read_authorization(text: str) -> AuthorizationText:
    """An authorization code given as text, or its file's JSON. Raises InvalidInput."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return AuthorizationText(stripped, None)
    data = _json(stripped)
    chain = data.get("chain")
    return AuthorizationText(str(data["code"]), str(chain).encode("ascii") if chain else None)


def read_chain(text: str) -> bytes:
    """A certificate chain from a chain file (PEM) or an authorization file. Raises
    InvalidInput."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return stripped.encode("ascii", errors="replace") + b"\n"
    chain = read_authorization(stripped).chain
    if chain is None:
        raise InvalidInput("this authorization file carries no certificate chain")
    return chain
