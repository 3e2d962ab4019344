"""Entitlement import benchmark: a signed Central response of N license lines, applied by
`satellite sync import` on SQLite and on PostgreSQL.

    python -m bench.import_bench [--lines 100000] [--pg-url URL] [--record BENCHMARKS.md]

The reference Central (satellite/central) writes the response; its lines are put into
Central's store with one executemany (set-up, like an order system would). Each measured step
runs as its own process (the real console scripts), so its peak RSS is the process's own:

- `inspect`: `satellite sync inspect` of the response, which verifies the signature and the
  payload hash and reads every record: the floor any import pays, measured in the same run;
- `first import`: every line new (VAs named by Central are created, pools computed);
- `second import`: the next response after Central changed a tenth of the quantities,
  cancelled a hundredth of the lines and added a hundredth.

`--pg-url` names a PostgreSQL server (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres):
a fresh database `satellite_bench_import` is created there for the run and dropped after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.sync_bench import BIN, _run

ACCOUNTS = ("alpha.example.com", "beta.example.com", "gamma.example.com", "delta.example.com")
VAS_PER_ACCOUNT = 50
TAGS = 400
PG_DATABASE = "satellite_bench_import"
TARGET_SECONDS = 30.0


def _line(rng: random.Random, number: int) -> tuple[Any, ...]:
    account = ACCOUNTS[number % len(ACCOUNTS)]
    va = None if number % 10 == 0 else f"VA-{rng.randrange(VAS_PER_ACCOUNT):03d}"
    tag = f"regid.2024-01.com.example.product-{rng.randrange(TAGS):04d}"
    kind = ("PERPETUAL", "TERM", "TERM", "DEMO")[number % 4]
    start = end = None
    if kind != "PERPETUAL":
        start = date(2026, 1, 1) + timedelta(days=rng.randrange(300))
        end = start + timedelta(days=rng.choice((90, 365, 1095)))
    return (uuid.UUID(int=rng.getrandbits(128)).hex, account, va, tag,
            f"Product {tag[-4:]}", kind, rng.randrange(1, 500),
            start.isoformat() if start else None, end.isoformat() if end else None,
            f"SUB-{number // 20:06d}", int(number % 50 == 0), "2026-01-01T00:00:00+00:00")


def _entitle(central: Path, lines: int, rng: random.Random) -> None:
    with sqlite3.connect(central / "central.db") as conn:
        conn.executemany("INSERT INTO entitlements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (_line(rng, n) for n in range(lines)))


def _amend(central: Path, lines: int, rng: random.Random) -> None:
    """Central's next day: a tenth of the quantities change, a hundredth cancelled or added."""
    with sqlite3.connect(central / "central.db") as conn:
        ids = [row[0] for row in conn.execute("SELECT line_id FROM entitlements")]
        rng.shuffle(ids)
        tenth, hundredth = len(ids) // 10, len(ids) // 100
        conn.executemany("UPDATE entitlements SET quantity = quantity + ? WHERE line_id = ?",
                         ((rng.randrange(1, 50), line) for line in ids[:tenth]))
        conn.executemany("DELETE FROM entitlements WHERE line_id = ?",
                         ((line,) for line in ids[tenth:tenth + hundredth]))
        conn.executemany("INSERT INTO entitlements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (_line(rng, lines + n) for n in range(hundredth)))


def _measured(env: dict[str, str], *args: str) -> tuple[float, float, int]:
    """Run a step as its own process; return its (wall seconds, CPU seconds, peak RSS)."""
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


@contextmanager
def pg_database(server_url: str, name: str = PG_DATABASE) -> Iterator[str]:
    """A fresh PostgreSQL database `name` on the server for the run, dropped after; yields
    its URL."""
    from sqlalchemy import create_engine, make_url, text

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            conn.execute(text(f"CREATE DATABASE {name}"))
        yield make_url(server_url).set(database=name).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def bench(lines: int, work: Path, database_url: str = "") -> dict[str, Any]:
    """Run the steps on one engine (SQLite unless `database_url`); returns their figures."""
    rng = random.Random(7)  # noqa: S311 (bench data, not secrets)
    central, data = work / "central", work / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SATELLITE_")}
    env.update(SATELLITE_DATA_DIR=str(data), SATELLITE_LOG_LEVEL="WARNING")
    if database_url:
        env["SATELLITE_DATABASE_URL"] = database_url
    _run(env, "satellite-central", "init", "--dir", str(central))
    _run(env, "satellite", "init", "--central-key", str(central / "central.pub"))
    for domain in ACCOUNTS:
        _run(env, "satellite", "account", "create", domain.split(".")[0].title(), "--domain",
             domain)
    satellite_id = json.loads(_run(env, "satellite", "status", "--json")[2])["satellite_id"]
    _run(env, "satellite", "sync", "register", "--out", str(work / "register.bundle"))
    _run(env, "satellite-central", "ingest", "--dir", str(central), str(work / "register.bundle"))
    _entitle(central, lines, rng)
    steps: dict[str, Any] = {}

    def respond(name: str) -> Path:
        out = work / f"{name}.bundle"
        _run(env, "satellite-central", "respond", "--dir", str(central), "--satellite",
             satellite_id, "--out", str(out))
        return out

    def measure(name: str, *args: str) -> None:
        load = os.getloadavg()
        seconds, cpu, rss = _measured(env, *args)
        steps[name] = {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
                       "peak_rss_mb": round(rss / 2**20, 1),
                       "load_before": round(load[0], 1), "load_after": round(os.getloadavg()[0], 1)}

    first = respond("first")
    measure("inspect", "satellite", "sync", "inspect", str(first))
    measure("first import", "satellite", "sync", "import", str(first))
    _amend(central, lines, rng)
    second = respond("second")
    measure("second import", "satellite", "sync", "import", str(second))
    status = json.loads(_run(env, "satellite", "sync", "status", "--json")[2])
    if status["last_response_serial"] != 2:
        raise SystemExit(f"the second response was not applied: {status}")
    return {"lines": lines, "bundle_bytes": first.stat().st_size, "steps": steps}


def report(lines: int, results: dict[str, dict[str, Any]], command: str) -> str:
    out = [f"\n### Entitlement import, {lines:,} license lines ({datetime.now(UTC):%Y-%m-%d})\n",
           f"`{command}` on {platform.machine()}, {os.cpu_count()} CPUs, Python "
           f"{platform.python_version()}; run {datetime.now(UTC):%H:%M} UTC. Each step is its "
           "own process; load average (1 min) of the machine before and after each step, "
           "which other work shared.\n",
           "| engine | step | seconds | CPU seconds | peak RSS (MB) | load before / after |",
           "|---|---|---:|---:|---:|---|"]
    missed = []
    for engine, result in results.items():
        for name, step in result["steps"].items():
            out.append(f"| {engine} | {name} | {step['seconds']} | {step['cpu_seconds']} | "
                       f"{step['peak_rss_mb']} | "
                       f"{step['load_before']} / {step['load_after']} |")
            if name.endswith("import") and step["seconds"] >= TARGET_SECONDS:
                missed.append(f"{engine} {name}")
        size = result["bundle_bytes"] / 2**20
    out.append(f"\nResponse {size:.1f} MiB. `inspect` verifies the signature and the payload "
               "hash and reads every record: the floor of any import. CPU seconds are the step's "
               "own (user and system), which a busy machine does not inflate as it does the "
               "wall-clock seconds. The second import follows "
               "Central changing a tenth of the quantities, cancelling a hundredth of the lines "
               "and adding a hundredth.\n")
    out.append(f"Target (every import under {TARGET_SECONDS:.0f} s): "
               + ("met." if not missed else "NOT met by " + ", ".join(missed) + "."))
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_bench",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--pg-url", default="",
                        help="also run on PostgreSQL (a fresh database on this server)")
    parser.add_argument("--record", type=Path, default=None,
                        help="Append the result to this Markdown file (BENCHMARKS.md).")
    args = parser.parse_args(argv)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="import-bench-") as work:
        results["SQLite"] = bench(args.lines, Path(work) / "sqlite")
        if args.pg_url:
            with pg_database(args.pg_url) as url:
                results["PostgreSQL"] = bench(args.lines, Path(work) / "pg", url)
    print(json.dumps(results, indent=2))
    command = f"python -m bench.import_bench --lines {args.lines}" + (
        " --pg-url URL" if args.pg_url else "") + (f" --record {args.record}"
                                                   if args.record else "")
    text = report(args.lines, results, command)
    print(text)
    if args.record:
        with args.record.open("a") as out:
            out.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
