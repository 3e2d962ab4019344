"""The Flask application factory: web UI, REST API and device protocol share one app."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from satellite import __version__
from satellite.clockcheck import clock_problem
from satellite.config import Settings
from satellite.errors import SatelliteError
from satellite.keystore import open_keystore
from satellite.storage import storage_problem
from satellite.uow import Database
from satellite.web.bodylimits import BodyLimits
from satellite.web.errors import error_document, error_headers
from satellite.web.http import check_request_text

_JSON_PATHS = ("/api/", "/oauth/", "/backend/")


def create_app(settings: Settings, db: Database) -> Flask:
    from satellite.web import security, ui

    app = Flask(__name__)
    app.config["SATELLITE_SETTINGS"] = settings
    app.extensions["satellite.db"] = db
    security.init_app(app, settings, open_keystore(settings).session_secret())
    ui.init_app(app)

    app.before_request(check_request_text)

    @app.errorhandler(SatelliteError)
    def _domain_error(exc: SatelliteError) -> Any:
        return (jsonify(error_document(exc.message, exc.field)), exc.http_status,
                error_headers(exc))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        # API callers get JSON errors too for what Flask itself refuses (404, 405, 415 ...).
        if not request.path.startswith(_JSON_PATHS):
            return exc
        return jsonify(error_document(exc.description or exc.name)), exc.code or 500

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(status="ok", version=__version__)

    @app.get("/readyz")
    def readyz() -> Any:
        try:
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any driver failure means "not ready"
            return jsonify(status="unavailable", database=type(exc).__name__), 503
        storage = storage_problem(db, settings)
        if storage is not None:
            return jsonify(status="unavailable", database="ok", storage=storage), 503
        clock = clock_problem(db, settings)
        if clock is not None:
            # Still serving, but an operator must look: times it records may be wrong.
            return jsonify(status="degraded", database="ok", storage="ok", clock=clock)
        return jsonify(status="ok", database="ok", storage="ok", clock="ok")

    from satellite.web import (
        api_access,
        api_accounts,
        api_classic,
        api_deposit,
        api_devices,
        api_reports,
        api_reservations,
        api_slup,
        api_tags,
        device_api,
        metrics,
        oauth,
        openapi,
    )

    metrics.init_app(app, settings, db)
    device_api.init_app(app, settings, db)
    for module in (oauth, api_accounts, api_access, api_devices, api_reports, api_reservations,
                   api_slup, api_deposit, api_classic, api_tags,
                   openapi):
        module.init_app(app)
    # Outermost, so that no body past its route's limit reaches anything else.
    app.wsgi_app = BodyLimits(app.wsgi_app, settings,  # type: ignore[method-assign]
                              metrics.request_metrics(app))
    return app


def database(app: Flask) -> Database:
    db: Database = app.extensions["satellite.db"]
    return db
