"""`satellite-agent simulate`: many devices registering and reporting, for labs and load tests."""

from __future__ import annotations

import itertools
import math
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from satellite.agent.client import BadAnswer, DeviceClient, Prepared, Refused
from satellite.agent.load import LoadResult, drive
from satellite.agent.transport import Reply, Transport, Unreachable
from satellite.crypto import keys

# One URL, or several nodes of one satellite: connections alternate between them.
Urls = str | Sequence[str]


@dataclass
class SimulationResult:
    devices: int
    registration_seconds: float
    reports: LoadResult
    registration: LoadResult

    def as_dict(self) -> dict[str, object]:
        return {"devices": self.devices,
                "registration_seconds": round(self.registration_seconds, 3),
                "registration": self.registration.as_dict(),
                "reports": self.reports.as_dict()}


def _url(urls: Urls, index: int) -> str:
    return urls if isinstance(urls, str) else urls[index % len(urls)]


def register_devices(url: Urls, token: str, count: int, concurrency: int,
                     pid: str = "SIM-DEVICE") -> list[DeviceClient]:
    """Register `count` new devices at once; raise the first refusal."""
    clients, result = storm(url, token, device_keys(count), concurrency, pid)
    if result.errors:
        raise RuntimeError(f"{result.errors} of {count} registrations failed; the first: "
                           f"{result.first_error}")
    return clients


def device_keys(count: int) -> list[keys.PrivateKey]:
    """Fresh key pairs for `count` devices (each device makes its own before it registers)."""
    return [keys.generate_private_key() for _ in range(count)]


def storm(url: Urls, token: str, private_keys: Sequence[keys.PrivateKey],
          concurrency: int, pid: str = "SIM-DEVICE") -> tuple[list[DeviceClient], LoadResult]:
    """Register a device for each key, `concurrency` at a time, spread over the `url`s.

    Returns the registered devices and the registrations' latencies and errors (a refused
    registration is counted, not raised). The load generator only signs each request and
    verifies each answer during the clock: the keys are made before it.
    """
    run = secrets.token_hex(4)
    # Each lane is one thread with one connection; lanes alternate between the urls.
    lanes = max(1, min(concurrency, len(private_keys)))
    transports = [Transport(_url(url, lane)) for lane in range(lanes)]

    def register(lane: int) -> tuple[list[DeviceClient], LoadResult]:
        done, result = [], LoadResult(0.0)
        for index in range(lane, len(private_keys), lanes):
            client = DeviceClient(transports[lane], private_keys[index])
            began = time.perf_counter()
            try:
                client.register(token, pid, f"SIM{run}-{index:07d}", hostname=f"sim-{index}")
            except (Refused, BadAnswer, Unreachable) as exc:
                result.errors += 1
                result.first_error = result.first_error or str(exc)
                continue
            result.latencies.append(time.perf_counter() - began)
            done.append(client)
        return done, result

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=lanes) as pool:
        outcomes = list(pool.map(register, range(lanes)))
    total = LoadResult(time.perf_counter() - began)
    for transport in transports:
        transport.close()
    clients = []
    for done, result in outcomes:
        clients += done
        total.latencies += result.latencies
        total.errors += result.errors
        total.first_error = total.first_error or result.first_error
    return clients, total


def first_reports(url: Urls, clients: list[DeviceClient], concurrency: int,
                  usage: Mapping[str, int]) -> None:
    """Each device reports once: its first authorization, which records its consumption."""
    lanes = [clients[i::concurrency] for i in range(max(1, concurrency))]

    def run(index: int, lane: list[DeviceClient]) -> None:
        transport = Transport(_url(url, index))
        try:
            for client in lane:
                DeviceClient(transport, client.private_key, client.device_id,
                             client.satellite_key).report(usage)
        finally:
            transport.close()

    with ThreadPoolExecutor(max_workers=len(lanes)) as pool:
        for done in [pool.submit(run, i, lane) for i, lane in enumerate(lanes) if lane]:
            done.result()


