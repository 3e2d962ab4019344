"""The Flask application factory: web UI, REST API and device protocol share one app."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from sqlalchemy import text

from satellite import __version__
from satellite.config import Settings
from satellite.errors import SatelliteError
from satellite.keystore import open_keystore
from satellite.uow import Database


def create_app(settings: Settings, db: Database) -> Flask:
    from satellite.web import security, ui

    app = Flask(__name__)
    app.config["SATELLITE_SETTINGS"] = settings
    app.extensions["satellite.db"] = db
    security.init_app(app, settings, open_keystore(settings).session_secret())
    ui.init_app(app)

    @app.errorhandler(SatelliteError)
    def _domain_error(exc: SatelliteError) -> Any:
        body = jsonify(status="ERROR", statusMessage=exc.message, error=exc.message)
        return body, exc.http_status

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
        return jsonify(status="ok", database="ok")

    from satellite.web import metrics

    metrics.init_app(app, settings, db)
    return app


def database(app: Flask) -> Database:
    db: Database = app.extensions["satellite.db"]
    return db
