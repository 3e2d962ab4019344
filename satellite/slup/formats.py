"""Cisco Smart Licensing Using Policy files: usage (RUM) reports and ACKs, read safely and streamed.

A usage file is `<smartLicense>` holding `<RUMReport>` elements (or one bare `<RUMReport>`),
each a JSON object with `payload` (IOS XE writes a string of JSON, signed by the device's SUDI
key; NX-OS an object, its signature inside) and `signature`. Only Cisco can check a signature,
so a report is kept as the exact text the device wrote: nothing in it is re-serialised. XML is
read with defusedxml (no DTD, no entity) one element at a time, so a file's size does not decide
memory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from satellite.devices.udi import check_udi as udi_rule
from satellite.errors import InvalidInput
from satellite.slup.archives import READ_ERRORS

USAGE_ROOT, REPORT = "smartLicense", "RUMReport"
ACK, POLICY = "smartLicenseRumAck", "smartLicensePolicy"
ENTITLEMENT = "ENTITLEMENT"
_WS = re.compile(r"[ \t\n\r]*")
# Not strict: a device may wrap a long value (a base64 signature) over lines inside its string.
_DECODER = json.JSONDecoder(strict=False)
MAX_COUNT = 1_000_000


@dataclass(frozen=True)
class Measurement:
    """One measurement window of a report, as the accounting reads it."""

    metric: str
    start: int | None
    end: int | None
    count: int | None
    closed: bool
    clock_change: int
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class RumReport:
    """A report as the device wrote it (`text`), with what the satellite reads from it."""

    text: str
    payload: str
    pid: str
    serial: str
    report_id: str
    tag: str
    software_version: str
    measurements: tuple[Measurement, ...]
    ha: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()

    @property
    def signature(self) -> str:
        """The exact text of the report's `signature` member ("" if it has none)."""
        found = json_members(self.text).get("signature")
        return found[1] if found else ""

    @property
    def latest(self) -> Measurement | None:
        """The latest closed ENTITLEMENT measurement by end time."""
        closed = [m for m in self.measurements if m.closed and m.metric == ENTITLEMENT
                  and m.count is not None]
        return max(closed, key=lambda m: m.end or 0) if closed else None


@dataclass
class Skipped:
    """Elements of a usage file that are not reports, by name (policies, ACKs, ...)."""

    names: dict[str, int] = field(default_factory=dict)


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def json_members(text: str) -> dict[str, tuple[Any, str]]:
    """The members of a JSON object text: name -> (value, the value's exact text).

    Raises ValueError when the text is not one JSON object (or repeats a name)."""
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    if text[pos:pos + 1] != "{":
        raise ValueError("is not a JSON object")
    members: dict[str, tuple[Any, str]] = {}
    pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text[pos:pos + 1] == "}":
        pos += 1
    else:
        while True:
            if text[pos:pos + 1] != '"':
                raise ValueError(f"expects a member name at character {pos}")
            name, pos = json.decoder.scanstring(  # type: ignore[attr-defined]
                text, pos + 1, False)
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if text[pos:pos + 1] != ":":
                raise ValueError(f"expects ':' at character {pos}")
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            value, end = _DECODER.raw_decode(text, pos)
            if name in members:
                raise ValueError(f"repeats the member {name!r}")
            members[name] = (value, text[pos:end])
            pos = _WS.match(text, end).end()  # type: ignore[union-attr]
            if text[pos:pos + 1] == "}":
                pos += 1
                break
            if text[pos:pos + 1] != ",":
                raise ValueError(f"expects ',' or '}}' at character {pos}")
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text[_WS.match(text, pos).end():]:  # type: ignore[union-attr]
        raise ValueError("has text after the JSON object")
    return members


