"""REST API for Cisco SLUP usage reports: upload into a VA, ACK files out."""

from __future__ import annotations

from typing import IO, Any

from flask import Blueprint, Flask, jsonify, request

from satellite.slup import service
from satellite.uow import UnitOfWork
from satellite.web.http import VA, actor, authenticate_request, write

bp = Blueprint("api_slup", __name__, url_prefix="/api/v1")
bp.before_request(authenticate_request)


def _sources() -> list[tuple[str, IO[bytes]]]:
    """The uploaded files of a multipart request, else the raw body as one file."""
    if request.files:
        return [(f.filename or name, f.stream) for name in request.files
                for f in request.files.getlist(name)]
    return [(request.args.get("filename") or "request body", request.stream)]


@bp.post(VA + "/usage-reports")
def usage_upload(account: str, va: str) -> Any:
    dry_run = request.args.get("dryRun", "").lower() in ("1", "true", "yes")
    sources = _sources()

    def run(uow: UnitOfWork) -> dict[str, Any]:
        summary = service.import_usage(uow, actor(), account, va, sources, dry_run=dry_run)
        if dry_run:
            uow.rollback()
        return summary.to_json()

    return jsonify(write(run)), 200


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
