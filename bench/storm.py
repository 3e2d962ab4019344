"""Registration storm: N devices registering at once against a real `satellite serve`.

    python -m bench.storm [--quick] [--devices N] [--concurrency C] [--threads T]
                          [--database-url URL] [--out FILE]

Starts a bare Flask+waitress hello (bench/hello.py) and measures it with the same load
generator at the same concurrency: the run's baseline. Then, on a fresh SQLite data dir, creates
an account and a registration token limited to exactly N uses, starts `satellite serve` and
registers N new devices at once (`satellite-agent simulate`'s storm: C connections, each
registering its devices one after the other). With --database-url (a PostgreSQL server, see
bench/databases.py) the same storm runs again on a fresh PostgreSQL database with one node, and
with two nodes (two `satellite serve` processes on that database, each with its own data dir
holding a copy of the same keys; the connections alternate between them).

Each row gives the wall time, registrations per second, errors, latency, and the CPU time the
server processes and the load generator used per registration (from /proc). After each storm the
bench checks that the token was used exactly N times, that N devices exist, and that one more
registration with the token is refused. The devices' key pairs are made before the clock starts
(a real device makes its own, on its own CPU); during the clock the load generator signs each
request and verifies each answer. Results are appended to BENCHMARKS.md with the machine's load
average.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bench.checkin import _cpu_seconds, _free_port, _hello, _load, _process, _satellite
from bench.databases import engine_name, fresh_database
from satellite.agent.client import DeviceClient, Refused
from satellite.agent.load import LoadResult, drive
from satellite.agent.simulate import device_keys, storm
from satellite.agent.transport import Transport
from satellite.crypto import keys
from satellite.uow import Database

TARGET_SECONDS = 60.0


@dataclass
class Row:
    name: str
    engine: str
    nodes: int
    load: LoadResult
    server_cpu_us: float | None
    generator_cpu_us: float
    exact: str = ""


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _cpu(pids: list[int]) -> float | None:
    seconds = [_cpu_seconds(pid) for pid in pids]
    return None if any(s is None for s in seconds) else sum(s for s in seconds if s is not None)


def _measured(name: str, engine: str, pids: list[int], run: Callable[[], LoadResult],
              nodes: int = 1) -> Row:
    server_before, own_before = _cpu(pids), _own_cpu()
    load = run()
    server_after, own_after = _cpu(pids), _own_cpu()
    count = max(1, load.requests)
    server = (None if server_before is None or server_after is None
              else (server_after - server_before) / count * 1e6)
    return Row(name, engine, nodes, load, server, (own_after - own_before) / count * 1e6)


def _env(data_dir: Path, database_url: str, threads: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SATELLITE_")}
    env.update(SATELLITE_DATA_DIR=str(data_dir), SATELLITE_THREADS=str(threads),
               SATELLITE_LOG_LEVEL="WARNING")
    if database_url:
        env["SATELLITE_DATABASE_URL"] = database_url
    return env


def _open(env: dict[str, str]) -> Database:
    from satellite.bootstrap import open_database
    from satellite.config import load_settings

    return open_database(load_settings(data_dir=Path(env["SATELLITE_DATA_DIR"]), env=env))


@contextmanager
def _nodes(workdir: Path, database_url: str, threads: int, nodes: int,
           devices: int) -> Iterator[tuple[list[str], list[int], str, dict[str, str]]]:
    """Initialised data dirs and their running servers: (urls, pids, token, first node's env)."""
    first = _env(workdir / "node1", database_url, threads)
    _satellite(first, "init")
    _satellite(first, "account", "create", "Bench", "--domain", "bench.example.com")
    token = _satellite(first, "token", "create", "Bench", "Default", "--expires-days", "1",
                       "--max-uses", str(devices))
    envs = [first]
    for number in range(2, nodes + 1):
        # Every node of one database holds a copy of the same keys (docs/ha.md).
        env = _env(workdir / f"node{number}", database_url, threads)
        Path(env["SATELLITE_DATA_DIR"]).mkdir()
        shutil.copytree(workdir / "node1" / "keys", Path(env["SATELLITE_DATA_DIR"]) / "keys")
        _satellite(env, "init")
        envs.append(env)
    with ExitStack() as stack:
        urls, pids = [], []
        for number, env in enumerate(envs, 1):
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            server = stack.enter_context(_process(
                [sys.executable, "-m", "satellite", "serve", "--port", str(port)], env, url,
                workdir / f"serve{number}.log"))
            urls.append(url)
            pids.append(server.pid)
        yield urls, pids, token, first


def _exactness(env: dict[str, str], url: str, token: str, registered: int) -> str:
    """Whether the token counted each registration once and refuses one more."""
    from satellite.devices.models import Device
    from satellite.tokens.models import RegistrationToken

    db = _open(env)
    try:
        with db.reader() as uow:
            uses = uow.session.scalar(select(RegistrationToken.uses))
            count = uow.session.scalar(select(func.count()).select_from(Device))
    finally:
        db.dispose()
    transport = Transport(url)
    try:
        DeviceClient(transport, keys.generate_private_key()).register(token, "SIM-DEVICE",
                                                                      "ONE-TOO-MANY")
        refused = "accepted"
    except Refused as exc:
        refused = "refused" if "its maximum" in str(exc) else f"refused otherwise: {exc}"
    finally:
        transport.close()
    ok = uses == count == registered and refused == "refused"
    return (f"{'yes' if ok else 'NO'}: token used {uses} times, {count} devices, "
            f"one more {refused}")


def _storm_row(workdir: Path, database_url: str, threads: int, nodes: int, devices: int,
               concurrency: int) -> Row:
    engine = engine_name(database_url)
    with fresh_database(database_url) as url, \
            _nodes(workdir, url, threads, nodes, devices) as (urls, pids, token, env):
        private_keys = device_keys(devices)  # before the clock: each device makes its own
        row = _measured(f"registration storm, {engine}, {nodes} node{'s' * (nodes > 1)}",
                        engine, pids, lambda: storm(urls, token, private_keys, concurrency)[1],
                        nodes)
        row.exact = _exactness(env, urls[0], token, row.load.requests)
    return row


def run(devices: int, concurrency: int, threads: int, database_url: str, hello_seconds: float,
        workdir: Path) -> list[Row]:
    rows = []
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = _env(workdir, "", threads)
    with _process([sys.executable, "-m", "bench.hello", "--port", str(port),
                   "--threads", str(threads)], env, url, workdir / "hello.log") as hello:
        opened: list[Transport] = []
        drive(_hello(url, opened), min(1.0, hello_seconds), concurrency)  # warm-up
        # The warm-up's connections closed first: waitress serves at most 100 at once.
        for transport in opened:
            transport.close()
        measured: list[Transport] = []
        rows.append(_measured("hello baseline (GET /hello)", "-", [hello.pid],
                              lambda: drive(_hello(url, measured), hello_seconds, concurrency)))
        for transport in measured:
            transport.close()
    plan = [("", 1)] + ([(database_url, 1), (database_url, 2)] if database_url else [])
    for number, (database, nodes) in enumerate(plan):
        rows.append(_storm_row(workdir / f"run{number}", database, threads, nodes, devices,
                               concurrency))
    return rows


def _verdict(row: Row, devices: int) -> str:
    met = row.load.seconds < TARGET_SECONDS and not row.load.errors
    return "meets" if met and row.load.requests == devices else "does NOT meet"


def report(rows: list[Row], devices: int, concurrency: int, threads: int, command: str,
           quick: bool, load_before: str, load_after: str) -> str:
    hello = rows[0]
    base = hello.load.throughput
    lines = [
        f"### Registration storm: {devices:,} devices at once ({datetime.now(UTC):%Y-%m-%d %H:%M} "
        "UTC)", "",
        f"Run on {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}" + (" (quick mode: numbers are a smoke test only)"
                                           if quick else "") + ".",
        f"Load average of the machine (other work shares it): {load_before} before the run, "
        f"{load_after} after.", "",
        f"Command: `{command}`", "",
        "| run | requests | errors | wall (s) | per second | vs. hello | p50 (ms) | p99 (ms) "
        "| server CPU per request (µs) | load generator CPU per request (µs) | token exact |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        r = row.load
        cpu = f"{row.server_cpu_us:.0f}" if row.server_cpu_us is not None else "n/a"
        share = f"{r.throughput / base:.0%}" if base else "n/a"
        lines.append(f"| {row.name} | {r.requests} | {r.errors} | {r.seconds:.2f} | "
                     f"{r.throughput:.1f} | {share} | {r.percentile(50):.2f} | "
                     f"{r.percentile(99):.2f} | {cpu} | {row.generator_cpu_us:.0f} | "
                     f"{row.exact or '-'} |")
    storms = rows[1:]
    verdicts = [f"{row.name}: {row.load.seconds:.1f} s, {row.load.errors} errors "
                f"({_verdict(row, devices)} the target)" for row in storms]
    lines += [
        "",
        f"Target: {devices:,} registrations in under {TARGET_SECONDS:.0f} s with no error. "
        + "; ".join(verdicts) + ".",
        "",
        f"{concurrency} connections (closed loop: each registers its devices one after the "
        f"other), {threads} waitress threads per server; the hello baseline is measured with the "
        "same load generator at the same concurrency, in the same run. Each registration "
        "carries a fresh key (made before the clock: a real device makes its own) and is "
        "signed by it; the satellite verifies it, spends one use of the token (limited to "
        f"exactly {devices:,} uses), issues an X.509 ID certificate from its device CA, records "
        "the device, its nonce, the sync log entry and the audit event, and signs the answer, "
        "which the load generator verifies during the clock. Server CPU is the serving "
        "processes' user and system time during the clock, from /proc (both nodes summed on "
        "two nodes); the load generator's is its own process's. After each storm the bench "
        "reads the token's use count and the number of devices, and registers one device too "
        "many: it must be refused. Each PostgreSQL run has a fresh database; two nodes are two "
        "`satellite serve` processes on it, each with its own data dir and a copy of the same "
        "keys, all on this one machine with the load generator.", "",
        "Where the time goes, and what is done about it: docs/devices.md, section "
        "Registration storm.", "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few seconds, to prove it works")
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads per server")
    parser.add_argument("--hello-seconds", type=float, default=10.0)
    parser.add_argument("--database-url", default=os.environ.get("SATELLITE_BENCH_DATABASE_URL",
                                                                 ""),
                        help="a PostgreSQL server: also run the storm there, on one and two "
                             "nodes (a fresh database each time)")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args(argv)
    if args.quick:
        args.devices, args.concurrency, args.hello_seconds = 12, 4, 0.5
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="satellite-storm-") as tmp:
        rows = run(args.devices, args.concurrency, args.threads, args.database_url,
                   args.hello_seconds, Path(tmp))
    given = argv if argv is not None else sys.argv[1:]
    shown = ["URL" if a.startswith("postgresql") else a for a in given]  # no credentials
    command = "python -m bench.storm " + " ".join(shlex.quote(a) for a in shown)
    text = report(rows, args.devices, args.concurrency, args.threads, command.strip(),
                  args.quick, load_before, _load())
    existing = args.out.read_text() if args.out.exists() else "# Benchmarks\n"
    args.out.write_text(existing.rstrip("\n") + "\n\n" + text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