def _object(parent: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = parent.get(name)
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: {name} is missing or not an object")
    return value


def _time(value: Any, name: str, where: str) -> int | None:
    """Unix seconds, written as a number or a string of digits; None when absent."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InvalidInput(f"{where}: {name} is not a time in Unix seconds")
    return int(value)


def _count(value: Any, where: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise InvalidInput(f"{where}: the value's count {value!r} is not a whole number")
    if not 0 <= number <= MAX_COUNT:
        raise InvalidInput(f"{where}: the count {number} is not from 0 to {MAX_COUNT:,}")
    return number


def _sudi_list(value: Any, name: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidInput(f"{where}: {name} is not a list")
    found = []
    for item in value:
        if isinstance(item, dict):
            sudi = item.get("sudi", item)
            found.append(f"{sudi.get('udi_pid', '?')}:{sudi.get('udi_serial_number', '?')}"
                         if isinstance(sudi, dict) else json.dumps(item, sort_keys=True))
        else:
            found.append(str(item))
    return tuple(found)


def _measurement(raw: Any, where: str) -> Measurement:
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: is not an object")
    metric = raw.get("metric_name", ENTITLEMENT)
    if not isinstance(metric, str):
        raise InvalidInput(f"{where}: metric_name is not text")
    start, end = _time(raw.get("start_time"), "start_time", where), \
        _time(raw.get("end_time"), "end_time", where)
    meta = raw.get("meta") or {}
    if not isinstance(meta, dict):
        raise InvalidInput(f"{where}: meta is not an object")
    delta = meta.get("clock_change_delta", 0) or 0
    if isinstance(delta, str) and re.fullmatch(r"-?\d+", delta.strip()):
        delta = int(delta)
    if isinstance(delta, bool) or not isinstance(delta, int | float):
        raise InvalidInput(f"{where}: clock_change_delta is not a number of seconds")
    count = None
    if metric == ENTITLEMENT:
        value = _object(raw, "value", where)
        kind = value.get("type", "COUNT")
        if kind != "COUNT":
            raise InvalidInput(f"{where}: value type {kind!r} is not COUNT")
        if "value" not in value:
            raise InvalidInput(f"{where}: the value has no count")
        count = _count(value["value"], where)
    return Measurement(metric, start, end, count, closed=bool(end),
                       clock_change=int(delta),
                       added=_sudi_list(meta.get("added_sudi_list"), "added_sudi_list", where),
                       removed=_sudi_list(meta.get("removed_sudi_list"), "removed_sudi_list",
                                          where))


def check_udi(pid: Any, serial: Any, where: str) -> tuple[str, str]:
    """A SUDI's (PID, serial) under the one UDI rule every way in applies (devices.udi)."""
    try:
        udi = udi_rule(pid, serial, names=("udi_pid", "udi_serial_number", "vid", "uuid"))
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: the SUDI is not a valid UDI: {exc.message}") from None
    return udi.pid, udi.sn


def _flags(measurements: tuple[Measurement, ...]) -> tuple[str, ...]:
    flags = []
    if any(m.clock_change for m in measurements):
        flags.append("clock_change")
    previous_end = None
    for m in measurements:
        if (m.start is not None and m.end and m.end < m.start) or (
                previous_end is not None and m.start is not None and m.start < previous_end):
            flags.append("backwards")
            break
        previous_end = m.end or previous_end
    return tuple(flags)


def parse_report(text: str, where: str) -> RumReport:
    """Read one report's JSON text. Raises InvalidInput naming `where` and what is wrong."""
    try:
        # The text is kept whole, so payload and signature stay exactly as the device wrote
        # them; parsing it here only reads what the satellite needs.
        members = json_members(text)
    except ValueError as exc:
        raise InvalidInput(f"{where}: the report is not one JSON object ({exc})") from None
    if "payload" not in members:
        raise InvalidInput(f"{where}: a report is a JSON object with a payload")
    payload, payload_text = members["payload"]
    if isinstance(payload, str):
        # IOS XE: the payload is a string of JSON, signed as it stands.
        try:
            body = _DECODER.decode(payload)
        except ValueError as exc:
            raise InvalidInput(f"{where}: payload is not JSON ({exc})") from None
    else:
        # NX-OS: the payload is the object itself, its signature inside asset_identification.
        body, payload = payload, payload_text
    if not isinstance(body, dict):
        raise InvalidInput(f"{where}: payload must be a JSON object or a string holding one")
    assets = _object(body, "asset_identification", where)
    # Beside the payload (IOS XE), else inside asset_identification (NX-OS).
    signature = members["signature"][0] if "signature" in members \
        else assets.get("signature") or {}
    if not isinstance(signature, dict):
        raise InvalidInput(f"{where}: signature must be an object")
    meta = body.get("meta") or {}
    if not isinstance(meta, dict):
        raise InvalidInput(f"{where}: meta is not an object")
    instance = assets.get("instance") or {}
    if not isinstance(instance, dict):
        raise InvalidInput(f"{where}: asset_identification.instance is not an object")
    sudi = instance.get("sudi") or signature.get("sudi")
    if not isinstance(sudi, dict):
        raise InvalidInput(f"{where}: no SUDI (udi_pid, udi_serial_number) names the device")
    pid, serial = check_udi(sudi.get("udi_pid"), sudi.get("udi_serial_number"), where)
    report_id = assets.get("report_id", meta.get("report_id"))
    if isinstance(report_id, bool) or not isinstance(report_id, int | str) \
            or not str(report_id).strip() or len(str(report_id)) > 64:
        raise InvalidInput(f"{where}: report_id is missing or not a number or short text")
    asset = assets.get("asset") or {}
    tag = meta.get("entitlement_tag") or (asset.get("name") if isinstance(asset, dict) else None)
    if not isinstance(tag, str) or not tag.strip() or len(tag) > 255:
        raise InvalidInput(f"{where}: no entitlement tag (meta.entitlement_tag or "
                           "asset_identification.asset.name) of at most 255 characters")
    version = meta.get("software_version", "")
    raw_measurements = body.get("measurements", [])
    if not isinstance(raw_measurements, list):
        raise InvalidInput(f"{where}: measurements is not a list")
    measurements = tuple(_measurement(m, f"{where}, measurement {n}")
                         for n, m in enumerate(raw_measurements, start=1))
    ha = _sudi_list(meta.get("ha_udi"), "ha_udi", where)
    return RumReport(text, payload, pid, serial, str(report_id).strip(),
                     tag.strip(), str(version)[:100], measurements, ha, _flags(measurements))


def iter_elements(stream: IO[bytes], name: str, wanted: str,
                  skipped: Skipped) -> Iterator[tuple[int, str]]:
    """(position, text) of each `wanted` element of an XML document, one at a time.

    The document is `<smartLicense>` holding them (directly or inside wrapper elements), or
    one bare `wanted` element; other elements under the root that hold none are counted in
    `skipped`. Raises InvalidInput for XML that is malformed or declares a DTD or entities.
    """
    depth, position, inside, found_at_start = 0, 0, 0, 0
    root: Element | None = None
    try:
        for event, element in iterparse(stream, events=("start", "end"), forbid_dtd=True):
            tag = local(element.tag)
            if event == "start":
                if depth == 0:
                    root = element
                    if tag not in (USAGE_ROOT, wanted):
                        raise InvalidInput(f"{name}: the document is <{tag}>, "
                                           f"not <{USAGE_ROOT}> or <{wanted}>")
                elif depth == 1:
                    found_at_start = position
                inside += tag == wanted
                depth += 1
                continue
            depth -= 1
            if tag == wanted:
                inside -= 1
                if inside == 0:
                    position += 1
                    yield position, "".join(element.itertext())
                    element.clear()  # keeps memory flat: its text is no longer needed
            elif depth == 1 and position == found_at_start:
                skipped.names[tag] = skipped.names.get(tag, 0) + 1
            if root is not None and depth == 1 and local(root.tag) == USAGE_ROOT:
                root.clear()  # and so is every element the root held
    except (ParseError, DefusedXmlException) as exc:
        at = f" after element {position}" if position else ""
        raise InvalidInput(f"{name}: not a well-formed, safe XML document{at} ({exc})") from None
    except READ_ERRORS as exc:
        raise InvalidInput(f"{name}: the file cannot be read to its end ({exc})") from None


def read_usage(stream: IO[bytes], name: str, skipped: Skipped) -> Iterator[RumReport]:
    """The reports of one usage file, in order. Raises InvalidInput naming file and report."""
    for position, text in iter_elements(stream, name, REPORT, skipped):
        yield parse_report(text, f"{name}: report {position}")


def cdata(text: str) -> str:
    """`text` as CDATA, exactly (a ']]>' inside is split across two sections)."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def usage_document(reports: list[str]) -> str:
    """A `<smartLicense>` usage file holding these report texts, unchanged."""
    return ("<smartLicense>" + "".join(f"<{REPORT}>{cdata(t)}</{REPORT}>" for t in reports)
            + "</smartLicense>\n")


def ack_document(acks: list[str]) -> str:
    """A `<smartLicense>` ACK file holding these ACK texts, unchanged."""
    return ("<smartLicense>" + "".join(f"<{ACK}>{cdata(t)}</{ACK}>" for t in acks)
            + "</smartLicense>\n")
