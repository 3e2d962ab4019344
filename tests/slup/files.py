"""Usage files and archives in the layouts Cisco devices and CSSM write, made by the tests."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from typing import Any

WLC = "regid.2018-06.com.cisco.DNA_NWStack,1.0_e7244e71-3ad5-4608-8bf0-d12f67c80896"
AP_TAG = "regid.2018-06.com.cisco.DNA-C-E-AP,1.0_1e2d0bd4-fb3e-4f4c-9d3f-4a1b3c1d9b10"


def measurement(start: int, end: int, count: int | str, **meta: Any) -> dict[str, Any]:
    return {"log_time": end, "metric_name": "ENTITLEMENT", "start_time": start,
            "end_time": end, "sample_interval": 3600, "num_samples": 24,
            "meta": {"termination_reason": "CurrentState", **meta},
            "value": {"type": "COUNT", "value": str(count)}}


def payload(pid: str, serial: str, report_id: int, tag: str,
            measurements: list[dict[str, Any]], *, version: str = "17.9.4",
            ha: list[dict[str, Any]] | None = None, new_style: bool = True) -> str:
    assets: dict[str, Any] = {"asset": {"name": tag},
                              "instance": {"sudi": {"udi_pid": pid, "udi_serial_number": serial}}}
    meta: dict[str, Any] = {"entitlement_tag": tag, "software_version": version,
                            "ha_udi": ha or [], "utility_enabled": False, "vendor_field": [1]}
    body: dict[str, Any] = {"asset_identification": assets, "meta": meta,
                            "measurements": measurements}
    if new_style:
        body["version"] = "1.0"
        assets["report_id"] = report_id
    else:
        meta["report_id"] = report_id
    return json.dumps(body)


def report(pid: str, serial: str, report_id: int, tag: str = WLC,
           measurements: list[dict[str, Any]] | None = None, **options: Any) -> str:
    """One RUM report's JSON text, shaped as a device writes it."""
    text = payload(pid, serial, report_id, tag,
                   measurements or [measurement(1_700_000_000, 1_700_086_400, 1)], **options)
    value = base64.b64encode(hashlib.sha256(text.encode()).digest() * 8).decode()
    signature = {"sudi": {"udi_pid": pid, "udi_serial_number": serial},
                 "signing_type": "builtin", "key": "0F4C2A1B", "value": value}
    return json.dumps({"payload": text, "signature": signature})


def usage_file(*reports: str, extra: str = "") -> bytes:
    """A `license smart save usage` file."""
    body = "".join(f"<RUMReport><![CDATA[{r}]]></RUMReport>" for r in reports)
    return f"<smartLicense>{body}{extra}</smartLicense>".encode()


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def nested(outer_files: dict[str, bytes], inner_name: str, inner_files: dict[str, bytes]) -> bytes:
    """Cisco's offline layout: manifest.mf and an inner gzip tar of per-device files."""
    return _tar({"manifest.mf": b"version: 1\n", **outer_files,
                 inner_name: _tar(inner_files)})


def members(archive: bytes) -> dict[str, bytes]:
    """Every file of a (nested) gzip tar, by path, inner archives opened."""
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as outer:
        for member in outer.getmembers():
            data = outer.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.endswith(".tar.gz"):
                for name, inner in members(data).items():
                    found[f"{member.name}/{name}"] = inner
            else:
                found[member.name] = data
    return found
