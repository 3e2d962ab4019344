"""List pages of the web UI on a large appliance: p50/p95/max per page, written to BENCHMARKS.md.

    python -m bench.ui_lists [--devices N] [--vas N] [--requests N] [--database-url URL]
                             [--data-dir DIR] [--out FILE]

Creates a fresh data dir (SQLite by default), seeds accounts, a VA tree, license pools,
product instances with their consumption, tokens, reservations, alerts and an audit trail,
starts a real `satellite serve`, signs in as the administrator like a browser, and requests
the list pages one at a time with varying filters. `--data-dir` keeps the data: a second run
with the same directory skips the seeding (after `satellite init`, which applies migrations).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench.databases import fresh_database
from satellite.bootstrap import open_database
from satellite.config import load_settings
from tests.seed import Seeded, SeededAccount, account_pages, seed

# p95 targets: every 1M-scale page under 50 ms on SQLite, under 150 ms on PostgreSQL.
TARGET_MS = {"SQLite": 50.0, "PostgreSQL": 150.0}
PASSWORD = "bench password for the list pages"  # noqa: S105 (a throwaway appliance)
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
PLAN = "bench-plan.json"


def _env(data_dir: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SATELLITE_")}
    env.update(SATELLITE_DATA_DIR=str(data_dir), SATELLITE_LOG_LEVEL="WARNING")
    if database_url:
        env["SATELLITE_DATABASE_URL"] = database_url
    return env


def _satellite(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "satellite", *args], env=env,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"satellite {' '.join(args)}: {result.stderr.strip()}")


def prepare(data_dir: Path, database_url: str, sizes: dict[str, int]) -> Seeded:
    """Initialise and seed the data dir, or reuse what an earlier run seeded there."""
    env = _env(data_dir, database_url)
    plan = data_dir / PLAN
    data_dir.mkdir(parents=True, exist_ok=True)
    password_file = data_dir.parent / "bench-admin-password"
    password_file.write_text(PASSWORD + "\n")
    _satellite(env, "init", "--admin-password-file", str(password_file))
    if plan.exists():
        stored = json.loads(plan.read_text())
        stored["accounts"] = [SeededAccount(**a) for a in stored["accounts"]]
        return Seeded(**stored)
    db = open_database(load_settings(data_dir=data_dir, env=env))
    started = time.monotonic()
    try:
        seeded = seed(db, data_dir, **sizes)
    finally:
        db.dispose()
    seeded.seconds = time.monotonic() - started
    plan.write_text(json.dumps(asdict(seeded)))
    return seeded


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_cpu_ms(pid: int) -> float:
    """The serving process's user and system time so far, from /proc (0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[tuple[str, int]]:
    """A running `satellite serve`: its URL and process id."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "satellite", "serve", "--host",
                                 "127.0.0.1", "--port", str(port)], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"satellite serve exited: {log.read_text()}")
            try:
                if requests.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"satellite serve did not start: {log.read_text()}")
            time.sleep(0.2)
        yield url, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def sign_in(url: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(url + "/sign-in", timeout=30).text
    found = _TOKEN.search(page)
    if not found:
        raise SystemExit("the sign-in page has no CSRF token")
    answer = browser.post(url + "/sign-in", data={"csrf_token": found.group(1),
                                                  "username": "admin", "password": PASSWORD},
                          allow_redirects=False, timeout=30)
    if answer.status_code != 302:
        raise SystemExit(f"signing in answered {answer.status_code}")
    return browser


def pages(seeded: Seeded, rng: random.Random) -> dict[str, Callable[[], str]]:
    """The pages measured: every page of the largest account, the account-wide summaries of
    a small one, and the appliance-wide lists."""
    big, small = seeded.accounts[0], seeded.accounts[-1]
    chosen = account_pages(big, rng)
    if small is not big:
        others = account_pages(small, rng)
        for name in ("dashboard", "licenses: account", "virtual accounts: tree"):
            chosen[f"{name} (small account)"] = others[name]
    chosen["audit log"] = lambda: "/audit"
    chosen["audit log: one account"] = lambda: f"/audit?account={big.domain}"
    chosen["accounts"] = lambda: "/accounts"
    return chosen


def measure(url: str, seeded: Seeded, requests_per_page: int, seed_value: int = 11,
            progress: bool = False, pid: int = 0,
            cpu: dict[str, float] | None = None) -> dict[str, list[float]]:
    """Milliseconds per request, by page; pages asked in turn, one request at a time. With
    the server's `pid`, `cpu` gets the server's CPU milliseconds per measured request."""
    rng = random.Random(seed_value)  # noqa: S311 (varied requests, not secrets)
    browser = sign_in(url)
    targets = pages(seeded, rng)
    timings: dict[str, list[float]] = {name: [] for name in targets}
    for round_ in range(requests_per_page + 2):
        for name, target in targets.items():
            path = target()
            used = server_cpu_ms(pid) if pid else 0.0
            started = time.perf_counter()
            answer = browser.get(url + path, timeout=120, allow_redirects=False)
            elapsed = (time.perf_counter() - started) * 1000
            used = server_cpu_ms(pid) - used if pid else 0.0
            if answer.status_code != 200:
                raise SystemExit(f"{path} answered {answer.status_code}: {answer.text[:300]}")
            if round_ >= 2:  # the first two rounds warm caches
                timings[name].append(elapsed)
                if cpu is not None:
                    cpu[name] = cpu.get(name, 0.0) + used / requests_per_page
            if progress:
                print(f"round {round_ + 1}: {elapsed:8.1f} ms  {name}", flush=True)
    return timings


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def report(timings: dict[str, list[float]], seeded: Seeded, command: str, engine: str,
           load: float, cpu: dict[str, float] | None = None) -> str:
    target = TARGET_MS[engine]
    rows = []
    missed = []
    for name, values in timings.items():
        p95 = _percentile(values, 0.95)
        if p95 >= target:
            missed.append(name)
        rows.append(f"| {name} | {len(values)} | {statistics.median(values):.1f} | {p95:.1f} | "
                    f"{max(values):.1f} | {(cpu or {}).get(name, 0.0):.1f} |")
    verdict = (f"Every page meets the target (p95 < {target:.0f} ms)." if not missed else
               f"{len(missed)} of {len(timings)} pages miss the target (p95 < {target:.0f} "
               "ms): " + ", ".join(missed) + ".")
    return "\n".join([
        "", f"### List pages of the web UI at {seeded.devices:,} product instances "
        f"({datetime.now(UTC):%Y-%m-%d})", "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {engine}.", "",
        f"Command: `{command}`", "",
        f"Data: {len(seeded.accounts)} accounts, {seeded.vas:,} virtual accounts (the largest "
        f"account holds half, in a three-level tree), {seeded.devices:,} product instances "
        f"({seeded.usage_rows:,} consumption rows), {seeded.license_lines:,} license lines, "
        f"{seeded.reservations:,} reservations, {seeded.tokens} tokens, "
        f"{seeded.audit_events:,} audit events"
        + (f"; seeded in {seeded.seconds / 60:.1f} min" if seeded.seconds else "") + ".", "",
        "One signed-in administrator, one request at a time through waitress (client and "
        "server on the same machine); device lists are asked of the largest account. "
        f"Load average on the machine while measuring: up to {load:.1f} "
        f"(on {os.cpu_count()} CPUs; other work shared them). Server CPU is the serving "
        "process's user and system time per request (mean), from /proc: what a busy machine "
        "does not inflate.", "",
        "| page | requests | p50 (ms) | p95 (ms) | max (ms) | server CPU per request (ms) |",
        "|---|---:|---:|---:|---:|---:|",
        *rows, "", verdict, "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ui_lists", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--vas", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--reservations", type=int, default=4_000)
    parser.add_argument("--audit-events", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=40, help="measured requests per page")
    parser.add_argument("--database-url", default=os.environ.get("SATELLITE_BENCH_DATABASE_URL",
                                                                 ""),
                        help="PostgreSQL instead of SQLite: a server, on which the run creates a "
                             "fresh database and drops it at the end (with --data-dir: the "
                             "database itself, kept for later runs)")
    parser.add_argument("--data-dir", type=Path, help="keep (and on later runs reuse) the data")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--progress", action="store_true", help="print every request's time")
    args = parser.parse_args(argv)
    if args.accounts < 1 or args.devices < args.accounts or args.vas < args.accounts:
        parser.error("give at least one account, and one VA and one device per account")
    given = list(argv if argv is not None else sys.argv[1:])
    shown = ["URL" if a.startswith("postgresql") else a for a in given]  # no credentials
    command = " ".join(["python -m bench.ui_lists", *map(shlex.quote, shown)])
    sizes = {"accounts": args.accounts, "vas": args.vas, "devices": args.devices,
             "reservations": args.reservations, "audit_events": args.audit_events}
    with tempfile.TemporaryDirectory(prefix="satellite-ui-bench-") as tmp, ExitStack() as stack:
        data_dir = args.data_dir or Path(tmp) / "data"
        database_url = (args.database_url if args.data_dir
                        else stack.enter_context(fresh_database(args.database_url)))
        seeded = prepare(data_dir, database_url, sizes)
        print(f"seeded: {seeded.devices:,} devices, {seeded.vas:,} VAs"
              + (f" in {seeded.seconds:.0f} s" if seeded.seconds else " (reused)"), flush=True)
        with serving(_env(data_dir, database_url),
                     data_dir.parent / "serve.log") as (url, pid):
            load = os.getloadavg()[0]
            cpu: dict[str, float] = {}
            timings = measure(url, seeded, args.requests, progress=args.progress, pid=pid,
                              cpu=cpu)
            load = max(load, os.getloadavg()[0])
    engine = "PostgreSQL" if args.database_url else "SQLite"
    record(report(timings, seeded, command, engine, load, cpu), args.out)
    return 0


def record(text: str, out: Path) -> None:
    """Show a benchmark's report and append it to the results file."""
    print(text)
    with out.open("a") as handle:
        handle.write(text)


if __name__ == "__main__":
    raise SystemExit(main())
