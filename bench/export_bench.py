"""Export benchmark: every product instance as CSV (and JSON) from the CLI, on the list-page
benchmark's data (1,000,000 product instances, 10,000 VAs by default).

    python -m bench.export_bench [--devices N] [--data-dir DIR] [--out BENCHMARKS.md]

Each export runs as its own process (`satellite device list --csv`, `satellite report
product-instances --format json`) with its output thrown away; the wrapper reports the
process's wall time and its own peak RSS. Seeding is set-up (bench/ui_seed.py), not measured.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.ui_lists import _env, prepare, record

_WRAPPER = ("import os,subprocess,sys,time\n"
            "t=time.perf_counter();p=subprocess.Popen(sys.argv[1:],stdout=subprocess.PIPE)\n"
            "n=sum(1 for _ in p.stdout)\n"
            "_,s,ru=os.wait4(p.pid,0)\n"
            "print(time.perf_counter()-t, ru.ru_maxrss*1024, os.waitstatus_to_exitcode(s), n)")


def measured(env: dict[str, str], *args: str) -> tuple[float, int, int]:
    """(seconds, peak RSS in bytes, lines written) of `satellite ARGS` in its own process.

    The wrapper only counts lines; its memory is not the export's."""
    result = subprocess.run([sys.executable, "-c", _WRAPPER, sys.executable, "-m", "satellite",
                             *args], env=env, capture_output=True, text=True, check=False)
    seconds, rss, code, lines = result.stdout.split()
    if int(code) != 0:
        raise SystemExit(f"satellite {' '.join(args)} failed: {result.stderr.strip()}")
    return float(seconds), int(rss), int(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.export_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--vas", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--data-dir", type=Path, help="keep (and on later runs reuse) the data")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args(argv)
    given = list(argv if argv is not None else sys.argv[1:])
    command = " ".join(["python -m bench.export_bench", *map(shlex.quote, given)])
    sizes = {"accounts": args.accounts, "vas": args.vas, "devices": args.devices,
             "reservations": 1_000, "audit_events": 1_000}
    with tempfile.TemporaryDirectory(prefix="satellite-export-bench-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        seeded = prepare(data_dir, "", sizes)
        print(f"seeded: {seeded.devices:,} product instances", flush=True)
        env = _env(data_dir, "")
        biggest = seeded.accounts[0]
        runs = {
            "all product instances, CSV (`satellite device list --csv`)":
                measured(env, "device", "list", "--csv"),
            f"one account ({biggest.devices:,}), JSON "
            "(`satellite report product-instances --account A --format json`)":
                measured(env, "report", "product-instances", "--account", biggest.domain,
                         "--format", "json"),
        }
    day = datetime.now(UTC).date().isoformat()
    lines = [f"\n### Export of {seeded.devices:,} product instances ({day})\n",
             f"`{command}` on {platform.machine()}, {os.cpu_count()} CPUs, Python "
             f"{platform.python_version()}, SQLite. Each export is its own process writing to "
             "a pipe; rows are read in keyset pages of 1,000 in one read transaction.\n",
             "| export | rows | seconds | rows/s | peak RSS (MB) |", "|---|---|---|---|---|"]
    for name, (seconds, rss, written) in runs.items():
        # A CSV has a header line; the JSON document has one row a line.
        rows = written - 1 if "CSV" in name else written
        lines.append(f"| {name} | {rows:,} | {seconds:.1f} | {rows / seconds:,.0f} | "
                     f"{rss / 1e6:.1f} |")
    record("\n".join(lines) + "\n", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
