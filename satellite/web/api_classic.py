"""REST API for classic (PAK) licenses: list per account or VA, transfer, convert, and the
conversion requests. Thin: parse, call licenses.classic as the bearer token's actor, shape."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify, request

from satellite.licenses.classic import (
    convert_classic,
    list_classic,
    list_conversions,
    transfer_classic,
)
from satellite.licenses.classic_schemas import classic_json, conversion_json
from satellite.limits import INT32_MAX, check_int
from satellite.uow import UnitOfWork
from satellite.web.http import (
    ACCOUNT,
    VA,
    actor,
    authenticate_request,
    body,
    field,
    read,
    register_api,
    write,
)

bp = Blueprint("api_classic", __name__, url_prefix="/api/v1")
bp.before_request(authenticate_request)


def _listed(account: str, va: str | None) -> dict[str, Any]:
    def rows(uow: UnitOfWork) -> dict[str, Any]:
        items = [classic_json(r) for r in list_classic(uow.session, actor(), account, va)[1]]
        return {"totalRecords": len(items), "classicLicenses": items}
    return read(rows)


@bp.get(ACCOUNT + "/classic-licenses")
def account_list(account: str) -> Any:
    return jsonify(_listed(account, request.args.get("virtualAccount") or None))


@bp.get(VA + "/classic-licenses")
def va_list(account: str, va: str) -> Any:
    return jsonify(_listed(account, va))


@bp.post(ACCOUNT + "/classic-licenses/transfer")
def transfer(account: str) -> Any:
    data = body()

    def move(uow: UnitOfWork) -> dict[str, Any]:
        return classic_json(transfer_classic(uow, actor(), account, field(data, "pak"),
                                             field(data, "sku"),
                                             field(data, "targetVirtualAccount")))

    return jsonify(status="SUCCESS", classicLicense=write(move))


@bp.post(ACCOUNT + "/classic-licenses/convert")
def convert(account: str) -> Any:
    data = body()
    quantity = check_int(data.get("quantity"), "quantity", 1, INT32_MAX)

    def ask(uow: UnitOfWork) -> dict[str, Any]:
        return conversion_json(convert_classic(
            uow, actor(), account, field(data, "pak"), field(data, "sku"), quantity,
            field(data, "virtualAccount", required=False) or None))

    return jsonify(status="SUCCESS", conversion=write(ask))


@bp.get(ACCOUNT + "/classic-conversions")
def conversions(account: str) -> Any:
    va = request.args.get("virtualAccount") or None
    items = read(lambda uow: [conversion_json(c) for c in list_conversions(
        uow.session, actor(), account, va)])
    return jsonify(totalRecords=len(items), conversions=items)


def init_app(app: Flask) -> None:
    register_api(app, bp)
