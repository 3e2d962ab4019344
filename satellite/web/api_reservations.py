"""REST: reservations of an account, and a reservation's life after its authorization code
(update, confirm, return).

`GET /api/v1/accounts/{account}/reservations` lists them (`status`, `tag`, `limit`, `offset`);

`POST /api/v1/accounts/{account}/reservations/{udi}/update` with
`{"licenses": [{"entitlementTag": T, "quantity": N}]}` issues a new authorization code;
`.../{udi}/confirm` with `{"confirmationCode": C}` accepts the device's confirmation;
`.../reservations/return` with `{"returnCode": C}` closes the reservation the code names.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request

from satellite.accounts.service import account_for
from satellite.errors import InvalidInput, NotFound
from satellite.keystore import open_keystore
from satellite.limits import check_int
from satellite.reservation import service
from satellite.reservation.models import RESERVATION_STATES, Reservation
from satellite.reservation.schemas import reservation_rows
from satellite.reservation.signer import code_signer
from satellite.uow import UnitOfWork
from satellite.web.api_tags import tag_filter
from satellite.web.http import (
    ACCOUNT,
    actor,
    authenticate_request,
    body,
    db,
    field,
    page,
    read,
    register_api,
    write,
)

bp = Blueprint("api_reservations", __name__, url_prefix="/api/v1")
bp.before_request(authenticate_request)


def _json(r: Reservation, code: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"udi": str(service.udi_of(r)), "reservationType": r.kind,
                           "status": r.status, "serial": r.serial,
                           "confirmedSerial": r.confirmed_serial}
    if code is not None:
        out["authorizationCode"] = code
    return out


def _in_account(uow: UnitOfWork, account: str, udi: str) -> None:
    """The UDI's reservation must be of the account in the path (else: not found there)."""
    acc = account_for(uow.session, actor(), account, "reservation.view")
    if service.show(uow.session, actor(), udi).account_id != acc.id:
        raise NotFound(f"UDI {udi} has no reservation in {acc.name}", field="udi")


@bp.route(ACCOUNT + "/reservations", methods=["GET", "POST"])
def reservation_list(account: str) -> Any:
    data = body()
    limit, offset = page(data)
    status = data.get("status", request.args.get("status")) or None
    if status is not None and status not in RESERVATION_STATES:
        raise InvalidInput(f"'status' is one of {', '.join(RESERVATION_STATES)}", field="status")
    tagged = tag_filter(data)

    def rows(uow: UnitOfWork) -> list[dict[str, Any]]:
        acc = account_for(uow.session, actor(), account, "reservation.view")
        return reservation_rows(uow.session, service.list_reservations(
            uow.session, actor(), acc.id, status, limit=limit, offset=offset, tagged=tagged))

    return jsonify(reservations=read(rows))


def _counts(data: dict[str, Any]) -> dict[str, int]:
    items = data.get("licenses")
    if not isinstance(items, list) or not items:
        raise InvalidInput("'licenses' must be a non-empty list", field="licenses")
    counts: dict[str, int] = {}
    for item in items:
        if not isinstance(item, dict):
            raise InvalidInput("each license is {entitlementTag, quantity}", field="licenses")
        counts[field(item, "entitlementTag")] = check_int(item.get("quantity"), "quantity")
    return counts


@bp.post(ACCOUNT + "/reservations/<udi>/update")
def update(account: str, udi: str) -> Any:
    counts = _counts(body())
    signer = code_signer(db(), open_keystore(current_app.config["SATELLITE_SETTINGS"]))

    def change(uow: UnitOfWork) -> dict[str, Any]:
        _in_account(uow, account, udi)
        issued = service.update(uow, actor(), udi, counts, signer)
        return _json(issued.reservation, issued.code)

    return jsonify(status="SUCCESS", reservation=write(change))


@bp.post(ACCOUNT + "/reservations/<udi>/confirm")
def confirm(account: str, udi: str) -> Any:
    code = field(body(), "confirmationCode")

    def accept(uow: UnitOfWork) -> dict[str, Any]:
        _in_account(uow, account, udi)
        return _json(service.confirm(uow, actor(), udi, code))

    return jsonify(status="SUCCESS", reservation=write(accept))


@bp.post(ACCOUNT + "/reservations/return")
def return_code(account: str) -> Any:
    code = field(body(), "returnCode")

    def close(uow: UnitOfWork) -> dict[str, Any]:
        acc = account_for(uow.session, actor(), account, "reservation.view")
        returned = service.return_reservation(uow, actor(), code)
        if returned.account_id != acc.id:
            # Rolled back: a code of another account is not this account's to return.
            raise NotFound(f"the return code names no reservation in {acc.name}",
                           field="returnCode")
        return _json(returned)

    return jsonify(status="SUCCESS", reservation=write(close))


def init_app(app: Flask) -> None:
    register_api(app, bp)
