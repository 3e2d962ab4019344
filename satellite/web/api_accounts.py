"""REST API under /api/v1 for accounts, virtual accounts, licenses and reservations.

The shapes are the On-Prem API's, which existing automation sends. Thin: parse the request,
call a service as the bearer token's actor, shape the answer.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request

from satellite.access.requests import activate_account
from satellite.accounts import export_control, removal
from satellite.accounts import service as accounts
from satellite.accounts.schemas import account_json, va_json
from satellite.cloudsync.held import held_json, held_lines
from satellite.errors import InvalidInput
from satellite.keystore import open_keystore
from satellite.licenses.schemas import page_json
from satellite.licenses.service import list_licenses, list_subscriptions
from satellite.licenses.transfers import transfer, transfer_between_accounts
from satellite.limits import INT32_MAX, check_int
from satellite.reservation import service as reservations
from satellite.reservation.signer import code_signer
from satellite.uow import UnitOfWork
from satellite.web import database
from satellite.web.api_tags import tag_filter
from satellite.web.http import (
    ACCOUNT,
    VA,
    actor,
    authenticate_request,
    body,
    field,
    page,
    read,
    register_api,
    write,
)

bp = Blueprint("api_accounts", __name__, url_prefix="/api/v1")
bp.before_request(authenticate_request)


def _list(data: dict[str, Any], name: str) -> list[Any]:
    value = data.get(name)
    if not isinstance(value, list) or not value:
        raise InvalidInput(f"{name!r} must be a non-empty list")
    return value


def _quantity(value: Any, what: str) -> int:
    return check_int(value, what, 0, INT32_MAX)


def _va_names(data: dict[str, Any]) -> list[str]:
    """The VAs a list is narrowed to: the body's `virtualAccounts`, or the query's (repeated)."""
    names = data.get("virtualAccounts") or request.args.getlist("virtualAccounts")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidInput("'virtualAccounts' must be a list of names")
    return names


# Accounts and virtual accounts

@bp.get("/accounts")
@bp.post("/upstream_satellites/accounts")
def account_list() -> Any:
    rows = read(lambda uow: [account_json(a) for a in accounts.list_accounts(uow.session, actor())])
    return jsonify(accounts=rows)


@bp.post("/accounts")
def account_create() -> Any:
    data = body()
    pending = data.get("pending", False)
    if pending not in (True, False, "true", "false"):
        raise InvalidInput("'pending' must be true or false", field="pending")
    created = write(lambda uow: account_json(accounts.create_account(
        uow, actor(), field(data, "name"), field(data, "domain"),
        pending=pending in (True, "true"))))
    return jsonify(accounts=[created])


@bp.get(ACCOUNT)
def account_show(account: str) -> Any:
    found = read(lambda uow: account_json(accounts.account_for(
        uow.session, actor(), account, "account.view")))
    return jsonify(accounts=[found])


@bp.post(ACCOUNT + "/activate")
def account_activate(account: str) -> Any:
    done = write(lambda uow: account_json(activate_account(uow, actor(), account)))
    return jsonify(accounts=[done])


def _held(account: str | None) -> Any:
    limit, offset = page({})

    def load(uow: UnitOfWork) -> dict[str, Any]:
        found, rows, total = held_lines(uow.session, actor(), account, limit, offset)
        shown: dict[str, Any] = {"heldLines": [held_json(r) for r in rows], "totalCount": total}
        if found is not None:
            shown["status"] = found.status
        return shown

    return jsonify(read(load))


@bp.get(ACCOUNT + "/held-licenses")
def account_held(account: str) -> Any:
    return _held(account)


@bp.get("/held-licenses")
def held_without_account() -> Any:
    return _held(None)
@bp.post(ACCOUNT + "/export-category")
def account_export_category(account: str) -> Any:
    data = body()
    changed = write(lambda uow: account_json(export_control.set_category(
        uow, actor(), account, field(data, "exportCategory"))))
    return jsonify(accounts=[changed])


def _vas(uow: UnitOfWork, account: str) -> list[dict[str, Any]]:
    acc, vas = accounts.list_vas(uow.session, actor(), account)
    names = accounts.va_names(uow.session, acc.id)
    return [va_json(v, names) for v in vas]


@bp.route(ACCOUNT + "/virtual-accounts", methods=["GET", "POST"])
def va_list_or_create(account: str) -> Any:
    data = body()
    if "name" not in data:
        return jsonify(virtualAccounts=read(lambda uow: _vas(uow, account)))

    def create(uow: UnitOfWork) -> dict[str, Any]:
        va = accounts.create_va(uow, actor(), account, field(data, "name"),
                                parent=field(data, "parent", required=False) or None,
                                description=field(data, "description", required=False))
        return va_json(va, accounts.va_names(uow.session, va.account_id))

    return jsonify(virtualAccounts=[write(create)])


@bp.post(VA + "/delete")
def va_delete(account: str, va: str) -> Any:
    write(lambda uow: removal.delete_va(uow, actor(), account, va))
    return jsonify(status="SUCCESS", statusMessage=f"deleted virtual account {va}")


# Licenses

@bp.route(ACCOUNT + "/licenses", methods=["GET", "POST"])
def license_list(account: str) -> Any:
    data = body()
    limit, offset = page(data)
    names = _va_names(data)
    tagged = tag_filter(data)
    on = current_app.extensions["satellite.db"].clock.now().date()
    result = read(lambda uow: page_json(list_licenses(
        uow.session, actor(), on, account, va_names=names, limit=limit, offset=offset,
        tagged=tagged)))
    return jsonify(result)


@bp.route(ACCOUNT + "/license-subscriptions", methods=["GET", "POST"])
def subscription_list(account: str) -> Any:
    data = body()
    limit, offset = page(data)
    names = _va_names(data)
    on = current_app.extensions["satellite.db"].clock.now().date()

    def rows(uow: UnitOfWork) -> dict[str, Any]:
        total, subs = list_subscriptions(uow.session, actor(), on, account, va_names=names,
                                         limit=limit, offset=offset)
        return {"totalRecords": total, "licenseSubscriptions": [{
            "license": s.line.tag, "virtualAccount": s.virtual_account,
            "licenseType": s.line.license_type, "quantity": s.line.quantity,
            "startDate": s.line.start_date.isoformat() if s.line.start_date else None,
            "endDate": s.line.end_date.isoformat() if s.line.end_date else None,
            "subscriptionId": s.line.subscription_id,
            "status": "ACTIVE" if s.active else "INACTIVE"} for s in subs]}

    return jsonify(read(rows))


@bp.post(VA + "/licenses/transfer")
def license_transfer(account: str, va: str) -> Any:
    wanted = _list(body(), "licenses")

    def move(uow: UnitOfWork) -> list[dict[str, Any]]:
        done = []
        for item in wanted:
            if not isinstance(item, dict):
                raise InvalidInput("each entry of 'licenses' is an object")
            to_account = field(item, "targetAccount", required=False)
            args = (field(item, "targetVirtualAccount"), field(item, "license"),
                    _quantity(item.get("quantity"), "quantity"))
            # Another account's VA needs rights in both (a distinct, audited operation).
            t = (transfer_between_accounts(uow, actor(), account, va, to_account, *args)
                 if to_account else transfer(uow, actor(), account, va, *args))
            done.append({"license": t.tag, "quantity": t.quantity, "virtualAccount": va,
                         "targetVirtualAccount": item["targetVirtualAccount"],
                         **({"targetAccount": to_account} if to_account else {}),
                         "available": t.source_after.available})
        return done

    return jsonify(status="SUCCESS", licenses=write(move))


@bp.post(VA + "/reserve-licenses")
def reserve(account: str, va: str) -> Any:
    wanted = _list(body(), "reservationRequests")
    signer = code_signer(database(current_app), open_keystore(current_app.config["SATELLITE_SETTINGS"]))

    def authorize(uow: UnitOfWork) -> list[dict[str, Any]]:
        codes = []
        for item in wanted:
            if not isinstance(item, dict):
                raise InvalidInput("each reservation request is an object")
            kind = item.get("reservationType", "SPECIFIC")
            if kind not in ("SPECIFIC", "UNIVERSAL"):
                raise InvalidInput("reservationType is SPECIFIC or UNIVERSAL")
            licenses = None
            if kind == "SPECIFIC":
                licenses = {field(ln, "entitlementTag"): _quantity(ln.get("quantity"), "quantity")
                            for ln in _list(item, "licenses") if isinstance(ln, dict)}
            code = field(item, "reservationCode")
            issued = reservations.authorize(uow, actor(), account, va, code, licenses, signer)
            codes.append({"authorizationCode": issued.code, "reservationCode": code,
                          "status": "SUCCESS"})
        return codes

    return jsonify(status="SUCCESS", authorizationCodes=write(authorize))


def init_app(app: Flask) -> None:
    register_api(app, bp)
