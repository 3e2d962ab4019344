"""GET /metrics in Prometheus format, and one log line per request with a request id.

Request counters live in the process (each node is scraped on its own); everything about
the appliance's state is read from the database at scrape time, so every node tells the same.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import datetime

from flask import Flask, Response, abort, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from satellite.config import Settings
from satellite.limits import printable
from satellite.uow import Database

log = logging.getLogger("satellite.requests")

# A request id is 32 hex digits: this process's random half, then its count of ids (unique,
# not secret; a random id per request would cost a system call each).
_PROCESS_ID = secrets.token_hex(8)
_ids = itertools.count(1)


def _new_id() -> str:
    return f"{_PROCESS_ID}{next(_ids):016x}"

# Each gauge source reads the database and yields metric families; domains add theirs here.
GaugeSource = Callable[[Database, Settings, datetime], Iterator[Metric]]


def _license_gauges(db: Database, settings: Settings, now: datetime) -> Iterator[Metric]:
    from satellite.licenses.counters import list_counters
    from satellite.licenses.models import OUT_OF_COMPLIANCE

    with db.reader() as uow:
        page = list_counters(uow.session, now.date(), status=OUT_OF_COMPLIANCE, limit=1)
    yield GaugeMetricFamily("satellite_license_pools_out_of_compliance",
                            "License pools (VA and tag) whose use exceeds their quantity",
                            value=page.total)


def _job_gauges(db: Database, settings: Settings, now: datetime) -> Iterator[Metric]:
    from satellite.scheduler import job_runs

    runs = GaugeMetricFamily("satellite_job_runs", "Runs of each scheduled job", labels=["job"])
    failures = GaugeMetricFamily("satellite_job_failures", "Failed runs of each scheduled job",
                                 labels=["job"])
    for run in job_runs(db):
        runs.add_metric([run.name], run.runs)
        failures.add_metric([run.name], run.failures)
    yield runs
    yield failures


def _tls_gauges(db: Database, settings: Settings, now: datetime) -> Iterator[Metric]:
    from satellite.proxy_tls import installed

    info = installed(settings)
    if info is not None:
        yield GaugeMetricFamily("satellite_tls_certificate_days_left",
                                "Days until the installed TLS certificate expires",
                                value=(info.not_after - now).total_seconds() / 86400)


def _device_gauges(db: Database, settings: Settings, now: datetime) -> Iterator[Metric]:
    from satellite.devices.service import count_by_status

    with db.reader() as uow:
        counts = count_by_status(uow.session)
    devices = GaugeMetricFamily("satellite_devices", "Product instances by state",
                                labels=["status"])
    for status, n in counts.items():
        devices.add_metric([status], n)
    yield devices


def _alert_gauges(db: Database, settings: Settings, now: datetime) -> Iterator[Metric]:
    from satellite.alerts.outbox import count_by_state

    with db.reader() as uow:
        counts = count_by_state(uow.session)
    deliveries = GaugeMetricFamily(
        "satellite_alert_deliveries",
        "Alert deliveries by state (failed: gave up after the last attempt)", labels=["state"])
    for state, n in counts.items():
        deliveries.add_metric([state], n)
    yield deliveries


GAUGE_SOURCES: list[GaugeSource] = [_license_gauges, _job_gauges, _tls_gauges, _device_gauges,
                                    _alert_gauges]


class _StateCollector(Collector):
    def __init__(self, db: Database, settings: Settings, sources: list[GaugeSource]) -> None:
        self._db = db
        self._settings = settings
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        now = self._db.clock.now()
        for source in self._sources:
            try:
                yield from source(self._db, self._settings, now)
            except Exception:
                log.exception("metrics source %s failed", source.__name__)


def _allowed(settings: Settings) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n.strip(), strict=False)
            for n in settings.metrics_allowed_networks.split(",") if n.strip()]


class RequestMetrics:
    """Per-request counting and logging, shared by Flask's hooks and the device usage endpoint."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._requests = Counter("satellite_http_requests", "HTTP requests by route and status",
                                 ["route", "method", "status"], registry=registry)
        self._latency = Histogram("satellite_http_request_duration_seconds",
                                  "HTTP request latency", ["route"], registry=registry)

    @staticmethod
    def request_id(incoming: str) -> str:
        """The caller's X-Request-Id if it is a sane one, else a new id."""
        return incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else _new_id()

    def finish(self, route: str, method: str, path: str, status: int, elapsed: float,
               request_id: str, remote: str | None) -> None:
        self._requests.labels(route, method, str(status)).inc()
        self._latency.labels(route).observe(elapsed)
        # The path only: query strings and bodies may carry secrets.
        if log.isEnabledFor(logging.INFO):
            # Escaped: a %0a in a URL must not forge a line of this log.
            log.info("%s %s %s %.1fms id=%s from=%s", printable(method), printable(path), status,
                     elapsed * 1000, request_id, remote)


def request_metrics(app: Flask) -> RequestMetrics:
    found: RequestMetrics = app.extensions["satellite.metrics"]
    return found


def init_app(app: Flask, settings: Settings, db: Database) -> None:
    registry = CollectorRegistry()
    counting = RequestMetrics(registry)
    app.extensions["satellite.metrics"] = counting
    registry.register(_StateCollector(db, settings, GAUGE_SOURCES))
    networks = _allowed(settings)

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        g.request_id = counting.request_id(request.headers.get("X-Request-Id", ""))

    @app.after_request
    def _finish(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("request_started", time.perf_counter())
        route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
        response.headers["X-Request-Id"] = g.get("request_id", "")
        counting.finish(route, request.method, request.path, response.status_code, elapsed,
                        g.get("request_id", ""), request.remote_addr)
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        try:
            remote = ipaddress.ip_address(request.remote_addr or "")
        except ValueError:
            abort(403)
        if not any(remote in network for network in networks):
            abort(403)
        return Response(generate_latest(registry), mimetype="text/plain; version=0.0.4")
