"""Device check-in throughput against a bare Flask+waitress "hello", same machine, same run.

    python -m bench.checkin [--quick] [--duration S] [--concurrency C] [--devices N] [--out FILE]

Starts `satellite serve` on a fresh SQLite data dir, measures the hello baseline, the signature
floor (bench/hello.py: the check-in's Ed25519 verification and signature on the bare app, no
database) and signed usage reports from the agent's simulator, all with the same load
generator, the floor and the check-in in alternating turns, and appends the results to
BENCHMARKS.md as a new dated section (earlier runs stay as history). Each row also gives the
CPU time the server process used per request, read from /proc where there is one.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.databases import fresh_database
from satellite.agent.client import DeviceClient
from satellite.agent.load import LoadResult, drive
from satellite.agent.simulate import drive_reports, first_reports, register_devices
from satellite.agent.transport import Transport, Unreachable
from satellite.crypto import keys

TAG = "regid.2024-01.com.example.bench"
# The check-in's throughput as a share of the signature floor's, measured in the same run.
TARGET = 0.75
# Reports signed before the clock starts, per second of it (more are signed as they go).
PRESIGN_RATE = 5000
# The floor and the check-in are measured in this many turns each, alternating.
SEGMENTS = 3


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Measured:
    """One row of the report: a load run and the server's CPU time per request during it."""

    name: str
    load: LoadResult
    cpu_us: float | None


