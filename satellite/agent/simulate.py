"""`satellite-agent simulate`: many devices registering and reporting, for labs and load tests."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from satellite.agent.client import DeviceClient
from satellite.agent.load import LoadResult, drive
from satellite.agent.transport import Transport
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
             usage: Mapping[str, int], warm_up: bool = False) -> SimulationResult:
    """Register `devices`, then drive their usage reports for `duration` seconds.

    With warm_up, each device makes its first report before the clock starts, so that the
    measured reports are steady ones (the first one records consumption and a status change).
    """
    began = time.perf_counter()
    clients = register_devices(url, token, devices, concurrency)
    if warm_up:
        first_reports(url, clients, concurrency, usage)
    registered = time.perf_counter() - began
    lanes = [clients[i::concurrency] or clients for i in range(concurrency)]

    opened: list[Transport] = []

    def make(index: int) -> Callable[[], None]:
        # Each thread gets its own connection and its own client objects for its devices.
        transport = Transport(url)
        opened.append(transport)
        cycle = itertools.cycle([DeviceClient(transport, c.private_key, c.device_id,
                                              c.satellite_key) for c in lanes[index]])

        def call() -> None:
            next(cycle).report(usage)

        return call

    try:
        reports = drive(make, duration, concurrency)
    finally:
        for transport in opened:
            transport.close()
    return SimulationResult(devices, registered, reports)
