"""SLUP import benchmark: 100,000 RUM reports of 10,000 devices in one usage file.

    python -m bench.slup_bench [--reports 100000] [--devices 10000] [--record BENCHMARKS.md]

The import runs as its own process (the real `satellite slup import`), so its peak RSS is the
process's own. Writing the usage file is set-up. Target: under 60 s and under 200 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.sync_bench import _measured, _run

TAGS = ["regid.2017-03.com.cisco.advantagek9,1.0_bd1da96e-ec1d-412b-a50e-53846b347d53",
        "regid.2017-03.com.cisco.dna-advantage,1.0_4c1e6a3c-2b5e-4d0b-9e1f-2f5f3c8f4a11"]
T0 = 1_700_000_000


def _report(device: int, number: int) -> str:
    start = T0 + number * 86_400
    body = {"version": "1.0",
            "asset_identification": {"asset": {"name": TAGS[number % 2]},
                                     "instance": {"sudi": {"udi_pid": "C9300-48P",
                                                           "udi_serial_number": f"FOC{device:08d}"}},
                                     "report_id": 1_000_000 + number},
            "meta": {"entitlement_tag": TAGS[number % 2], "software_version": "17.9.4a",
                     "ha_udi": [], "utility_enabled": False},
            "measurements": [{"log_time": start + 86_400, "metric_name": "ENTITLEMENT",
                              "start_time": start, "end_time": start + 86_400,
                              "sample_interval": 3600, "num_samples": 24,
                              "meta": {"termination_reason": "CurrentState"},
                              "value": {"type": "COUNT", "value": str(1 + number % 3)}}]}
    signature = {"sudi": {"udi_pid": "C9300-48P", "udi_serial_number": f"FOC{device:08d}"},
                 "signing_type": "builtin", "key": "0F4C2A1B", "value": "A" * 344}
    return json.dumps({"payload": json.dumps(body), "signature": signature})


def _usage_file(path: Path, reports: int, devices: int) -> None:
    per_device = max(reports // devices, 1)
    with path.open("w") as out:
        out.write("<smartLicense>")
        for n in range(reports):
            out.write(f"<RUMReport><![CDATA[{_report(n // per_device, n % per_device)}]]>"
                      "</RUMReport>")
        out.write("</smartLicense>\n")


def bench(reports: int, devices: int, work: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SATELLITE_")}
    env["SATELLITE_DATA_DIR"] = str(work / "data")
    _run(env, "satellite", "init")
    _run(env, "satellite", "account", "create", "Bench", "--domain", "bench.example.com")
    usage = work / "usage.txt"
    _usage_file(usage, reports, devices)
    seconds, rss = _measured(env, "satellite", "slup", "import", str(usage), "--account",
                             "Bench", "--va", "Default")
    status = json.loads(_run(env, "satellite", "device", "list", "--limit", "1", "--json")[2])
    if status["total"] != devices:
        raise SystemExit(f"expected {devices} devices, found {status['total']}")
    again, again_rss = _measured(env, "satellite", "slup", "import", str(usage), "--account",
                                 "Bench", "--va", "Default")
    return {"reports": reports, "devices": devices, "file_mb": round(usage.stat().st_size / 2**20, 1),
            "seconds": round(seconds, 1), "peak_rss_mb": round(rss / 2**20, 1),
            "reimport_seconds": round(again, 1), "reimport_peak_rss_mb": round(again_rss / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--record", type=Path, default=None,
                        help="Append the result to this Markdown file (BENCHMARKS.md).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="slup-bench-") as work:
        result = bench(args.reports, args.devices, Path(work))
    print(json.dumps(result, indent=2))
    if args.record:
        met = result["seconds"] < 60 and result["peak_rss_mb"] < 200
        lines = [f"\n### SLUP import, {args.reports:,} RUM reports of {args.devices:,} devices "
                 f"({datetime.now(UTC):%Y-%m-%d})\n",
                 f"`python -m bench.slup_bench --reports {args.reports} --devices {args.devices}"
                 f" --record {args.record}` on {platform.processor() or platform.machine()}, "
                 f"{os.cpu_count()} CPUs, Python {platform.python_version()}, SQLite. One usage "
                 f"file of {result['file_mb']} MiB; every device new.\n",
                 "| step | seconds | peak RSS (MB) |", "|---|---|---|",
                 f"| first import | {result['seconds']} | {result['peak_rss_mb']} |",
                 f"| same file again (every report known) | {result['reimport_seconds']} | "
                 f"{result['reimport_peak_rss_mb']} |",
                 f"\nTarget (< 60 s, < 200 MB): {'met' if met else 'NOT met'}."]
        with args.record.open("a") as out:
            out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