def _cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process so far (None where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(name: str, pid: int | list[int], run: Callable[[], LoadResult]) -> Measured:
    """`run` measured, with the CPU time of the server process(es) `pid` per request."""
    pids = [pid] if isinstance(pid, int) else pid

    def used() -> float | None:
        seconds = [_cpu_seconds(one) for one in pids]
        return None if None in seconds else sum(s or 0.0 for s in seconds)

    before = used()
    load = run()
    after = used()
    cpu = None
    if before is not None and after is not None and load.requests:
        cpu = (after - before) / load.requests * 1e6
    return Measured(name, load, cpu)


@contextmanager
def _process(args: list[str], env: dict[str, str], url: str,
             log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("w") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        probe = Transport(url, timeout=1)
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{args[2]} exited: {log.read_text()}")
            try:
                probe.request("GET", "/healthz" if "satellite" in args else "/hello")
                probe.close()
                break
            except Unreachable:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{args[2]} did not start: {log.read_text()}") from None
                time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _satellite(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "satellite", *args], env=env,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"satellite {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip()


def _seed_pool(data_dir: Path, database_url: str = "") -> None:
    # The bench stands in for Central: it puts a pool straight into the fresh database.
    from satellite.accounts.service import find_va
    from satellite.bootstrap import open_database
    from satellite.config import load_settings
    from satellite.licenses.models import LicenseLine

    env = {"SATELLITE_DATABASE_URL": database_url} if database_url else {}
    db = open_database(load_settings(data_dir=data_dir, env=env))
    with db.uow() as uow:
        _account, va = find_va(uow.session, "Bench", "Default")
        uow.session.add(LicenseLine(va_id=va.id, tag=TAG, display_name="bench",
                                    license_type="PERPETUAL", quantity=10**9,
                                    origin_id="bench"))
        uow.commit()
    db.dispose()


def _hello(url: str, opened: list[Transport]) -> Callable[[int], Callable[[], None]]:
    def make(_index: int) -> Callable[[], None]:
        transport = Transport(url)
        opened.append(transport)

        def call() -> None:
            reply = transport.request("GET", "/hello")
            if reply.status != 200:
                raise RuntimeError(f"hello answered {reply.status}")

        return call

    return make


def _floor_keys(workdir: Path) -> tuple[DeviceClient, list[str]]:
    """A device key and an identity key for the signature floor: the client, the server args."""
    device, identity = keys.generate_private_key(), keys.generate_private_key()
    keys.save_public_key(workdir / "floor-device.pem", keys.public_key_of(device))
    keys.save_private_key(workdir / "floor-identity.pem", identity)
    client = DeviceClient(Transport("http://unused"), device, device_id=1,
                          satellite_key=base64.b64encode(
                              keys.raw_public_bytes(keys.public_key_of(identity))).decode())
    return client, ["--device-key", str(workdir / "floor-device.pem"),
                    "--identity-key", str(workdir / "floor-identity.pem")]


def _env(data_dir: Path, threads: int, database_url: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SATELLITE_")}
    env.update(SATELLITE_DATA_DIR=str(data_dir), SATELLITE_THREADS=str(threads),
               SATELLITE_LOG_LEVEL="WARNING")
    if database_url:
        env["SATELLITE_DATABASE_URL"] = database_url
    return env


def _site(data_dir: Path, threads: int, database_url: str = "") -> tuple[dict[str, str], str]:
    """An initialised data dir with the bench's account, pool and token: (env, token)."""
    env = _env(data_dir, threads, database_url)
    _satellite(env, "init")
    _satellite(env, "account", "create", "Bench", "--domain", "bench.example.com")
    _seed_pool(data_dir, database_url)
    return env, _satellite(env, "token", "create", "Bench", "Default", "--expires-days", "1")


def _second_node(first: dict[str, str], data_dir: Path) -> dict[str, str]:
    """Another node of the same database: its own data dir, a copy of the same keys."""
    env = {**first, "SATELLITE_DATA_DIR": str(data_dir)}
    data_dir.mkdir()
    shutil.copytree(Path(first["SATELLITE_DATA_DIR"]) / "keys", data_dir / "keys")
    _satellite(env, "init")
    return env


def postgresql_rows(server_url: str, duration: float, concurrency: int, devices: int,
                    threads: int, workdir: Path) -> list[Measured]:
    """Check-ins on a fresh PostgreSQL database: one node, then two nodes on that database."""
    usage = {TAG: 1}
    rows: list[Measured] = []
    with fresh_database(server_url) as database_url:
        first, token = _site(workdir / "pg1", threads, database_url)
        second = _second_node(first, workdir / "pg2")
        ports = [_free_port(), _free_port()]
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        with _process([sys.executable, "-m", "satellite", "serve", "--port", str(ports[0])],
                      first, urls[0], workdir / "pg-serve1.log") as one:
            clients = register_devices(urls[0], token, devices, concurrency)
            first_reports(urls[0], clients, concurrency, usage)
            rows.append(_measure(
                "device check-in, PostgreSQL, 1 node", one.pid,
                lambda: drive_reports(urls[0], clients, duration, concurrency, usage,
                                      PRESIGN_RATE)))
            with _process([sys.executable, "-m", "satellite", "serve", "--port",
                           str(ports[1])], second, urls[1], workdir / "pg-serve2.log") as two:
                drive_reports(urls, clients, min(1.0, duration), concurrency, usage)  # warm-up
                rows.append(_measure(
                    "device check-in, PostgreSQL, 2 nodes", [one.pid, two.pid],
                    lambda: drive_reports(urls, clients, duration, concurrency, usage,
                                          PRESIGN_RATE)))
    return rows


def _combined(name: str, parts: list[Measured]) -> Measured:
    """One row from measurements taken in turns: requests, time and CPU time summed."""
    load = LoadResult(seconds=sum(part.load.seconds for part in parts),
                      latencies=[lat for part in parts for lat in part.load.latencies],
                      errors=sum(part.load.errors for part in parts),
                      first_error=next((p.load.first_error for p in parts if p.load.first_error),
                                       ""))
    cpu = None
    if load.requests and all(part.cpu_us is not None for part in parts):
        cpu = sum((part.cpu_us or 0.0) * part.load.requests for part in parts) / load.requests
    return Measured(name, load, cpu)


def run(duration: float, concurrency: int, devices: int, threads: int,
        workdir: Path) -> tuple[list[Measured], float]:
    env, token = _site(workdir / "data", threads)

    rows: list[Measured] = []
    floor_client, floor_args = _floor_keys(workdir)
    hello_port = _free_port()
    hello_url = f"http://127.0.0.1:{hello_port}"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    usage = {TAG: 1}
    with _process([sys.executable, "-m", "bench.hello", "--port", str(hello_port),
                   "--threads", str(threads), *floor_args], env, hello_url,
                  workdir / "hello.log") as hello, \
            _process([sys.executable, "-m", "satellite", "serve", "--port", str(port)], env, url,
                     workdir / "serve.log") as server:
        opened: list[Transport] = []
        drive(_hello(hello_url, opened), min(1.0, duration), concurrency)  # warm-up
        rows.append(_measure("hello baseline (GET /hello)", hello.pid,
                             lambda: drive(_hello(hello_url, opened), duration, concurrency)))
        for transport in opened:
            transport.close()
        drive_reports(hello_url, [floor_client], min(1.0, duration), concurrency, usage)
        began = time.perf_counter()
        clients = register_devices(url, token, devices, concurrency)
        # Each device's first report records its consumption and status: not a steady one.
        first_reports(url, clients, concurrency, usage)
        registration = time.perf_counter() - began
        # The floor and the check-in take turns, both servers up (the one not measured is
        # idle), so that the machine's speed drifting during the run weighs on both alike.
        segment = duration / SEGMENTS
        floors: list[Measured] = []
        checkins: list[Measured] = []
        for _ in range(SEGMENTS):
            floors.append(_measure("floor", hello.pid, lambda: drive_reports(
                hello_url, [floor_client], segment, concurrency, usage,
                presign_rate=PRESIGN_RATE)))
            checkins.append(_measure("check-in", server.pid, lambda: drive_reports(
                url, clients, segment, concurrency, usage, PRESIGN_RATE)))
        rows.append(_combined("signature floor (verify + sign on the bare app, no database)",
                              floors))
        rows.append(_combined("device check-in (signed usage report)", checkins))
        # The same, with the load generator signing and verifying as it goes (as a fleet of
        # real devices would, each on its own CPU): the load generator then competes with the
        # server for this machine's CPUs.
        rows.append(_measure(
            "device check-in, load generator signing as it goes", server.pid,
            lambda: drive_reports(url, clients, duration, concurrency, usage)))
    return rows, registration


def _load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"{one:.1f} (1 min), {five:.1f} (5 min)"


def report(rows: list[Measured], devices: int, registration_seconds: float, command: str,
           quick: bool, load_before: str = "", load_after: str = "", concurrency: int = 8,
           threads: int = 8) -> str:
    hello, floor, checkin, in_loop = rows[:4]

    def share(row: Measured, of: Measured = hello) -> float:
        return row.load.throughput / of.load.throughput if of.load.throughput else 0.0

    verdict = "meets" if share(checkin, floor) >= TARGET else "does NOT meet"
    cpu_ratio = (f" Server CPU per check-in is {checkin.cpu_us / floor.cpu_us:.2f} times the "
                 "floor's." if checkin.cpu_us and floor.cpu_us else "")
    lines = [
        f"### Device check-in vs. bare Flask+waitress hello ({datetime.now(UTC):%Y-%m-%d %H:%M} "
        "UTC)", "",
        f"Run on {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, SQLite"
        + (" and PostgreSQL (rows so named)" if len(rows) > 4 else "")
        + (" (quick mode: numbers are a smoke test only)" if quick else "") + ".",
        *([f"Load average of the machine (other work shares it): {load_before} before the run, "
           f"{load_after} after."] if load_before else []), "",
        f"Command: `{command}`", "",
        "| endpoint | requests | errors | throughput (req/s) | vs. hello | p50 (ms) | p99 (ms) "
        "| server CPU per request (µs) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        r = row.load
        cpu = f"{row.cpu_us:.0f}" if row.cpu_us is not None else "n/a"
        lines.append(f"| {row.name} | {r.requests} | {r.errors} | {r.throughput:.1f} | "
                     f"{share(row):.0%} | {r.percentile(50):.2f} | {r.percentile(99):.2f} | "
                     f"{cpu} |")
    lines += [
        "",
        f"Check-in throughput is **{share(checkin, floor):.0%}** of the signature floor's in the "
        f"same run; the target is {TARGET:.0%}: it {verdict} the target.{cpu_ratio} "
        f"The signature floor does the check-in's two Ed25519 operations and nothing else "
        "(no database): a check-in served this way (waitress, Python, `cryptography`) that "
        "verifies the report and signs the answer cannot do better on this machine. Against "
        f"the hello baseline: the floor {share(floor):.0%}, the check-in {share(checkin):.0%}; "
        "with the load generator signing each report and verifying each answer during the "
        f"clock, on the same CPUs, the check-in reaches {share(in_loop):.0%} of the hello.",
        "",
        f"{devices} simulated devices registered and made their first report in "
        f"{registration_seconds:.2f} s (not measured: the hello server gets a warm-up too); "
        "each measured check-in is one signed usage report: Ed25519 verification, nonce "
        "recorded, usage compared and counters read, device's contact recorded, committed "
        "(concurrent reports share a transaction: group commit), answer signed by the satellite.",
        f"The load generator ({concurrency} connections, closed loop, keep-alive, one thread per "
        f"connection; {threads} waitress threads in every server) runs on the same machine as "
        "the servers, for every measurement. The signature floor and the check-in are measured "
        f"in {SEGMENTS} turns each, alternating, both servers up (the one not measured idle), "
        "so that the machine's speed drifting during the run weighs on both alike. For the "
        "signature "
        "floor and the check-in row it signs the reports before the clock starts (each with its "
        "own timestamp and nonce) and verifies every answer's signature after it stops, so that "
        "during the clock it does per request what it does for the hello: send bytes, read the "
        "answer. An answer that fails verification counts as an error, not a request. Server "
        "CPU is the serving process's user and system time during the clock, from /proc.", "",
        *(["The PostgreSQL rows run on a fresh database of the server given by "
           "--database-url: its own account, pool and devices, first with one `satellite serve`, "
           "then with a second one on the same database (its own data dir, a copy of the same "
           "keys), the load generator's connections alternating between the two; server CPU "
           "sums both processes. PostgreSQL runs on this same machine.", ""]
          if len(rows) > 4 else []),
        "Where the time goes, and what is done about it: docs/devices.md, section Benchmark.", "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few seconds, to prove it works")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads for both servers")
    parser.add_argument("--database-url", default=os.environ.get("SATELLITE_BENCH_DATABASE_URL",
                                                                 ""),
                        help="a PostgreSQL server: also measure check-ins there, on one and two "
                             "nodes (a fresh database, dropped at the end)")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.concurrency, args.devices = 1.0, 2, 4
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="satellite-bench-") as tmp:
        rows, registration = run(args.duration, args.concurrency, args.devices, args.threads,
                                 Path(tmp))
        if args.database_url:
            rows += postgresql_rows(args.database_url, args.duration, args.concurrency,
                                    args.devices, args.threads, Path(tmp))
    given = argv if argv is not None else sys.argv[1:]
    shown = ["URL" if a.startswith("postgresql") else a for a in given]  # no credentials
    command = "python -m bench.checkin " + " ".join(shlex.quote(a) for a in shown)
    text = report(rows, args.devices, registration, command.strip(), args.quick, load_before,
                  _load(), args.concurrency, args.threads)
    existing = args.out.read_text() if args.out.exists() else "# Benchmarks\n"
    args.out.write_text(existing.rstrip("\n") + "\n\n" + text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
