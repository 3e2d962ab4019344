"""Streaming benchmark: export, Central ingest and import of a large usage batch.

    python bench/sync_bench.py --events 1000000 [--record BENCHMARKS.md]

Each measured step runs as its own process (the real console scripts), so its peak RSS is
the process's own. Filling the outbound log is set-up, done with bulk inserts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
TAG = "regid.2024-01.com.example.router-advantage"
_FILL_CHUNK = 50_000


def _run(env: dict[str, str], *args: str) -> tuple[float, int, str]:
    """Run a set-up step; return (seconds, 0, stdout)."""
    start = time.perf_counter()
    result = subprocess.run([str(BIN / args[0]), *args[1:]], env=env, capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {result.stderr.strip()}")
    return time.perf_counter() - start, 0, result.stdout


def _measured(env: dict[str, str], *args: str) -> tuple[float, int]:
    """Run a step in a wrapper that reports the step's own peak RSS."""
    seconds, _cpu, rss = _measured_cpu(env, *args)
    return seconds, rss


def _measured_cpu(env: dict[str, str], *args: str) -> tuple[float, float, int]:
    """Run a step as its own process; return its wall seconds, CPU seconds (user and system)
    and peak RSS."""
    wrapper = ("import os,subprocess,sys,time\n"
               "t=time.perf_counter();p=subprocess.Popen(sys.argv[1:],stdout=subprocess.DEVNULL)\n"
               "_,s,ru=os.wait4(p.pid,0)\n"
               "print(time.perf_counter()-t, ru.ru_utime+ru.ru_stime, ru.ru_maxrss*1024, "
               "os.waitstatus_to_exitcode(s))")
    result = subprocess.run([sys.executable, "-c", wrapper, str(BIN / args[0]), *args[1:]],
                            env=env, capture_output=True, text=True, check=False)
    seconds, cpu, rss, code = result.stdout.split()
    if int(code) != 0:
        raise SystemExit(f"{' '.join(args)} failed: {result.stderr.strip()}")
    return float(seconds), float(cpu), int(rss)


def _fill(data_dir: Path, events: int) -> None:
    from sqlalchemy import insert, update

    from satellite.bootstrap import open_database
    from satellite.cloudsync.models import OutboundEvent, OutboundHead
    from satellite.config import load_settings

    db = open_database(load_settings(data_dir=data_dir, env={}))
    at = datetime.now(UTC)
    with db.uow() as uow:
        for start in range(1, events + 1, _FILL_CHUNK):
            rows = [{"seq": seq, "kind": "usage", "at": at,
                     "payload": json.dumps({"account": "abc.xyz.com", "count": seq % 7 + 1,
                                            "device": f"PID:SN{seq % 50_000}", "tag": TAG,
                                            "va": "Lab"}, sort_keys=True,
                                           separators=(",", ":"))}
                    for seq in range(start, min(start + _FILL_CHUNK, events + 1))]
            uow.session.execute(insert(OutboundEvent), rows)
        uow.session.execute(update(OutboundHead).values(last_seq=events))
        uow.commit()
    db.dispose()


def bench(events: int, work: Path) -> dict[str, Any]:
    central, data = work / "central", work / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SATELLITE_")}
    env["SATELLITE_DATA_DIR"] = str(data)
    _run(env, "satellite-central", "init", "--dir", str(central))
    _run(env, "satellite", "init", "--central-key", str(central / "central.pub"))
    _run(env, "satellite", "account", "create", "ABC", "--domain", "abc.xyz.com")
    _run(env, "satellite-central", "entitle", "--dir", str(central), "--account", "abc.xyz.com",
         "--va", "Lab", "--tag", TAG, "--quantity", "100", "--type", "PERPETUAL")
    satellite_id = json.loads(_run(env, "satellite", "status", "--json")[2])["satellite_id"]
    _run(env, "satellite", "sync", "register", "--out", str(work / "register.bundle"))
    _run(env, "satellite-central", "ingest", "--dir", str(central), str(work / "register.bundle"))
    _run(env, "satellite-central", "respond", "--dir", str(central), "--satellite",
         satellite_id, "--out", str(work / "registered.bundle"))
    _run(env, "satellite", "sync", "import", str(work / "registered.bundle"))
    _fill(data, events)

    batch, response = work / "usage.bundle", work / "response.bundle"
    steps: dict[str, Any] = {}
    for name, args in (
            ("export", ("satellite", "sync", "export", "--out", str(batch))),
            ("central_ingest", ("satellite-central", "ingest", "--dir", str(central),
                                str(batch))),
            ("central_respond", ("satellite-central", "respond", "--dir", str(central),
                                 "--satellite", satellite_id, "--out", str(response))),
            ("import", ("satellite", "sync", "import", str(response)))):
        load = os.getloadavg()[0]
        seconds, cpu, rss = _measured_cpu(env, *args)
        # Respond and import carry the acknowledgement of every event, not the events.
        steps[name] = {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
                       "peak_rss_mb": round(rss / 2**20, 1),
                       "load": f"{load:.1f} / {os.getloadavg()[0]:.1f}",
                       "events_per_second": round(events / seconds)
                       if name in ("export", "central_ingest") else None}
    status = json.loads(_run(env, "satellite", "sync", "status", "--json")[2])
    if status["pending_events"] != 0 or status["acked_through"] != events:
        raise SystemExit(f"not every event was acknowledged: {status}")
    return {"events": events, "bundle_bytes": batch.stat().st_size, "steps": steps,
            "peak_rss_mb": max(s["peak_rss_mb"] for s in steps.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--record", type=Path, default=None,
                        help="Append the result to this Markdown file (BENCHMARKS.md).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as work:
        result = bench(args.events, Path(work))
    print(json.dumps(result, indent=2))
    if args.record:
        lines = [f"\n### Sync streaming, {args.events:,} usage events "
                 f"({datetime.now(UTC):%Y-%m-%d})\n",
                 f"`python bench/sync_bench.py --events {args.events} --record {args.record}` "
                 f"on {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
                 f"Python {platform.python_version()}, SQLite. Bundle "
                 f"{result['bundle_bytes'] / 2**20:.1f} MiB. Run {datetime.now(UTC):%H:%M} UTC; "
                 "CPU seconds are the step's own (user and system); the load average (1 min) "
                 "before and after each step is the machine's, which other work shared.\n",
                 "| step | seconds | CPU seconds | events/s | peak RSS (MB) | load before / after |",
                 "|---|---|---|---|---|---|"]
        lines += [f"| {name} | {s['seconds']} | {s['cpu_seconds']} | "
                  f"{s['events_per_second'] or '-'} | {s['peak_rss_mb']} | {s['load']} |"
                  for name, s in result["steps"].items()]
        with args.record.open("a") as out:
            out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
