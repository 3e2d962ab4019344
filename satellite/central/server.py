"""`satellite-central serve`: network mode, one endpoint taking a bundle and answering one.

Lab knobs rehearse bad networks: the first N requests can fail, and answers can be delayed
after the bundle was taken in (as when a connection drops before the answer arrives).
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request

from satellite.central import service
from satellite.central.ingest import ingest
from satellite.errors import SatelliteError

log = logging.getLogger(__name__)
SYNC_PATH = "/api/v1/sync"
MAX_BUNDLE_BYTES = 4 << 30
_COPY_CHUNK = 1 << 16


def create_app(directory: Path, clock: Callable[[], datetime], fail_first: int = 0,
               delay_seconds: float = 0.0) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BUNDLE_BYTES
    failures = {"left": fail_first}
    lock = threading.Lock()

    @app.errorhandler(SatelliteError)
    def _domain_error(exc: SatelliteError) -> Any:
        return jsonify(error=exc.message), exc.http_status

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(status="ok")

    @app.post(SYNC_PATH)
    def sync() -> Any:
        with lock:
            if failures["left"] > 0:
                failures["left"] -= 1
                return jsonify(error="Central is unavailable (rehearsed outage)"), 503
        with tempfile.TemporaryDirectory(dir=directory) as work:
            incoming, answer = Path(work) / "in.bundle", Path(work) / "out.bundle"
            with incoming.open("wb") as out:
                while chunk := request.stream.read(_COPY_CHUNK):
                    out.write(chunk)
            with lock:  # one satellite exchange at a time keeps serials and acks in step
                report = ingest(directory, incoming, clock(), service.load_root(directory))
                log.info("ingested %s", report.to_json())
                if delay_seconds:
                    time.sleep(delay_seconds)
                service.respond(directory, report.satellite_id, answer, clock())
            body = answer.read_bytes()
        return Response(body, mimetype="application/octet-stream")

    return app


def serve(directory: Path, host: str, port: int, clock: Callable[[], datetime],
          fail_first: int = 0, delay_seconds: float = 0.0) -> None:
    from waitress import serve as waitress_serve

    service.describe(directory)  # refuse a directory that is not a central's
    app = create_app(directory, clock, fail_first, delay_seconds)
    print(f"Central listening on http://{host}:{port}", flush=True)
    waitress_serve(app, host=host, port=port, threads=4, ident="satellite-central")