def simulate(url: Urls, token: str, devices: int, duration: float, concurrency: int,
             usage: Mapping[str, int], warm_up: bool = False,
             presign_rate: int = 0) -> SimulationResult:
    """Register `devices` at once, then drive their usage reports for `duration` seconds.

    The devices' key pairs are made before the registration clock starts (a real device makes
    its own, on its own CPU). With warm_up, each device makes its first report before the
    clock of the reports starts, so that the measured reports are steady ones (the first one
    records consumption and a status change). `presign_rate`: see drive_reports.
    A refused registration is counted in the result; the others go on to report.
    """
    private_keys = device_keys(devices)
    began = time.perf_counter()
    clients, registration = storm(url, token, private_keys, concurrency)
    if not clients:
        raise RuntimeError(f"no device registered; the first refusal: {registration.first_error}")
    if warm_up:
        first_reports(url, clients, concurrency, usage)
    registered = time.perf_counter() - began
    reports = drive_reports(url, clients, duration, concurrency, usage, presign_rate)
    return SimulationResult(devices, registered, reports, registration)


def drive_reports(url: Urls, clients: list[DeviceClient], duration: float, concurrency: int,
                  usage: Mapping[str, int], presign_rate: int = 0) -> LoadResult:
    """Drive the usage reports of registered `clients` for `duration` seconds.

    With presign_rate, the reports are built and signed before the clock starts (enough for
    that many per second) and every answer is verified after it stops, so the load generator
    does as little per request as it does for a plain GET and the measurement is the
    satellite's: each message is still unique (timestamp and nonce) and verified by it.
    A report beyond the prepared ones is signed as it is sent. An answer that fails
    verification is an error, and its request is not counted.
    """
    lanes = [clients[i::concurrency] or clients for i in range(concurrency)]
    per_lane = math.ceil(presign_rate * duration / concurrency) if presign_rate else 0

    opened: list[Transport] = []
    sent: list[list[tuple[DeviceClient, Prepared, Reply]]] = []

    def make(index: int) -> Callable[[], None]:
        # Each thread gets its own connection and its own client objects for its devices.
        transport = Transport(_url(url, index))
        opened.append(transport)
        cycle = itertools.cycle([DeviceClient(transport, c.private_key, c.device_id,
                                              c.satellite_key) for c in lanes[index]])
        if not per_lane:
            def call() -> None:
                next(cycle).report(usage)

            return call
        fields = {"usage": dict(usage)}
        ready = deque((client, client.prepare("usage", fields))
                      for client in itertools.islice(cycle, per_lane))
        lane: list[tuple[DeviceClient, Prepared, Reply]] = []
        sent.append(lane)

        def call_prepared() -> None:
            client, prepared = ready.popleft() if ready else _prepare_next(cycle, fields)
            reply = client.send(prepared)
            if reply.status != 200:
                client.accept(prepared, reply)  # raises the refusal: counted as an error
            lane.append((client, prepared, reply))

        return call_prepared

    try:
        reports = drive(make, duration, concurrency)
    finally:
        for transport in opened:
            transport.close()
    if per_lane:
        _verify_answers(reports, [record for lane in sent for record in lane])
    return reports


def _prepare_next(cycle: Iterator[DeviceClient],
                  fields: Mapping[str, Any]) -> tuple[DeviceClient, Prepared]:
    client = next(cycle)
    return client, client.prepare("usage", fields)


def _verify_answers(reports: LoadResult,
                    records: list[tuple[DeviceClient, Prepared, Reply]]) -> None:
    """Check every answer sent during the clock; drop the requests whose answer fails."""
    # drive() keeps latencies in worker order, each worker's in call order: as `records`.
    if len(records) != len(reports.latencies):
        raise AssertionError("every measured request has its answer recorded")
    kept = []
    for (client, prepared, reply), latency in zip(records, reports.latencies, strict=True):
        try:
            client.accept(prepared, reply)
        except (Refused, BadAnswer) as exc:
            reports.errors += 1
            reports.first_error = reports.first_error or str(exc)
            continue
        kept.append(latency)
    reports.latencies = kept
