"""REST API for Cisco SLUP usage reports: upload into a VA, ACK files out."""

from __future__ import annotations

from typing import IO, Any

from flask import Blueprint, Flask, Response, jsonify, request

from satellite.accounts.service import account_for
from satellite.devices import service as devices
from satellite.errors import InvalidInput, NotFound
from satellite.slup import acks, service
from satellite.uow import UnitOfWork
from satellite.web.http import VA, actor, authenticate_request, register_api, write

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


@bp.get(VA + "/usage-reports/ack")
def ack_download(account: str, va: str) -> Any:
    udi = request.args.get("udi", "")
    if not udi.strip():
        raise InvalidInput("'udi' is required: PID:<pid>,SN:<serial>", field="udi")

    def find(uow: UnitOfWork) -> tuple[str, str]:
        row = devices.show_device(uow.session, actor(), udi)
        if row["account"] != account_name(uow, account) or row["va"] != va:
            raise NotFound(f"virtual account {va!r} has no device {udi}")
        return acks.give_ack(uow, actor(), udi)

    label, document = write(find)
    return Response(document, mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{acks.ack_file_name(label)}"'})


def account_name(uow: UnitOfWork, ref: str) -> str:
    return account_for(uow.session, actor(), ref, "account.view").name


def init_app(app: Flask) -> None:
    register_api(app, bp)
