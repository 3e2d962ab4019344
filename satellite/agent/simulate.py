"""`satellite-agent simulate`: many devices registering and reporting, for labs and load tests."""

from __future__ import annotations

import itertools
import math
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from satellite.agent.client import BadAnswer, DeviceClient, Prepared, Refused
from satellite.agent.load import LoadResult, drive
from satellite.agent.transport import Reply, Transport
from satellite.crypto import keys


@dataclass
class SimulationResult:
    devices: int
    registration_seconds: float
    reports: LoadResult

    def as_dict(self) -> dict[str, object]:
        return {"devices": self.devices,
                "registration_seconds": round(self.registration_seconds, 3),
                "reports": self.reports.as_dict()}


def register_devices(url: str, token: str, count: int, concurrency: int,
                     pid: str = "SIM-DEVICE") -> list[DeviceClient]:
    run = secrets.token_hex(4)
    transports = [Transport(url) for _ in range(max(1, concurrency))]

    def register(index: int) -> DeviceClient:
        client = DeviceClient(transports[index % len(transports)], keys.generate_private_key())
        client.register(token, pid, f"SIM{run}-{index:07d}", hostname=f"sim-{index}")
        return client

    # Each transport serves one thread: index i runs on thread i % concurrency.
    with ThreadPoolExecutor(max_workers=len(transports)) as pool:
        lanes = [pool.submit(lambda lane: [register(i) for i in range(lane, count, len(transports))],
                             lane) for lane in range(len(transports))]
        clients = [c for lane in lanes for c in lane.result()]
    for transport in transports:
        transport.close()
    return clients


def first_reports(url: str, clients: list[DeviceClient], concurrency: int,
                  usage: Mapping[str, int]) -> None:
    """Each device reports once: its first authorization, which records its consumption."""
    lanes = [clients[i::concurrency] for i in range(max(1, concurrency))]

    def run(lane: list[DeviceClient]) -> None:
        transport = Transport(url)
        try:
            for client in lane:
                DeviceClient(transport, client.private_key, client.device_id,
                             client.satellite_key).report(usage)
        finally:
            transport.close()

    with ThreadPoolExecutor(max_workers=len(lanes)) as pool:
        for done in [pool.submit(run, lane) for lane in lanes if lane]:
            done.result()


def simulate(url: str, token: str, devices: int, duration: float, concurrency: int,
             usage: Mapping[str, int], warm_up: bool = False,
             presign_rate: int = 0) -> SimulationResult:
    """Register `devices`, then drive their usage reports for `duration` seconds.

    With warm_up, each device makes its first report before the clock starts, so that the
    measured reports are steady ones (the first one records consumption and a status change).
    `presign_rate`: see drive_reports.
    """
    began = time.perf_counter()
    clients = register_devices(url, token, devices, concurrency)
    if warm_up:
        first_reports(url, clients, concurrency, usage)
    registered = time.perf_counter() - began
    reports = drive_reports(url, clients, duration, concurrency, usage, presign_rate)
    return SimulationResult(devices, registered, reports)


def drive_reports(url: str, clients: list[DeviceClient], duration: float, concurrency: int,
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
        transport = Transport(url)
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
